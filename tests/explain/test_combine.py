"""Explanation.combine's layer fusion: torch-cam 0.5's ``RefineCAM.fuse_cams`` (raw maps at
feature resolution) and pytorch-grad-cam 1.5.7's ``RefineCAM`` (maps at input resolution)."""

import numpy as np
import pytest
import torch
from pytorch_grad_cam import GradCAM as GradCAMReference
from pytorch_grad_cam import RefineCAM as GradCamRefine
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torchcam.methods import GradCAM, RefineCAM

import xaikit as xk
from tests.tiny_models import TinyCNN, TinyVideoCNN
from xaikit.explain.explanation import Explanation

LAYERS = ["features.1", "features.3"]


def raw_explanation(cams, method="gradcam"):
    names = [f"layer{index}" for index in range(len(cams))]
    return Explanation(method, maps={}, raw=dict(zip(names, cams, strict=True)), layers=names)


def test_refinecam_literals():
    # torch-cam tests/test_methods_gradient.py: min-max (eps 1e-8), product, min-max again
    first = torch.tensor([[[0.0, 1.0], [2.0, 3.0]]])
    second = torch.tensor([[[3.0, 2.0], [1.0, 0.0]]])
    copies = first.clone(), second.clone()
    explanation = raw_explanation([first, second])
    fused = explanation.combine(how="product", on="raw", normalised=False)
    assert torch.allclose(fused, torch.tensor([[[0.0, 2 / 9], [2 / 9, 0.0]]]))
    assert torch.allclose(
        explanation.combine(how="product", on="raw"), torch.tensor([[[0.0, 1.0], [1.0, 0.0]]])
    )
    assert torch.equal(first, copies[0]) and torch.equal(second, copies[1])  # not modified


def test_refinecam_shapes():
    small = torch.tensor([[[0.0, 1.0], [2.0, 3.0]]])
    large = torch.arange(16.0).reshape(1, 4, 4)
    assert raw_explanation([small, large]).combine(how="product", on="raw").shape == (1, 4, 4)
    assert raw_explanation([large]).combine(how="product", on="raw").shape == (1, 4, 4)
    volume = torch.arange(8.0).reshape(1, 2, 2, 2)
    fused = raw_explanation([volume, volume.flip(-1)]).combine(how="product", on="raw")
    assert fused.shape == (1, 2, 2, 2)


@pytest.mark.parametrize("normalised", [True, False])
@pytest.mark.parametrize(
    "shapes",
    [
        [(2, 5, 7), (2, 10, 14), (2, 3, 4)],
        [(2, 6, 4), (2, 3, 9)],  # the largest size per axis: 6 x 9
        [(2, 2, 4, 5), (2, 4, 8, 10)],
    ],
)
def test_matches_torchcam_fuse_cams(shapes, normalised):
    generator = torch.Generator().manual_seed(len(shapes))
    signed = [torch.randn(shape, generator=generator) for shape in shapes]
    expected = RefineCAM.fuse_cams([cam.clone() for cam in signed], normalized=normalised)
    # a method without a ReLU (RISE) fuses the signed maps as given ...
    unrectified = raw_explanation(signed, "rise").combine(
        how="product", on="raw", normalised=normalised
    )
    torch.testing.assert_close(unrectified, expected, rtol=1e-5, atol=1e-6)
    # ... a CAM fuses its ReLU'd maps, what torch-cam's extractors hand to fuse_cams
    expected = RefineCAM.fuse_cams([cam.relu() for cam in signed], normalized=normalised)
    rectified = raw_explanation(signed).combine(how="product", on="raw", normalised=normalised)
    torch.testing.assert_close(rectified, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("video", [False, True])
def test_gradcam_layers_match_torchcam_refinecam(video):
    torch.manual_seed(0)
    model = (TinyVideoCNN() if video else TinyCNN()).eval()
    shape = (3, 4, 10, 14) if video else (3, 20, 28)
    x = torch.rand(2, *shape, generator=torch.Generator().manual_seed(1))
    classes = [1, 3]
    ours = xk.explain(model, x, "gradcam", LAYERS, classes, progress=False)
    fused = ours.combine(how="product", on="raw")
    assert fused.shape == (2, *shape[1:])  # features.1 keeps the input size
    with RefineCAM(model, LAYERS, input_shape=shape, base_method=GradCAM) as extractor:
        expected = extractor(class_idx=classes, scores=model(x))[0]
    torch.testing.assert_close(fused, expected, rtol=1e-4, atol=1e-5)


def test_product_of_maps_matches_pytorch_grad_cam_refinecam():
    torch.manual_seed(0)
    model = TinyCNN().eval()
    x = torch.rand(2, 3, 18, 26, generator=torch.Generator().manual_seed(2))
    classes = [0, 4]
    ours = xk.explain(model, x, "gradcam", LAYERS, classes, progress=False).combine(how="product")
    refine = GradCamRefine(
        model, [model.features[1], model.features[3]], base_method=GradCAMReference
    )
    expected = refine(x, [ClassifierOutputTarget(c) for c in classes])
    np.testing.assert_allclose(ours.numpy(), expected, atol=1e-4)


def test_bad_arguments():
    explanation = raw_explanation([torch.rand(1, 2, 2), torch.rand(1, 2, 2, 2)])
    with pytest.raises(ValueError, match=r"on must be one of \('maps', 'raw'\); got 'pixels'"):
        explanation.combine(how="product", on="pixels")
    with pytest.raises(ValueError, match="on='raw' needs one map per sample"):
        explanation.combine(how="product", on="raw")
    with pytest.raises(ValueError, match=r"no raw map for \['layer9'\]"):
        explanation.combine(["layer9"], how="product", on="raw")
    with pytest.raises(ValueError, match="how must be one of"):
        explanation.combine(how="geometric", on="raw")
