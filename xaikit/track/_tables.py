"""Column conventions of the detection and track tables, and their input checks."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Columns of a detection table: one row per detection (``class`` is optional).
DETECTION_COLUMNS = ("frame", "time", "x0", "y0", "x1", "y1", "score")
#: Columns of a track table: one row per animal and frame.
TRACK_COLUMNS = ("frame", "time", "track", "x0", "y0", "x1", "y1", "cx", "cy", "score")
BOX = ["x0", "y0", "x1", "y1"]


def check_table(table, columns, name: str, nullable=()) -> pd.DataFrame:
    """Return a copy of ``table`` sorted by frame, after checking its columns and boxes.

    Columns in ``nullable`` may hold NaN (the score of an interpolated track row).

    Raises:
        TypeError: ``table`` is not a pandas DataFrame.
        ValueError: a column is missing, a value is NaN, or a box has ``x1 < x0`` / ``y1 < y0``.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {type(table).__name__}")
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(
            f"{name} lacks the column(s) {missing}; expected at least {list(columns)}, "
            f"got {list(table.columns)}"
        )
    checked = [column for column in columns if column not in nullable]
    if np.isnan(table[checked].to_numpy(dtype=np.float64)).any():
        raise ValueError(f"{name} has NaN in the columns {checked}")
    if set(BOX) <= set(columns):
        boxes = table[BOX].to_numpy(dtype=np.float64)
        if (boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any():
            raise ValueError(f"{name} has boxes with x1 < x0 or y1 < y0 (rows x0, y0, x1, y1)")
    if (table["frame"] < 0).any():
        raise ValueError(f"{name} has negative frame numbers")
    return table.sort_values("frame", kind="stable").reset_index(drop=True)


def frame_times(frames: np.ndarray, known_frames: np.ndarray, known_times: np.ndarray):
    """Times of ``frames``, linear in the frame number between (and beyond) known frames."""
    known_frames = np.asarray(known_frames, dtype=np.float64)
    known_times = np.asarray(known_times, dtype=np.float64)
    known_frames, first = np.unique(known_frames, return_index=True)
    known_times = known_times[first]
    if known_frames.size == 1:
        return np.full(np.shape(frames), known_times[0], dtype=np.float64)
    frames = np.asarray(frames, dtype=np.float64)
    times = np.interp(frames, known_frames, known_times)
    slope_start = (known_times[1] - known_times[0]) / (known_frames[1] - known_frames[0])
    slope_end = (known_times[-1] - known_times[-2]) / (known_frames[-1] - known_frames[-2])
    before, after = frames < known_frames[0], frames > known_frames[-1]
    times[before] = known_times[0] + (frames[before] - known_frames[0]) * slope_start
    times[after] = known_times[-1] + (frames[after] - known_frames[-1]) * slope_end
    return times


def empty_tracks() -> pd.DataFrame:
    """A track table without rows, with the right columns and dtypes."""
    table = pd.DataFrame({column: pd.Series(dtype=np.float64) for column in TRACK_COLUMNS})
    return table.astype({"frame": np.int64, "track": np.int64})
