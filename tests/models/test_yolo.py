"""Decoding and NMS on hand-worked cases, and detections mapped back to frame pixels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchvision.ops import batched_nms

from xaikit.models import Darknet
from xaikit.models.yolo import decode_yolo_head, diou_overlap, non_max_suppression


def test_decode_hand_worked_cell_and_anchor():
    # Two anchors, one class, a 2x3 grid; fill anchor 1 at row 1, col 2.
    raw = torch.zeros(1, 2 * 6, 2, 3)
    raw[0, 6 + 0, 1, 2] = math.log(3)  # sigmoid = 0.75
    raw[0, 6 + 2, 1, 2] = math.log(2)  # exp = 2 -> width 2 * 5
    raw[0, 6 + 4, 1, 2] = 2.0
    out = decode_yolo_head(raw, torch.tensor([[1.0, 1.0], [5.0, 7.0]]), stride=16)
    assert out.shape == (1, 2 * 3 * 2, 6)
    row = out[0, (1 * 3 + 2) * 2 + 1]
    cx, cy = (2 + 0.75) * 16, (1 + 0.5) * 16
    expected = [cx - 5, cy - 3.5, cx + 5, cy + 3.5, 1 / (1 + math.exp(-2)), 0.5]
    torch.testing.assert_close(row, torch.tensor(expected))


def test_decode_scale_x_y():
    raw = torch.full((1, 6, 1, 1), 20.0)  # sigmoid -> 1
    out = decode_yolo_head(raw, torch.tensor([[0.0, 0.0]]), stride=10, scale_x_y=1.2)
    assert out[0, 0, 0].item() == pytest.approx(11.0)  # (0 + 1 * 1.2 - 0.1) * 10


def test_decode_rejects_bad_shapes():
    with pytest.raises(ValueError, match="A\\*\\(5\\+C\\)"):
        decode_yolo_head(torch.zeros(1, 7, 2, 2), torch.ones(2, 2), stride=8)
    with pytest.raises(ValueError, match="shape"):
        decode_yolo_head(torch.zeros(6, 2, 2), torch.ones(1, 2), stride=8)


def _prediction(box, objectness, *classes):
    return [*box, objectness, *classes]


def test_nms_is_per_class_and_uses_strict_thresholds():
    predictions = torch.tensor(
        [
            [
                _prediction((0, 0, 10, 10), 0.9, 1.0, 0.0),
                _prediction((0, 0, 10, 11), 0.8, 1.0, 0.0),  # IoU 10/11 with the first: suppressed
                _prediction((0, 0, 10, 10), 0.8, 0.0, 1.0),  # same place, other class: kept
                _prediction((0, 0, 10, 20), 0.7, 1.0, 0.0),  # IoU exactly 0.5: kept at 0.5
                _prediction((50, 50, 60, 60), 0.5, 0.5, 0.0),  # score 0.25, not > 0.25: dropped
                _prediction((70, 70, 80, 80), 0.25, 1.0, 1.0),  # objectness not > 0.25: dropped
            ]
        ]
    )
    (detections,), (indices,) = non_max_suppression(predictions, 0.25, 0.5)
    assert indices.tolist() == [0, 2, 3]
    np.testing.assert_allclose(
        detections.numpy(),
        [[0, 0, 10, 10, 0.9, 0], [0, 0, 10, 10, 0.8, 1], [0, 0, 10, 20, 0.7, 0]],
        atol=1e-6,
    )


def test_nms_one_box_two_classes_and_empty_results():
    predictions = torch.tensor([[_prediction((0, 0, 4, 4), 1.0, 0.6, 0.9)], [[0.0] * 7]])
    detections, indices = non_max_suppression(predictions, 0.5, 0.45, max_detections=5)
    assert detections[0][:, 5].tolist() == [1.0, 0.0] and indices[0].tolist() == [0, 0]
    assert detections[1].shape == (0, 6) and indices[1].shape == (0,)
    assert non_max_suppression(predictions, 0.5, 0.45, max_detections=1)[0][0].shape == (1, 6)


def _shifted_boxes():
    """A 10 x 10 box and two copies shifted down by 10/3 and by 2 pixels.

    Vertical shift s: IoU = (10 - s) / (10 + s), centres s apart, enclosing box 10 x (10 + s).
    s = 10/3: IoU 0.5, DIoU 0.5 - (11.11 / 277.78) ** 0.6 = 0.355 (below 0.45: kept).
    s = 2: IoU 0.667, DIoU 0.667 - (4 / 244) ** 0.6 = 0.582 (above 0.45: suppressed).
    """
    third = 10 / 3
    return torch.tensor(
        [
            [
                _prediction((0, 0, 10, 10), 0.9, 1.0),
                _prediction((0, third, 10, 10 + third), 0.8, 1.0),
                _prediction((0, 2, 10, 12), 0.7, 1.0),
            ]
        ]
    )


def test_diou_overlap_hand_worked():
    boxes = _shifted_boxes()[0, :, :4]
    overlap = diou_overlap(boxes[0], boxes[1:])
    expected = [0.5 - (100 / 9 / (100 + (40 / 3) ** 2)) ** 0.6, 8 / 12 - (4 / 244) ** 0.6]
    torch.testing.assert_close(overlap, torch.tensor(expected))
    point = torch.tensor([1.0, 1, 1, 1])  # no extent: the enclosing diagonal is 0, DIoU = IoU
    assert diou_overlap(point, point[None]).tolist() == [0.0]


def test_diou_nms_keeps_the_box_behind_whose_centre_differs():
    predictions = _shifted_boxes()
    (_,), (by_iou,) = non_max_suppression(predictions, 0.25, 0.45)
    (_,), (by_diou,) = non_max_suppression(predictions, 0.25, 0.45, kind="diou")
    assert by_iou.tolist() == [0] and by_diou.tolist() == [0, 1]


def test_diou_nms_is_iou_nms_when_the_distance_term_vanishes():
    # (d^2/c^2) ** beta -> 0 for a large beta: DIoU-NMS must then keep what torchvision keeps.
    generator = torch.Generator().manual_seed(3)
    corners = torch.rand(200, 2, generator=generator) * 60
    sizes = 5 + torch.rand(200, 2, generator=generator) * 20
    boxes = torch.cat([corners, corners + sizes], 1)
    scores = torch.rand(200, generator=generator)
    classes = (torch.rand(200, generator=generator) < 0.5).float()
    predictions = torch.cat([boxes, scores[:, None], 1 - classes[:, None], classes[:, None]], 1)
    (detections,), (kept,) = non_max_suppression(predictions[None], 0.0, 0.3, 500, "diou", 60.0)
    class_scores = scores * torch.where(classes == 1, classes, 1 - classes)
    reference = batched_nms(boxes, class_scores, classes.long(), 0.3)
    assert sorted(kept.tolist()) == sorted(reference.tolist())
    assert len(kept) > 50 and (detections[:-1, 4] >= detections[1:, 4]).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "soft"}, "kind"),
        ({"beta": 0.0}, "beta"),
        ({"conf_threshold": 1.5}, "conf_threshold"),
        ({"iou_threshold": -0.1}, "iou_threshold"),
        ({"max_detections": -1}, "max_detections"),
    ],
)
def test_nms_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        non_max_suppression(torch.zeros(1, 2, 6), **kwargs)
    with pytest.raises(ValueError, match="5\\+C"):
        non_max_suppression(torch.zeros(2, 6))


ONE_CELL_CFG = """[net]
width=32
height=32
[maxpool]
size=32
stride=32
padding=0
[convolutional]
filters=6
size=1
activation=linear
[yolo]
mask=0
anchors=16,8
classes=1
num=1
"""


def _one_box_model(letterbox: bool) -> Darknet:
    """A 1x1 grid whose only prediction is the box (8, 12, 24, 20) with score ~1."""
    model = Darknet.from_cfg(ONE_CELL_CFG, letterbox=letterbox).eval()
    with torch.no_grad():
        conv = model.module_list[1].conv
        conv.weight.zero_()
        conv.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 10.0, 10.0]))
    return model


@pytest.mark.parametrize(
    "letterbox, expected",
    [
        (False, [32, 24, 96, 40]),  # x scaled by 32/128, y by 32/64
        (True, [32, 16, 96, 48]),  # scaled by 1/4, 8 px bars above and below in the input
    ],
)
def test_detect_maps_boxes_back_to_frame_pixels(letterbox, expected):
    model = _one_box_model(letterbox)
    frame = np.zeros((64, 128, 3), np.uint8)
    (boxes,), (index,) = model.detect([frame], return_index=True)
    assert boxes.shape == (1, 6) and index.tolist() == [0]
    np.testing.assert_allclose(boxes[0, :4].numpy(), expected, atol=1e-4)
    assert boxes[0, 4].item() > 0.99 and boxes[0, 5].item() == 0
    (input_boxes,) = model.detect(torch.zeros(1, 3, 32, 32))
    np.testing.assert_allclose(input_boxes[0, :4].numpy(), [8, 12, 24, 20], atol=1e-4)


def test_detection_index_targets_the_same_prediction():
    model = _one_box_model(False)
    x = torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    detections, indices = model.detect(x, conf_threshold=0.5, return_index=True)
    predictions = model.decode(model(x))
    for b in range(2):
        rows = predictions[b, indices[b]]
        score = rows[:, 4] * rows[:, 5]
        torch.testing.assert_close(score.detach(), detections[b][:, 4])


def test_detect_rejects_bad_frames():
    model = _one_box_model(False)
    with pytest.raises(ValueError, match="uint8 RGB"):
        model.detect([np.zeros((8, 8), np.uint8)])
    with pytest.raises(ValueError, match="empty"):
        model.detect([])


def test_cfg_nms_kind_sets_the_detector_suppression():
    diou_cfg = ONE_CELL_CFG + "nms_kind=diounms\nbeta_nms=0.8\n"
    head = Darknet.from_cfg(diou_cfg).heads[-1]
    assert (head.nms_kind, head.beta_nms) == ("diou", 0.8)
    assert Darknet.from_cfg(ONE_CELL_CFG).heads[-1].nms_kind == "iou"
    assert Darknet.from_cfg(ONE_CELL_CFG + "nms_kind=greedynms\n").heads[-1].nms_kind == "iou"
    with pytest.raises(ValueError, match="nms_kind must be one of"):
        Darknet.from_cfg(ONE_CELL_CFG + "nms_kind=softnms\n")


def test_detect_follows_the_cfg_nms_kind(monkeypatch):
    import xaikit.models.darknet as darknet

    seen = []

    def spy(*args, kind, beta, **kwargs):
        seen.append((kind, beta))
        return non_max_suppression(*args, kind=kind, beta=beta, **kwargs)

    monkeypatch.setattr(darknet, "non_max_suppression", spy)
    model = Darknet.from_cfg(ONE_CELL_CFG + "nms_kind=diounms\n").eval()
    model.detect(torch.zeros(1, 3, 32, 32))
    model.detect(torch.zeros(1, 3, 32, 32), nms_kind="iou")
    assert seen == [("diou", 0.6), ("iou", 0.6)]
