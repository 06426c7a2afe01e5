"""YOLO head decoding (v2 ``[region]``, v3/v4/v7 ``[yolo]``) and per-class non-maximum
suppression, with Darknet's semantics."""

from __future__ import annotations

import torch
from torchvision.ops import batched_nms

#: Suppression rules: ``"iou"`` (Darknet's ``do_nms_sort``) and ``"diou"`` (``diounms``).
NMS_KINDS = ("iou", "diou")


def decode_yolo_head(
    raw: torch.Tensor,
    anchors: torch.Tensor,
    stride: float | tuple[float, float],
    scale_x_y: float = 1.0,
    new_coords: bool = False,
) -> torch.Tensor:
    """Decode one raw YOLO head into boxes, objectness and class probabilities.

    Darknet's ``get_yolo_box``: for cell ``(row, col)`` and anchor ``(aw, ah)``,
    ``cx = (col + s(tx)) * stride``, ``cy = (row + s(ty)) * stride``, ``w = exp(tw) * aw``,
    ``h = exp(th) * ah`` with ``s(t) = sigmoid(t) * scale_x_y - (scale_x_y - 1) / 2``; objectness
    and classes are ``sigmoid`` of theirs. With ``new_coords`` (YOLOv4-CSP, YOLOv7, whose last
    conv is already logistic) nothing is activated here: ``s(t) = t * scale_x_y -
    (scale_x_y - 1) / 2``, ``w = (2 tw)^2 * aw``, and objectness and classes are the raw values.
    The result is differentiable, so a CAM can target any single entry.

    Args:
        raw: ``(B, A * (5 + C), H, W)`` head output; channel ``a * (5 + C) + k`` holds entry
            ``k`` (tx, ty, tw, th, objectness, classes...) of anchor ``a``, as in Darknet.
        anchors: ``(A, 2)`` anchor (width, height) in input pixels.
        stride: Input pixels per grid cell, or ``(stride_y, stride_x)``.
        scale_x_y: Darknet's ``scale_x_y`` option.
        new_coords: Darknet's ``new_coords=1``.

    Returns:
        ``(B, H * W * A, 5 + C)``: ``x0, y0, x1, y1`` in input pixels, objectness, then class
        probabilities *given* an object. Row ``(row * W + col) * A + a`` belongs to cell
        ``(row, col)`` and anchor ``a``: the order of OpenCV DNN's yolo layer output.

    Examples:
        >>> raw = torch.zeros(1, 6, 1, 2)  # one anchor, one class, a 1x2 grid
        >>> decode_yolo_head(raw, torch.tensor([[10.0, 20.0]]), stride=32).tolist()
        [[[11.0, 6.0, 21.0, 26.0, 0.5, 0.5], [43.0, 6.0, 53.0, 26.0, 0.5, 0.5]]]
        >>> raw = torch.full((1, 6, 1, 1), 0.5)  # new_coords: t = 0.5 is the anchor itself
        >>> decode_yolo_head(raw, torch.tensor([[10.0, 20.0]]), 32, 2.0, True).tolist()
        [[[11.0, 6.0, 21.0, 26.0, 0.5, 0.5]]]
    """
    t, rows, cols = _cells(raw, anchors)
    stride_y, stride_x = (stride, stride) if isinstance(stride, (int, float)) else stride
    xy = t[..., :2] if new_coords else torch.sigmoid(t[..., :2])
    offset = xy * scale_x_y - (scale_x_y - 1) / 2
    anchors = anchors.to(device=raw.device, dtype=raw.dtype)
    scale = (2 * t[..., 2:4]) ** 2 if new_coords else torch.exp(t[..., 2:4])
    scores = t[..., 4:] if new_coords else torch.sigmoid(t[..., 4:])
    return _assemble(
        (cols + offset[..., 0]) * stride_x, (rows + offset[..., 1]) * stride_y, scale * anchors,
        scores,
    )  # fmt: skip


def decode_region_head(
    raw: torch.Tensor,
    anchors: torch.Tensor,
    stride: float | tuple[float, float],
    softmax: bool = True,
) -> torch.Tensor:
    """Decode one raw YOLOv2 ``[region]`` head (Darknet's ``get_region_box``).

    ``cx = (col + sigmoid(tx)) * stride``, ``w = exp(tw) * aw`` (the cfg's anchors are in grid
    cells; ``anchors`` here are in input pixels, i.e. times the stride), objectness
    ``sigmoid(to)``, class probabilities the softmax of the class logits (``softmax=1``; the
    raw values otherwise, as Darknet does).

    Args:
        raw: ``(B, A * (5 + C), H, W)``, entries laid out as in :func:`decode_yolo_head`.
        anchors: ``(A, 2)`` anchor (width, height) in input pixels.
        stride: Input pixels per grid cell, or ``(stride_y, stride_x)``.
        softmax: Darknet's ``softmax`` option.

    Returns:
        ``(B, H * W * A, 5 + C)`` in :func:`decode_yolo_head`'s layout.

    Examples:
        >>> raw = torch.zeros(1, 7, 1, 1)  # one anchor of 1.5 x 2 cells, two classes
        >>> decode_region_head(raw, torch.tensor([[48.0, 64.0]]), stride=32).tolist()
        [[[-8.0, -16.0, 40.0, 48.0, 0.5, 0.5, 0.5]]]
    """
    t, rows, cols = _cells(raw, anchors)
    stride_y, stride_x = (stride, stride) if isinstance(stride, (int, float)) else stride
    offset = torch.sigmoid(t[..., :2])
    anchors = anchors.to(device=raw.device, dtype=raw.dtype)
    classes = torch.softmax(t[..., 5:], dim=-1) if softmax else t[..., 5:]
    scores = torch.cat([torch.sigmoid(t[..., 4:5]), classes], dim=-1)
    return _assemble(
        (cols + offset[..., 0]) * stride_x, (rows + offset[..., 1]) * stride_y,
        torch.exp(t[..., 2:4]) * anchors, scores,
    )  # fmt: skip


def _cells(raw: torch.Tensor, anchors: torch.Tensor):
    """``raw`` as ``(B, H, W, A, 5 + C)`` and the row and column index grids."""
    if raw.ndim != 4:
        raise ValueError(f"raw must be (B, A*(5+C), H, W); got shape {tuple(raw.shape)}")
    batch, channels, height, width = raw.shape
    num_anchors = anchors.shape[0]
    if channels % num_anchors or channels // num_anchors < 6:
        raise ValueError(
            f"raw has {channels} channels, which is not A*(5+C) for A={num_anchors} anchors"
        )
    t = raw.reshape(batch, num_anchors, channels // num_anchors, height, width)
    rows = torch.arange(height, device=raw.device, dtype=raw.dtype).view(1, height, 1, 1)
    cols = torch.arange(width, device=raw.device, dtype=raw.dtype).view(1, 1, width, 1)
    return t.permute(0, 3, 4, 1, 2), rows, cols


def _assemble(cx, cy, size, scores) -> torch.Tensor:
    half_w, half_h = size[..., 0] / 2, size[..., 1] / 2
    boxes = torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1)
    decoded = torch.cat([boxes, scores], dim=-1)
    batch, height, width, anchors, entries = decoded.shape
    return decoded.reshape(batch, height * width * anchors, entries)


def non_max_suppression(
    predictions: torch.Tensor,
    conf_threshold: float = 0.25,
    iou_threshold: float = 0.45,
    max_detections: int = 300,
    kind: str = "iou",
    beta: float = 0.6,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Threshold and suppress decoded predictions, class by class (Darknet ``do_nms_sort``).

    A prediction yields a detection of class ``c`` when ``objectness > conf_threshold`` and
    ``objectness * p(c) > conf_threshold``; one box can so yield several classes. Within a class,
    a box whose overlap with a higher-scoring box exceeds ``iou_threshold`` is dropped. With
    ``kind="iou"`` the overlap is the IoU; with ``kind="diou"`` it is Darknet's DIoU-NMS
    measure (``nms_kind=diounms``, Zheng et al. 2020) ``IoU - (d^2 / c^2) ** beta``, where
    ``d`` is the distance between the two box centres and ``c`` the diagonal of the smallest
    box enclosing both: two animals side by side overlap a lot but have distinct centres, so
    the one behind survives.

    Args:
        predictions: ``(B, N, 5 + C)`` from :func:`decode_yolo_head` (heads concatenated on N).
        conf_threshold: Score threshold in ``[0, 1]``.
        iou_threshold: IoU above which a lower-scoring box of the same class goes, in ``[0, 1]``.
        max_detections: Keep at most this many per image, best first.
        kind: ``"iou"`` or ``"diou"`` (see above).
        beta: DIoU-NMS exponent (Darknet's ``beta_nms``, 0.6 by default); unused by ``"iou"``.

    Returns:
        ``(detections, indices)``: per image a ``(n, 6)`` tensor of ``x0, y0, x1, y1, score,
        class`` sorted by score, and the ``(n,)`` row of ``predictions`` each came from (to
        target one detection with a CAM).

    Examples:
        >>> p = torch.tensor([[[0.0, 0, 10, 10, 0.9, 1.0], [1, 1, 10, 10, 0.8, 1.0],
        ...                    [20, 20, 30, 30, 0.7, 1.0], [0, 0, 5, 5, 0.1, 1.0]]])
        >>> detections, indices = non_max_suppression(p, 0.25, 0.45)
        >>> [round(s, 3) for s in detections[0][:, 4].tolist()], indices[0].tolist()
        ([0.9, 0.7], [0, 2])
    """
    if predictions.ndim != 3 or predictions.shape[-1] < 6:
        raise ValueError(
            f"predictions must be (B, N, 5+C) with C >= 1; got shape {tuple(predictions.shape)}"
        )
    for name, value in (("conf_threshold", conf_threshold), ("iou_threshold", iou_threshold)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1]; got {value}")
    if max_detections < 0:
        raise ValueError(f"max_detections must be >= 0; got {max_detections}")
    if kind not in NMS_KINDS:
        raise ValueError(f"kind must be one of {NMS_KINDS}; got {kind!r}")
    if not beta > 0:
        raise ValueError(f"beta must be > 0; got {beta}")

    detections, indices = [], []
    for image in predictions.detach():
        objectness = image[:, 4]
        scores = objectness[:, None] * image[:, 5:]
        keep = (objectness > conf_threshold)[:, None] & (scores > conf_threshold)
        rows, classes = keep.nonzero(as_tuple=True)
        boxes, box_scores = image[rows, :4], scores[rows, classes]
        if kind == "iou":
            order = batched_nms(boxes.float(), box_scores.float(), classes, iou_threshold)
        else:
            order = _diou_nms(boxes.float(), box_scores.float(), classes, iou_threshold, beta)
        order = order[:max_detections]
        detections.append(
            torch.cat(
                [boxes[order], box_scores[order, None], classes[order, None].to(image.dtype)], 1
            )
        )
        indices.append(rows[order])
    return detections, indices


def diou_overlap(box: torch.Tensor, others: torch.Tensor, beta: float = 0.6) -> torch.Tensor:
    """Darknet's ``box_diounms``: ``IoU - (d^2 / c^2) ** beta`` of one box against ``others``.

    Args:
        box: ``(4,)`` box ``x0, y0, x1, y1``.
        others: ``(N, 4)`` boxes.
        beta: exponent of the centre-distance term.

    Returns:
        ``(N,)`` overlaps in ``[-1, 1]``. As in Darknet, the IoU of boxes without a common
        area or without a union is 0, and a pair whose enclosing box has no extent gets its IoU.

    Examples:
        >>> a = torch.tensor([0.0, 0, 4, 4])
        >>> b = torch.tensor([[2.0, 0, 6, 4]])  # IoU 1/3; centres 2 apart, enclosing 6 x 4
        >>> round(float(diou_overlap(a, b, beta=1.0)), 4)  # 1/3 - 4/52
        0.2564
    """
    inter = torch.minimum(box[2:], others[:, 2:]) - torch.maximum(box[:2], others[:, :2])
    inter = inter.clamp(min=0).prod(1)
    union = (box[2:] - box[:2]).prod() + (others[:, 2:] - others[:, :2]).prod(1) - inter
    iou = torch.where(union > 0, inter / union.clamp(min=torch.finfo(union.dtype).tiny), 0.0)
    distance = ((box[:2] + box[2:]) / 2 - (others[:, :2] + others[:, 2:]) / 2).square().sum(1)
    corner_lo = torch.minimum(box[:2], others[:, :2])
    corner_hi = torch.maximum(box[2:], others[:, 2:])
    diagonal = (corner_hi - corner_lo).square().sum(1)
    penalty = (distance / diagonal.clamp(min=torch.finfo(diagonal.dtype).tiny)) ** beta
    return torch.where(diagonal > 0, iou - penalty, iou)


def _diou_nms(boxes, scores, classes, threshold: float, beta: float) -> torch.Tensor:
    """Indices kept by greedy DIoU-NMS within each class, best score first."""
    order = torch.argsort(scores, descending=True, stable=True)
    kept = []
    while order.numel():
        best, rest = order[0], order[1:]
        kept.append(best)
        same_class = classes[rest] == classes[best]
        overlap = diou_overlap(boxes[best], boxes[rest], beta)
        order = rest[~same_class | (overlap <= threshold)]
    return torch.stack(kept) if kept else order
