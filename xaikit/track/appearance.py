"""Appearance of a detection: a colour histogram of its box's central region.

The tracker (:func:`~xaikit.track.association.track`) keeps, per identity, an exponential
moving average of these descriptors and uses their distance to tell apart animals whose boxes
overlap (a dark and a light mouse crossing), where IoU and motion alone are ambiguous.

Descriptor: the central ``centre`` fraction of the box (half its width and height by default,
mostly the animal's body and little floor), less the pixels inside the other boxes of the frame
(an animal lying under another one would otherwise take the colours of the one on top), is
converted to CIE Lab (OpenCV's 8-bit scaling) and binned into an ``8 x 4 x 4`` (L, a, b)
histogram normalised to sum 1: 128 numbers. Lab rather than HSV because grey and black fur has
no stable hue. When fewer than :data:`MIN_PIXELS` central pixels are left, the whole box less
the other boxes is used; when even that leaves too few, the descriptor is NaN (unknown: the
tracker then ignores appearance for that detection). Distance: Hellinger,
``sqrt(1 - sum(sqrt(p * q)))``, 0 for equal histograms and 1 for histograms with disjoint
support.
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from xaikit._arrays import check_frames
from xaikit.track._tables import BOX

__all__ = [
    "BINS",
    "DESCRIPTOR_SIZE",
    "MIN_PIXELS",
    "appearance_distance",
    "describe_boxes",
    "describe_detections",
    "describe_frame",
]

#: Histogram bins of L, a and b.
BINS = (8, 4, 4)
#: Fewest pixels a descriptor is computed from.
MIN_PIXELS = 12
#: Length of a descriptor.
DESCRIPTOR_SIZE = int(np.prod(BINS))


def describe_boxes(frame, boxes, centre: float = 0.5, hide=None) -> np.ndarray:
    """Colour descriptors of ``boxes`` in one frame.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB image.
        boxes: ``(n, 4)`` boxes ``x0, y0, x1, y1`` in the frame's pixels (clipped to it).
        centre: side of the central region described, as a fraction of the box's side.
        hide: ``(k, 4)`` boxes whose pixels are left out of every other box's descriptor (a
            box equal to the one described does not hide it); ``None``: ``boxes`` themselves.
            Pass ``np.zeros((0, 4))`` to hide nothing.

    Returns:
        ``(n, 128)`` float64 histograms, each summing to 1, or a row of NaN where fewer than
        :data:`MIN_PIXELS` pixels are left (a box outside the frame, or inside another box).

    Raises:
        ValueError: ``frame`` is not ``(H, W, 3)`` uint8, ``boxes`` not ``(n, 4)``, or
            ``centre`` outside ``(0, 1]``.

    Examples:
        >>> import numpy as np
        >>> frame = np.zeros((20, 40, 3), np.uint8)
        >>> frame[:, 20:] = 255  # black left half, white right half
        >>> found = describe_boxes(frame, [[0, 0, 20, 20], [20, 0, 40, 20], [2, 2, 18, 18]],
        ...                        hide=np.zeros((0, 4)))
        >>> found.shape, found.sum(axis=1).round(6).tolist()
        ((3, 128), [1.0, 1.0, 1.0])
        >>> appearance_distance(found, found[2:]).round(3).ravel().tolist()
        [0.0, 1.0, 0.0]
        >>> bool(np.isnan(describe_boxes(frame, [[0, 0, 20, 20], [2, 2, 18, 18]])[1]).all())
        True
    """
    frame = check_frames(frame, "frame", single=True)
    boxes = np.asarray(boxes, dtype=np.float64)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be (n, 4) x0, y0, x1, y1; got shape {boxes.shape}")
    if not 0 < centre <= 1:
        raise ValueError(f"centre must lie in (0, 1]; got {centre}")
    shape = frame.shape[:2]
    middle, extent = (boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]
    whole = _pixels(boxes, shape)
    hide = whole if hide is None else _pixels(np.asarray(hide, np.float64).reshape(-1, 4), shape)
    inner = _pixels(np.hstack([middle - extent * centre / 2, middle + extent * centre / 2]), shape)
    out = np.full((len(boxes), DESCRIPTOR_SIZE), np.nan)
    for index in range(len(boxes)):
        others = hide[(hide != whole[index]).any(axis=1)]
        for x0, y0, x1, y1 in (inner[index], whole[index]):
            keep = np.ones((max(y1 - y0, 0), max(x1 - x0, 0)), bool)
            for ox0, oy0, ox1, oy1 in others:
                keep[max(oy0 - y0, 0) : max(oy1 - y0, 0), max(ox0 - x0, 0) : max(ox1 - x0, 0)] = 0
            if keep.sum() >= MIN_PIXELS:
                lab = cv2.cvtColor(np.ascontiguousarray(frame[y0:y1, x0:x1]), cv2.COLOR_RGB2LAB)
                cells = (lab[keep].astype(np.int64) * np.array(BINS)) >> 8  # 0 .. bins - 1
                flat = (cells[:, 0] * BINS[1] + cells[:, 1]) * BINS[2] + cells[:, 2]
                out[index] = np.bincount(flat, minlength=DESCRIPTOR_SIZE) / len(flat)
                break
    return out


def _pixels(boxes: np.ndarray, shape) -> np.ndarray:
    """``(n, 4)`` boxes → integer pixel ranges ``x0, y0, x1, y1`` clipped to a frame of
    ``shape`` ``(H, W)``."""
    limits = shape[::-1]  # x runs to W, y to H
    low = np.floor(np.clip(boxes[:, :2], 0, limits))
    high = np.ceil(np.clip(boxes[:, 2:], 0, limits))
    return np.hstack([low, high]).astype(np.int64)


def describe_detections(
    frames, detections: pd.DataFrame, centre: float = 0.5, min_score: float = 0.1
) -> np.ndarray:
    """:func:`describe_boxes` for every row of a detection table.

    Pixels inside the other boxes of a frame that score at least ``min_score`` (the tracker's
    ``low_score``; boxes the tracker ignores hide nothing) are left out.

    Args:
        frames: anything indexable by frame number giving ``(H, W, 3)`` uint8 RGB frames: a
            ``(T, H, W, 3)`` array or a :class:`~xaikit.data.VideoReader`.
        detections: table with columns ``frame, x0, y0, x1, y1``.
        centre: see :func:`describe_boxes`.
        min_score: boxes scoring less are described but hide nothing (needs a ``score``
            column; without one every box counts).

    Returns:
        ``(N, 128)`` descriptors, row ``i`` for the table's ``i``-th row.

    Raises:
        ValueError: a frame number outside ``frames``.

    Examples:
        >>> import numpy as np, pandas as pd
        >>> frames = np.zeros((2, 10, 10, 3), np.uint8)
        >>> table = pd.DataFrame({"frame": [1, 0], "x0": [0, 0], "y0": [0, 0],
        ...                       "x1": [10, 10], "y1": [10, 10]})
        >>> describe_detections(frames, table).shape
        (2, 128)
    """
    numbers = detections["frame"].to_numpy().astype(np.int64)
    if len(numbers) and (numbers.min() < 0 or numbers.max() >= len(frames)):
        raise ValueError(
            f"detections refer to frames {numbers.min()}..{numbers.max()} but the video has "
            f"{len(frames)} frames"
        )
    boxes = detections[BOX].to_numpy(dtype=np.float64)
    scores = np.ones(len(numbers))
    if "score" in detections.columns:
        scores = detections["score"].to_numpy(dtype=np.float64)
    out = np.empty((len(numbers), DESCRIPTOR_SIZE))
    for number in np.unique(numbers):
        rows = np.flatnonzero(numbers == number)
        frame = np.asarray(frames[int(number)])
        out[rows] = describe_frame(frame, boxes[rows], scores[rows], centre, min_score)
    return out


def describe_frame(frame, boxes, scores, centre: float = 0.5, min_score: float = 0.1):
    """:func:`describe_boxes` of one frame's detections, hidden by those scoring ``min_score``.

    Args:
        frame: ``(H, W, 3)`` uint8 RGB image.
        boxes: ``(n, 4)`` boxes ``x0, y0, x1, y1`` in the frame's pixels.
        scores: ``(n,)`` detection scores.
        centre: see :func:`describe_boxes`.
        min_score: least score of a box that hides the pixels it covers from the others.

    Returns:
        ``(n, 128)`` descriptors (NaN rows where unknown).

    Examples:
        >>> import numpy as np
        >>> frame = np.zeros((20, 20, 3), np.uint8)
        >>> boxes = [[0, 0, 20, 20], [5, 5, 15, 15]]
        >>> np.isfinite(describe_frame(frame, boxes, [0.9, 0.9])).all(axis=1).tolist()
        [True, False]
        >>> np.isfinite(describe_frame(frame, boxes, [0.05, 0.9])).all(axis=1).tolist()
        [True, True]

        (The small box lies inside the large one, so the large one's pixels hide it; the whole
        large box less the small one is described instead of its covered centre.)
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    hiding = np.asarray(scores, dtype=np.float64).reshape(-1) >= min_score
    return describe_boxes(frame, boxes, centre, hide=boxes[hiding])


def appearance_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hellinger distance between ``(n, D)`` and ``(m, D)`` histograms → ``(n, m)`` in [0, 1].

    Examples:
        >>> appearance_distance([[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]).round(3)
        array([[0.   , 1.   , 0.541]])
    """
    overlap = np.sqrt(np.asarray(a, dtype=np.float64)) @ np.sqrt(np.asarray(b, np.float64)).T
    return np.sqrt(np.clip(1.0 - overlap, 0.0, 1.0))
