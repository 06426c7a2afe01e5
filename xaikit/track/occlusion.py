"""Animals hidden under another one: a box for every frame an animal of a known group is unseen.

Seen from above, two animals that cross or huddle become one silhouette, and the detector sees
only the one on top. When the number of animals is known, an animal that vanished while
touching another one and came back touching it was under it all along; like blob trackers,
which give a merged blob to both identities, :func:`fill_hidden` gives the hidden animal the box
of the animal on top.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xaikit.track._tables import BOX, TRACK_COLUMNS, check_table

__all__ = ["fill_hidden"]


def fill_hidden(tracks: pd.DataFrame, frames: int) -> pd.DataFrame:
    """Fill the stretches where an animal is missing under another animal with that animal's box.

    A stretch of frames without a row of a track is filled when the track's box in the frame
    next to it overlaps the box of another track in that frame, on both sides for a stretch
    inside the track (the same other track), on its one side for a stretch that runs to the
    first or last frame of the video. The filled rows copy the other track's box, centre and
    time, with ``score`` NaN, ``interpolated`` True and ``hidden`` True (the column is added,
    False elsewhere); frames where the other track has no row stay empty. Use it after
    :func:`~xaikit.track.smoothing.interpolate_gaps` (which fills the short gaps from the
    animal's own boxes), and only when every animal in the video has its own track: a track
    that vanishes near another one is otherwise as likely a false one.

    Args:
        tracks: a track table (:data:`~xaikit.track._tables.TRACK_COLUMNS`).
        frames: number of frames of the video (frame numbers run from 0 to ``frames - 1``).

    Returns:
        The table with the filled rows, sorted by frame and track.

    Raises:
        ValueError: a column is missing, or a frame number is outside ``[0, frames)``.

    Examples:
        >>> import pandas as pd
        >>> rows = [(f, f / 10, 0, 10 * f, 0, 10 * f + 20, 10) for f in range(6)]
        >>> rows += [(f, f / 10, 1, 10 * f + 5, 0, 10 * f + 25, 10) for f in (0, 1, 4, 5)]
        >>> tracks = pd.DataFrame(rows, columns=["frame", "time", "track", "x0", "y0", "x1", "y1"])
        >>> tracks = tracks.assign(cx=(tracks.x0 + tracks.x1) / 2, cy=5.0, score=0.9)
        >>> filled = fill_hidden(tracks, frames=6)  # mouse 1 is under mouse 0 in frames 2 and 3
        >>> filled[filled.hidden][["frame", "track", "x0", "x1"]].values.tolist()
        [[2, 1, 20, 40], [3, 1, 30, 50]]
    """
    table = check_table(tracks, TRACK_COLUMNS, "tracks", nullable=("score",))
    if not isinstance(frames, (int, np.integer)) or frames < 1:
        raise ValueError(f"frames must be an int >= 1; got {frames!r}")
    if len(table) and not table["frame"].between(0, frames - 1).all():
        raise ValueError(f"tracks has frame numbers outside [0, {frames - 1}]")
    table = table.copy()
    for column in ("interpolated", "hidden"):
        if column not in table.columns:
            table[column] = False
    by_track = {identity: rows.set_index("frame") for identity, rows in table.groupby("track")}
    added = []
    for identity, rows in by_track.items():
        for before, after in _missing_stretches(rows.index.to_numpy(), frames):
            edges = [edge for edge in (before, after) if edge is not None]
            top = _animal_on_top(identity, edges, by_track)
            if top is None:
                continue
            cover = by_track[top]
            stretch = np.arange(
                0 if before is None else before + 1, frames if after is None else after
            )
            block = cover.loc[stretch[np.isin(stretch, cover.index)]].reset_index()
            block = block.assign(track=identity, score=np.nan, interpolated=True, hidden=True)
            added.append(block)
    if added:
        table = pd.concat([table, *added], ignore_index=True)
    table = table.astype({"interpolated": bool, "hidden": bool})
    return table.sort_values(["frame", "track"], kind="stable").reset_index(drop=True)


def _missing_stretches(seen: np.ndarray, frames: int) -> list[tuple[int | None, int | None]]:
    """``(last frame seen before, first frame seen after)`` of each stretch without rows;
    ``None`` where the stretch reaches the start or the end of the video."""
    seen = np.sort(seen)
    stretches: list[tuple[int | None, int | None]] = []
    if seen[0] > 0:
        stretches.append((None, int(seen[0])))
    jumps = np.flatnonzero(np.diff(seen) > 1)
    stretches += [(int(seen[i]), int(seen[i + 1])) for i in jumps]
    if seen[-1] < frames - 1:
        stretches.append((int(seen[-1]), None))
    return stretches


def _animal_on_top(identity, edges: list[int], by_track: dict) -> object | None:
    """The other track whose box overlaps this track's box in every edge frame, the one
    covering most of it when several do; ``None`` when none does."""
    own = by_track[identity]
    best, best_cover = None, 0.0
    for other, rows in by_track.items():
        if other == identity or not all(edge in rows.index for edge in edges):
            continue
        covers = [_covered(own.loc[edge, BOX], rows.loc[edge, BOX]) for edge in edges]
        if min(covers) > 0 and sum(covers) > best_cover:
            best, best_cover = other, sum(covers)
    return best


def _covered(box: pd.Series, other: pd.Series) -> float:
    """Fraction of ``box``'s area inside ``other``."""
    x0, y0, x1, y1 = box.to_numpy(dtype=np.float64)
    u0, v0, u1, v1 = other.to_numpy(dtype=np.float64)
    width = min(x1, u1) - max(x0, u0)
    height = min(y1, v1) - max(y0, v0)
    area = (x1 - x0) * (y1 - y0)
    return max(width, 0.0) * max(height, 0.0) / area if area > 0 else 0.0
