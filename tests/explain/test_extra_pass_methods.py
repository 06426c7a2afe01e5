"""FullGrad, Finer-CAM and ShapleyCAM (methods with their own pass) against pytorch-grad-cam
1.5.7, torch-cam 0.5 (Finer-CAM) and hand-worked cases, on non-square inputs."""

import copy
import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from pytorch_grad_cam import (
    FinerCAM,
    FullGrad,
    GradCAM,
    GradCAMPlusPlus,
    ShapleyCAM,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputReST, ClassifierOutputTarget
from torch import nn
from torchcam.methods import FinerCAM as TorchcamFinerCAM
from torchcam.methods import GradCAM as TorchcamGradCAM
from torchcam.methods import LayerCAM as TorchcamLayerCAM

import xaikit as xk
from xaikit.explain.second_order import twice_differentiable

TOL = 1e-4
LAYERS = {"resnet18": "layer3", "vgg11": "features.12", "mobilenet_v3_small": "features.4"}


@functools.cache
def _torchvision_model(name):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            # torchvision initialises every bias to 0 and batch-norm statistics to (0, 1),
            # which would leave FullGrad's bias terms zero: random ones test them.
            if isinstance(module, (nn.Conv2d, nn.BatchNorm2d)) and module.bias is not None:
                module.bias.normal_(0, 0.1, generator=generator)
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
        if name == "mobilenet_v3_small":
            # Its signal vanishes at random init (logits ~1e-10, maps ~1e-12), where
            # pytorch-grad-cam's min-max, which adds 1e-7 to the maximum, is not
            # scale-free: the batch-norm statistics are set from random batches instead.
            for module in model.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.reset_running_stats()
                    module.momentum = None  # the statistics of the batch below
            model.train()
            model(torch.rand(6, 3, 40, 56, generator=generator))
            model.eval()
    return model


def torchvision_model(name):
    """The model (built once: explain and the peers leave it as it was)."""
    return _torchvision_model(name)


def images(batch=2):
    return torch.rand(batch, 3, 40, 56, generator=torch.Generator().manual_seed(3))


def model_and_images(arch, tiny_cnn):
    """The model, its layer and a batch: two images for the small models, one for the
    larger ones (the suite's time)."""
    if arch == "tiny":
        return tiny_cnn, "features.3", images()
    return torchvision_model(arch), LAYERS[arch], images(2 if arch == "resnet18" else 1)


def module_of(model, name):
    return dict(model.named_modules())[name]


def peer_targets(classes):
    return [ClassifierOutputTarget(int(c)) for c in classes]


def rest_target(classes):
    """The ShapleyCAM paper's ReST score ``y_c - CE(y, c)`` as an xaikit callable target."""
    labels = torch.tensor(classes)
    return lambda y: (
        y.gather(1, labels[:, None]).squeeze(1) - F.cross_entropy(y, labels, reduction="none")
    )


def recording(cam_class):
    """A pytorch-grad-cam class that keeps its raw map (``get_cam_image``: the weighted
    channel sum before ReLU and resizing), to compare video maps at feature resolution."""

    class Recording(cam_class):
        def get_cam_image(self, *args, **kwargs):
            self.raw = super().get_cam_image(*args, **kwargs)
            return self.raw

    return Recording


# ---------------------------------------------------------------------------------- FullGrad


@pytest.mark.parametrize("arch", ["tiny", "resnet18", "vgg11", "mobilenet_v3_small"])
def test_fullgrad_matches_pytorch_grad_cam(arch, tiny_cnn):
    model, _, x = model_and_images(arch, tiny_cnn)
    x = x if arch == "tiny" else x[:1]  # pytorch-grad-cam resizes each of ~5000 channels
    classes = [1, 3][: len(x)]
    ours = xk.explain(model, x, method="fullgrad", target=classes, progress=False)
    with FullGrad(model, []) as cam:
        theirs = cam(x, targets=peer_targets(classes))
    assert list(ours.maps) == ["input"] and ours.maps["input"].shape == (len(x), 40, 56)
    np.testing.assert_allclose(ours.maps["input"].numpy(), theirs, atol=TOL)


class OneBiasNet(nn.Module):
    """``z = ReLU(2 x - 3)`` (a 1x1 convolution with a bias), global mean, logits (m, -m)."""

    def __init__(self, dims):
        super().__init__()
        conv = (nn.Conv2d if dims == 2 else nn.Conv3d)(1, 1, 1)
        with torch.no_grad():
            conv.weight.fill_(2.0)
            conv.bias.fill_(-3.0)
        self.features = nn.Sequential(conv, nn.ReLU())
        self.fc = nn.Linear(1, 2, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[1.0], [-1.0]]))

    def forward(self, x):
        return self.fc(self.features(x).flatten(2).mean(dim=2))


@pytest.mark.parametrize("dims", [2, 3])
def test_fullgrad_hand_worked(dims):
    # x = (1, 2, 3): z = (-1, 1, 3) -> ReLU (0, 1, 3), score = mean = 4/3. dS/dz = (0, 1, 1) / 3,
    # dS/dx = 2 dS/dz. Input term |x dS/dx| = (0, 4/3, 2) -> min-max (0, 2/3, 1); bias term
    # |-3 dS/dz| = (0, 1, 1) -> (0, 1, 1). Sum (0, 5/3, 2) -> min-max (0, 5/6, 1).
    shape = (1, 1, 1, 3) if dims == 2 else (1, 1, 1, 1, 3)
    x = torch.tensor([1.0, 2.0, 3.0]).reshape(shape)
    expl = xk.explain(OneBiasNet(dims), x, method="fullgrad", target=0, progress=False)
    expected = torch.tensor([0.0, 5 / 6, 1.0]).reshape(1, *shape[2:])
    torch.testing.assert_close(expl.maps["input"], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(
        expl.raw["input"], torch.tensor([0.0, 5 / 3, 2.0]).reshape(1, *shape[2:]), atol=1e-5,
        rtol=0,
    )  # fmt: skip


def fullgrad_by_hand(model, x, target, bias_types):
    """FullGrad recomputed with plain autograd (pytorch-grad-cam's recipe): per-channel
    min-max (1e-7 in the denominator) of |x dx| and of each |b dz|, each channel resized to
    the input, all summed, min-maxed."""
    outputs = []
    handles = [
        m.register_forward_hook(lambda _m, _a, out: outputs.append((_m, out)))
        for m in model.modules()
        if isinstance(m, bias_types) and m.bias is not None
    ]
    x = x.clone().requires_grad_(True)
    score = model(x)[:, target].sum()
    for handle in handles:
        handle.remove()
    grads = torch.autograd.grad(score, [x, *(out for _, out in outputs)])

    def channels(maps):
        flat = maps.flatten(2)
        flat = flat - flat.min(dim=2, keepdim=True).values
        flat = flat / (flat.max(dim=2, keepdim=True).values + 1e-7)
        return F.interpolate(flat.reshape(maps.shape), size=x.shape[2:], mode="trilinear")

    total = channels((x * grads[0]).abs()).sum(dim=1)
    for (module, _), grad in zip(outputs, grads[1:], strict=True):
        total += channels((module.bias.reshape(1, -1, 1, 1, 1) * grad).abs()).sum(dim=1)
    total = total - total.flatten(1).min(dim=1).values.reshape(-1, 1, 1, 1)
    return (total / total.flatten(1).max(dim=1).values.reshape(-1, 1, 1, 1)).detach()


def test_fullgrad_video_matches_the_recipe(tiny_video_cnn, clips):
    # pytorch-grad-cam's FullGrad is 2D only (it collects Conv2d / BatchNorm2d and reshapes
    # to (B, C, H, W)), so the Conv3d model is checked against the recipe recomputed here.
    clips = clips[..., :6]  # (2, 3, 4, 8, 6): non-square
    with torch.no_grad():
        for conv in (tiny_video_cnn.features[0], tiny_video_cnn.features[2]):
            conv.bias.normal_(0, 0.5, generator=torch.Generator().manual_seed(5))
    expected = fullgrad_by_hand(tiny_video_cnn, clips, 2, nn.Conv3d)
    ours = xk.explain(tiny_video_cnn, clips, method="fullgrad", target=2, progress=False)
    assert ours.maps["input"].shape == (2, 4, 8, 6)
    torch.testing.assert_close(ours.maps["input"], expected, atol=1e-5, rtol=0)


def test_fullgrad_refuses_batch_norm_without_running_statistics():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, track_running_stats=False), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2),
    ).eval()  # fmt: skip
    with pytest.raises(ValueError, match=r"running statistics of batch normalisation '1'"):
        xk.explain(model, images(1), method="fullgrad", progress=False)


# ---------------------------------------------------------------------------------- Finer-CAM


@pytest.mark.parametrize(
    ("arch", "target"),
    [("tiny", None), ("tiny", 2), ("resnet18", None), ("vgg11", 7), ("mobilenet_v3_small", None)],
)
def test_finercam_matches_pytorch_grad_cam(arch, target, tiny_cnn):
    model, layer, x = model_and_images(arch, tiny_cnn)
    both = xk.explain(
        model, x, method=["finercam", "gradcam"], layers=[layer], target=target, progress=False
    )
    with FinerCAM(model, [module_of(model, layer)]) as cam:
        theirs = cam(x, targets=None, target_idx=target)
    ours = both["finercam"].maps[layer]
    np.testing.assert_allclose(ours.numpy(), theirs, atol=TOL)
    assert (ours - both["gradcam"].maps[layer]).abs().max() > 0.01  # the comparison counts


def test_finercam_options_match_pytorch_grad_cam(tiny_cnn):
    x = images()
    module = tiny_cnn.features[3]
    ours = xk.explain(
        tiny_cnn, x, method="finercam", layers=["features.3"], target=1, base="gradcam++",
        alpha=0.7, references=2, progress=False,
    )  # fmt: skip
    with FinerCAM(tiny_cnn, [module], base_method=GradCAMPlusPlus) as cam:
        # pytorch-grad-cam's comparison_categories are ranks by closeness (0: the class)
        theirs = cam(x, targets=None, target_idx=1, alpha=0.7, comparison_categories=[1, 2])
    np.testing.assert_allclose(ours.maps["features.3"].numpy(), theirs, atol=TOL)


@pytest.mark.parametrize(
    ("arch", "base", "comparisons"),
    [("tiny", "gradcam", None), ("tiny", "layercam", [[0, 4], [2, 1]]), ("resnet18", "gradcam", 5)],
)
def test_finercam_matches_torchcam(arch, base, comparisons, tiny_cnn):
    model, layer, x = model_and_images(arch, tiny_cnn)
    classes = [3, 0]
    options = {} if comparisons is None else {"comparisons": comparisons}
    ours = xk.explain(
        model, x, method="finercam", layers=[layer], target=classes, base=base, alpha=0.6,
        weighting="mean", progress=False, **options,
    )  # fmt: skip
    base_method = {"gradcam": TorchcamGradCAM, "layercam": TorchcamLayerCAM}[base]
    with TorchcamFinerCAM(model, layer, base_method=base_method) as extractor:  # gamma 0.6
        scores = model(x)
        (theirs,) = extractor(classes, scores, comparison_idx=comparisons, normalized=False)
    np.testing.assert_allclose(
        ours.raw[layer].clamp_min(0).numpy(), theirs.numpy(), atol=1e-5 * float(theirs.max())
    )


def test_finercam_video_matches_both_peers(tiny_video_cnn, clips):
    clips = clips[..., :6]
    module = tiny_video_cnn.features[3]
    ours = xk.explain(
        tiny_video_cnn, clips, method="finercam", layers=["features.3"], target=1, progress=False
    )
    with FinerCAM(tiny_video_cnn, [module], base_method=recording(GradCAM)) as cam:
        cam(clips, targets=None, target_idx=1)
        theirs = cam.base_cam.raw
    np.testing.assert_allclose(ours.raw["features.3"].numpy(), theirs, atol=1e-6)
    assert ours.maps["features.3"].shape == (2, 4, 8, 6)
    torchcam_convention = xk.explain(
        tiny_video_cnn, clips, method="finercam", layers=["features.3"], target=1, alpha=0.6,
        weighting="mean", progress=False,
    )  # fmt: skip
    with TorchcamFinerCAM(tiny_video_cnn, "features.3") as extractor:
        (expected,) = extractor(1, tiny_video_cnn(clips), normalized=False)
    np.testing.assert_allclose(
        torchcam_convention.raw["features.3"].clamp_min(0).numpy(), expected.numpy(), atol=1e-6
    )


def test_finercam_aggregates_before_relu():
    # torch-cam's literal (EXPECTED.md 2.4): y = (s, 3 s, -s) for s the mean of a 1x1 conv
    # (weight 1) of ones(1, 1, 2, 2); y_0 - (y_1 + y_2) / 2 = 0, so the CAM is all zero,
    # whereas the mean of the two pairwise Grad-CAMs (y_0 - y_1, y_0 - y_2), each ReLU'd,
    # is not.
    conv = nn.Conv2d(1, 1, 1, bias=False)
    linear = nn.Linear(1, 3, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        linear.weight.copy_(torch.tensor([[1.0], [3.0], [-1.0]]))
    model = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), linear).eval()
    x = torch.ones(1, 1, 2, 2)
    finer = xk.explain(
        model, x, method="finercam", layers=["0"], target=0, comparisons=[1, 2], alpha=1.0,
        weighting="mean", progress=False,
    )  # fmt: skip
    assert torch.count_nonzero(finer.raw["0"].clamp_min(0)) == 0
    assert torch.count_nonzero(finer.maps["0"]) == 0
    pairwise = []
    for j in (1, 2):
        expl = xk.explain(model, x, layers=["0"], target=lambda y, j=j: y[:, 0] - y[:, j])
        pairwise.append(expl.raw["0"].clamp_min(0))
    assert float(torch.stack(pairwise).mean(dim=0).max()) > 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base": "scorecam"}, "base must be one of"),
        ({"alpha": float("nan")}, "alpha must be a finite number"),
        ({"weighting": "max"}, "weighting must be one of"),
        ({"references": 0}, "references must be an int >= 1"),
        ({"references": 2, "comparisons": [0]}, "not both"),
        ({"comparisons": [1, 2]}, "other than the explained class 1"),
        ({"comparisons": [5]}, r"must lie in \[0, 4\]"),
        ({"comparisons": [[0], [2, 3]]}, "one length"),
        ({"comparisons": []}, "comparisons must be"),
    ],
)
def test_finercam_bad_options_are_refused(options, message, tiny_cnn):
    with pytest.raises(ValueError, match=message):
        xk.explain(
            tiny_cnn, images(), method="finercam", layers=["features.3"], target=1, **options
        )


def test_finercam_needs_a_class_target(tiny_cnn):
    with pytest.raises(ValueError, match="finercam needs a class target"):
        xk.explain(
            tiny_cnn, images(), method="finercam", layers=["features.3"],
            target=lambda y: y[:, 0], progress=False,
        )  # fmt: skip
    with pytest.raises(ValueError, match="finercam needs a class target"):
        xk.explain(
            tiny_cnn, images(), method="finercam", layers=["features.3"],
            target=xk.explain.targets.Counterfactual(), progress=False,
        )  # fmt: skip


# --------------------------------------------------------------------------------- ShapleyCAM


@pytest.mark.parametrize("arch", ["tiny", "resnet18", "vgg11"])
def test_shapleycam_matches_pytorch_grad_cam_with_rest(arch, tiny_cnn):
    # The ReST score (logit minus cross-entropy) has curvature through the softmax, so the
    # Hessian term is not zero: the map differs from Grad-CAM's of the same score.
    model, layer, x = model_and_images(arch, tiny_cnn)
    classes = [1, 3][: len(x)]
    both = xk.explain(
        model, x, method=["shapleycam", "gradcam"], layers=[layer], target=rest_target(classes)
    )
    with ShapleyCAM(model, [module_of(model, layer)]) as cam:
        theirs = cam(x, targets=[ClassifierOutputReST(c) for c in classes])
    ours = both["shapleycam"].maps[layer]
    np.testing.assert_allclose(ours.numpy(), theirs, atol=TOL)
    assert (ours - both["gradcam"].maps[layer]).abs().max() > 1e-3


def test_shapleycam_on_a_logit_behind_a_linear_head_is_gradcam(tiny_cnn):
    x = images()
    ours = xk.explain(
        tiny_cnn, x, method=["shapleycam", "gradcam"], layers=["features.3"], target=2
    )
    with ShapleyCAM(tiny_cnn, [tiny_cnn.features[3]]) as cam:
        theirs = cam(x, targets=peer_targets([2, 2]))
    np.testing.assert_allclose(ours["shapleycam"].maps["features.3"].numpy(), theirs, atol=TOL)
    torch.testing.assert_close(
        ours["shapleycam"].raw["features.3"], ours["gradcam"].raw["features.3"]
    )


class ReluSixSigmoid(nn.Module):
    def forward(self, x):
        return F.relu6(x + 3) / 6


def test_shapleycam_runs_through_hardsigmoid():
    # pytorch-grad-cam's ShapleyCAM fails on MobileNetV3 (torch has no double backward of
    # hardsigmoid), so it runs on the same model with each Hardsigmoid written with relu6;
    # ours runs on the model itself. Hardswish gives the Hessian term even on a logit.
    model = torchvision_model("mobilenet_v3_small")
    layer, x, classes = LAYERS["mobilenet_v3_small"], images(1), [3]
    both = xk.explain(model, x, method=["shapleycam", "gradcam"], layers=[layer], target=classes)
    ours = both["shapleycam"].maps[layer]
    with ShapleyCAM(model, [module_of(model, layer)]) as cam, pytest.raises(RuntimeError):
        cam(x, targets=peer_targets(classes))
    written = copy.deepcopy(model)
    for block in written.modules():
        for name, child in block.named_children():
            if isinstance(child, nn.Hardsigmoid):
                setattr(block, name, ReluSixSigmoid())
    with ShapleyCAM(written, [module_of(written, layer)]) as cam:
        theirs = cam(x, targets=peer_targets(classes))
    np.testing.assert_allclose(ours.numpy(), theirs, atol=TOL)
    assert (ours - both["gradcam"].maps[layer]).abs().max() > 1e-3
    torch.testing.assert_close(model(x), written(x), rtol=0, atol=0)  # same values
    assert all(not m._forward_hooks for m in model.modules())


def test_twice_differentiable_keeps_an_inplace_hardsigmoid_exact():
    net = nn.Sequential(nn.Identity(), nn.Hardsigmoid(inplace=True))
    a = torch.linspace(-4, 4, 9)
    with twice_differentiable(net):
        inside = net(a.clone())
    torch.testing.assert_close(inside, F.hardsigmoid(a), rtol=0, atol=0)


def test_shapleycam_video_matches_pytorch_grad_cam(tiny_video_cnn, clips):
    clips = clips[..., :6]
    target = rest_target([1, 3])
    ours = xk.explain(
        tiny_video_cnn, clips, method="shapleycam", layers=["features.3"], target=target
    )
    with recording(ShapleyCAM)(tiny_video_cnn, [tiny_video_cnn.features[3]]) as cam:
        cam(clips, targets=[ClassifierOutputReST(c) for c in (1, 3)])
        theirs = cam.raw
    np.testing.assert_allclose(ours.raw["features.3"].numpy(), theirs, atol=1e-6)
    assert ours.maps["features.3"].shape == (2, 4, 8, 6)


# --------------------------------------------------------------------------------- all three


@pytest.mark.parametrize("method", ["fullgrad", "finercam", "shapleycam"])
def test_batches_split_by_batch_size_give_the_same_maps(method, tiny_cnn):
    x = torch.rand(3, 3, 20, 28, generator=torch.Generator().manual_seed(6))
    rows = []
    tiny_cnn.register_forward_pre_hook(lambda _m, args: rows.append(len(args[0])))
    kwargs = dict(method=method, layers=["features.1", "features.3"], progress=False)
    whole = xk.explain(tiny_cnn, x, batch_size=8, **kwargs)
    assert max(rows) == 3
    rows.clear()
    split = xk.explain(tiny_cnn, x, batch_size=2, **kwargs)
    assert max(rows) == 2
    for key in whole.maps:
        torch.testing.assert_close(split.maps[key], whole.maps[key])
