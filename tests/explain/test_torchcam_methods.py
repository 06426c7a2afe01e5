"""Smooth Grad-CAM++, SS-CAM and IS-CAM against torch-cam 0.5 (``torchcam``).

torch-cam returns ``ReLU(M)`` min-max normalised at feature resolution (``1e-8`` added to the
range) without resizing, so our ``raw`` (``M`` at feature resolution) is compared after that
same normalisation. Its noise comes from torch's global generator: seeding it with our
``seed`` right before torch-cam's call reproduces our noise, draw for draw.
"""

import numpy as np
import pytest
import torch
import torchvision
from torch import nn
from torchcam.methods import ISCAM, SSCAM, ScoreCAM, SmoothGradCAMpp

import xaikit as xk

TOL = 1e-4


def torchcam_normalised(raw: torch.Tensor) -> np.ndarray:
    """torch-cam's map from our raw one: ReLU, then (m - min) / (max - min + 1e-8)."""
    cam = raw.clamp_min(0)
    dims = tuple(range(1, cam.ndim))
    cam = cam - cam.amin(dim=dims, keepdim=True)
    return (cam / (cam.amax(dim=dims, keepdim=True) + 1e-8)).numpy()


class SmoothGradCAMppOnX(SmoothGradCAMpp):
    """torch-cam's Smooth Grad-CAM++ whose activation hook keeps the activations of ``x``:
    torch-cam's noisy passes overwrite it, so its map combines the last noisy copy's
    activations (xaikit combines those of ``x``; see ``run_smooth_gradcam_plusplus``)."""

    def _hook_a(self, module, args, output, idx=0):
        if self._ihook_enabled:  # off only during the noisy passes
            super()._hook_a(module, args, output, idx=idx)


class RecordingSmoothGradCAMpp(SmoothGradCAMppOnX):
    """... that also keeps the gradient of each of its noisy passes."""

    def _backprop(self, *args, **kwargs):
        super()._backprop(*args, **kwargs)
        self.recorded.append(self.hook_g[0].clone())


PEERS = {"sscam": SSCAM, "iscam": ISCAM, "smoothgradcam++": SmoothGradCAMppOnX}


def peer_options(method: str, n_samples: int, std: float, batch_size: int) -> dict:
    """torch-cam's keyword arguments and ours for the same settings."""
    theirs = {"num_samples": n_samples}
    ours = {"n_samples": n_samples}
    if method != "iscam":
        theirs["std"] = ours["std"] = std
        ours["seed"] = 7
    if method != "smoothgradcam++":
        theirs["batch_size"] = batch_size
    return {"theirs": theirs, "ours": ours}


def torchcam_map(peer, model, layer, x, classes, seed=7, **kwargs):
    with peer(model, layer, **kwargs) as extractor:
        model(x)
        torch.manual_seed(seed)
        return extractor(class_idx=[int(c) for c in classes])[0]


def assert_matches_torchcam(model, layer, x, method, classes, n_samples, std=2.0, batch_size=5):
    """Our raw map, normalised as torch-cam does, is torch-cam's; ``batch_size=5`` makes
    chunks straddle the noisy copies."""
    options = peer_options(method, n_samples, std, batch_size)
    ours = xk.explain(
        model, x, method=method, layers=[layer], target=list(classes), batch_size=batch_size,
        progress=False, **options["ours"],
    )  # fmt: skip
    theirs = torchcam_map(PEERS[method], model, layer, x, classes, **options["theirs"])
    assert theirs.shape == ours.raw[layer].shape
    assert np.isfinite(theirs.numpy()).all()
    np.testing.assert_allclose(torchcam_normalised(ours.raw[layer]), theirs.numpy(), atol=TOL)
    assert ours.maps[layer].shape == (len(x), *x.shape[2:])
    return ours


@pytest.mark.parametrize("layer", ["features.1", "features.3"])
@pytest.mark.parametrize(("method", "n_samples"), [("sscam", 3), ("iscam", 3)])
def test_tiny_cnn_score_variants_match_torchcam(method, n_samples, layer, tiny_cnn):
    x = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(1))
    assert_matches_torchcam(tiny_cnn, layer, x, method, [1, 3], n_samples)


@pytest.mark.parametrize(("layer", "n_samples"), [("features.1", 1), ("features.3", 3)])
def test_tiny_cnn_smooth_gradcam_plusplus_matches_torchcam(layer, n_samples, tiny_cnn):
    # One copy, or a layer whose gradient (GAP then linear) is the same for every copy: there
    # torch-cam's last-copy gradient is the mean gradient.
    x = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(1))
    assert_matches_torchcam(tiny_cnn, layer, x, "smoothgradcam++", [1, 3], n_samples, std=0.3)


def test_smooth_gradcam_plusplus_averages_torchcams_noisy_gradients(tiny_cnn):
    """Three copies at a layer whose gradient changes with the noise: our map is the formula
    on the mean moments of the gradients of torch-cam's own noisy passes."""
    x = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(1))
    ours = xk.explain(
        tiny_cnn, x, method="smoothgradcam++", layers=["features.1"], target=[1, 3],
        n_samples=3, std=0.3, seed=7, batch_size=4, progress=False,
    )  # fmt: skip
    with RecordingSmoothGradCAMpp(tiny_cnn, "features.1", num_samples=3, std=0.3) as extractor:
        extractor.recorded = []
        tiny_cnn(x)
        activation = extractor.hook_a[0].clone()
        torch.manual_seed(7)
        extractor(class_idx=[1, 3])
    gradients = torch.stack(extractor.recorded)  # (copies, B, C, h, w)
    assert len(gradients) == 3 and not torch.equal(gradients[0], gradients[1])
    d1, d2, d3 = (gradients.pow(p).mean(dim=0) for p in (1, 2, 3))
    alpha = d2 / (2 * d2 + (activation * d3).sum(dim=(2, 3), keepdim=True) + 1e-8)
    weights = (alpha * d1.clamp_min(0)).sum(dim=(2, 3))
    expected = torch.einsum("bc,bchw->bhw", weights, activation)
    torch.testing.assert_close(ours.raw["features.1"], expected, atol=1e-5, rtol=1e-4)


@pytest.fixture(scope="module")
def torchvision_models():
    built = {}

    def build(name):
        if name not in built:
            torch.manual_seed(0)
            built[name] = getattr(torchvision.models, name)(weights=None).eval()
        return built[name]

    return build


@pytest.mark.parametrize(
    ("arch", "layer", "method", "n_samples", "size"),
    [
        ("resnet18", "layer4", "smoothgradcam++", 1, (40, 56)),
        ("vgg11", "features.19", "smoothgradcam++", 1, (32, 40)),
        ("mobilenet_v3_small", "features.12", "smoothgradcam++", 1, (40, 56)),
        # the Score-CAM variants forward every channel: the narrowest layers, small inputs
        ("resnet18", "layer1", "iscam", 2, (24, 32)),
        ("resnet18", "layer1", "sscam", 1, (24, 32)),
        ("vgg11", "features.1", "sscam", 1, (32, 40)),
        ("mobilenet_v3_small", "features.1", "sscam", 2, (40, 56)),
        ("mobilenet_v3_small", "features.1", "iscam", 2, (40, 56)),
    ],
)
def test_torchvision_models_match_torchcam(
    arch, layer, method, n_samples, size, torchvision_models
):
    model = torchvision_models(arch)
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(2))
    predicted = model(x).argmax(dim=1)
    std = 0.3 if method == "smoothgradcam++" else 2.0
    assert_matches_torchcam(model, layer, x, method, predicted.tolist(), n_samples, std, 64)


def mock_video_model() -> nn.Module:
    """torch-cam's own 3D test model (its test_video_cams): two Conv3d, GAP, Linear(16, 1)."""
    torch.manual_seed(0)
    features = nn.Sequential(
        nn.Conv3d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv3d(8, 16, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool3d(1),
    )  # fmt: skip
    return nn.Sequential(features, nn.Flatten(), nn.Linear(16, 1)).eval()


@pytest.mark.parametrize("method", ["sscam", "iscam", "smoothgradcam++"])
def test_torchcams_video_model_matches_in_3d(method):
    # torch-cam's test: (1, 3, 8, 16, 16) clip, layer "0.3", num_samples 4, batch_size 3;
    # it asserts a (1, 8, 16, 16) finite map. The layer feeds GAP and a linear layer, so the
    # Smooth Grad-CAM++ gradient is the same for every copy (see above).
    model = mock_video_model()
    clip = torch.rand(1, 3, 8, 16, 16, generator=torch.Generator().manual_seed(3))
    ours = assert_matches_torchcam(model, "0.3", clip, method, [0], n_samples=4, std=0.3)
    assert ours.raw["0.3"].shape == (1, 8, 16, 16)


@pytest.mark.parametrize("layer", ["features.1", "features.3"])
@pytest.mark.parametrize("method", ["sscam", "iscam"])
def test_tiny_video_cnn_matches_torchcam(method, layer, tiny_video_cnn):
    clip = torch.rand(2, 3, 4, 8, 12, generator=torch.Generator().manual_seed(4))
    assert_matches_torchcam(tiny_video_cnn, layer, clip, method, [2, 1], n_samples=2)


def test_tiny_video_cnn_smooth_gradcam_plusplus_matches_torchcam(tiny_video_cnn):
    clip = torch.rand(2, 3, 4, 8, 12, generator=torch.Generator().manual_seed(4))
    assert_matches_torchcam(tiny_video_cnn, "features.1", clip, "smoothgradcam++", [2, 1], 1, 0.3)


@pytest.mark.parametrize(("method", "options"), [("sscam", {"std": 0.0}), ("iscam", {})])
def test_one_noise_free_copy_is_torchcams_scorecam(method, options, tiny_cnn):
    # SS-CAM without noise and IS-CAM with one step (coefficient 1) are Score-CAM with
    # torch-cam's masks (normalised at feature resolution, then resized).
    x = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(5))
    ours = xk.explain(
        tiny_cnn, x, method=method, layers=["features.3"], target=[0, 4], n_samples=1,
        progress=False, **options,
    )  # fmt: skip
    theirs = torchcam_map(ScoreCAM, tiny_cnn, "features.3", x, [0, 4])
    np.testing.assert_allclose(torchcam_normalised(ours.raw["features.3"]), theirs, atol=TOL)


@pytest.mark.parametrize("method", ["smoothgradcam++", "sscam"])
def test_noise_follows_the_seed_not_the_batching(method, tiny_cnn):
    x = torch.rand(3, 3, 40, 56, generator=torch.Generator().manual_seed(6))
    kwargs = dict(method=method, layers=["features.1"], n_samples=3, std=1.0, progress=False)
    whole = xk.explain(tiny_cnn, x, batch_size=64, **kwargs)
    split = xk.explain(tiny_cnn, x, batch_size=2, **kwargs)
    torch.testing.assert_close(split.raw["features.1"], whole.raw["features.1"])
    other = xk.explain(tiny_cnn, x, batch_size=64, seed=1, **kwargs)
    assert not torch.allclose(other.raw["features.1"], whole.raw["features.1"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_samples": 0}, "n_samples must be a positive int; got 0"),
        ({"n_samples": 2.5}, "n_samples must be a positive int; got 2.5"),
        ({"n_samples": True}, "n_samples must be a positive int; got True"),
        ({"std": -1.0}, r"std must be a finite number >= 0; got -1.0"),
        ({"std": float("nan")}, "std must be a finite number >= 0; got nan"),
        ({"std": "big"}, "std must be a finite number >= 0; got 'big'"),
        ({"seed": 0.5}, "seed must be an int; got 0.5"),
    ],
)
@pytest.mark.parametrize("method", ["smoothgradcam++", "sscam"])
def test_bad_options_are_refused(method, options, message, tiny_cnn, images):
    with pytest.raises(ValueError, match=message):
        xk.explain(tiny_cnn, images, method=method, layers=["features.3"], **options)


def test_iscam_takes_no_noise_options(tiny_cnn, images):
    with pytest.raises(ValueError, match="unknown option 'std'.*iscam: n_samples"):
        xk.explain(tiny_cnn, images, method="iscam", layers=["features.3"], std=1.0)
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        xk.explain(tiny_cnn, images, method="iscam", layers=["features.3"], n_samples=-2)
