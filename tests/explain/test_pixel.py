"""Pixel methods against captum (same channel sum, same normalisation)."""

import numpy as np
import pytest
import torch
from captum.attr import GuidedBackprop, GuidedGradCam, IntegratedGradients
from torch import nn

import xaikit as xk


def test_guided_backprop_matches_captum_at_batch_two(tiny_cnn, images):
    ours = xk.explain(tiny_cnn, images, method="guided_backprop", target=[1, 2])
    theirs = GuidedBackprop(tiny_cnn).attribute(images, target=[1, 2]).sum(dim=1).detach()
    np.testing.assert_allclose(ours.raw["input"].numpy(), theirs.numpy(), atol=1e-6)
    expected = theirs.abs() / theirs.abs().flatten(1).amax(dim=1)[:, None, None]
    np.testing.assert_allclose(ours.maps["input"].numpy(), expected.numpy(), atol=1e-4)


def test_guided_backprop_restores_relu_behaviour(tiny_cnn, images):
    plain = torch.autograd.grad(tiny_cnn(images.requires_grad_())[:, 0].sum(), images)[0]
    xk.explain(tiny_cnn, images.detach(), method="guided_backprop", target=0)
    again = torch.autograd.grad(tiny_cnn(images)[:, 0].sum(), images)[0]
    torch.testing.assert_close(plain, again)
    assert all(not m._forward_hooks for m in tiny_cnn.modules())


def test_guided_gradcam_matches_captum(tiny_cnn, images):
    ours = xk.explain(tiny_cnn, images, method="guided_gradcam", layers=["features.3"], target=3)
    captum = GuidedGradCam(tiny_cnn, tiny_cnn.features[3])
    theirs = captum.attribute(images, target=3, interpolate_mode="bilinear").sum(dim=1).detach()
    np.testing.assert_allclose(ours.raw["features.3"].numpy(), theirs.numpy(), atol=1e-6)


@pytest.mark.parametrize("steps", [5, 20])
def test_integrated_gradients_matches_captum(steps, tiny_cnn, images):
    ours = xk.explain(
        tiny_cnn, images, method="integrated_gradients", target=[0, 4], steps=steps, batch_size=8
    )
    theirs = IntegratedGradients(tiny_cnn).attribute(images, target=[0, 4], n_steps=steps)
    np.testing.assert_allclose(
        ours.raw["input"].sum(dim=1).numpy(), theirs.sum(dim=1).numpy(), atol=1e-5
    )


def test_integrated_gradients_on_video(tiny_video_cnn, clips):
    ours = xk.explain(tiny_video_cnn, clips, method="integrated_gradients", target=1, steps=4)
    theirs = IntegratedGradients(tiny_video_cnn).attribute(clips, target=1, n_steps=4)
    np.testing.assert_allclose(ours.raw["input"].numpy(), theirs.numpy(), atol=1e-5)
    assert ours.raw["input"].shape == (2, 3, 4, 8, 8)
    assert ours.maps["input"].shape == (2, 4, 8, 8)


class ConvNetOneConv(nn.Module):
    """captum's BasicModel_ConvNet_One_Conv with its test weights: conv1 (1 -> 2, 3x3, all
    ones, bias -50 / -75), ReLU, flatten, fc1 (8 -> 4, rows [1, 1, 1, 1, 1, -1, -1, -1])."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3)
        self.relu1 = nn.ReLU(inplace=inplace)
        self.fc1 = nn.Linear(8, 4)
        self.relu2 = nn.ReLU(inplace=inplace)
        with torch.no_grad():
            self.conv1.weight.fill_(1.0)
            self.conv1.bias.copy_(torch.tensor([-50.0, -75.0]))
            self.fc1.weight.copy_(torch.tensor([[1.0] * 5 + [-1.0] * 3] * 4))
            self.fc1.bias.zero_()

    def forward(self, x):
        return self.relu2(self.fc1(self.relu1(self.conv1(x)).flatten(1)))


ARANGE = torch.arange(16.0).reshape(1, 1, 4, 4)


def captum_sum_close(actual, expected, delta=0.01):
    """captum's assertTensorAlmostEqual, mode "sum": sum |actual - expected| <= delta."""
    expected = torch.tensor(expected).reshape(actual.shape)
    assert float((actual - expected).abs().sum()) <= delta, actual


@pytest.mark.parametrize(
    ("layer", "x", "inplace", "expected"),
    [
        # EXPECTED.md 1.4, captum test_guided_grad_cam (interpolate_mode "nearest")
        ("relu1", ARANGE, False,
         [[0, 0, 4, 4], [0, 0, 12, 8], [28, 84, 97.5, 65], [28, 56, 65, 32.5]]),
        # (x, ones): the second input is added before the conv, so the first input's
        # attribution is the one of x + 1 as a single input
        ("conv1", ARANGE + 1, False,
         [[14.5, 29, 38, 19], [29, 58, 76, 38], [65, 130, 148, 74], [32.5, 65, 74, 37]]),
        ("conv1", ARANGE + 1, True,
         [[14.5, 29, 38, 19], [29, 58, 76, 38], [65, 130, 148, 74], [32.5, 65, 74, 37]]),
    ],
)  # fmt: skip
def test_guided_gradcam_nearest_matches_captum_literals(layer, x, inplace, expected):
    model = ConvNetOneConv(inplace=inplace).eval()
    ours = xk.explain(model, x, method="guided_gradcam", layers=[layer], target=0,
                      upsample="nearest")  # fmt: skip
    captum_sum_close(ours.raw[layer], expected)


def test_guided_gradcam_default_is_bilinear_and_differs_from_nearest():
    model = ConvNetOneConv().eval()
    kwargs = dict(method="guided_gradcam", layers=["relu1"], target=0)
    default = xk.explain(model, ARANGE, **kwargs).raw["relu1"]
    bilinear = xk.explain(model, ARANGE, upsample="bilinear", **kwargs).raw["relu1"]
    nearest = xk.explain(model, ARANGE, upsample="nearest", **kwargs).raw["relu1"]
    torch.testing.assert_close(default, bilinear)
    assert float((bilinear - nearest).abs().max()) > 1.0
    theirs = GuidedGradCam(model, model.relu1).attribute(
        ARANGE, target=0, interpolate_mode="bilinear"
    )
    captum_sum_close(bilinear, theirs.detach().reshape(-1).tolist(), delta=1e-3)
    with pytest.raises(ValueError, match="upsample must be one of"):
        xk.explain(model, ARANGE, upsample="bicubic", **kwargs)


def test_integrated_gradients_keeps_per_channel_attributions(tiny_cnn, images):
    expl = xk.explain(tiny_cnn, images, method="integrated_gradients", target=[0, 4], steps=20)
    theirs = IntegratedGradients(tiny_cnn).attribute(images, target=[0, 4], n_steps=20)
    assert expl.raw["input"].shape == (2, 3, 16, 16)
    np.testing.assert_allclose(expl.raw["input"].numpy(), theirs.numpy(), atol=1e-5)
    summed = expl.raw["input"].sum(dim=1).abs()
    expected = summed / summed.flatten(1).amax(dim=1)[:, None, None]
    torch.testing.assert_close(expl.maps["input"], expected)


def test_integrated_gradients_is_complete():
    # EXPECTED.md 1.6: with multiply_by_inputs, sum of attributions - (f(x) - f(0)) within
    # 0.07 (captum); on this smooth model 50 Gauss-Legendre nodes are far tighter than that.
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.Softplus(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)
    ).eval()
    x = torch.rand(3, 3, 6, 6, generator=torch.Generator().manual_seed(3))
    expl = xk.explain(model, x, method="integrated_gradients", target=1, steps=50)
    with torch.no_grad():
        difference = model(x)[:, 1] - model(torch.zeros_like(x))[:, 1]
    delta = expl.raw["input"].flatten(1).sum(dim=1) - difference
    assert float(delta.abs().max()) <= 1e-4 and float(difference.abs().min()) > 0.01


def test_integrated_gradients_hand_worked_two_channels():
    # F(x) = (x_0 . u)^2 / 2 + x_1 . w: the path gradient of channel 0 is a * (x_0 . u) u, its
    # mean over a in [0, 1] half of it, so IG_0 = x_0 * u * (x_0 . u) / 2; IG_1 = x_1 * w.
    u = torch.tensor([1.0, 2.0, 0.0, -1.0])
    w = torch.tensor([3.0, -1.0, 0.5, 2.0])

    class TwoChannels(nn.Module):
        def forward(self, x):
            flat = x.flatten(2)
            return ((flat[:, 0] @ u) ** 2 / 2 + flat[:, 1] @ w)[:, None]

    x = torch.tensor([[[[1.0, 0.5], [2.0, 1.0]], [[1.0, 2.0], [0.0, -1.0]]]])
    expl = xk.explain(TwoChannels(), x, method="integrated_gradients", target=0, steps=4)
    dot = float(x[0, 0].flatten() @ u)  # 1 + 1 + 0 - 1 = 1
    expected = torch.stack([x[0, 0] * u.reshape(2, 2) * dot / 2, x[0, 1] * w.reshape(2, 2)])
    torch.testing.assert_close(expl.raw["input"][0], expected)
