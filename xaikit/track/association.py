"""Detections → identities: ByteTrack-style association with a Kalman motion model.

Per frame, every track's box is predicted by a constant-velocity Kalman filter
(:class:`~xaikit.track.motion.BoxKalman`), then three Hungarian matchings
(``scipy.optimize.linear_sum_assignment``) run in turn:

1. all tracks with the confident detections (``score >= high_score``) on IoU with the
   predicted box, pairs below ``match_iou`` excluded;
2. the tracks still unmatched that were seen in the previous frame (with ``animals=N`` once
   the N identities exist: all of them) with the low-score detections (``low_score <= score <
   high_score``) at IoU >= ``low_match_iou`` (ByteTrack's recovery of occluded or blurred
   animals);
3. the tracks still unmatched with the confident detections still unmatched, on centroid
   distance (to the predicted or the last seen centre, whichever is closer) in units of the
   track's box diagonal, pairs farther than ``reid_distance`` excluded: re-identification after
   misses that moved the animal out of IoU reach.

Appearance (when ``frames`` or precomputed ``appearance`` descriptors are given): every
identity keeps an exponential moving average of the colour descriptors of its detections
(:mod:`~xaikit.track.appearance`), and every matching above maximises its geometric score
(IoU, or minus the distance) minus ``appearance_weight`` x the Hellinger distance between the
identity's descriptor and the detection's. The gates (``match_iou``, ``low_match_iou``,
``reid_distance``) stay geometric: appearance only chooses among plausible pairs, which decides
crossings where both predicted boxes overlap both detections. A detection overlapping another
one of its frame (IoU >= 0.1) mixes both animals' colours, so it does not update the average.

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
from xaikit.track.appearance import appearance_distance, describe_detections
from xaikit.track.motion import BoxKalman

__all__ = ["track"]

#: A detection overlapping another of its frame at least this much does not update the
#: identity's appearance (its central region holds both animals).
MIXED_IOU = 0.1


@dataclass(eq=False)
class _Track:
    kalman: BoxKalman
    last_box: np.ndarray
    descriptor: np.ndarray | None = None
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
    frames=None,
    appearance=None,
    animals: int | None = None,
    high_score: float = 0.5,
    low_score: float = 0.1,
    match_iou: float = 0.2,
    low_match_iou: float = 0.5,
    reid_distance: float = 1.0,
    max_missed: int = 30,
    min_hits: int = 2,
    appearance_weight: float = 1.0,
    appearance_momentum: float = 0.9,
) -> pd.DataFrame:
    """Link per-frame detections into tracks, one identity per animal.

    See the module docstring for the algorithm. Detections scoring below ``low_score`` are
    ignored. The boxes of the output are the matched detections (not the filtered state);
    frames where a track was not matched have no row (see
    :func:`~xaikit.track.smoothing.interpolate_gaps`).

    Args:
        detections: one row per detection with columns ``frame, time, x0, y0, x1, y1, score``
            (as :func:`~xaikit.track.detection.detect_video` gives); boxes in pixels.
        frames: the video's frames, indexable by frame number (a ``(T, H, W, 3)`` uint8 array
            or a :class:`~xaikit.data.VideoReader`), to describe each detection's colours;
            ``None`` (and no ``appearance``) tracks on boxes alone.
        appearance: precomputed ``(N, D)`` descriptors, row ``i`` for the ``i``-th row of
            ``detections`` (:func:`~xaikit.track.appearance.describe_detections`,
            :attr:`~xaikit.track.detection.VideoDetections.appearance`); not with ``frames``.
        animals: the number of animals, if known: never more than this many identities.
        high_score: detections at or above it are matched first and can start tracks.
        low_score: detections in ``[low_score, high_score)`` only continue tracks.
        match_iou: least IoU with the predicted box in the first matching.
        low_match_iou: least IoU for a low-score detection.
        reid_distance: farthest re-identification, in box diagonals.
        max_missed: frames a track survives unmatched (ByteTrack's ``track_buffer``).
        min_hits: consecutive matches that confirm a new track.
        appearance_weight: weight of the appearance distance (in [0, 1]) against IoU or the
            distance in diagonals; 0 ignores appearance.
        appearance_momentum: weight of the old descriptor in the moving average, in [0, 1).

    Returns:
        The track table: one row per track and matched frame, columns ``frame, time, track,
        x0, y0, x1, y1, cx, cy, score`` (``cx, cy``: box centre), sorted by frame and track.
        Track ids are 0, 1, ... in order of first appearance.

    Raises:
        TypeError: ``detections`` is not a DataFrame.
        ValueError: a column is missing or NaN, a box is inverted, a parameter is out of
            range (``animals < 1``, ``low_score > high_score``, ``min_hits < 1``...), or both
            ``frames`` and ``appearance`` are given, or ``appearance`` does not have one row per
            detection.

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

        With frames, a dark and a light animal whose boxes overlap (IoU 0.21) and that swap
        places between two frames (IoU alone keeps each identity in place) keep their
        identities by colour:

        >>> import numpy as np
        >>> video = np.full((4, 40, 80, 3), 128, np.uint8)
        >>> for f in range(4):
        ...     video[f, 5:35, 0:26], video[f, 5:35, 40:66] = (0, 255) if f < 2 else (255, 0)
        >>> rows = [(f, f / 10, x, 5, x + 40, 35, 0.9) for f in range(4) for x in (0, 26)]
        >>> swapped = pd.DataFrame(rows, columns=detections.columns)
        >>> track(swapped).groupby("track")["cx"].apply(list).to_dict()
        {0: [20.0, 20.0, 20.0, 20.0], 1: [46.0, 46.0, 46.0, 46.0]}
        >>> track(swapped, frames=video).groupby("track")["cx"].apply(list).to_dict()
        {0: [20.0, 20.0, 46.0, 46.0], 1: [46.0, 46.0, 20.0, 20.0]}
    """
    _check_parameters(animals, high_score, low_score, match_iou, low_match_iou, reid_distance)
    for name, value in (("max_missed", max_missed), ("min_hits", min_hits)):
        if not isinstance(value, (int, np.integer)) or value < (0 if name == "max_missed" else 1):
            raise ValueError(f"{name} must be an int >= {0 if name == 'max_missed' else 1}")
    if not (appearance_weight >= 0 and 0 <= appearance_momentum < 1):
        raise ValueError(
            "need appearance_weight >= 0 and 0 <= appearance_momentum < 1; got "
            f"{appearance_weight} and {appearance_momentum}"
        )
    table = check_table(detections, DETECTION_COLUMNS, "detections")
    descriptors = _descriptors(detections, table, frames, appearance)
    keep = (table["score"] >= low_score).to_numpy()
    table = table[keep]
    descriptors = None if descriptors is None else descriptors[keep]
    if table.empty:
        return empty_tracks()
    cue = (descriptors, appearance_weight, appearance_momentum)

    alive: list[_Track] = []
    confirmed: list[_Track] = []
    frames = table["frame"].to_numpy()
    starts = np.flatnonzero(np.r_[True, frames[1:] != frames[:-1]])
    groups = dict(zip(frames[starts], np.split(np.arange(len(table)), starts[1:]), strict=True))
    values = table[["time", *BOX, "score"]].to_numpy(dtype=np.float64)
    for frame in range(int(frames[0]), int(frames[-1]) + 1):
        picked = groups.get(frame, np.zeros(0, dtype=np.int64))
        looks = None if descriptors is None else descriptors[picked]
        alive = _step(alive, frame, values[picked], looks, confirmed, animals, high_score,
                      min_hits, max_missed, match_iou, low_match_iou, reid_distance,
                      cue[1:])  # fmt: skip
    return _table(confirmed)


def _descriptors(detections, table, frames, appearance) -> np.ndarray | None:
    """Appearance descriptors in the row order of ``table`` (sorted by frame), or ``None``."""
    if frames is not None and appearance is not None:
        raise ValueError("give frames or precomputed appearance descriptors, not both")
    if frames is not None:
        return describe_detections(frames, table)
    if appearance is None:
        return None
    appearance = np.asarray(appearance, dtype=np.float64)
    if appearance.ndim != 2 or len(appearance) != len(detections):
        raise ValueError(
            f"appearance must be (N, D) with one row per detection (N = {len(detections)}); "
            f"got shape {appearance.shape}"
        )
    order = np.argsort(detections["frame"].to_numpy(), kind="stable")  # as check_table sorts
    return appearance[order]


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


def _step(alive, frame, rows, looks, confirmed, animals, high_score, min_hits, max_missed,
          match_iou, low_match_iou, reid_distance, cue):  # fmt: skip
    weight, momentum = cue
    predicted = np.array([t.kalman.predict() for t in alive]).reshape(-1, 4)
    high = np.flatnonzero(rows[:, 5] >= high_score)
    low = np.flatnonzero(rows[:, 5] < high_score)
    matches: dict[int, int] = {}  # track index -> row index
    unlike = weight * _appearance_gaps(alive, looks, len(rows))

    everyone = np.arange(len(alive))
    iou = box_iou(predicted, rows[:, 1:5])
    _assign(matches, everyone, high, iou - unlike, iou >= match_iou)
    full = animals is not None and len(confirmed) >= animals
    # A low-score box continues a track seen in the previous frame (ByteTrack), or, once the
    # N animals are known, any of them: a missed animal must not wait for a confident box.
    recent = np.array(
        [i for i in everyone if i not in matches and (alive[i].missed == 0 or full)], int
    )
    _assign(matches, recent, low, iou - unlike, iou >= low_match_iou)

    waiting = np.array([i for i in everyone if i not in matches], dtype=np.int64)
    left = np.array([j for j in high if j not in matches.values()], dtype=np.int64)
    distance = _distances(alive, predicted, rows)
    _assign(matches, waiting, left, -distance - unlike, full | (distance <= reid_distance))

    mixed = _mixed(rows)
    survivors = []
    for index, current in enumerate(alive):
        if index in matches:
            row = rows[matches[index]]
            current.kalman.update(row[1:5])
            current.last_box = row[1:5]
            look = None if looks is None else looks[matches[index]]
            if look is not None and not mixed[matches[index]] and not np.isnan(look[0]):
                old = current.descriptor
                fresh = np.isnan(old[0])
                current.descriptor = look if fresh else momentum * old + (1 - momentum) * look
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
        look = None if looks is None else looks[j]
        new = _Track(BoxKalman(rows[j, 1:5]), rows[j, 1:5], look, rows=[(frame, *rows[j])])
        if min_hits == 1:
            new.confirmed = True
            confirmed.append(new)
        survivors.append(new)
    return survivors


def _assign(matches, track_indices, row_indices, score, gate) -> None:
    """Hungarian matching maximising ``score`` over the pairs where ``gate`` is true."""
    if len(track_indices) == 0 or len(row_indices) == 0:
        return
    block = score[np.ix_(track_indices, row_indices)]
    allowed = gate[np.ix_(track_indices, row_indices)]
    finite = np.where(allowed, block, 0.0)
    # A large bonus per allowed pair makes the assignment maximise the number of matches first.
    bonus = 1.0 + np.abs(finite).max() * len(track_indices)
    rows, columns = linear_sum_assignment(np.where(allowed, finite + bonus, 0.0), maximize=True)
    for r, c in zip(rows, columns, strict=True):
        if allowed[r, c]:
            matches[int(track_indices[r])] = int(row_indices[c])


def _appearance_gaps(alive, looks, count: int) -> np.ndarray:
    """``(tracks, rows)`` appearance distance of each identity to each row; 0 where either
    descriptor is unknown (NaN) or without descriptors."""
    if looks is None or not alive or not count:
        return np.zeros((len(alive), count))
    gaps = appearance_distance(np.stack([current.descriptor for current in alive]), looks)
    return np.nan_to_num(gaps, nan=0.0)


def _mixed(rows) -> np.ndarray:
    """Whether each row overlaps another row of its frame at IoU >= :data:`MIXED_IOU`."""
    overlap = box_iou(rows[:, 1:5], rows[:, 1:5])
    np.fill_diagonal(overlap, 0.0)
    return (overlap >= MIXED_IOU).any(axis=1) if len(rows) else np.zeros(0, bool)


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
