"""Behaviour from tracks: trajectories, distance, speed, immobility, occupancy, per-animal summary.

Conventions (those of EthoVision and the mice-tracking group's apps): a trajectory is the box
centre per frame, NaN where the animal was not tracked; distance travelled is the sum of the
steps between consecutive known positions; speed is step length over step time; lengths are in
pixels, or in centimetres once a scale from :func:`cm_per_pixel` is given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xaikit._arrays import height_width
from xaikit.track._tables import check_table, frame_times
from xaikit.track.zones import Zone, zone_visits

__all__ = [
    "cm_per_pixel",
    "distance_travelled",
    "immobility_bouts",
    "occupancy",
    "speed",
    "summary",
    "trajectory",
]


def cm_per_pixel(point_a, point_b, distance_cm: float) -> float:
    """Scale from two points a known distance apart in the arena (e.g. two corners).

    Examples:
        >>> cm_per_pixel((10, 10), (310, 410), 25.0)  # 500 px apart
        0.05
    """
    gap = float(np.linalg.norm(np.subtract(point_b, point_a, dtype=np.float64)))
    if not np.isfinite(gap) or gap == 0:
        raise ValueError(f"the two points must differ; got {point_a} and {point_b}")
    if not distance_cm > 0:
        raise ValueError(f"distance_cm must be > 0; got {distance_cm}")
    return float(distance_cm) / gap


def trajectory(tracks: pd.DataFrame, identity: int, frames=None) -> pd.DataFrame:
    """One animal's centroid on every frame, NaN where it has no row.

    Args:
        tracks: a track table (``frame, time, track, cx, cy``).
        identity: which track (a value of the ``track`` column).
        frames: frame numbers to report; default all frames from the table's first to its last
            (over every track). Times of frames without any row are interpolated.

    Returns:
        DataFrame ``frame, time, x, y``.

    Examples:
        >>> import pandas as pd
        >>> tracks = pd.DataFrame({"frame": [0, 2, 0], "time": [0.0, 0.2, 0.0],
        ...                        "track": [0, 0, 1], "cx": [1.0, 3.0, 9.0], "cy": 0.0})
        >>> trajectory(tracks, 0).values.tolist()
        [[0.0, 0.0, 1.0, 0.0], [1.0, 0.1, nan, nan], [2.0, 0.2, 3.0, 0.0]]
    """
    table = check_table(tracks, ("frame", "time", "track", "cx", "cy"), "tracks")
    mine = table[table["track"] == identity]
    if mine.empty:
        raise ValueError(f"no track {identity!r}; the table has {sorted(table['track'].unique())}")
    if frames is None:
        frames = np.arange(table["frame"].min(), table["frame"].max() + 1)
    frames = np.asarray(frames, dtype=np.int64)
    out = pd.DataFrame({"frame": frames})
    out["time"] = frame_times(frames, table["frame"], table["time"])
    positions = mine.drop_duplicates("frame").set_index("frame")[["cx", "cy"]]
    out[["x", "y"]] = positions.reindex(frames).to_numpy()
    return out


def _steps(points, times) -> tuple[np.ndarray, np.ndarray]:
    points = np.asarray(points, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or times.shape != (len(points),):
        raise ValueError(
            f"points must be (N, 2) and times (N,); got {points.shape} and {times.shape}"
        )
    return points, times


def distance_travelled(points) -> float:
    """Path length: the sum of steps between consecutive known positions (NaN rows skipped).

    Examples:
        >>> distance_travelled([[0, 0], [3, 4], [float("nan"), 0], [6, 8]])
        10.0
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be (N, 2) x, y; got shape {points.shape}")
    known = points[np.isfinite(points).all(axis=1)]
    return float(np.linalg.norm(np.diff(known, axis=0), axis=1).sum())


def speed(points, times, window: int = 1) -> np.ndarray:
    """Speed at each frame: distance from ``window`` frames earlier over the elapsed time.

    A window of a few frames averages out box jitter (EthoVision's averaging interval).

    Args:
        points: ``(N, 2)`` positions per frame, NaN where unknown.
        times: ``(N,)`` seconds.
        window: frames between the two positions compared (>= 1).

    Returns:
        ``(N,)`` speeds (units per second); NaN for the first ``window`` frames and wherever
        either position is unknown.

    Examples:
        >>> speed([[0, 0], [3, 4], [6, 8], [6, 8]], [0.0, 0.5, 1.0, 1.5]).tolist()
        [nan, 10.0, 10.0, 0.0]
        >>> speed([[0, 0], [3, 4], [6, 8], [6, 8]], [0.0, 0.5, 1.0, 1.5], window=2).tolist()
        [nan, nan, 10.0, 5.0]
    """
    points, times = _steps(points, times)
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be an int >= 1; got {window!r}")
    out = np.full(len(points), np.nan)
    if len(points) > window:
        gaps = np.linalg.norm(points[window:] - points[:-window], axis=1)
        out[window:] = gaps / (times[window:] - times[:-window])
    return out


def immobility_bouts(speeds, times, threshold: float, min_duration: float = 1.0) -> pd.DataFrame:
    """Runs of frames with speed below ``threshold`` lasting at least ``min_duration`` seconds.

    A bout's duration is ``end_time - start_time + one frame step`` (the median step); frames
    with unknown speed (NaN) end a bout.

    Returns:
        DataFrame ``start_frame, end_frame`` (indices into ``speeds``, inclusive),
        ``start_time, duration_s``.

    Examples:
        >>> speeds = [5, 0.1, 0.2, 0.0, 4, 0.1, 3]
        >>> immobility_bouts(speeds, [0, 1, 2, 3, 4, 5, 6], threshold=1, min_duration=2)
           start_frame  end_frame  start_time  duration_s
        0            1          3         1.0         3.0
    """
    speeds = np.asarray(speeds, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if speeds.ndim != 1 or times.shape != speeds.shape:
        raise ValueError(f"speeds and times must be (N,); got {speeds.shape} and {times.shape}")
    if not threshold > 0 or not min_duration >= 0:
        raise ValueError(f"need threshold > 0, min_duration >= 0; got {threshold}, {min_duration}")
    still = np.r_[False, speeds < threshold, False]  # NaN compares False: it ends a bout
    starts = np.flatnonzero(still[1:] & ~still[:-1])
    ends = np.flatnonzero(~still[1:] & still[:-1]) - 1
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    durations = times[ends] - times[starts] + step
    keep = durations >= min_duration - 1e-9
    return pd.DataFrame(
        {"start_frame": starts[keep], "end_frame": ends[keep],
         "start_time": times[starts[keep]], "duration_s": durations[keep]}
    )  # fmt: skip


def occupancy(points, times, shape: tuple[int, int], cell: float = 8.0, sigma: float = 0.0):
    """Occupancy heatmap: seconds spent in each ``cell`` x ``cell`` pixel square of the frame.

    Each known position adds the median frame step to its cell; ``sigma`` (in cells) blurs
    the map with a Gaussian. For display, the mice-tracking group raises the map to the power
    0.4 (``xk.viz.overlay(frame, map ** 0.4)``).

    Args:
        points: ``(N, 2)`` positions ``x, y`` in pixels (NaN skipped).
        times: ``(N,)`` seconds.
        shape: ``(height, width)`` of the frame, or the frame itself.
        cell: cell side in pixels.
        sigma: Gaussian blur in cells (0: none).

    Returns:
        ``(ceil(height / cell), ceil(width / cell))`` float array of seconds.

    Examples:
        >>> occupancy([[1, 1], [2, 3], [9, 1]], [0.0, 0.5, 1.0], (8, 16), cell=8).tolist()
        [[1.0, 0.5]]
    """
    from scipy.ndimage import gaussian_filter

    points, times = _steps(points, times)
    height, width = height_width(shape)
    if not cell > 0 or not sigma >= 0:
        raise ValueError(f"need cell > 0 and sigma >= 0; got cell={cell}, sigma={sigma}")
    bins = (int(np.ceil(height / cell)), int(np.ceil(width / cell)))
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    known = points[np.isfinite(points).all(axis=1)]
    columns = np.clip((known[:, 0] // cell).astype(int), 0, bins[1] - 1)
    rows = np.clip((known[:, 1] // cell).astype(int), 0, bins[0] - 1)
    heat = np.zeros(bins)
    np.add.at(heat, (rows, columns), step)
    return gaussian_filter(heat, sigma) if sigma > 0 else heat


def summary(
    tracks: pd.DataFrame,
    *,
    zones: list[Zone] | tuple[Zone, ...] = (),
    scale: float | None = None,
    immobile_speed: float | None = None,
    immobile_window: float = 0.5,
    min_immobile: float = 1.0,
) -> pd.DataFrame:
    """One row per animal: coverage, distance, speed, immobility and zone visits.

    Args:
        tracks: a track table (``frame, time, track, x0, y0, x1, y1, cx, cy``), ideally after
            :func:`~xaikit.track.smoothing.filter_velocity_spikes` and
            :func:`~xaikit.track.smoothing.interpolate_gaps`.
        zones: :class:`~xaikit.track.zones.Zone` objects (in pixels).
        scale: centimetres per pixel (:func:`cm_per_pixel`); ``None`` reports pixels. Lengths
            and speeds are then named ``..._cm`` instead of ``..._px``.
        immobile_speed: speed below which the animal is immobile, in the output's units per
            second; default a tenth of the animal's median box length (its longer side) per
            second.
        immobile_window: seconds over which the immobility speed is measured.
        min_immobile: shortest immobility bout counted, in seconds.

    Returns:
        DataFrame with columns ``track, first_frame, last_frame, frames_tracked, coverage``
        (tracked fraction of the frames between first and last), ``distance_<u>,
        mean_speed_<u>_s, max_speed_<u>_s, immobile_time_s, immobile_bouts`` and, per zone,
        ``<zone>_time_s, <zone>_entries, <zone>_latency_s``.

    Raises:
        ValueError: an empty table, a missing column, a bad parameter, or zones with the same
            name.

    Examples:
        >>> import pandas as pd
        >>> x, y = [0.0, 3.0, 6.0, 6.0], [0.0, 4.0, 8.0, 8.0]  # steps of 5, 5 and 0 px
        >>> tracks = pd.DataFrame({"frame": range(4), "time": [0.0, 1.0, 2.0, 3.0], "track": 0,
        ...     "x0": x, "y0": y, "x1": [v + 10 for v in x], "y1": [v + 10 for v in y],
        ...     "cx": [v + 5 for v in x], "cy": [v + 5 for v in y]})
        >>> row = summary(tracks, zones=[Zone.circle("start", 5, 5, 1)], immobile_window=1.0,
        ...               min_immobile=1.0).iloc[0]
        >>> row[["distance_px", "max_speed_px_s", "immobile_time_s"]].tolist()
        [10.0, 5.0, 1.0]
        >>> row[["start_entries", "start_latency_s"]].tolist(), round(float(row.mean_speed_px_s), 3)
        ([1.0, 0.0], 3.333)
    """
    table = check_table(tracks, ("frame", "time", "track", "x0", "y0", "x1", "y1", "cx", "cy"),
                        "tracks")  # fmt: skip
    if table.empty:
        raise ValueError("tracks is empty: nothing was tracked, so there is nothing to summarise")
    names = [zone.name for zone in zones]
    if len(set(names)) != len(names):
        raise ValueError(f"zone names must be unique; got {names}")
    if scale is not None and not scale > 0:
        raise ValueError(f"scale must be None or > 0 cm per pixel; got {scale}")
    unit, factor = ("cm", scale) if scale is not None else ("px", 1.0)
    rows = []
    for identity in sorted(table["track"].unique()):
        mine = table[table["track"] == identity]
        path = trajectory(table, identity, np.arange(mine["frame"].min(), mine["frame"].max() + 1))
        points, times = path[["x", "y"]].to_numpy(), path["time"].to_numpy()
        steps = speed(points, times) * factor
        measured = bool(np.isfinite(steps).any())
        step_time = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
        window = max(1, round(immobile_window / step_time)) if step_time > 0 else 1
        body = np.median(np.maximum(mine["x1"] - mine["x0"], mine["y1"] - mine["y0"])) * factor
        threshold = immobile_speed if immobile_speed is not None else 0.1 * body
        bouts = immobility_bouts(speed(points, times, window) * factor, times,
                                 max(threshold, 1e-12), min_immobile)  # fmt: skip
        row = {
            "track": int(identity),
            "first_frame": int(path["frame"].iloc[0]),
            "last_frame": int(path["frame"].iloc[-1]),
            "frames_tracked": int(np.isfinite(points).all(axis=1).sum()),
            "coverage": float(np.isfinite(points).all(axis=1).mean()),
            f"distance_{unit}": distance_travelled(points) * factor,
            f"mean_speed_{unit}_s": float(np.nanmean(steps)) if measured else np.nan,
            f"max_speed_{unit}_s": float(np.nanmax(steps)) if measured else np.nan,
            "immobile_time_s": float(bouts["duration_s"].sum()),
            "immobile_bouts": len(bouts),
        }
        for zone in zones:
            visits = zone_visits(points, times, zone)
            row.update({f"{zone.name}_{key}": value for key, value in visits.items()})
        rows.append(row)
    return pd.DataFrame(rows)
