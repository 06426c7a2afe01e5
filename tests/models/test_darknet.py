"""The Darknet port against OpenCV DNN (``cv2.dnn.readNetFromDarknet``) on random weights."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from xaikit.models import Darknet, load_darknet
from xaikit.models.darknet_cfg import Section
from xaikit.models.darknet_layers import MaxPool

from .conftest import CfgBuilder, yolov3, yolov3_tiny

TOLERANCE = 1e-4  # absolute, on head values of magnitude ~0.5


def _opencv_heads(cfg, weights, model: Darknet, x: torch.Tensor):
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setInput(x.numpy())
    # OpenCV names layer i's conv "conv_i"; the raw head is the conv just before each [yolo].
    names = [f"conv_{i - 1}" for i in model._head_indices]
    return net, net.forward(names)


def _random_input(height, width, batch=1, seed=0):
    return torch.rand(batch, 3, height, width, generator=torch.Generator().manual_seed(seed))


def _group_route_cfg() -> CfgBuilder:
    """Layers the YOLOv3 cfgs lack: route groups, a 3x3 stride-1 maxpool, grouped conv, mish."""
    b = CfgBuilder(96, 64)
    b.conv(8)
    b.maxpool(2, 2)
    b.conv(8, activation="mish")
    b.route(-1, groups=2, group_id=1)
    b.conv(4, groups=2)
    b.maxpool(3, 1)
    b.route(-1, -3)
    b.maxpool(2, 2)
    b.conv(16, stride=2)
    b.yolo((0, 1), "8,8, 16,24, 30,30", classes=3)
    b.route(-3)
    b.upsample(2)
    b.route(-1, 7)
    b.yolo((1, 2), "8,8, 16,24, 30,30", classes=3)
    return b


CASES = {
    "tiny-160x96": lambda: yolov3_tiny(160, 96, classes=2, divisor=8),
    "tiny-640x480-mice": lambda: yolov3_tiny(640, 480, classes=1, divisor=8),
    "yolov3-160x96": lambda: yolov3(160, 96, classes=3, divisor=16),
    "groups-and-pools": _group_route_cfg,
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("version", [(0, 2, 0), (0, 1, 0)])
def test_raw_heads_match_opencv(tmp_path, case, version):
    builder = CASES[case]()
    cfg, weights = builder.write(tmp_path, case, seed=3, version=version)
    model = load_darknet(cfg, weights, device="cpu")
    x = _random_input(builder.height, builder.width)
    with torch.no_grad():
        heads = model(x)
    _, reference = _opencv_heads(cfg, weights, model, x)
    assert len(heads) == len(reference) > 0
    for ours, theirs in zip(heads, reference, strict=True):
        assert ours.shape == theirs.shape
        assert np.abs(theirs).max() > 0.05  # the comparison is not between zeros
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=0, atol=TOLERANCE)


def test_decoded_boxes_match_opencv_yolo_layer(tiny_files):
    builder, cfg, weights = tiny_files
    model = load_darknet(cfg, weights, device="cpu")
    x = _random_input(builder.height, builder.width)
    with torch.no_grad():
        predictions = model.decode(model(x))[0].numpy()
    net, _ = _opencv_heads(cfg, weights, model, x)
    reference = np.concatenate(net.forward(list(net.getUnconnectedOutLayersNames())))
    # OpenCV rows: cx, cy, w, h normalised by the input size, objectness, then class scores that
    # it has thresholded and suppressed: compare the first five columns only.
    width, height = builder.width, builder.height
    x0, y0, x1, y1 = predictions[:, :4].T
    ours = np.stack(
        [
            (x0 + x1) / 2 / width,
            (y0 + y1) / 2 / height,
            (x1 - x0) / width,
            (y1 - y0) / height,
            predictions[:, 4],
        ],
        axis=1,
    )
    assert ours.shape == reference[:, :5].shape
    np.testing.assert_allclose(ours, reference[:, :5], rtol=1e-4, atol=1e-5)


def test_batch_and_other_input_sizes_run_through_one_model(tiny_files):
    builder, cfg, weights = tiny_files
    model = load_darknet(cfg, weights, device="cpu")
    x = _random_input(128, 64, batch=2)
    with torch.no_grad():
        heads = model(x)
        single = model(x[1:])
    assert [tuple(h.shape) for h in heads] == [(2, 21, 4, 2), (2, 21, 8, 4)]
    torch.testing.assert_close(heads[0][1:], single[0], atol=1e-5, rtol=0)


def test_maxpool_stride_one_pads_right_and_bottom_without_winning():
    # Hand-worked: the pad is -inf, so the last row/column keep their own (negative) values;
    # zero padding would turn them into 0.
    pool = MaxPool(Section("maxpool", {"size": "2", "stride": "1"}), (1, 3, 3))
    x = torch.tensor([[[[-1.0, -2.0], [-3.0, -4.0]]]])
    assert pool(x).tolist() == [[[[-1.0, -2.0], [-3.0, -4.0]]]]
    pool = MaxPool(Section("maxpool", {"size": "2", "stride": "2"}), (1, 3, 3))
    x = torch.arange(9.0).view(1, 1, 3, 3) - 9
    assert pool(x).tolist() == [[[[-5.0, -4.0], [-2.0, -1.0]]]]


def test_module_behaviour(tiny_files):
    builder, cfg, weights = tiny_files
    model = load_darknet(cfg, weights, device="cpu", class_names=["mouse", "cat"])
    assert not model.training
    names = dict(model.named_modules())
    assert {"module_list.14", "module_list.15", "module_list.21", "module_list.23"} <= set(names)
    assert model.head_layer_names == ["module_list.16", "module_list.23"]
    assert model.heads[1].anchors.tolist() == [[23.0, 27.0], [37.0, 58.0], [81.0, 82.0]]
    assert [head.stride for head in model.heads] == [32, 16]
    assert model.max_stride == 32 and model.input_size == (96, 160)
    assert model.class_names == ["mouse", "cat"]
    model = model.to(torch.float64)
    assert model.heads[0].anchors.dtype == torch.float64
    assert model(_random_input(96, 160).double())[0].dtype == torch.float64


def test_hooked_layer_output_is_the_head_and_gradients_reach_it(tiny_files):
    builder, cfg, weights = tiny_files
    model = load_darknet(cfg, weights, device="cpu")
    seen = {}
    handle = model.module_list[14].register_forward_hook(lambda m, i, o: seen.update(a=o))
    try:
        heads = model(_random_input(96, 160))
    finally:
        handle.remove()
    predictions = model.decode(heads)
    (gradient,) = torch.autograd.grad(predictions[0, 7, 4], seen["a"])
    assert seen["a"].shape == (1, 64, 3, 5)
    assert gradient.abs().sum() > 0


@pytest.mark.parametrize(
    "builder, bad, message",
    [
        (lambda: yolov3_tiny(160, 96, divisor=8), ("filters=18", "filters=20"), "needs 18 input"),
        (lambda: yolov3_tiny(160, 96, divisor=8), ("layers=-1,8", "layers=-1,30"), "layers 0..19"),
        (lambda: yolov3_tiny(160, 96, divisor=8), ("[upsample]", "[crnn]"), "supported layer"),
        (lambda: yolov3_tiny(160, 100, divisor=8), None, "different sizes"),
        (lambda: yolov3_tiny(160, 96, divisor=8), ("activation=leaky", "activation=gelx"), "gelx"),
        (lambda: yolov3_tiny(160, 96, divisor=8), ("[net]", "[netz]"), "start with [net]"),
    ],
)
def test_malformed_cfgs_are_named(builder, bad, message):
    text = builder().text
    if bad is not None:
        text = text.replace(*bad, 1)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(".", r"\.")):
        Darknet.from_cfg(text)


def test_wrong_input_is_named(tiny_files):
    _, cfg, _ = tiny_files
    model = load_darknet(cfg, None, device="cpu")
    with pytest.raises(ValueError, match="multiples of 32"):
        model(torch.zeros(1, 3, 100, 160))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        model(torch.zeros(3, 96, 160))
    with pytest.raises(FileNotFoundError, match="no-such.cfg"):
        load_darknet(cfg.parent / "no-such.cfg", None)
    with pytest.raises(ValueError, match="2 classes but 1 names"):
        load_darknet(cfg, None, class_names=["mouse"])
