"""Detections against ground-truth boxes: IoU, precision / recall / F1 at a confidence threshold,
average precision (VOC 11-point, VOC all-point, COCO 101-point), COCO mAP@[.5:.95] and Darknet's
average IoU.

Boxes are rows ``x0, y0, x1, y1`` in pixels. Detections are given per image as ``(N, 5)`` rows
``x0, y0, x1, y1, score`` (one class) or ``(N, 6)`` rows ``x0, y0, x1, y1, score, class``;
ground truths per image as ``(M, 4)`` or ``(M, 5)`` rows ``x0, y0, x1, y1[, class]``. Pass a list
with one array per image (a single 2-D array is read as one image).

Box conventions (``box_convention=``, the same two values as in
:mod:`xaikit.metrics.localization`): ``"continuous"`` (xaikit's boxes, COCO, TrackEval, Darknet):
pixel i covers [i, i + 1), area = (x1 - x0)(y1 - y0); ``"pixel"`` (VOC devkit,
wsolevaluation): inclusive pixel boxes, area = (x1 - x0 + 1)(y1 - y0 + 1).
Matches need IoU >= the threshold (VOC devkit and COCO; Darknet and py-faster-rcnn use >).

Difficult boxes (VOC devkit): ``difficult`` gives one bool per ground-truth box and image. A
difficult box is not counted among the boxes to find, and a detection whose best match is a
difficult box at IoU >= the threshold is ignored: neither a true nor a false positive. COCO
has no such rule, so ``method="coco"`` refuses difficult boxes.
"""

from __future__ import annotations

import numpy as np

from xaikit.metrics._inputs import (
    BOX_CONVENTIONS,
    as_box_lists,
    as_boxes,
    check_choice,
    check_fraction,
)

AP_METHODS = ("voc11", "all", "coco")
#: The COCO IoU thresholds 0.50, 0.55, ..., 0.95 (``np.linspace(.5, .95, 10)`` as pycocotools).
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)

__all__ = [
    "AP_METHODS",
    "BOX_CONVENTIONS",
    "COCO_IOU_THRESHOLDS",
    "average_iou",
    "average_precision",
    "box_iou",
    "coco_map",
    "mean_average_precision",
    "precision_recall_f1",
]


def box_iou(boxes_a, boxes_b, *, box_convention: str = "continuous") -> np.ndarray:
    """Pairwise intersection over union of two sets of boxes.

    Args:
        boxes_a: ``(N, 4)`` rows ``x0, y0, x1, y1`` (or a single box ``(4,)``).
        boxes_b: ``(M, 4)`` rows ``x0, y0, x1, y1``.
        box_convention: ``"continuous"`` (COCO) or ``"pixel"`` (VOC, inclusive pixels, +1).

    Returns:
        ``(N, M)`` IoU in [0, 1]; a pair whose union is empty scores 0.

    Examples:
        >>> from xaikit.metrics.detection import box_iou
        >>> box_iou([0, 0, 10, 10], [[5, 0, 15, 10]]).round(4)
        array([[0.3333]])
        >>> box_iou([0, 0, 10, 10], [[5, 0, 15, 10]], box_convention="pixel").round(4)
        array([[0.375]])
    """
    check_choice(box_convention, "box_convention", BOX_CONVENTIONS)
    first, second = as_boxes(boxes_a, "boxes_a"), as_boxes(boxes_b, "boxes_b")
    return _iou_matrix(first, second, box_convention)


def _iou_matrix(first: np.ndarray, second: np.ndarray, box_convention: str) -> np.ndarray:
    """``(N, M)`` IoU of checked ``(N, 4)`` and ``(M, 4)`` boxes (the one IoU of xaikit)."""
    extra = 1.0 if box_convention == "pixel" else 0.0
    width = np.minimum(first[:, None, 2], second[None, :, 2]) - np.maximum(
        first[:, None, 0], second[None, :, 0]
    )
    height = np.minimum(first[:, None, 3], second[None, :, 3]) - np.maximum(
        first[:, None, 1], second[None, :, 1]
    )
    intersection = np.clip(width + extra, 0, None) * np.clip(height + extra, 0, None)
    area_first = (first[:, 2] - first[:, 0] + extra) * (first[:, 3] - first[:, 1] + extra)
    area_second = (second[:, 2] - second[:, 0] + extra) * (second[:, 3] - second[:, 1] + extra)
    union = area_first[:, None] + area_second[None, :] - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / np.where(union > 0, union, 1), 0.0)


# ----------------------------------------------------------------------------------------------
# inputs split by class


def _by_class(detections, ground_truths, difficult=None) -> dict[int, tuple[list, list]]:
    """``{class: (detections (N, 5) per image, ground truths (M, 5) per image)}``; the ground
    truths' last column is 1 for a difficult box, else 0."""
    if hasattr(detections, "shape") or hasattr(ground_truths, "shape"):
        detections, ground_truths = [detections], [ground_truths]
        difficult = None if difficult is None else [difficult]
    detections, ground_truths = list(detections), list(ground_truths)
    if len(detections) != len(ground_truths):
        raise ValueError(
            "detections and ground_truths must hold one array per image each; got "
            f"{len(detections)} and {len(ground_truths)} images"
        )
    if not detections:
        raise ValueError("detections and ground_truths are empty: no image to evaluate")
    labelled = _has_labels(detections, ground_truths)
    dets = as_box_lists(detections, "detections", len(detections), 6 if labelled else 5)
    gts = as_box_lists(ground_truths, "ground_truths", len(ground_truths), 5 if labelled else 4)
    gts = [
        np.column_stack([g, flags]) for g, flags in zip(gts, _flags(difficult, gts), strict=True)
    ]
    if not labelled:
        return {0: (dets, gts)}
    classes = sorted(
        {int(c) for d in dets for c in d[:, 5]} | {int(c) for g in gts for c in g[:, 4]}
    )
    return {
        label: (
            [d[d[:, 5] == label, :5] for d in dets],
            [g[g[:, 4] == label][:, [0, 1, 2, 3, 5]] for g in gts],
        )
        for label in classes
    }


def _flags(difficult, gts: list[np.ndarray]) -> list[np.ndarray]:
    """One 0/1 float per ground-truth box: ``difficult`` checked against ``gts``."""
    if difficult is None:
        return [np.zeros(len(g)) for g in gts]
    difficult = list(difficult)
    if len(difficult) != len(gts):
        raise ValueError(
            f"difficult must hold one array per image ({len(gts)}); got {len(difficult)}"
        )
    flags = []
    for index, (item, g) in enumerate(zip(difficult, gts, strict=True)):
        item = np.asarray(item)
        if item.shape != (len(g),) or not (item.dtype == bool or np.isin(item, (0, 1)).all()):
            raise ValueError(
                f"difficult[{index}] must be {len(g)} bools, one per ground-truth box; got "
                f"shape {item.shape}, dtype {item.dtype}"
            )
        flags.append(item.astype(float))
    return flags


def _refuse_difficult_for_coco(method: str, difficult) -> None:
    if method == "coco" and difficult is not None and any(np.any(d) for d in difficult):
        raise ValueError(
            "difficult boxes follow the VOC devkit rule; COCO matching has no such rule "
            "(use method='all' or 'voc11', or drop the difficult boxes)"
        )


def _has_labels(detections, ground_truths) -> bool:
    det_columns = {np.shape(d)[-1] for d in detections if np.size(d)}
    gt_columns = {np.shape(g)[-1] for g in ground_truths if np.size(g)}
    if det_columns | gt_columns <= {5}:  # ambiguous only when everything is (N, 5)
        return not det_columns and bool(gt_columns)
    if det_columns <= {6} and gt_columns <= {5}:
        return True
    if det_columns <= {5} and gt_columns <= {4}:
        return False
    raise ValueError(
        "detections must be rows x0, y0, x1, y1, score (5 columns) with ground truths "
        "x0, y0, x1, y1 (4), or with a class: 6 and 5 columns; got "
        f"{sorted(det_columns)} and {sorted(gt_columns)} columns"
    )


# ----------------------------------------------------------------------------------------------
# matching


def _match_voc(dets, gts, threshold: float, box_convention: str):
    """VOC devkit rule: each detection (descending score) takes the ground truth of highest IoU;
    TP if IoU >= threshold and that box is still unmatched, else FP (no second choice); a
    detection whose best box is difficult (IoU >= threshold) is dropped.

    Returns (scores, is_tp, iou of the match) of the kept detections over all images, plus the
    number of boxes that are not difficult.
    """
    scores, hits, ious = [], [], []
    for image_dets, image_gts in zip(dets, gts, strict=True):
        order = np.argsort(-image_dets[:, 4], kind="stable")
        image_dets = image_dets[order]
        overlaps = _iou_matrix(image_dets[:, :4], image_gts[:, :4], box_convention)
        difficult = image_gts[:, 4] > 0
        taken = np.zeros(len(image_gts), dtype=bool)
        for row in range(len(image_dets)):
            best = int(np.argmax(overlaps[row])) if len(image_gts) else -1
            best_iou = overlaps[row, best] if best >= 0 else 0.0
            if best >= 0 and best_iou >= threshold and difficult[best]:
                continue
            hit = best >= 0 and best_iou >= threshold and not taken[best]
            if hit:
                taken[best] = True
            scores.append(image_dets[row, 4])
            hits.append(hit)
            ious.append(best_iou if hit else 0.0)
    n_truths = int(sum((g[:, 4] == 0).sum() for g in gts))
    return np.array(scores, dtype=float), np.array(hits, dtype=bool), np.array(ious), n_truths


def _match_coco(dets, gts, threshold: float, max_detections: int):
    """pycocotools ``evaluateImg`` without crowd or area ranges: each detection (descending
    score, top ``max_detections`` per image) takes the still-unmatched ground truth of highest
    IoU >= threshold; continuous IoU."""
    scores, hits = [], []
    limit = min(threshold, 1 - 1e-10)
    for image_dets, image_gts in zip(dets, gts, strict=True):
        order = np.argsort(-image_dets[:, 4], kind="mergesort")[:max_detections]
        image_dets = image_dets[order]
        overlaps = _iou_matrix(image_dets[:, :4], image_gts[:, :4], "continuous")
        taken = np.zeros(len(image_gts), dtype=bool)
        for row in range(len(image_dets)):
            candidates = np.where(taken, -1.0, overlaps[row]) if len(image_gts) else np.zeros(0)
            best = len(candidates) - 1 - int(np.argmax(candidates[::-1])) if len(candidates) else -1
            hit = best >= 0 and candidates[best] >= limit
            if hit:
                taken[best] = True
            hits.append(hit)
        scores.append(image_dets[:, 4])
    return _stack(scores), np.array(hits, dtype=bool), sum(map(len, gts))


def _stack(arrays) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.zeros(0)


def _precision_recall(scores, hits, n_truths, *, kind: str):
    order = np.argsort(-scores, kind="mergesort")
    true_positives = np.cumsum(hits[order])
    false_positives = np.cumsum(~hits[order])
    recall = true_positives / n_truths
    if kind == "coco":
        precision = true_positives / (true_positives + false_positives + np.spacing(1))
    else:
        precision = true_positives / np.maximum(
            true_positives + false_positives, np.finfo(float).eps
        )
    return precision, recall


def _ap_from_curve(precision, recall, method: str) -> float:
    if method == "voc11":
        # The VOC2007 grid exactly as py-faster-rcnn builds it (0.30000000000000004, ...).
        points = [
            precision[recall >= t].max() if (recall >= t).any() else 0.0
            for t in np.arange(0.0, 1.1, 0.1)
        ]
        return float(np.sum(points) / 11.0)
    if method == "all":
        mrec = np.concatenate(([0.0], recall, [1.0]))
        mpre = np.concatenate(([0.0], precision, [0.0]))
        mpre = np.maximum.accumulate(mpre[::-1])[::-1]
        changes = np.where(mrec[1:] != mrec[:-1])[0]
        return float(np.sum((mrec[changes + 1] - mrec[changes]) * mpre[changes + 1]))
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    indices = np.searchsorted(recall, np.linspace(0.0, 1.0, 101), side="left")
    found = indices < len(envelope)
    return float(np.sum(envelope[indices[found]]) / 101.0)


def _class_ap(dets, gts, iou_threshold, method, box_convention, max_detections) -> float:
    if method == "coco":
        scores, hits, n_truths = _match_coco(dets, gts, iou_threshold, max_detections)
    else:
        scores, hits, _, n_truths = _match_voc(dets, gts, iou_threshold, box_convention)
    if n_truths == 0:
        return np.nan
    precision, recall = _precision_recall(scores, hits, n_truths, kind=method)
    return _ap_from_curve(precision, recall, method)


def average_precision(
    detections,
    ground_truths,
    iou_threshold: float = 0.5,
    method: str = "all",
    *,
    box_convention: str = "continuous",
    max_detections: int = 100,
    difficult=None,
) -> float:
    """Average precision of one class's detections over a set of images.

    Methods:

    * ``"voc11"``: VOC2007 11-point interpolation, mean over recall t in
      ``np.arange(0, 1.1, 0.1)`` of the best precision at recall >= t (py-faster-rcnn's float
      grid, so a recall of exactly 0.7 misses t = 0.7000000000000001). Darknet ``-points 11``.
    * ``"all"``: VOC2010+ all-point area under the precision envelope (``VOCap.m``).
    * ``"coco"``: COCO 101-point interpolation (pycocotools), with COCO matching (each
      detection takes the best *unmatched* box), continuous IoU, the top ``max_detections``
      detections per image, and precision tp / (tp + fp + 2.2e-16).

    ``"voc11"`` and ``"all"`` use the VOC devkit matching: detections in descending score take the
    box of highest IoU; IoU >= ``iou_threshold`` and the box not yet taken gives a true positive,
    anything else a false positive. Score ties keep the input order.

    Args:
        detections: per image ``(N, 5)`` rows ``x0, y0, x1, y1, score``.
        ground_truths: per image ``(M, 4)`` rows ``x0, y0, x1, y1``.
        iou_threshold: IoU needed for a match, in [0, 1].
        method: ``"voc11"``, ``"all"`` or ``"coco"``.
        box_convention: ``"continuous"`` or ``"pixel"`` (VOC devkit's +1); ``"coco"`` is always
            continuous.
        max_detections: detections kept per image by ``"coco"``.
        difficult: per image ``(M,)`` bools marking difficult boxes (see the module docstring;
            not with ``"coco"``).

    Returns:
        AP in [0, 1]; NaN when there is no ground-truth box; 0 when there are boxes but no
        detections.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.detection import average_precision
        >>> truths = [np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]])]
        >>> detections = [np.array([[0, 0, 10, 10, 0.9], [60, 60, 70, 70, 0.8],
        ...                         [20, 20, 30, 30, 0.7], [80, 80, 90, 90, 0.6]])]
        >>> round(average_precision(detections, truths, method="all"), 6)
        0.555556
        >>> round(average_precision(detections, truths, method="voc11"), 6)
        0.545455
        >>> round(average_precision(detections, truths, method="coco"), 6)
        0.554455
        >>> hidden = [np.array([False, False, True])]  # the third box is difficult
        >>> round(average_precision(detections, truths, difficult=hidden), 6)
        0.833333
    """
    check_choice(method, "method", AP_METHODS)
    check_choice(box_convention, "box_convention", BOX_CONVENTIONS)
    check_fraction(iou_threshold, "iou_threshold")
    _refuse_difficult_for_coco(method, difficult)
    per_class = _by_class(detections, ground_truths, difficult)
    if len(per_class) > 1:
        raise ValueError(
            "average_precision takes one class (5 and 4 columns); use mean_average_precision "
            f"for {len(per_class)} classes"
        )
    ((dets, gts),) = per_class.values()
    return _class_ap(dets, gts, iou_threshold, method, box_convention, max_detections)


def mean_average_precision(
    detections,
    ground_truths,
    iou_threshold: float = 0.5,
    method: str = "all",
    *,
    box_convention: str = "continuous",
    max_detections: int = 100,
    difficult=None,
) -> float:
    """Mean over classes of :func:`average_precision` (mAP at one IoU threshold).

    The mean runs over the classes that have at least one ground-truth box (COCO's convention;
    Darknet divides by every class in its ``.names`` file, counting the others as 0). With
    ``method="coco"`` and ``iou_threshold=0.5`` this is pycocotools' AP50.

    Args:
        detections: per image ``(N, 6)`` rows ``x0, y0, x1, y1, score, class`` (or ``(N, 5)``
            for one class).
        ground_truths: per image ``(M, 5)`` rows ``x0, y0, x1, y1, class`` (or ``(M, 4)``).
        iou_threshold: IoU needed for a match.
        method: ``"voc11"``, ``"all"`` or ``"coco"``.
        box_convention: ``"continuous"`` or ``"pixel"``.
        max_detections: per image and class, for ``"coco"``.
        difficult: per image ``(M,)`` bools marking difficult boxes (not with ``"coco"``).

    Returns:
        mAP in [0, 1]; NaN when no class has a ground-truth box.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.detection import mean_average_precision
        >>> truths = [np.array([[0, 0, 10, 10, 0], [20, 20, 30, 30, 1]])]
        >>> detections = [np.array([[0, 0, 10, 10, 0.9, 0], [20, 20, 30, 30, 0.8, 0]])]
        >>> mean_average_precision(detections, truths)  # class 0: AP 1, class 1: AP 0
        0.5
    """
    check_choice(method, "method", AP_METHODS)
    check_choice(box_convention, "box_convention", BOX_CONVENTIONS)
    check_fraction(iou_threshold, "iou_threshold")
    _refuse_difficult_for_coco(method, difficult)
    per_class = _by_class(detections, ground_truths, difficult)
    values = [
        _class_ap(dets, gts, iou_threshold, method, box_convention, max_detections)
        for dets, gts in per_class.values()
    ]
    values = [value for value in values if not np.isnan(value)]
    return float(np.mean(values)) if values else np.nan


def coco_map(detections, ground_truths, *, iou_thresholds=COCO_IOU_THRESHOLDS, max_detections=100):
    """COCO mAP@[.5:.95]: COCO AP averaged over the IoU thresholds 0.50:0.05:0.95 and the classes.

    Equals pycocotools ``COCOeval(...).stats[0]`` for boxes (area range "all", maxDets 100, no
    crowd boxes): continuous IoU, best-unmatched matching, 101-point interpolation, classes
    without ground truth skipped.

    Args:
        detections: per image ``(N, 6)`` rows ``x0, y0, x1, y1, score, class`` (or ``(N, 5)``).
        ground_truths: per image ``(M, 5)`` rows ``x0, y0, x1, y1, class`` (or ``(M, 4)``).
        iou_thresholds: the IoU thresholds averaged over.
        max_detections: detections kept per image and class.

    Returns:
        mAP in [0, 1]; NaN when no class has a ground-truth box.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.detection import coco_map
        >>> truths = [np.array([[0, 0, 10, 10]])]
        >>> round(coco_map([np.array([[0, 0, 10, 10, 0.9]])], truths), 6)
        1.0
        >>> round(coco_map([np.array([[0, 0, 10, 8, 0.9]])], truths), 2)  # IoU 0.8
        0.7
    """
    thresholds = np.atleast_1d(np.asarray(iou_thresholds, dtype=float))
    for value in thresholds:
        check_fraction(value, "iou_thresholds")
    per_class = _by_class(detections, ground_truths)
    values = []
    for dets, gts in per_class.values():
        per_threshold = [
            _class_ap(dets, gts, t, "coco", "continuous", max_detections) for t in thresholds
        ]
        if not np.isnan(per_threshold).any():
            values.append(np.mean(per_threshold))
    return float(np.mean(values)) if values else np.nan


def _threshold_counts(
    detections, ground_truths, score_threshold, iou_threshold, box_convention, difficult
):
    check_choice(box_convention, "box_convention", BOX_CONVENTIONS)
    check_fraction(iou_threshold, "iou_threshold")
    per_class = _by_class(detections, ground_truths, difficult)
    true_positives = false_positives = n_truths = 0
    iou_sum = 0.0
    for dets, gts in per_class.values():
        kept = [d[d[:, 4] > score_threshold] for d in dets]
        _, hits, ious, count = _match_voc(kept, gts, iou_threshold, box_convention)
        true_positives += int(hits.sum())
        false_positives += int((~hits).sum())
        n_truths += count
        iou_sum += float(ious.sum())
    return true_positives, false_positives, n_truths, iou_sum


def precision_recall_f1(
    detections,
    ground_truths,
    *,
    score_threshold: float = 0.25,
    iou_threshold: float = 0.5,
    box_convention: str = "continuous",
    difficult=None,
) -> dict[str, float]:
    """Precision, recall and F1 of the detections scoring above a confidence threshold.

    Darknet's ``detector map`` summary (pooled over classes and images): detections with score
    > ``score_threshold`` (strict, Darknet's default 0.25) are matched by the VOC rule at
    IoU >= ``iou_threshold``. P = TP / (TP + FP), R = TP / (TP + FN), F1 = 2PR / (P + R); a 0/0
    ratio gives 0. Deviation: Darknet checks duplicates in network output order, here in
    descending score order.

    Args:
        detections: per image ``(N, 5)`` or ``(N, 6)`` rows (see the module docstring).
        ground_truths: per image ``(M, 4)`` or ``(M, 5)`` rows.
        score_threshold: detections must score above it.
        iou_threshold: IoU needed for a match.
        box_convention: ``"continuous"`` or ``"pixel"``.
        difficult: per image ``(M,)`` bools marking difficult boxes (see the module docstring).

    Returns:
        ``{"precision", "recall", "f1", "tp", "fp", "fn", "average_iou"}`` (see
        :func:`average_iou`).

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.detection import precision_recall_f1
        >>> truths = [np.array([[0, 0, 10, 10], [20, 20, 30, 30]])]
        >>> detections = [np.array([[0, 0, 10, 10, 0.9], [50, 50, 60, 60, 0.8],
        ...                         [20, 20, 30, 30, 0.1]])]
        >>> scores = precision_recall_f1(detections, truths)
        >>> scores["precision"], scores["recall"], scores["f1"]
        (0.5, 0.5, 0.5)
    """
    true_positives, false_positives, n_truths, iou_sum = _threshold_counts(
        detections, ground_truths, score_threshold, iou_threshold, box_convention, difficult
    )
    predicted = true_positives + false_positives
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / n_truths if n_truths else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": true_positives,
        "fp": false_positives,
        "fn": n_truths - true_positives,
        "average_iou": iou_sum / predicted if predicted else 0.0,
    }


def average_iou(
    detections,
    ground_truths,
    *,
    score_threshold: float = 0.25,
    iou_threshold: float = 0.5,
    box_convention: str = "continuous",
    difficult=None,
) -> float:
    """Darknet's "average IoU": sum of the true positives' IoU over TP + FP.

    False positives count as IoU 0, so this is *not* the mean IoU of matched pairs. Detections
    and matching as in :func:`precision_recall_f1`; no detection above the threshold gives 0.

    Args:
        detections: per image ``(N, 5)`` or ``(N, 6)`` rows.
        ground_truths: per image ``(M, 4)`` or ``(M, 5)`` rows.
        score_threshold: detections must score above it.
        iou_threshold: IoU needed for a match.
        box_convention: ``"continuous"`` or ``"pixel"``.
        difficult: per image ``(M,)`` bools marking difficult boxes.

    Returns:
        Average IoU in [0, 1].

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.detection import average_iou
        >>> truths = [np.array([[0, 0, 10, 10]])]
        >>> average_iou([np.array([[0, 0, 10, 8, 0.9], [50, 50, 60, 60, 0.8]])], truths)
        0.4
    """
    return precision_recall_f1(
        detections,
        ground_truths,
        score_threshold=score_threshold,
        iou_threshold=iou_threshold,
        box_convention=box_convention,
        difficult=difficult,
    )["average_iou"]
