"""Score-CAM and Ablation-CAM against pytorch-grad-cam; RISE against hand-worked cases."""

import numpy as np
import pytest
import torch
import torchvision
from pytorch_grad_cam import AblationCAM, ScoreCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

import xaikit as xk
from xaikit.explain.perturbation import rise_masks


@pytest.mark.parametrize(
    ("reference", "method"), [(ScoreCAM, "scorecam"), (AblationCAM, "ablationcam")]
)
def test_tiny_cnn_matches_pytorch_grad_cam(reference, method, tiny_cnn, images):
    ours = xk.explain(
        tiny_cnn,
        images,
        method=method,
        layers=["features.3"],
        target=[2, 0],
        batch_size=5,
        progress=False,
    )
    with reference(model=tiny_cnn, target_layers=[tiny_cnn.features[3]]) as cam:
        theirs = cam(images, targets=[ClassifierOutputTarget(2), ClassifierOutputTarget(0)])
    np.testing.assert_allclose(ours.maps["features.3"].numpy(), theirs, atol=1e-4)


def test_resnet18_scorecam_matches_pytorch_grad_cam():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(6))
    ours = xk.explain(
        model, x, method="scorecam", layers=["layer4"], batch_size=128, progress=False
    )
    with ScoreCAM(model=model, target_layers=[model.layer4]) as cam:
        cam.batch_size = 128
        theirs = cam(x, targets=[ClassifierOutputTarget(int(ours.targets[0]))])
    np.testing.assert_allclose(ours.maps["layer4"].numpy(), theirs, atol=1e-4)


def test_rise_with_all_ones_masks_is_the_score(tiny_cnn, images):
    # p = 1 keeps every cell: each mask is all ones, so the saliency is f(x) everywhere.
    ours = xk.explain(tiny_cnn, images, method="rise", target=1, n_masks=3, p=1.0, progress=False)
    score = tiny_cnn(images)[:, 1].detach()
    expected = score[:, None, None].expand(-1, 16, 16)
    torch.testing.assert_close(ours.raw["input"], expected, atol=1e-5, rtol=1e-5)
    assert float(ours.maps["input"].max()) == 0.0  # a constant map normalises to zeros


def test_rise_finds_the_region_a_linear_score_reads():
    class LeftHalf(torch.nn.Module):
        def forward(self, x):
            return x[..., :, :8].sum(dim=(1, 2, 3))[:, None]

    x = torch.ones(1, 1, 16, 16)
    ours = xk.explain(LeftHalf(), x, method="rise", target=0, n_masks=400, cells=4, progress=False)
    saliency = ours.maps["input"][0]
    assert saliency[:, :6].mean() > saliency[:, 10:].mean() + 0.3


def test_rise_masks_shape_and_range():
    masks = rise_masks(5, (3, 10, 12), cells=3, p=0.5, generator=torch.Generator().manual_seed(0))
    assert masks.shape == (5, 1, 3, 10, 12)
    assert 0 <= float(masks.min()) and float(masks.max()) <= 1
    torch.testing.assert_close(masks[:, :, 0], masks[:, :, 2])
