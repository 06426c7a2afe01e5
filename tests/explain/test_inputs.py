"""Inputs are never changed or misread: copies, option names, target forms, boxes, clear
errors for inputs the model cannot take, and batches split by ``batch_size``."""

import numpy as np
import pytest
import torch
from torch import nn

import xaikit as xk
from xaikit.explain import targets

ALL_METHODS = sorted(xk.explain.METHODS)


class InPlaceFirst(nn.Module):
    """A CNN whose forward first doubles its input in place (``x.mul_(2)``)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x.mul_(2)
        return self.fc(self.features(x).mean(dim=(2, 3)))


def _options(method):
    return {"n_masks": 8} if method == "rise" else {"steps": 4} if "integrated" in method else {}


@pytest.mark.parametrize("method", ALL_METHODS)
@pytest.mark.parametrize("model_kind", ["mul_", "relu_inplace"])
def test_explain_never_changes_its_input(method, model_kind):
    if method == "3dcam" or method == "hessian_ciam" and model_kind == "mul_":
        pytest.skip("covered by the other model")  # keeps the test quick
    torch.manual_seed(0)
    if model_kind == "mul_":
        model = InPlaceFirst().eval()
        layers = ["features.1"]
    else:
        model = nn.Sequential(
            nn.ReLU(inplace=True), nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3),
        ).eval()  # fmt: skip
        layers = ["2"]
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    before = x.clone()
    first = xk.explain(model, x, method=method, layers=layers, progress=False, **_options(method))
    torch.testing.assert_close(x, before, rtol=0, atol=0)
    second = xk.explain(model, x, method=method, layers=layers, progress=False, **_options(method))
    for key in first.maps:
        torch.testing.assert_close(first.maps[key], second.maps[key])


def test_default_layer_search_does_not_change_the_input():
    torch.manual_seed(0)
    model = InPlaceFirst().eval()
    x = torch.rand(1, 3, 8, 8)
    before = x.clone()
    xk.explain(model, x, method="eigencam")
    assert torch.equal(x, before)


def test_unknown_options_are_refused_with_the_valid_ones(tiny_cnn, images):
    with pytest.raises(ValueError, match=r"unknown option 'n_maks' \(did you mean n_masks\?\)"):
        xk.explain(tiny_cnn, images, method="rise", n_maks=10)
    with pytest.raises(ValueError, match="valid options: gradcam: none"):
        xk.explain(tiny_cnn, images, method="gradcam", layers=["features.3"], steps=5)
    # an option of any requested method is fine
    both = xk.explain(
        tiny_cnn, images, method=["rise", "gradcam"], layers=["features.3"], n_masks=4,
        progress=False,
    )  # fmt: skip
    assert set(both) == {"rise", "gradcam"}


@pytest.mark.parametrize(
    "target", [np.int64(2), np.array(2), torch.tensor(2), np.array([2, 2]), (2, 2), [2, 2]]
)
def test_numpy_and_zero_dim_targets_are_ints(tiny_cnn, images, target):
    expected = xk.explain(tiny_cnn, images, layers=["features.3"], target=2)
    got = xk.explain(tiny_cnn, images, layers=["features.3"], target=target)
    assert got.targets.tolist() == [2, 2]
    torch.testing.assert_close(got.maps["features.3"], expected.maps["features.3"])


@pytest.mark.parametrize(
    "target", [np.float64(2.0), np.array([1.5, 2.0]), torch.tensor([True, False]), np.zeros((2, 1))]
)
def test_non_integer_targets_are_refused(tiny_cnn, images, target):
    with pytest.raises(ValueError, match="target|classes must be"):
        xk.explain(tiny_cnn, images, layers=["features.3"], target=target)


@pytest.mark.parametrize(
    "box, message",
    [
        ([float("nan"), 0.0, 8.0, 8.0], "is not finite"),
        ([0.0, 0.0, float("inf"), 8.0], "is not finite"),
        ([8.0, 0.0, 2.0, 8.0], "x1 <= x0"),
        ([0.0, 8.0, 8.0, 2.0], "y1 <= y0"),
    ],
)
def test_bad_detection_boxes_are_refused(box, message):
    with pytest.raises(ValueError, match=message):
        targets.DetectionBox(torch.tensor([[0.0, 0.0, 4.0, 4.0], box]))


@pytest.mark.parametrize("box", [[16.0, 0.0, 20.0, 4.0], [-9.0, -9.0, 0.0, 0.0], [0, 30, 5, 40]])
def test_detection_boxes_off_the_image_are_refused(toy_detector, box):
    image = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match=r"box 0 \(image 0\).*outside the 16x16 input"):
        xk.explain(toy_detector, image, layers=["backbone.2"], target=targets.DetectionBox([box]))


def test_detection_labels_are_checked(toy_detector):
    with pytest.raises(ValueError, match="labels must be class indices >= 0"):
        targets.DetectionBox([[0, 0, 8, 8]], labels=[-1])
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\]"):
        xk.explain(
            toy_detector, torch.rand(1, 3, 16, 16), layers=["backbone.2"],
            target=targets.DetectionBox([[0, 0, 8, 8]], labels=[3]),
        )  # fmt: skip


def test_channels_last_input_is_named(tiny_cnn, images):
    with pytest.raises(ValueError, match=r"takes 3 input channels.*channels-last.*permute\(0, 3"):
        xk.explain(tiny_cnn, images.permute(0, 2, 3, 1).contiguous(), layers=["features.3"])
    with pytest.raises(ValueError, match="channels-last"):
        xk.explain(tiny_cnn, images.permute(0, 2, 3, 1).contiguous())  # default layer search


def test_wrong_channel_count_is_named(tiny_cnn, images):
    with pytest.raises(ValueError, match=r"takes 3 input channels, but x of shape \(2, 1, 16"):
        xk.explain(tiny_cnn, images[:, :1], layers=["features.3"])


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool])
def test_integer_input_is_refused(tiny_cnn, images, dtype):
    with pytest.raises(ValueError, match=f"floating-point tensor.*got {dtype}"):
        xk.explain(tiny_cnn, (images * 255).to(dtype), layers=["features.3"])


def test_dtype_mismatch_is_named(tiny_cnn, images):
    with pytest.raises(ValueError, match=r"x is torch.float64 but .* has torch.float32 weights"):
        xk.explain(tiny_cnn, images.double(), layers=["features.3"])
    # matching dtypes work
    expl = xk.explain(tiny_cnn.double(), images.double(), layers=["features.3"])
    assert expl.maps["features.3"].shape == (2, 16, 16)


GRADIENT_METHODS = ["gradcam", "gradcam++", "hirescam", "layercam", "3dcam", "guided_backprop",
                    "guided_gradcam", "integrated_gradients", "dense_attention",
                    "hessian_ciam"]  # fmt: skip


@pytest.mark.parametrize(
    "target", [None, [1, 3, 0, 2, 4], targets.TopK(2), targets.Counterfactual([1, 3, 0, 2, 4])]
)
def test_gradient_batch_split_by_batch_size_gives_the_same_maps(tiny_cnn, target):
    x = torch.rand(5, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    rows = []
    tiny_cnn.register_forward_pre_hook(lambda _m, args: rows.append(len(args[0])))
    kwargs = dict(method=GRADIENT_METHODS, layers=["features.1", "features.3"], target=target)
    # Hessian-CIAM's exact product: its finite difference divides float rounding (which
    # depends on the batch's size) by r = 1e-3, so that one is equal only to ~0.03.
    kwargs["hvp"] = "exact"
    whole = xk.explain(tiny_cnn, x, batch_size=64, steps=4, **kwargs)
    assert max(rows) > 2  # one pass for the whole batch (20 rows: 4 IG steps x 5)
    rows.clear()
    split = xk.explain(tiny_cnn, x, batch_size=2, steps=4, **kwargs)
    assert max(rows) == 2  # no forward ever sees more than batch_size samples
    for method in GRADIENT_METHODS:
        torch.testing.assert_close(split[method].targets, whole[method].targets)
        torch.testing.assert_close(split[method].scores, whole[method].scores)
        for key in whole[method].maps:
            torch.testing.assert_close(split[method].maps[key], whole[method].maps[key])
            torch.testing.assert_close(split[method].raw[key], whole[method].raw[key])


def test_detection_batch_split_by_batch_size_gives_the_same_maps(toy_detector):
    image = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(7))
    boxes = [torch.tensor([[0.0, 0.0, 8.0, 8.0], [6.0, 6.0, 14.0, 14.0]]),
             torch.tensor([[8.0, 0.0, 16.0, 8.0]])]  # fmt: skip
    target = targets.DetectionBox(boxes, labels=[[0, 2], [1]])
    kwargs = dict(method="gradcam", layers=["backbone.2"], target=target)
    whole = xk.explain(toy_detector, image, **kwargs)
    split = xk.explain(toy_detector, image, batch_size=1, **kwargs)
    torch.testing.assert_close(split.scores, whole.scores)
    torch.testing.assert_close(split.maps["backbone.2"], whole.maps["backbone.2"])
