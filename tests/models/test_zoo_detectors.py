"""demo-mice-full, the YOLOv3-shaped ("Full") partner of demo-mice ("Tiny"): its cfg has the
layer types of yolov3.cfg, the Darknet port and OpenCV DNN read it alike, and it is several
times larger than demo-mice in parameters and multiply-adds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import xaikit as xk
from xaikit.models.darknet import Darknet, load_darknet
from xaikit.models.darknet_layers import Route, Shortcut, Upsample
from xaikit.models.darknet_weights import save_darknet_weights
from xaikit.models.zoo import cards, detector
from xaikit.models.zoo.loading import load_demo

OPENCV_YOLO_THRESH = 0.2


def _full() -> Darknet:
    return Darknet.from_cfg(detector.FULL_CFG, class_names=["mouse"])


def _multiply_adds(model: Darknet) -> float:
    height, width = model.input_size
    with FlopCounterMode(display=False) as counter:
        model.eval()(torch.zeros(1, 3, height, width))
    return counter.get_total_flops() / 2


def test_full_has_yolov3s_residual_backbone_and_three_scales():
    full, tiny = _full(), Darknet.from_cfg(detector.CFG)
    kinds = [type(layer) for layer in full.module_list]
    assert kinds.count(Shortcut) == 7 and kinds.count(Upsample) == 2 and kinds.count(Route) == 4
    assert [head.stride for head in full.heads] == [32, 16, 8]
    assert full.head_layer_names == ["module_list.32", "module_list.42", "module_list.52"]
    assert full.input_size == tiny.input_size == (256, 320)
    assert [head.classes for head in full.heads] == [1, 1, 1]
    assert sum(len(head.anchors) for head in full.heads) == 9
    # Same head conventions as demo-mice, so the same loss and NMS apply.
    assert {(h.scale_x_y, h.nms_kind, h.beta_nms) for h in full.heads} == {
        (tiny.heads[0].scale_x_y, tiny.heads[0].nms_kind, tiny.heads[0].beta_nms)
    }
    for name in detector.DETECTORS[detector.FULL_NAME].layers:
        full.get_submodule(name)


def test_full_is_several_times_larger_than_tiny():
    full, tiny = _full(), Darknet.from_cfg(detector.CFG)
    count = lambda model: sum(p.numel() for p in model.parameters())  # noqa: E731
    assert count(full) == 1_091_822 and count(tiny) == 338_380  # 3.2x
    ratio = _multiply_adds(full) / _multiply_adds(tiny)
    assert 2.8 < ratio < 3.2  # 385 M against 128 M multiply-adds per frame


def test_full_trains_with_demo_mices_recipe_and_loss():
    recipe = detector.spec(detector.FULL_NAME).recipe
    assert recipe == {**detector.RECIPE, "epochs": 6}  # only fewer epochs
    model = _full().train()
    images = torch.rand(2, 3, 256, 320)
    boxes = [torch.tensor([[100.0, 50, 118, 74]]), torch.tensor([[20.0, 30, 44, 44]])]
    assigned = detector.assign_targets(model, boxes, anchor_iou=0.3)
    assert len(assigned) == 3 and sum(map(len, assigned)) > 0
    loss, parts = detector.yolo_loss(model, model(images), boxes, 0.5, 0.3)
    loss.backward()
    assert torch.isfinite(loss) and set(parts) == {"box", "obj", "cls"}


def _random_weights(folder: Path) -> Path:
    torch.manual_seed(0)
    model = _full().eval()
    for module in model.modules():  # non-trivial batch-norm statistics
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    save_darknet_weights(model, folder / "full.weights")
    return folder / "full.weights"


def _shipped_weights(folder: Path) -> Path:
    if not cards.card_path(detector.FULL_NAME).is_file():
        pytest.skip(f"not trained yet: {cards.reproduce_command(detector.FULL_NAME)}")
    return cards.WEIGHTS_DIR / cards.read_card(detector.FULL_NAME)["weights"]["DEFAULT"]["file"]


@pytest.mark.parametrize("make", [_random_weights, _shipped_weights], ids=["random", "shipped"])
def test_opencv_reads_the_full_cfg_and_its_darknet_weights_alike(tmp_path, make):
    cv2 = pytest.importorskip("cv2")
    weights = make(tmp_path)
    ours = load_darknet(detector.FULL_CFG, weights, device="cpu")
    x = np.random.default_rng(0).random((1, 3, 256, 320), dtype=np.float32)
    net = cv2.dnn.readNetFromDarknet(str(detector.FULL_CFG), str(weights))
    net.setInput(x)
    theirs = np.concatenate(net.forward(net.getUnconnectedOutLayersNames()))
    with torch.no_grad():
        decoded = ours.decode(ours(torch.from_numpy(x)))[0].numpy()
    assert theirs.shape == decoded.shape == (3 * (80 + 320 + 1280), 6)
    height, width = ours.input_size
    centre = (decoded[:, :2] + decoded[:, 2:4]) / 2 / [width, height]
    size = (decoded[:, 2:4] - decoded[:, :2]) / [width, height]
    np.testing.assert_allclose(centre, theirs[:, :2], atol=1e-3 / width)
    np.testing.assert_allclose(size, theirs[:, 2:4], atol=1e-3 / width, rtol=1e-5)
    np.testing.assert_allclose(decoded[:, 4], theirs[:, 4], atol=1e-5)
    # OpenCV's [yolo] layer zeroes class scores (objectness x probability) below 0.2.
    scores, kept = decoded[:, 4] * decoded[:, 5], theirs[:, 5] > 0
    np.testing.assert_allclose(scores[kept], theirs[kept, 5], atol=1e-5)
    assert (scores[~kept] < OPENCV_YOLO_THRESH + 1e-5).all()


def test_demo_mice_full_loads_from_its_card():
    if not cards.card_path(detector.FULL_NAME).is_file():
        pytest.skip(f"not trained yet: {cards.reproduce_command(detector.FULL_NAME)}")
    model = load_demo(detector.FULL_NAME, device="cpu")
    info = xk.models.info(model)
    card = info.card
    assert info.task == "detection" and model.class_names == ["mouse"]
    assert info.layers == [*detector.DETECTORS[detector.FULL_NAME].layers, *model.head_layer_names]
    assert card["cfg"] == detector.FULL_CFG.name and card["parameters"]["DEFAULT"] == 1_091_822
    assert {k: card["recipe"][k] for k in detector.RECIPE} == detector.FULL_RECIPE
    assert card["training"]["seconds"]["DEFAULT"] > 0 and card["training"]["cpu_seconds"] > 0
    assert 0 <= card["scores"]["held_out_map50"]["all"]["map50"] <= 1
