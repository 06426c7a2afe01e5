"""Saliency maps against object boxes and masks: pointing game, the 3D-CAM paper's hit point and
Acc2 (and the peak-in-box reading of a hit), energy-fraction boxes and the 95 %-energy map
cleaning (Hessian-CIAM paper), MaxBoxAcc and MaxBoxAccV2 (wsolevaluation; MaxBoxAcc with one
threshold for the set, or per sample as the 3D-CAM paper's UCF24 table), and PxAP
(wsolevaluation's pixel average precision).

Maps are ``(H, W)``, a stack ``(B, H, W)`` or clips ``(B, T, H, W)``; a clip is scored frame by
frame (its frames join the stack, and its boxes are given per clip, then per frame). Boxes are
rows ``x0, y0, x1, y1``, one ``(K, 4)`` array per image or frame, in one of two conventions
(``box_convention=``, as in :mod:`xaikit.metrics.detection`):

* ``"continuous"`` (default, what :mod:`xaikit.data` writes): pixel ``i`` covers ``[i, i + 1)``,
  so a box over pixel columns ``c0 .. c1`` has ``x0 = c0`` and ``x1 = c1 + 1``; a box covers
  the pixels whose centre lies in it; IoU is the ratio of areas. Boxes estimated from a map
  (:func:`boxes_from_map`, :func:`energy_box`) are the exact bounding rectangles of its pixels.
* ``"pixel"`` (VOC devkit, wsolevaluation): inclusive pixel indices, ``x1 = c1``; IoU with the
  +1 pixel convention. This reproduces wsolevaluation exactly, including how it reads OpenCV's
  exclusive ``boundingRect`` end as inclusive (its estimated boxes are one pixel too wide and
  tall unless clipped at the image border).

The two conventions give the same scores for boxes converted between them, except where an
estimated box meets wsolevaluation's one-pixel-wider reading (MaxBoxAcc, MaxBoxAccV2, Acc2).
"""

from __future__ import annotations

import numpy as np

from xaikit._arrays import minmax, to_numpy
from xaikit.metrics._inputs import (
    BOX_CONVENTIONS,
    as_box_lists,
    as_maps,
    as_mask,
    check_choice,
    check_fraction,
    check_not_empty,
)
from xaikit.metrics.detection import _iou_matrix
from xaikit.metrics.registry import metric

#: wsolevaluation's IoU thresholds for MaxBoxAccV2 (ILSVRC, CUB).
WSOL_IOU_THRESHOLDS = (0.3, 0.5, 0.7)
#: The 3D-CAM paper's IoU thresholds for action localisation on UCF24 (its Table 6).
UCF24_IOU_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5)
#: The 3D-CAM paper's IoU thresholds of overlap and Acc2 (Tables 4 and 5; 0.0 = any overlap).
OVERLAP_IOU_THRESHOLDS = (0.0, 0.5, 0.6)
#: The Hessian-CIAM paper's energy fractions.
ENERGY_FRACTIONS = (0.95, 0.90, 0.85, 0.80, 0.75)

__all__ = [
    "BOX_CONVENTIONS",
    "ENERGY_FRACTIONS",
    "OVERLAP_IOU_THRESHOLDS",
    "UCF24_IOU_THRESHOLDS",
    "WSOL_IOU_THRESHOLDS",
    "acc2",
    "best_box_iou",
    "boxes_from_map",
    "boxes_to_mask",
    "energy_box",
    "energy_box_iou",
    "energy_clean",
    "hit_point",
    "max_box_acc",
    "max_box_acc_per_sample",
    "max_box_acc_v2",
    "peak_in_box",
    "pointing_game",
    "pointing_game_hits",
    "pxap",
]


def _frames(saliency, boxes=None, box_convention: str = "continuous"):
    """``(N, H, W)`` float maps with clips flattened, and the per-frame box lists."""
    check_choice(box_convention, "box_convention", BOX_CONVENTIONS)
    array = np.asarray(to_numpy(saliency), dtype=np.float64)
    if array.ndim == 4:
        clips, frames = array.shape[:2]
        array = array.reshape(clips * frames, *array.shape[2:])
        if boxes is not None:
            boxes = list(boxes)
            if len(boxes) != clips or any(len(list(clip)) != frames for clip in boxes):
                raise ValueError(
                    f"for clips (B, T, H, W) = {(clips, frames)} give boxes per clip, then per "
                    "frame: a list of B lists of T arrays (K, 4)"
                )
            boxes = [frame for clip in boxes for frame in clip]
    maps, _ = as_maps(array, "saliency")
    check_not_empty(maps, "saliency")
    if boxes is None:
        return maps, None
    return maps, as_box_lists(boxes, "boxes", maps.shape[0])


def _pixel_ranges(boxes: np.ndarray, box_convention: str) -> np.ndarray:
    """``(K, 4)`` int rows ``column start, row start, column stop, row stop`` (stops exclusive,
    starts at least 0) of the pixels each box covers."""
    if box_convention == "pixel":
        starts, stops = np.round(boxes[:, :2]), np.round(boxes[:, 2:]) + 1
    else:  # the pixels whose centre i + 0.5 lies in [x0, x1)
        starts, stops = np.ceil(boxes[:, :2] - 0.5), np.ceil(boxes[:, 2:] - 0.5)
    return np.clip(np.hstack([starts, stops]), 0, None).astype(int)


def boxes_to_mask(boxes, shape: tuple[int, int], *, box_convention: str = "continuous"):
    """Boolean ``(H, W)`` mask of the pixels covered by the union of ``boxes``.

    Args:
        boxes: ``(K, 4)`` rows ``x0, y0, x1, y1`` (or one box ``(4,)``).
        shape: ``(height, width)`` of the mask.
        box_convention: ``"continuous"`` (a pixel is in a box when its centre is) or
            ``"pixel"`` (inclusive indices, rounded).

    Examples:
        >>> from xaikit.metrics.localization import boxes_to_mask
        >>> boxes_to_mask([[1, 0, 3, 2]], (3, 4)).astype(int)
        array([[0, 1, 1, 0],
               [0, 1, 1, 0],
               [0, 0, 0, 0]])
        >>> bool((boxes_to_mask([[1, 0, 2, 1]], (3, 4), box_convention="pixel")
        ...       == boxes_to_mask([[1, 0, 3, 2]], (3, 4))).all())
        True
    """
    check_choice(box_convention, "box_convention", BOX_CONVENTIONS)
    (box_array,) = as_box_lists([boxes], "boxes", 1)
    mask = np.zeros(shape, dtype=bool)
    for x0, y0, x1, y1 in _pixel_ranges(box_array, box_convention):
        mask[y0:y1, x0:x1] = True
    return mask


# ----------------------------------------------------------------------------------------------
# pointing game and hit point


def pointing_game_hits(saliency, masks, *, tolerance: float = 15) -> np.ndarray:
    """Per-map pointing-game outcome: does the map's maximum fall on (or near) the object?

    TorchRay convention: the point is the first maximum (row-major ``argmax``); a hit when a
    mask pixel lies at Euclidean distance < ``tolerance`` from it (strict, on the pixel grid),
    or the point itself is on the mask (so ``tolerance=0`` asks for exactly that).

    Args:
        saliency: ``(H, W)``, ``(B, H, W)`` or clips ``(B, T, H, W)``.
        masks: object masks of the same shape (> 0 = object).
        tolerance: radius in pixels (15 in the EBP and TorchRay benchmarks).

    Returns:
        ``(N,)`` floats: 1 hit, 0 miss, NaN for an empty mask (skipped) or a NaN map.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import pointing_game_hits
        >>> saliency = np.zeros((1, 40, 40)); saliency[0, 5, 5] = 1
        >>> mask = np.zeros((1, 40, 40)); mask[0, 5, 19:] = 1  # 14 px to the right
        >>> pointing_game_hits(saliency, mask), pointing_game_hits(saliency, mask, tolerance=14)
        (array([1.]), array([0.]))
    """
    from scipy.ndimage import distance_transform_edt

    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0 pixels; got {tolerance}")
    maps, _ = _frames(saliency)
    mask_array = np.asarray(to_numpy(masks))
    objects, _ = as_mask(mask_array.reshape(-1, *mask_array.shape[-2:]), "masks")
    if objects.shape != maps.shape:
        raise ValueError(f"masks must match saliency; got {objects.shape} and {maps.shape}")
    hits = np.full(maps.shape[0], np.nan)
    for index, (single, mask) in enumerate(zip(maps, objects, strict=True)):
        if not mask.any() or np.isnan(single).any():
            continue
        y, x = np.unravel_index(np.argmax(single), single.shape)
        distance = distance_transform_edt(~mask)[y, x]
        hits[index] = float(mask[y, x] or distance < tolerance)
    return hits


def pointing_game(saliency, masks, class_ids=None, *, tolerance: float = 15) -> float:
    """Pointing-game accuracy: per class, hits / (hits + misses); then the mean over classes.

    Maps with an empty mask are skipped. The mean runs over the classes that have at least one
    evaluated map (TorchRay's ``accuracy`` also averages classes never seen, as 0).

    Args:
        saliency: ``(H, W)``, ``(B, H, W)`` or clips ``(B, T, H, W)``.
        masks: object masks of the same shape.
        class_ids: ``(N,)`` class of each map (frames of a clip: one per frame); ``None`` = one
            class.
        tolerance: radius in pixels.

    Returns:
        Accuracy in [0, 1]; NaN when no map was evaluated.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import pointing_game
        >>> saliency = np.zeros((3, 20, 20)); saliency[:, 2, 2] = 1
        >>> masks = np.zeros((3, 20, 20)); masks[0, :5, :5] = 1; masks[1:, 15:, 15:] = 1
        >>> pointing_game(saliency, masks, class_ids=[0, 1, 1])  # (1/1 + 0/2) / 2
        0.5
    """
    hits = pointing_game_hits(saliency, masks, tolerance=tolerance)
    classes = np.zeros(hits.size, dtype=int) if class_ids is None else np.asarray(class_ids).ravel()
    if classes.size != hits.size:
        raise ValueError(f"class_ids must give one class per map ({hits.size}); got {classes.size}")
    accuracies = [
        np.nanmean(hits[classes == c])
        for c in np.unique(classes)
        if not np.isnan(hits[classes == c]).all()
    ]
    return float(np.mean(accuracies)) if accuracies else np.nan


@metric("hit point", reads=("boxes",), higher_is_better=True, averages_maps=True)
def hit_point(
    saliency, boxes, *, cam_threshold: float = 0.2, box_convention: str = "continuous"
) -> float:
    """The 3D-CAM paper's hit point (Sec. 4, "Hit point"): share of maps whose saliency meets a
    ground-truth box.

    Acc = #Hits / (#Hits + #Misses); "if the saliency intersects the bounding box, it is termed
    to be Hit", and the paper states that the hit point equals Acc2 at IoU threshold 0.0. A
    *saliency region* is read here exactly as :func:`acc2` reads it: the bounding box of each
    contour of the map thresholded at ``cam_threshold`` (all contours, :func:`boxes_from_map`),
    so a map hits when any of its regions overlaps any of its ground-truth boxes (IoU > 0), and
    the hit point equals ``acc2(..., iou_threshold=0.0, correct=None)`` (the registry's
    ``"overlap @0"``) on maps that all have a box. Maps without a ground-truth box are skipped
    (Acc2 counts them as misses). The paper gives no map threshold; 0.2 of the maximum is
    CAM's, as for Acc2. The argmax reading of a hit is :func:`peak_in_box`.

    Args:
        saliency: ``(H, W)``, ``(B, H, W)`` or clips ``(B, T, H, W)``.
        boxes: per map a ``(K, 4)`` array (clips: per clip, then per frame).
        cam_threshold: the map threshold in [0, 1), relative to the maximum.
        box_convention: ``"continuous"`` or ``"pixel"`` (see the module docstring).

    Returns:
        Accuracy in [0, 1]; NaN when no map has a box.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import hit_point, peak_in_box
        >>> saliency = np.zeros((1, 10, 10)); saliency[0, 1, 1] = 1.0  # the peak, off the box
        >>> saliency[0, 5:8, 5:8] = 0.5  # a second region inside it
        >>> box = [np.array([[4, 4, 9, 9]])]
        >>> hit_point(saliency, box), peak_in_box(saliency, box)
        (1.0, 0.0)
    """
    check_fraction(cam_threshold, "cam_threshold")
    _, box_lists = _frames(saliency, boxes, box_convention)
    has_box = np.array([len(truths) > 0 for truths in box_lists])
    ious = best_box_iou(
        saliency,
        boxes,
        cam_thresholds=[cam_threshold],
        multi_contour=True,
        box_convention=box_convention,
    )[:, 0]
    return float(np.mean(ious[has_box] > 0)) if has_box.any() else np.nan


@metric("peak in box", reads=("boxes",), higher_is_better=True, averages_maps=True)
def peak_in_box(saliency, boxes, *, box_convention: str = "continuous") -> float:
    """Share of maps whose maximum lies inside a ground-truth box: the pointing game's reading
    of a hit (Zhang et al. 2016) on box masks with no tolerance.

    Acc = #hits / (#hits + #misses), a hit being the first maximum (row-major ``argmax``) on a
    pixel covered by any of the map's boxes (:func:`boxes_to_mask`). Maps without a box are
    skipped. This is *not* the 3D-CAM paper's hit point, which counts any salient region that
    meets the box (:func:`hit_point`).

    Args:
        saliency: ``(H, W)``, ``(B, H, W)`` or clips ``(B, T, H, W)``.
        boxes: per map a ``(K, 4)`` array (clips: per clip, then per frame).
        box_convention: ``"continuous"`` or ``"pixel"`` (see the module docstring).

    Returns:
        Accuracy in [0, 1]; NaN when no map has a box.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import peak_in_box
        >>> saliency = np.zeros((2, 10, 10)); saliency[:, 1, 1] = 1
        >>> peak_in_box(saliency, [np.array([[0, 0, 2, 2]]), np.array([[5, 5, 9, 9]])])
        0.5
        >>> peak_in_box(saliency[:1], [np.array([[0, 0, 1, 1]])])  # pixel 0 only
        0.0
        >>> peak_in_box(saliency[:1], [np.array([[0, 0, 1, 1]])], box_convention="pixel")
        1.0
    """
    maps, box_lists = _frames(saliency, boxes, box_convention)
    shape = maps.shape[1:]
    masks = np.stack([boxes_to_mask(b, shape, box_convention=box_convention) for b in box_lists])
    hits = pointing_game_hits(maps, masks, tolerance=0)
    return float(np.nanmean(hits)) if not np.isnan(hits).all() else np.nan


# ----------------------------------------------------------------------------------------------
# boxes from thresholded maps (wsolevaluation)


def _levels(single: np.ndarray) -> np.ndarray:
    """wsolevaluation's ``normalize_scoremap`` then ``(map * 255).astype(uint8)``: the one
    min-max normalisation (a constant map becomes zeros)."""
    if np.isnan(single).any():  # wsolevaluation: a map with a NaN becomes zeros
        return np.zeros(single.shape, np.uint8)
    return (minmax(single, batched=False) * 255).astype(np.uint8)


def _boxes_at(levels: np.ndarray, threshold: float, multi_contour: bool, box_convention: str):
    """Boxes of the contours of ``levels > int(threshold * max)`` (uint8 levels)."""
    import cv2

    foreground = (levels > int(threshold * levels.max())).astype(np.uint8)
    contours = cv2.findContours(foreground, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[-2]
    if len(contours) == 0:
        return np.zeros((1, 4))
    if not multi_contour:
        contours = [max(contours, key=cv2.contourArea)]
    height, width = levels.shape
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if box_convention == "pixel":  # wsolevaluation reads the exclusive end as inclusive
            boxes.append([x, y, min(x + w, width - 1), min(y + h, height - 1)])
        else:
            boxes.append([x, y, x + w, y + h])
    return np.asarray(boxes, dtype=np.float64)


def boxes_from_map(
    saliency, cam_threshold: float, *, multi_contour: bool = False, box_convention="continuous"
) -> np.ndarray:
    """Boxes around the thresholded map, as wsolevaluation computes them.

    The map is min-max normalised (NaN or constant maps become zeros), quantised to uint8
    (``(map * 255).astype(uint8)``), thresholded strictly above ``int(cam_threshold * max)``;
    each OpenCV contour gives its bounding rectangle ``x, y, w, h``. ``"continuous"`` returns
    it as ``x, y, x + w, y + h``: exactly the contour's pixels. ``"pixel"`` returns
    wsolevaluation's ``x, y, min(x + w, W - 1), min(y + h, H - 1)``, read as inclusive pixels
    (one pixel wider and taller than the contour unless clipped). No contour gives the box
    ``[0, 0, 0, 0]`` (empty in the continuous convention, one pixel in the pixel convention).

    Args:
        saliency: one ``(H, W)`` map.
        cam_threshold: in [0, 1), relative to the map's maximum.
        multi_contour: all contours (MaxBoxAccV2) instead of the largest (MaxBoxAcc).
        box_convention: ``"continuous"`` or ``"pixel"``.

    Returns:
        ``(K, 4)`` boxes ``x0, y0, x1, y1``.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import boxes_from_map
        >>> saliency = np.zeros((8, 8)); saliency[1:3, 1:4] = 1.0; saliency[6:, 6:] = 0.6
        >>> boxes_from_map(saliency, 0.5)  # pixels 1..3 x 1..2
        array([[1., 1., 4., 3.]])
        >>> boxes_from_map(saliency, 0.5, multi_contour=True)
        array([[6., 6., 8., 8.],
               [1., 1., 4., 3.]])
        >>> boxes_from_map(saliency, 0.5, multi_contour=True, box_convention="pixel")
        array([[6., 6., 7., 7.],
               [1., 1., 4., 3.]])
    """
    check_choice(box_convention, "box_convention", BOX_CONVENTIONS)
    maps, _ = as_maps(saliency, "saliency")
    if maps.shape[0] != 1 or maps.ndim != 3:
        raise ValueError(f"boxes_from_map takes one map (H, W); got shape {np.shape(saliency)}")
    check_fraction(cam_threshold, "cam_threshold")
    return _boxes_at(_levels(maps[0]), cam_threshold, multi_contour, box_convention)


def best_box_iou(
    saliency,
    boxes,
    *,
    cam_thresholds=None,
    multi_contour: bool = False,
    box_convention: str = "continuous",
) -> np.ndarray:
    """IoU of the best estimated box with the best ground-truth box, per map and threshold.

    wsolevaluation: for each threshold, the maximum IoU over the boxes of
    :func:`boxes_from_map` and the map's ground-truth boxes.

    Args:
        saliency: ``(H, W)``, ``(B, H, W)`` or clips ``(B, T, H, W)``.
        boxes: per map a ``(K, 4)`` array (clips: per clip, then per frame).
        cam_thresholds: thresholds in [0, 1); ``None`` = ``np.arange(0, 1, 0.01)`` (the CLI
            default; wsolevaluation's config uses a step of 0.001).
        multi_contour: all contours instead of the largest.
        box_convention: ``"continuous"`` or ``"pixel"`` (wsolevaluation's numbers).

    Returns:
        ``(N, T)`` IoU array (a map without ground-truth box: IoU 0).

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import best_box_iou
        >>> saliency = np.zeros((8, 8)); saliency[2:5, 2:5] = 1.0  # pixels 2..4
        >>> best_box_iou(saliency, [np.array([[2, 2, 5, 5]])], cam_thresholds=[0.5])
        array([[1.]])
        >>> best_box_iou(saliency, [np.array([[2, 2, 4, 4]])], cam_thresholds=[0.5],
        ...              box_convention="pixel")  # wsolevaluation's box 2..5: 9 / 16
        array([[0.5625]])
    """
    maps, box_lists = _frames(saliency, boxes, box_convention)
    thresholds = _cam_thresholds(cam_thresholds)
    ious = np.zeros((maps.shape[0], thresholds.size))
    for index, (single, truths) in enumerate(zip(maps, box_lists, strict=True)):
        if len(truths) == 0:
            continue
        levels = _levels(single)
        for column, threshold in enumerate(thresholds):
            estimated = _boxes_at(levels, threshold, multi_contour, box_convention)
            ious[index, column] = _iou_matrix(estimated, truths, box_convention).max()
    return ious


def _cam_thresholds(cam_thresholds) -> np.ndarray:
    if cam_thresholds is None:
        return np.arange(0, 1, 0.01)
    thresholds = np.atleast_1d(np.asarray(cam_thresholds, dtype=np.float64))
    if thresholds.size == 0 or (thresholds < 0).any() or (thresholds >= 1).any():
        raise ValueError(f"cam_thresholds must be values in [0, 1); got {thresholds}")
    return thresholds


def _iou_thresholds(iou_threshold) -> np.ndarray:
    """``(D,)`` IoU thresholds from one value or a sequence, each checked to lie in [0, 1]."""
    deltas = np.atleast_1d(np.asarray(iou_threshold, dtype=np.float64))
    if deltas.ndim != 1 or deltas.size == 0:
        raise ValueError(f"iou_threshold must be a value or a sequence of them; got {deltas}")
    for delta in deltas:
        check_fraction(delta, "iou_threshold")
    return deltas


@metric(
    "Acc2",
    reads=("boxes", "correct"),
    higher_is_better=True,
    averages_maps=True,
    thresholds=OVERLAP_IOU_THRESHOLDS,
    threshold_keyword="iou_threshold",
)
@metric(
    "overlap",
    reads=("boxes",),
    higher_is_better=True,
    averages_maps=True,
    thresholds=OVERLAP_IOU_THRESHOLDS,
    threshold_keyword="iou_threshold",
)
def acc2(
    saliency,
    boxes,
    correct=None,
    *,
    iou_threshold=0.0,
    cam_threshold: float = 0.2,
    box_convention: str = "continuous",
):
    """The 3D-CAM paper's Acc2: localisation hits that also have the right class prediction.

    Acc2 = mean over maps of c_i * [IoU_i > ``iou_threshold``], with c_i = 1 when the class
    prediction is correct, IoU_i the best IoU between the boxes of the map thresholded at
    ``cam_threshold`` (all contours, :func:`boxes_from_map`) and the ground-truth boxes. The
    comparison is strict, so ``iou_threshold=0`` asks for any overlap. The paper does not give
    its box threshold; the default 0.2 of the maximum is CAM's (Zhou et al. 2016). With
    ``correct=None`` every prediction counts as correct (the paper's Table 4 "overlap"; the
    registry names it so).

    Args:
        saliency: ``(H, W)``, ``(B, H, W)`` or clips ``(B, T, H, W)``.
        boxes: per map a ``(K, 4)`` array (clips: per clip, then per frame).
        correct: ``(N,)`` booleans, or ``None``.
        iou_threshold: in [0, 1), or a sequence of them.
        cam_threshold: in [0, 1).
        box_convention: ``"continuous"`` or ``"pixel"`` (wsolevaluation's boxes).

    Returns:
        Acc2 in [0, 1], or a ``(D,)`` array for a sequence of IoU thresholds.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import acc2
        >>> saliency = np.zeros((2, 10, 10)); saliency[:, 2:5, 2:5] = 1.0
        >>> boxes = [np.array([[3, 3, 6, 6]]), np.array([[3, 3, 6, 6]])]  # IoU 4/14
        >>> acc2(saliency, boxes, correct=[True, False])
        0.5
        >>> acc2(saliency, boxes, iou_threshold=[0.0, 0.5])
        array([1., 0.])
    """
    deltas = _iou_thresholds(iou_threshold)
    ious = best_box_iou(
        saliency,
        boxes,
        cam_thresholds=[cam_threshold],
        multi_contour=True,
        box_convention=box_convention,
    )[:, 0]
    factor = np.ones(ious.size) if correct is None else np.asarray(correct, dtype=float).ravel()
    if factor.size != ious.size:
        raise ValueError(f"correct must give one flag per map ({ious.size}); got {factor.size}")
    accuracy = np.mean(factor[None, :] * (ious[None, :] > deltas[:, None]), axis=1)
    return float(accuracy[0]) if np.ndim(iou_threshold) == 0 else accuracy


@metric(
    "MaxBoxAcc",
    reads=("boxes",),
    higher_is_better=True,
    thresholds=UCF24_IOU_THRESHOLDS,
    threshold_keyword="iou_threshold",
)
def max_box_acc(
    saliency,
    boxes,
    *,
    iou_threshold=0.5,
    cam_thresholds=None,
    multi_contour: bool = False,
    box_convention: str = "continuous",
):
    """MaxBoxAcc (Choe et al., CVPR 2020): box accuracy at the best threshold over the dataset.

    BoxAcc(tau, delta) = share of maps whose best IoU at threshold tau is >= delta;
    MaxBoxAcc(delta) = max over tau (one oracle threshold for the whole set, per delta):
    wsolevaluation's ``BoxEvaluator``. The CVPR metric is delta = 0.5 with the largest contour.
    Values are fractions (wsolevaluation prints percentages). Clips count each frame. The
    3D-CAM paper's UCF24 table (Table 6) instead takes the best threshold per sample:
    :func:`max_box_acc_per_sample` (registered as ``"MaxBoxAcc per sample"``); a set-wide
    threshold has no per-sample value.

    Args:
        saliency: ``(H, W)``, ``(B, H, W)`` or clips ``(B, T, H, W)``.
        boxes: per map a ``(K, 4)`` array (clips: per clip, then per frame).
        iou_threshold: delta, or a sequence of them (e.g. ``UCF24_IOU_THRESHOLDS``).
        cam_thresholds: as in :func:`best_box_iou`.
        multi_contour: all contours instead of the largest.
        box_convention: ``"continuous"`` or ``"pixel"`` (wsolevaluation's numbers).

    Returns:
        A float in [0, 1], or a ``(D,)`` array for a sequence of IoU thresholds.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import max_box_acc
        >>> saliency = np.zeros((2, 10, 10)); saliency[:, 2:5, 2:5] = 1.0  # pixels 2..4
        >>> boxes = [np.array([[2, 2, 5, 5]]), np.array([[2, 2, 10, 10]])]  # IoU 1 and 9/64
        >>> max_box_acc(saliency, boxes), max_box_acc(saliency, boxes, iou_threshold=[0.1, 0.5])
        (0.5, array([1. , 0.5]))
    """
    deltas = _iou_thresholds(iou_threshold)
    ious = best_box_iou(
        saliency,
        boxes,
        cam_thresholds=cam_thresholds,
        multi_contour=multi_contour,
        box_convention=box_convention,
    )
    accuracy = (ious[None, :, :] >= deltas[:, None, None]).mean(axis=1).max(axis=1)
    return float(accuracy[0]) if np.ndim(iou_threshold) == 0 else accuracy


@metric(
    "MaxBoxAcc per sample",
    reads=("boxes",),
    higher_is_better=True,
    averages_maps=True,
    thresholds=UCF24_IOU_THRESHOLDS,
    threshold_keyword="iou_threshold",
)
def max_box_acc_per_sample(
    saliency,
    boxes,
    *,
    iou_threshold=0.5,
    cam_thresholds=None,
    multi_contour: bool = True,
    box_convention: str = "continuous",
):
    """The 3D-CAM paper's MaxBoxAcc for UCF24 (Sec. 4, "MaxBoxAcc"; its Table 6): the map
    threshold giving the best IoU is chosen for each sample.

    Acc(delta) = share of maps with max over tau of IoU(tau) >= delta, IoU(tau) the best IoU
    between the boxes of the map thresholded at tau and the ground-truth boxes
    (:func:`best_box_iou`). "For UCF24 dataset, we choose contour generated from tau, which
    produces maximum IoU": by default every contour at every tau competes
    (``multi_contour=True``), so the best contour is chosen too. An oracle per sample, it is
    always >= :func:`max_box_acc` (one threshold for the whole set, wsolevaluation's rule).
    Clips count each frame; a map without a ground-truth box is a miss.

    Args:
        saliency: ``(H, W)``, ``(B, H, W)`` or clips ``(B, T, H, W)``.
        boxes: per map a ``(K, 4)`` array (clips: per clip, then per frame).
        iou_threshold: delta, or a sequence of them (default of the registry:
            ``UCF24_IOU_THRESHOLDS``).
        cam_thresholds: as in :func:`best_box_iou` (the paper: 0 to 1 in steps of 0.01).
        multi_contour: every contour (default) or the largest one.
        box_convention: ``"continuous"`` or ``"pixel"``.

    Returns:
        A float in [0, 1], or a ``(D,)`` array for a sequence of IoU thresholds.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import max_box_acc, max_box_acc_per_sample
        >>> saliency = np.zeros((2, 10, 10))
        >>> saliency[0, 2:5, 2:5] = 1.0; saliency[0, 1:6, 1:6] += 0.5  # sharp core
        >>> saliency[1, 1:9, 1:9] = 0.4; saliency[1, 4, 4] = 1.0  # wide plateau
        >>> boxes = [np.array([[2, 2, 5, 5]]), np.array([[1, 1, 9, 9]])]
        >>> options = dict(iou_threshold=0.9, cam_thresholds=[0.1, 0.8])
        >>> max_box_acc_per_sample(saliency, boxes, **options)
        1.0
        >>> max_box_acc(saliency, boxes, **options)  # no one threshold suits both
        0.5
    """
    deltas = _iou_thresholds(iou_threshold)
    ious = best_box_iou(
        saliency,
        boxes,
        cam_thresholds=cam_thresholds,
        multi_contour=multi_contour,
        box_convention=box_convention,
    ).max(axis=1)
    accuracy = (ious[None, :] >= deltas[:, None]).mean(axis=1)
    return float(accuracy[0]) if np.ndim(iou_threshold) == 0 else accuracy


@metric("MaxBoxAccV2", reads=("boxes",), higher_is_better=True)
def max_box_acc_v2(
    saliency,
    boxes,
    *,
    iou_thresholds=WSOL_IOU_THRESHOLDS,
    cam_thresholds=None,
    box_convention: str = "continuous",
):
    """MaxBoxAccV2 (Choe et al., TPAMI): mean of MaxBoxAcc over IoU thresholds, all contours.

    wsolevaluation's ``box_v2_metric``: multi-contour boxes, delta in {0.3, 0.5, 0.7}; pass
    ``UCF24_IOU_THRESHOLDS`` for the 3D-CAM paper's action-localisation set.

    Args:
        saliency: ``(H, W)``, ``(B, H, W)`` or clips ``(B, T, H, W)``.
        boxes: per map a ``(K, 4)`` array (clips: per clip, then per frame).
        iou_thresholds: the deltas averaged over.
        cam_thresholds: as in :func:`best_box_iou`.
        box_convention: ``"continuous"`` or ``"pixel"`` (wsolevaluation's numbers).

    Returns:
        A float in [0, 1].

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import max_box_acc_v2
        >>> saliency = np.zeros((1, 10, 10)); saliency[0, 2:5, 2:5] = 1.0  # pixels 2..4
        >>> round(max_box_acc_v2(saliency, [np.array([[2, 2, 5, 9]])]), 4)  # IoU 9/21
        0.3333
    """
    accuracy = max_box_acc(
        saliency,
        boxes,
        iou_threshold=list(iou_thresholds),
        cam_thresholds=cam_thresholds,
        multi_contour=True,
        box_convention=box_convention,
    )
    return float(np.mean(accuracy))


# ----------------------------------------------------------------------------------------------
# energy-fraction boxes (Cao et al. 2015, used by the Hessian-CIAM paper)


def energy_box(saliency, energy: float = 0.95, *, box_convention: str = "continuous"):
    """Tight box of the smallest set of highest pixels holding ``energy`` of the map's sum.

    Pixels are sorted by value (descending); t is the value at which the cumulative sum first
    reaches ``energy`` times the total; the box encloses every pixel >= t (ties included, the
    whole region, not its largest component): pixel columns ``c0 .. c1`` and rows ``r0 .. r1``
    give ``c0, r0, c1 + 1, r1 + 1`` (continuous) or ``c0, r0, c1, r1`` (pixel).

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` non-negative map(s) (apply a ReLU first).
        energy: fraction in (0, 1].
        box_convention: ``"continuous"`` or ``"pixel"``.

    Returns:
        ``(4,)`` box ``x0, y0, x1, y1``, or ``(B, 4)``; NaN for an all-zero or NaN map.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import energy_box
        >>> saliency = np.zeros((5, 5)); saliency[1, 1] = 8; saliency[3, 4] = 2
        >>> energy_box(saliency, 0.8), energy_box(saliency, 0.9)
        (array([1., 1., 2., 2.]), array([1., 1., 5., 4.]))
        >>> energy_box(saliency, 0.9, box_convention="pixel")
        array([1., 1., 4., 3.])
    """
    check_choice(box_convention, "box_convention", BOX_CONVENTIONS)
    maps, batched = _energy_maps(saliency, energy)
    end = 1 if box_convention == "continuous" else 0
    boxes = np.full((maps.shape[0], 4), np.nan)
    for index, single in enumerate(maps):
        cut = _energy_cut(single, energy)
        if cut is None:
            continue
        rows, columns = np.nonzero(single >= cut)
        boxes[index] = [columns.min(), rows.min(), columns.max() + end, rows.max() + end]
    return boxes if batched else boxes[0]


def _energy_maps(saliency, energy: float) -> tuple[np.ndarray, bool]:
    """The checked non-negative ``(B, H, W)`` stack of :func:`energy_box` and
    :func:`energy_clean`."""
    check_fraction(energy, "energy", closed_low=False)
    maps, batched = as_maps(saliency, "saliency")
    check_not_empty(maps, "saliency")
    if (np.nan_to_num(maps) < 0).any():
        raise ValueError("the energy needs a non-negative map (apply a ReLU or a min-max first)")
    return maps, batched


def _energy_cut(single: np.ndarray, energy: float) -> float | None:
    """The value t at which the cumulative sum of the descending pixel values first reaches
    ``energy`` times the total (``None`` for an all-zero or NaN map): the pixels >= t are the
    smallest set of highest pixels holding that energy (ties included)."""
    total = single.sum()
    if not total > 0:
        return None
    values = np.sort(single.ravel())[::-1]
    return values[np.searchsorted(np.cumsum(values), energy * total * (1 - 1e-12))]


def energy_clean(saliency, energy: float = 0.95):
    """The map with only its ``energy`` share kept: the Hessian-CIAM paper's cleaning before
    SIM, CC and AUC-Judd (Sec. 4, glaucoma study: "the 95% energy of the ROI heatmap was used as
    a threshold to clean our heatmap").

    The pixels >= t keep their values and every other pixel becomes 0, with t the cut of
    :func:`energy_box` (the smallest set of highest pixels whose sum reaches ``energy`` of the
    map's sum, ties included). The paper does not say whether the kept pixels keep their
    values or become 1; they keep them here (binarise with ``> 0`` if wanted).

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` non-negative map(s) (apply a ReLU first).
        energy: fraction in (0, 1] (1 keeps every pixel).

    Returns:
        float64 maps of the input's shape; an all-zero map stays zero, a NaN map stays as is.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import energy_clean
        >>> saliency = np.array([[6.0, 3.0], [1.0, 0.0]])  # sum 10: 6 + 3 reach 0.9, not 0.95
        >>> energy_clean(saliency, 0.9)
        array([[6., 3.],
               [0., 0.]])
        >>> energy_clean(saliency, 0.95)
        array([[6., 3.],
               [1., 0.]])
    """
    maps, batched = _energy_maps(saliency, energy)
    cleaned = maps.copy()
    for single in cleaned:
        cut = _energy_cut(single, energy)
        if cut is not None:
            single[single < cut] = 0.0
    return cleaned if batched else cleaned[0]


@metric(
    "energy IoU",
    reads=("boxes",),
    higher_is_better=True,
    thresholds=ENERGY_FRACTIONS,
    threshold_keyword="energies",
    per_map=True,
)
def energy_box_iou(
    saliency, boxes, *, energies=ENERGY_FRACTIONS, box_convention: str = "continuous"
) -> np.ndarray:
    """IoU of the energy-fraction boxes with the ground truth, per map and energy fraction.

    The Hessian-CIAM paper's evaluation (after Cao et al. 2015) at 95/90/85/80/75 % energy:
    :func:`energy_box` against the best-overlapping ground-truth box.

    Args:
        saliency: ``(H, W)``, ``(B, H, W)`` or clips ``(B, T, H, W)``, non-negative.
        boxes: per map a ``(K, 4)`` array (clips: per clip, then per frame).
        energies: the fractions.
        box_convention: ``"continuous"`` or ``"pixel"``.

    Returns:
        ``(N, E)`` IoU; NaN for an all-zero or NaN map, 0 for a map without ground-truth box.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import energy_box_iou
        >>> saliency = np.zeros((5, 5)); saliency[1, 1] = 8; saliency[3, 4] = 2
        >>> energy_box_iou(saliency, [np.array([[1, 1, 3, 3]])], energies=[0.8, 0.9])
        array([[0.25      , 0.33333333]])
    """
    maps, box_lists = _frames(saliency, boxes, box_convention)
    fractions = np.atleast_1d(np.asarray(energies, dtype=np.float64))
    ious = np.zeros((maps.shape[0], fractions.size))
    for column, fraction in enumerate(fractions):
        estimated = energy_box(maps, fraction, box_convention=box_convention)
        for index, truths in enumerate(box_lists):
            if np.isnan(estimated[index]).any():
                ious[index, column] = np.nan
            elif len(truths):
                ious[index, column] = _iou_matrix(
                    estimated[index : index + 1], truths, box_convention
                ).max()
    return ious


# ----------------------------------------------------------------------------------------------
# pixel average precision (wsolevaluation)


def _pixel_histograms(maps: np.ndarray, objects: np.ndarray, keep: np.ndarray, edges):
    """Histograms over ``edges`` of the scores of the kept object and background pixels."""
    positives, _ = np.histogram(maps[objects & keep], bins=edges)
    negatives, _ = np.histogram(maps[~objects & keep], bins=edges)
    return positives.astype(np.float64), negatives.astype(np.float64)


@metric("PxAP", reads=("masks",), higher_is_better=True)
def pxap(saliency, masks, *, ignore=None, cam_thresholds=None) -> float:
    """PxAP (Choe et al., CVPR 2020): average precision of the map's pixels against the object
    mask, pooled over every pixel of the set (wsolevaluation's ``MaskEvaluator``).

    The scores of the object and background pixels are histogrammed with bin edges
    ``cam_thresholds`` followed by 1, 2, 3 (a score of 1.0 falls in [1, 2)); tp and fp are the
    reverse cumulative sums (thresholds descending), precision = tp / (tp + fp), recall =
    tp / P; PxAP = sum over k >= 1 of precision_k (recall_k - recall_{k-1}) over the points with
    tp + fp > 0 (rectangle rule, no interpolation). A constant map gives P / (P + N) and a map
    equal to the mask gives 1. Values are fractions (wsolevaluation prints percentages). Maps
    are used as given (wsolevaluation min-max normalises them before); clips count each frame.

    Args:
        saliency: ``(H, W)``, ``(B, H, W)`` or clips ``(B, T, H, W)``, values in [0, 1].
        masks: object masks of the same shape (> 0 = object).
        ignore: ``None`` or pixels of the same shape (> 0) left out of N: wsolevaluation's
            ignore boxes, whose object pixels still count in P.
        cam_thresholds: the score bin edges below 1 (``None``: 0, 0.01, ..., 0.99, as
            wsolevaluation's ``cam_curve_interval=0.01``; 0 is always an edge).

    Returns:
        PxAP in [0, 1].

    Raises:
        ValueError: no object pixel (wsolevaluation's "no positive ground truth"), a NaN or a
            score outside [0, 1], or masks of another shape.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.localization import pxap
        >>> mask = np.zeros((4, 4)); mask[:1] = 1  # P = 4, N = 12
        >>> pxap(np.full((4, 4), 0.5), mask), pxap(mask, mask)
        (0.25, 1.0)
    """
    maps, _ = _frames(saliency)
    if np.isnan(maps).any() or maps.min() < 0 or maps.max() > 1:
        raise ValueError("pxap needs maps with values in [0, 1] and no NaN (min-max them first)")
    objects = _frame_masks(masks, "masks", maps.shape)
    keep = np.ones(maps.shape, bool)
    if ignore is not None:  # wsolevaluation ignores background pixels only
        keep &= objects | ~_frame_masks(ignore, "ignore", maps.shape)
    if not objects.any():
        raise ValueError("pxap needs at least one object pixel (no positive ground truth)")
    edges = np.append(np.union1d([0.0], _cam_thresholds(cam_thresholds)), [1.0, 2.0, 3.0])
    positives, negatives = _pixel_histograms(maps, objects, keep, edges)
    true_positive = np.cumsum(positives[::-1])
    false_positive = np.cumsum(negatives[::-1])
    predicted = true_positive + false_positive
    with np.errstate(invalid="ignore"):
        precision = true_positive / predicted
    recall = true_positive / positives.sum()
    terms = precision[1:] * np.diff(recall)
    return float(terms[predicted[1:] > 0].sum())


def _frame_masks(masks, name: str, shape) -> np.ndarray:
    """Boolean masks ``(N, H, W)`` with clips flattened, checked against ``shape``."""
    array = np.asarray(to_numpy(masks))
    objects, _ = as_mask(array.reshape(-1, *array.shape[-2:]), name)
    if objects.shape != tuple(shape):
        raise ValueError(f"{name} must match saliency; got {objects.shape} and {tuple(shape)}")
    return objects
