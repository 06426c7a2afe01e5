"""Pixel methods against captum (same channel sum, same normalisation)."""

import numpy as np
import pytest
import torch
from captum.attr import GuidedBackprop, GuidedGradCam, IntegratedGradients

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
    np.testing.assert_allclose(ours.raw["input"].numpy(), theirs.sum(dim=1).numpy(), atol=1e-5)


def test_integrated_gradients_on_video(tiny_video_cnn, clips):
    ours = xk.explain(tiny_video_cnn, clips, method="integrated_gradients", target=1, steps=4)
    theirs = IntegratedGradients(tiny_video_cnn).attribute(clips, target=1, n_steps=4)
    np.testing.assert_allclose(ours.raw["input"].numpy(), theirs.sum(dim=1).numpy(), atol=1e-5)
    assert ours.maps["input"].shape == (2, 4, 8, 8)
