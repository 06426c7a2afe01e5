"""Detections and tracks given as plain tables, looked up per frame.

A table is a pandas DataFrame with the columns ``frame, x0, y0, x1, y1`` (frame pixels) and,
optionally, ``track`` (the identity, as in every xaikit table: :func:`xaikit.track.track`,
synthetic truth, COCO files read back), ``label`` and ``score``, so the widgets do not depend on
any detector or tracker.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BOX_COLUMNS = ("frame", "x0", "y0", "x1", "y1")


class FrameTable:
    """Boxes and track trails of a detection / track table, grouped by frame once.

    Args:
        table: DataFrame with :data:`BOX_COLUMNS`, optional ``track``, ``label``, ``score``.
        name: what the table is called in error messages.
        require_tracks: whether ``track`` is required (trails need it).

    Examples:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"frame": [0, 1, 2], "track": 7, "x0": [0, 2, 4],
        ...                       "y0": 0, "x1": [2, 4, 6], "y1": 2})
        >>> boxes, labels, identities = FrameTable(table).boxes(1)
        >>> boxes.tolist(), labels, identities
        ([[2.0, 0.0, 4.0, 2.0]], ['#7'], [7])
        >>> FrameTable(table).trails(2, length=2)[7].tolist()
        [[3.0, 1.0], [5.0, 1.0]]
    """

    def __init__(self, table, name: str = "detections", require_tracks: bool = False):
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"{name} must be a pandas DataFrame; got {type(table).__name__}")
        required = BOX_COLUMNS + (("track",) if require_tracks else ())
        missing = [column for column in required if column not in table.columns]
        if missing:
            raise ValueError(
                f"{name} lacks column(s) {missing}; needs {list(required)} "
                f"(optional: track, label, score); has {list(table.columns)}"
            )
        table = table.sort_values("frame", kind="stable")
        self.table = table
        frames = table["frame"].to_numpy(np.int64)
        corners = table[list(BOX_COLUMNS[1:])].to_numpy(np.float64)
        tracks = table["track"].to_numpy(np.int64) if "track" in table else None
        captions = _captions(table)
        self._rows: dict[int, np.ndarray] = {
            int(frame): np.flatnonzero(frames == frame) for frame in np.unique(frames)
        }
        self._corners, self._tracks, self._captions = corners, tracks, captions
        self._paths: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if tracks is not None:
            centres = np.column_stack(
                [(corners[:, 0] + corners[:, 2]) / 2, (corners[:, 1] + corners[:, 3]) / 2]
            )
            for track in np.unique(tracks):
                rows = tracks == track
                self._paths[int(track)] = (frames[rows], centres[rows])

    def boxes(self, frame: int):
        """``(boxes (N, 4), captions, identities or None)`` of one frame."""
        rows = self._rows.get(int(frame), np.zeros(0, np.int64))
        identities = None if self._tracks is None else self._tracks[rows].tolist()
        return self._corners[rows], [self._captions[row] for row in rows], identities

    def cam_table(self) -> pd.DataFrame:
        """``frame, x0, y0, x1, y1`` and ``track`` (when known), one row per box, sorted by
        frame: the table a :class:`~xaikit.track.DetectionCAMCache` explains."""
        columns = list(BOX_COLUMNS) + (["track"] if self._tracks is not None else [])
        return self.table[columns].reset_index(drop=True)

    def trails(self, frame: int, length: int = 30) -> dict[int, np.ndarray]:
        """``{track: (length, 2) centroids of frames frame-length+1 .. frame}``; NaN rows
        where the track was not seen (so the trail breaks there). Tracks not seen in that
        window are left out."""
        trails = {}
        for track, (frames, centres) in self._paths.items():
            inside = (frames > frame - length) & (frames <= frame)
            if not inside.any():
                continue
            path = np.full((length, 2), np.nan)
            path[frames[inside] - (frame - length + 1)] = centres[inside]
            trails[track] = path
        return trails


def _captions(table: pd.DataFrame) -> list[str]:
    parts = []
    if "track" in table:
        parts.append("#" + table["track"].astype(int).astype(str))
    if "label" in table:
        parts.append(table["label"].astype(str))
    if "score" in table:
        parts.append(table["score"].map(lambda score: f"{score:.2f}").astype(str))
    if not parts or table.empty:
        return [""] * len(table)
    text = parts[0]
    for part in parts[1:]:
        text = text + " " + part
    return text.tolist()
