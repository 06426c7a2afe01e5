"""Detections → identities: ByteTrack-style association with a Kalman motion model.

Per frame, every track's box is predicted by a constant-velocity Kalman filter
(:class:`~xaikit.track.motion.BoxKalman`), then three Hungarian matchings
(``scipy.optimize.linear_sum_assignment``) run in turn:

1. all tracks with the confident detections (``score >= high_score``) on IoU with the
   predicted box, pairs below ``match_iou`` excluded;
2. the tracks still unmatched that were seen in the previous frame with the low-score
   detections (``low_score <= score < high_score``) at IoU >= ``low_match_iou`` (ByteTrack's
   recovery of occluded or blurred animals);
3. the tracks still unmatched with the confident detections still unmatched, on centroid
   distance (to the predicted or the last seen centre, whichever is closer) in units of the
   track's box diagonal, pairs farther than ``reid_distance`` excluded: re-identification after
   misses that moved the animal out of IoU reach.

A confident detection left over starts a tentative track, which becomes an identity once it is
matched in ``min_hits`` consecutive frames (a tentative track that misses a frame is dropped,
with its rows). A track unmatched for more than ``max_missed`` frames ends.

With ``animals=N`` (the user knows how many animals there are) at most N identities are ever
created: identities never end, no track starts while N are alive, and once N identities exist
step 3 has no distance limit (any confident detection left over is one of the N animals).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from xaikit.metrics.detection import box_iou
from xaikit.track._tables import BOX, DETECTION_COLUMNS, TRACK_COLUMNS, check_table, empty_tracks
from xaikit.track.motion import BoxKalman

__all__ = ["track"]


@dataclass(eq=False)
class _Track:
    kalman: BoxKalman
    last_box: np.ndarray
    hits: int = 1
    missed: int = 0
    confirmed: bool = False
    rows: list = field(default_factory=list)

    @property
    def diagonal(self) -> float:
        return float(np.hypot(*(self.last_box[2:] - self.last_box[:2])))


def track(
    detections: pd.DataFrame,
    *,
    animals: int | None = None,
    high_score: float = 0.5,
    low_score: float = 0.1,
    match_iou: float = 0.2,
    low_match_iou: float = 0.5,
    reid_distance: float = 1.0,
    max_missed: int = 30,
    min_hits: int = 2,
) -> pd.DataFrame:
    """Link per-frame detections into tracks, one identity per animal.

    See the module docstring for the algorithm. Detections scoring below ``low_score`` are
    ignored. The boxes of the output are the matched detections (not the filtered state);
    frames where a track was not matched have no row (see
    :func:`~xaikit.track.smoothing.interpolate_gaps`).

    Args:
        detections: one row per detection with columns ``frame, time, x0, y0, x1, y1, score``
            (as :func:`~xaikit.track.detection.detect_video` gives); boxes in pixels.
        animals: the number of animals, if known: never more than this many identities.
        high_score: detections at or above it are matched first and can start tracks.
        low_score: detections in ``[low_score, high_score)`` only continue tracks.
        match_iou: least IoU with the predicted box in the first matching.
        low_match_iou: least IoU for a low-score detection.
        reid_distance: farthest re-identification, in box diagonals.
        max_missed: frames a track survives unmatched (ByteTrack's ``track_buffer``).
        min_hits: consecutive matches that confirm a new track.

    Returns:
        The track table: one row per track and matched frame, columns ``frame, time, track,
        x0, y0, x1, y1, cx, cy, score`` (``cx, cy``: box centre), sorted by frame and track.
        Track ids are 0, 1, ... in order of first appearance.

    Raises:
        TypeError: ``detections`` is not a DataFrame.
        ValueError: a column is missing or NaN, a box is inverted, or a parameter is out of
            range (``animals < 1``, ``low_score > high_score``, ``min_hits < 1``...).

    Examples:
        >>> import pandas as pd
        >>> rows = [(f, f / 10, 10 + 2 * f, 10, 30 + 2 * f, 20, 0.9) for f in range(4)]
        >>> rows += [(f, f / 10, 100 - 2 * f, 50, 120 - 2 * f, 60, 0.8) for f in range(4)]
        >>> rows += [(2, 0.2, 60, 90, 70, 100, 0.3)]  # a spurious low-score box
        >>> detections = pd.DataFrame(rows, columns=["frame", "time", "x0", "y0", "x1", "y1",
        ...                                          "score"])
        >>> tracks = track(detections)
        >>> tracks.groupby("track")["cx"].apply(list).to_dict()
        {0: [20.0, 22.0, 24.0, 26.0], 1: [110.0, 108.0, 106.0, 104.0]}
    """
    _check_parameters(animals, high_score, low_score, match_iou, low_match_iou, reid_distance)
    for name, value in (("max_missed", max_missed), ("min_hits", min_hits)):
        if not isinstance(value, (int, np.integer)) or value < (0 if name == "max_missed" else 1):
            raise ValueError(f"{name} must be an int >= {0 if name == 'max_missed' else 1}")
    table = check_table(detections, DETECTION_COLUMNS, "detections")
    table = table[table["score"] >= low_score]
    if table.empty:
        return empty_tracks()

    alive: list[_Track] = []
    confirmed: list[_Track] = []
    frames = table["frame"].to_numpy()
    starts = np.flatnonzero(np.r_[True, frames[1:] != frames[:-1]])
    groups = dict(zip(frames[starts], np.split(np.arange(len(table)), starts[1:]), strict=True))
    values = table[["time", *BOX, "score"]].to_numpy(dtype=np.float64)
    for frame in range(int(frames[0]), int(frames[-1]) + 1):
        rows = values[groups.get(frame, np.zeros(0, dtype=np.int64))]
        alive = _step(alive, frame, rows, confirmed, animals, high_score, min_hits, max_missed,
                      match_iou, low_match_iou, reid_distance)  # fmt: skip
    return _table(confirmed)


def _check_parameters(animals, high_score, low_score, match_iou, low_match_iou, reid_distance):
    if animals is not None and (not isinstance(animals, (int, np.integer)) or animals < 1):
        raise ValueError(f"animals must be None or an int >= 1; got {animals!r}")
    if not 0 <= low_score <= high_score <= 1:
        raise ValueError(
            f"need 0 <= low_score <= high_score <= 1; got low_score={low_score}, "
            f"high_score={high_score}"
        )
    for name, value in (("match_iou", match_iou), ("low_match_iou", low_match_iou)):
        if not 0 < value <= 1:
            raise ValueError(f"{name} must lie in (0, 1]; got {value}")
    if not reid_distance >= 0:
        raise ValueError(f"reid_distance must be >= 0; got {reid_distance}")


def _step(alive, frame, rows, confirmed, animals, high_score, min_hits, max_missed,
          match_iou, low_match_iou, reid_distance):  # fmt: skip
    predicted = np.array([t.kalman.predict() for t in alive]).reshape(-1, 4)
    high = np.flatnonzero(rows[:, 5] >= high_score)
    low = np.flatnonzero(rows[:, 5] < high_score)
    matches: dict[int, int] = {}  # track index -> row index

    everyone = np.arange(len(alive))
    _assign(matches, everyone, high, box_iou(predicted, rows[:, 1:5]), match_iou)
    recent = np.array([i for i in everyone if i not in matches and alive[i].missed == 0], int)
    _assign(matches, recent, low, box_iou(predicted, rows[:, 1:5]), low_match_iou)

    waiting = np.array([i for i in everyone if i not in matches], dtype=np.int64)
    left = np.array([j for j in high if j not in matches.values()], dtype=np.int64)
    full = animals is not None and len(confirmed) >= animals
    closeness = -_distances(alive, predicted, rows)
    _assign(matches, waiting, left, closeness, -np.inf if full else -reid_distance)

    survivors = []
    for index, current in enumerate(alive):
        if index in matches:
            row = rows[matches[index]]
            current.kalman.update(row[1:5])
            current.last_box = row[1:5]
            current.hits += 1
            current.missed = 0
            current.rows.append((frame, *row))
            if current.hits >= min_hits and not current.confirmed:
                current.confirmed = True
                confirmed.append(current)
        else:
            current.missed += 1
            if not current.confirmed or (animals is None and current.missed > max_missed):
                continue
        survivors.append(current)

    used = set(matches.values())
    for j in sorted((j for j in high if j not in used), key=lambda j: -rows[j, 5]):
        if animals is not None and len(survivors) >= animals:
            break
        new = _Track(BoxKalman(rows[j, 1:5]), rows[j, 1:5], rows=[(frame, *rows[j])])
        if min_hits == 1:
            new.confirmed = True
            confirmed.append(new)
        survivors.append(new)
    return survivors


def _assign(matches, track_indices, row_indices, score, threshold) -> None:
    """Hungarian matching maximising ``score``, pairs below ``threshold`` left out."""
    if len(track_indices) == 0 or len(row_indices) == 0:
        return
    block = score[np.ix_(track_indices, row_indices)]
    allowed = block >= threshold
    finite = np.where(allowed, block, 0.0)
    # A large bonus per allowed pair makes the assignment maximise the number of matches first.
    bonus = 1.0 + np.abs(finite).max() * len(track_indices)
    rows, columns = linear_sum_assignment(np.where(allowed, finite + bonus, 0.0), maximize=True)
    for r, c in zip(rows, columns, strict=True):
        if allowed[r, c]:
            matches[int(track_indices[r])] = int(row_indices[c])


def _distances(alive, predicted, rows) -> np.ndarray:
    """Centroid distance of each track (predicted or last centre) to each row, in diagonals."""
    centres = (rows[:, 1:3] + rows[:, 3:5]) / 2
    out = np.zeros((len(alive), len(rows)))
    for index, current in enumerate(alive):
        guesses = np.stack([predicted[index], current.last_box])
        guess_centres = (guesses[:, :2] + guesses[:, 2:]) / 2
        gaps = np.linalg.norm(centres[None] - guess_centres[:, None], axis=2).min(axis=0)
        out[index] = gaps / max(current.diagonal, 1e-6)
    return out


def _table(confirmed: list[_Track]) -> pd.DataFrame:
    if not confirmed:
        return empty_tracks()
    parts = []
    by_start = sorted(confirmed, key=lambda current: current.rows[0][0])
    for identity, current in enumerate(by_start):
        block = np.array(current.rows, dtype=np.float64)
        parts.append(np.column_stack([block[:, :2], np.full(len(block), identity), block[:, 2:]]))
    data = np.concatenate(parts)
    table = pd.DataFrame(data, columns=["frame", "time", "track", *BOX, "score"])
    table["cx"] = (table["x0"] + table["x1"]) / 2
    table["cy"] = (table["y0"] + table["y1"]) / 2
    table = table.astype({"frame": np.int64, "track": np.int64})[list(TRACK_COLUMNS)]
    return table.sort_values(["frame", "track"], kind="stable").reset_index(drop=True)
