"""Cleaning tracks: velocity-spike removal (median + k MAD), interpolation of short gaps and
Rauch-Tung-Striebel smoothing of the boxes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xaikit.track._tables import BOX, TRACK_COLUMNS, check_table, frame_times
from xaikit.track.motion import (
    POSITION_NOISE,
    START_POSITION_NOISE,
    START_VELOCITY_NOISE,
    VELOCITY_NOISE,
    to_corners,
    to_xywh,
)

__all__ = ["filter_velocity_spikes", "interpolate_gaps", "smooth_tracks", "spike_threshold"]

#: Scale of the median absolute deviation to a normal standard deviation.
MAD_SCALE = 1.4826


def spike_threshold(speeds, k: float = 3.0) -> float:
    """Speed above which a step is a spike: ``median + k * 1.4826 * MAD`` of the finite speeds.

    Args:
        speeds: ``(N,)`` speeds (NaN ignored).
        k: how many robust standard deviations above the median.

    Returns:
        The threshold, or ``inf`` when no speed is finite.

    Examples:
        >>> spike_threshold([1.0, 1.0, 2.0, 2.0, 3.0, 50.0])  # median 2, MAD 1
        6.4478
    """
    values = np.asarray(speeds, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("inf")
    median = np.median(values)
    return float(median + k * MAD_SCALE * np.median(np.abs(values - median)))


def filter_velocity_spikes(tracks: pd.DataFrame, k: float = 3.0, max_run: int = 5) -> pd.DataFrame:
    """Drop the rows of short excursions that a tracking glitch makes (a jump away and back).

    Per track, the centroid speed between consecutive rows (pixels per second, from ``time``)
    is compared with :func:`spike_threshold` of that track's speeds (the mice-tracking group's
    median + 3 x 1.4826 x MAD rule). A run of at most ``max_run`` rows entered by a spike is
    dropped when the step from the row before the run to the row after it is not a spike: the
    animal went away and came back, which it did not. A track that jumps and stays where it
    jumped (for longer than ``max_run`` rows, or at the end of the track, where there is nothing
    to come back to) is left alone, as are fast but smooth movements (their bridging step is
    fast too). Fill the holes with :func:`interpolate_gaps`.

    Args:
        tracks: a track table (``frame, time, track, cx, cy`` are used).
        k: threshold in robust standard deviations.
        max_run: the longest excursion, in rows, that is removed.

    Returns:
        The table without the glitch rows (index reset).

    Raises:
        ValueError: a column is missing, ``k <= 0`` or ``max_run < 1``.

    Examples:
        >>> import pandas as pd
        >>> x = [0.0, 1.0, 2.0, 3.0, 40.0, 5.0, 6.0, 7.0, 8.0]  # frame 4 jumps away and back
        >>> tracks = pd.DataFrame({"frame": range(9), "time": [f / 10 for f in range(9)],
        ...                        "track": 0, "cx": x, "cy": 0.0})
        >>> filter_velocity_spikes(tracks)["frame"].tolist()
        [0, 1, 2, 3, 5, 6, 7, 8]
    """
    if not k > 0 or not isinstance(max_run, (int, np.integer)) or max_run < 1:
        raise ValueError(f"need k > 0 and an int max_run >= 1; got k={k}, max_run={max_run}")
    table = check_table(tracks, ("frame", "time", "track", "cx", "cy"), "tracks")
    table = table.sort_values(["track", "frame"], kind="stable").reset_index(drop=True)
    keep = np.ones(len(table), dtype=bool)
    for rows in table.groupby("track", sort=False).indices.values():
        keep[rows] = _keep_mask(table.loc[rows, ["time", "cx", "cy"]].to_numpy(float), k, max_run)
    kept = table[keep].sort_values(["frame", "track"], kind="stable")
    return kept.reset_index(drop=True)


def _keep_mask(values: np.ndarray, k: float, max_run: int) -> np.ndarray:
    times, points = values[:, 0], values[:, 1:]
    if len(times) < 3:
        return np.ones(len(times), dtype=bool)

    def speed(a: int, b: int) -> float:
        return float(np.linalg.norm(points[b] - points[a]) / max(times[b] - times[a], 1e-12))

    threshold = spike_threshold([speed(i, i + 1) for i in range(len(times) - 1)], k)
    keep = np.ones(len(times), dtype=bool)
    anchor, index = 0, 1  # anchor: the last row kept
    while index < len(times):
        if speed(anchor, index) <= threshold:
            anchor, index = index, index + 1
            continue
        # A spike into ``index``: look for a return within max_run rows.
        for end in range(index + 1, min(index + max_run, len(times) - 1) + 1):
            if speed(anchor, end) <= threshold:
                keep[index:end] = False
                anchor, index = end, end + 1
                break
        else:
            anchor, index = index, index + 1
    return keep


def interpolate_gaps(tracks: pd.DataFrame, max_gap: int = 10) -> pd.DataFrame:
    """Fill each track's gaps of at most ``max_gap`` missing frames by linear interpolation.

    Boxes and centroids are interpolated linearly in the frame number, times linearly between
    the known frames; filled rows get ``score`` NaN and ``interpolated`` True (the column is
    added, False for the other rows). Gaps longer than ``max_gap`` stay open, and nothing is
    added before a track's first or after its last frame.

    Args:
        tracks: a track table (:data:`~xaikit.track._tables.TRACK_COLUMNS`).
        max_gap: longest gap filled, in missing frames (0 fills nothing).

    Returns:
        The table with the filled rows, sorted by frame and track.

    Raises:
        ValueError: a column is missing or ``max_gap < 0``.

    Examples:
        >>> import pandas as pd
        >>> tracks = pd.DataFrame({"frame": [0, 3], "time": [0.0, 0.3], "track": 0,
        ...     "x0": [0.0, 6.0], "y0": 0.0, "x1": [10.0, 16.0], "y1": 10.0,
        ...     "cx": [5.0, 11.0], "cy": 5.0, "score": 0.9})
        >>> filled = interpolate_gaps(tracks)
        >>> filled[["frame", "x0", "cx", "interpolated"]].values.tolist()
        [[0, 0.0, 5.0, False], [1, 2.0, 7.0, True], [2, 4.0, 9.0, True], [3, 6.0, 11.0, False]]
    """
    if not isinstance(max_gap, (int, np.integer)) or max_gap < 0:
        raise ValueError(f"max_gap must be an int >= 0; got {max_gap!r}")
    table = check_table(tracks, TRACK_COLUMNS, "tracks", nullable=("score",))
    if "interpolated" not in table.columns:
        table["interpolated"] = False
    known_times = table[["frame", "time"]].drop_duplicates("frame")
    added = []
    columns = [*BOX, "cx", "cy"]
    for identity, rows in table.groupby("track"):
        frames = rows["frame"].to_numpy()
        gaps = np.diff(frames) - 1
        missing = [
            np.arange(a + 1, b) for a, b, gap in zip(frames[:-1], frames[1:], gaps, strict=True)
            if 0 < gap <= max_gap
        ]  # fmt: skip
        if not missing:
            continue
        new_frames = np.concatenate(missing)
        block = pd.DataFrame({"frame": new_frames, "track": identity})
        for column in columns:
            block[column] = np.interp(new_frames, frames, rows[column].to_numpy(float))
        block["time"] = frame_times(new_frames, known_times["frame"], known_times["time"])
        block["score"] = np.nan
        block["interpolated"] = True
        added.append(block)
    if added:
        table = pd.concat([table, *added], ignore_index=True)
    table = table.astype({"frame": np.int64, "track": np.int64, "interpolated": bool})
    return table.sort_values(["frame", "track"], kind="stable").reset_index(drop=True)


def smooth_tracks(tracks: pd.DataFrame) -> pd.DataFrame:
    """Smooth each track's boxes over the whole track (Rauch-Tung-Striebel, past and future).

    Detector boxes jitter by a few pixels from frame to frame, and the jitter adds up: summed
    over a video it inflates distance travelled and speed. Offline, every box can be estimated
    from the frames before and after it. Per track, the tracker's constant-velocity model of
    :class:`~xaikit.track.motion.BoxKalman` (state ``cx, cy, w, h`` and their velocities; noise
    of a position, moved or measured, ``1/20`` and of a velocity ``1/160`` of the box size per
    frame, as in BoT-SORT) runs forward over the detected boxes, and the RTS pass runs
    backward. The noise is scaled by the track's median width and height rather than the
    current box, which keeps the smoother linear. Interpolated rows (``interpolated`` True)
    are not measurements: they get the smoothed estimate, a constant-velocity path between the
    boxes around them. Rows of hidden animals (``hidden`` True,
    :func:`~xaikit.track.occlusion.fill_hidden`) are neither measurements nor changed.
    Tracks with fewer than two detected boxes are left as they are.

    Args:
        tracks: a track table (:data:`~xaikit.track._tables.TRACK_COLUMNS`).

    Returns:
        The table with smoothed ``x0, y0, x1, y1, cx, cy``, sorted by frame and track.

    Raises:
        ValueError: a column is missing.

    Examples:
        >>> import pandas as pd
        >>> jitter = [0.0, 2.0, -2.0, 2.0, -2.0, 2.0, -2.0, 0.0]  # a box moving 5 px per frame
        >>> x0 = [5.0 * f + j for f, j in enumerate(jitter)]
        >>> tracks = pd.DataFrame({"frame": range(8), "time": 0.0, "track": 0, "x0": x0,
        ...     "y0": 0.0, "x1": [x + 20 for x in x0], "y1": 20.0, "score": 0.9})
        >>> tracks = tracks.assign(cx=tracks.x0 + 10, cy=10.0)
        >>> steps = smooth_tracks(tracks)["cx"].diff().dropna()
        >>> bool(steps.std() < tracks["cx"].diff().dropna().std() / 4)  # steps of about 5 px
        True
    """
    table = check_table(tracks, TRACK_COLUMNS, "tracks", nullable=("score",))
    table = table.sort_values(["track", "frame"], kind="stable").reset_index(drop=True)
    hidden = _flag(table, "hidden")
    measured = ~(_flag(table, "interpolated") | hidden)
    xywh = to_xywh(table[BOX].to_numpy(np.float64))
    frames = table["frame"].to_numpy()
    for rows in table.groupby("track", sort=False).indices.values():
        seen = rows[measured[rows]]
        if len(seen) < 2:
            continue
        origin = frames[seen[0]]
        observed = np.full((frames[seen[-1]] - origin + 1, 4), np.nan)
        observed[frames[seen] - origin] = xywh[seen]
        estimate = _rts_constant_velocity(observed, np.median(xywh[seen, 2:], axis=0))
        write = rows[~hidden[rows]]  # interpolated rows lie between detected ones
        xywh[write] = estimate[frames[write] - origin]
    table[BOX] = to_corners(xywh)
    table["cx"], table["cy"] = xywh[:, 0], xywh[:, 1]
    return table.sort_values(["frame", "track"], kind="stable").reset_index(drop=True)


def _flag(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table.columns:
        return np.zeros(len(table), dtype=bool)
    return table[column].to_numpy(dtype=bool)


def _rts_constant_velocity(observed: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Smoothed ``(T, 4)`` of ``(T, 4)`` observations of ``cx, cy, w, h`` (NaN rows: none;
    rows 0 and ``T - 1`` observed).

    The first observation starts the filter at rest, as :class:`~xaikit.track.motion.BoxKalman`
    starts a track. The model is separable: each coordinate is its own (position, velocity)
    system, so the four run side by side as ``(4, 2)`` means and ``(4, 2, 2)`` covariances.
    """
    scale = np.tile(size, 2)  # noise of cx and w scales with the width, cy and h with the height
    transition = np.array([[1.0, 1.0], [0.0, 1.0]])
    noise = np.zeros((4, 2, 2))
    noise[:, 0, 0], noise[:, 1, 1] = (POSITION_NOISE * scale) ** 2, (VELOCITY_NOISE * scale) ** 2
    measurement_noise = (POSITION_NOISE * scale) ** 2
    mean = np.column_stack([observed[0], np.zeros(4)])
    covariance = np.zeros((4, 2, 2))
    covariance[:, 0, 0] = (START_POSITION_NOISE * scale) ** 2
    covariance[:, 1, 1] = (START_VELOCITY_NOISE * scale) ** 2
    steps = len(observed)
    filtered, predicted = np.zeros((steps, 4, 2)), np.zeros((steps, 4, 2))
    filtered_cov, predicted_cov = np.zeros((steps, 4, 2, 2)), np.zeros((steps, 4, 2, 2))
    for t in range(steps):
        if t:
            mean = mean @ transition.T
            covariance = transition @ covariance @ transition.T + noise
        predicted[t], predicted_cov[t] = mean, covariance
        if t and not np.isnan(observed[t, 0]):
            gain = covariance[:, :, 0] / (covariance[:, 0, 0] + measurement_noise)[:, None]
            mean = mean + gain * (observed[t] - mean[:, 0])[:, None]
            covariance = covariance - gain[:, :, None] * covariance[:, None, 0, :]
        filtered[t], filtered_cov[t] = mean, covariance
    smoothed = filtered.copy()
    for t in range(steps - 2, -1, -1):
        # C = P_t F^T (P_{t+1|t})^-1, solved as (P_{t+1|t})^-1 F P_t (covariances are symmetric)
        gain = np.linalg.solve(predicted_cov[t + 1], transition @ filtered_cov[t])
        gain = gain.transpose(0, 2, 1)
        correction = smoothed[t + 1] - predicted[t + 1]
        smoothed[t] = filtered[t] + np.einsum("cij,cj->ci", gain, correction)
    return smoothed[:, :, 0]
