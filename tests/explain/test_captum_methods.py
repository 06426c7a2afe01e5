"""captum's pixel methods (Saliency, InputXGradient, Deconvolution, NoiseTunnel, GradientShap,
DeepLift, Occlusion) against captum itself and against captum's own test literals.

Attributions (``raw``, per input element) are compared relative to their largest magnitude:
``max |ours - captum| <= 1e-4 * max |captum|`` (random models' input gradients are ~1e-4, so
an absolute 1e-4 would test nothing); the displayed maps, in [0, 1], within 1e-4 absolute.
captum's DeepLift refuses a module called twice per forward (a torchvision ResNet block calls
its one ReLU twice): on resnet18 it runs on a copy with a second ReLU module and out-of-place
ReLUs (:func:`captum_copy`), ours on the model itself; vgg11's and mobilenet's in-place ReLUs
work in captum 0.9 as they are. Noise methods get captum's random draws patched to ours, so
both see the same noise.
"""

import copy
import types

import numpy as np
import pytest
import torch
import torchvision
from captum.attr import (
    Deconvolution,
    DeepLift,
    GradientShap,
    GuidedBackprop,
    InputXGradient,
    IntegratedGradients,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from torch import nn
from torchvision.models.resnet import BasicBlock

import xaikit as xk
from tests.explain.test_pixel import ARANGE, ConvNetOneConv, captum_sum_close
from tests.tiny_models import TinyCNN, TinyVideoCNN
from xaikit.explain import pixel

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
TOL = 1e-4
IMAGES = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(11))
PHOTOS = torch.rand(2, 3, 32, 40, generator=torch.Generator().manual_seed(12))
CLIPS = torch.rand(2, 3, 4, 12, 16, generator=torch.Generator().manual_seed(13))


def assert_matches(expl, theirs, per_channel=True):
    """``raw`` against captum's attribution (relative to its largest magnitude) and the map
    against captum's channel sum (``per_channel=False``: the attribution itself) as
    ``|.| / max`` (absolute)."""
    theirs = theirs.detach()
    ours = expl.raw["input"]
    scale = float(theirs.abs().max())
    assert scale > 0
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=TOL * scale)
    summed = theirs.sum(dim=1) if per_channel else theirs
    top = summed.abs().flatten(1).amax(dim=1).reshape(-1, *[1] * (summed.ndim - 1))
    np.testing.assert_allclose(expl.maps["input"].numpy(), (summed.abs() / top).numpy(), atol=TOL)


def torchvision_model(name):
    torch.manual_seed(0)
    return getattr(torchvision.models, name)(weights=None).eval()


def _block_forward(self, x):
    identity = x if self.downsample is None else self.downsample(x)
    out = self.relu(self.bn1(self.conv1(x)))
    return self.second_relu(self.bn2(self.conv2(out)) + identity)


def captum_copy(model):
    """A copy of ``model`` with every ReLU out of place and a ResNet block's second ReLU
    call given its own module, as captum's DeepLift requires."""
    model = copy.deepcopy(model)
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
        if isinstance(module, BasicBlock):
            module.second_relu = nn.ReLU()
            module.forward = types.MethodType(_block_forward, module)
    return model


@pytest.fixture(scope="module")
def models():
    return {name: torchvision_model(name) for name in ("resnet18", "vgg11", "mobilenet_v3_small")}


# captum's literals (EXPECTED.md section 1) ---------------------------------------------------


class BasicModel(nn.Module):
    """captum's BasicModel, f(x) = 1 - ReLU(1 - x), one output per sample."""

    def forward(self, x):
        return (1 - torch.relu(1 - x)).flatten(1)


SCALARS = torch.tensor([1.0, 2.0, 3.0, 0.0, -1.0, 7.0]).reshape(6, 1, 1, 1)


def test_saliency_and_input_x_gradient_literals():
    # EXPECTED.md 1.5: gradients [0, 0, 0, 1, 1, 0]; times the input [0, 0, 0, 0, -1, 0]
    saliency = xk.explain(BasicModel(), SCALARS, method="saliency", target=0)
    assert saliency.raw["input"].flatten().tolist() == [0, 0, 0, 1, 1, 0]
    product = xk.explain(BasicModel(), SCALARS, method="input_x_gradient", target=0)
    assert product.raw["input"].flatten().tolist() == [0, 0, 0, 0, -1, 0]


DECONVOLUTION = [[2, 3, 3, 1], [3, 5, 5, 2], [3, 5, 5, 2], [1, 2, 2, 1]]


@pytest.mark.parametrize(("x", "inplace"), [(ARANGE, False), (ARANGE + 1, False), (ARANGE, True)])
def test_deconvolution_literals(x, inplace):
    # EXPECTED.md 1.3: the same matrix for x and for (x, ones), whatever the forward mask
    expl = xk.explain(ConvNetOneConv(inplace).eval(), x, method="deconvolution", target=0)
    captum_sum_close(expl.raw["input"], DECONVOLUTION)


class MultiLayer(nn.Module):
    """captum's BasicModel_MultiLayer on (N, 1, 1, 3) inputs: identity, Linear(3 -> 4) of
    ones with bias [-10, 1, 1, 1], ReLU, Linear(4 -> 2) of ones with bias [-1, 1]."""

    def __init__(self):
        super().__init__()
        self.linear1 = nn.Linear(3, 4)
        self.linear2 = nn.Linear(4, 2)
        with torch.no_grad():
            self.linear1.weight.fill_(1.0)
            self.linear1.bias.copy_(torch.tensor([-10.0, 1.0, 1.0, 1.0]))
            self.linear2.weight.fill_(1.0)
            self.linear2.bias.copy_(torch.tensor([-1.0, 1.0]))

    def forward(self, x):
        return self.linear2(torch.relu(self.linear1(x.flatten(1))))


@pytest.mark.parametrize(
    ("x", "options", "expected"),
    [
        ([[20, 50, 30]], dict(window=(1, 1)), [[80, 200, 120]]),
        ([[20, 50, 30]], dict(window=(1, 2), baseline=10.0, stride=1), [[200, 220, 240]]),
        ([[20, 50, 30]], dict(window=(1, 2), stride=(1, 2)), [[280, 280, 120]]),
        ([[2, 10, 3], [20, 50, 30]], dict(window=1), [[8, 35, 12], [80, 200, 120]]),
    ],
)
def test_occlusion_literals_on_vectors(x, options, expected):
    # EXPECTED.md 1.7, captum's windows (1,), (2,) over 3 features: here (1, W) over 1 x 3
    x = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 1, 3)
    expl = xk.explain(MultiLayer(), x, method="occlusion", target=0, **options)
    captum_sum_close(expl.raw["input"], expected, delta=1e-4)


@pytest.mark.parametrize(
    ("window", "stride", "expected"),
    [
        ((4, 4), 1, [[67] * 4] * 4),
        ((2, 3), (2, 1), [[17] * 4] * 2 + [[64, 65.5, 65.5, 67]] * 2),
        ((2, 4), (2, 1), [[17] * 4] * 2 + [[67] * 4] * 2),
    ],
)
def test_occlusion_literals_on_the_conv_net(window, stride, expected):
    # EXPECTED.md 1.7, (x, ones) on ConvNet_One_Conv: the ones are added before the conv and
    # only x is occluded, i.e. x + 1 occluded to the baseline 1 (windows (1, 4, 4),
    # (1, 2, 3) with strides (1, 2, 1), (1, 2, 4) with strides (1, 2, 1))
    expl = xk.explain(
        ConvNetOneConv().eval(), ARANGE + 1, method="occlusion", target=0, window=window,
        stride=stride, baseline=1.0,
    )  # fmt: skip
    captum_sum_close(expl.raw["input"], expected, delta=1e-4)


# against captum on random models ----------------------------------------------------------


def gradient_references(model, x, target):
    deeplift_model = captum_copy(model) if isinstance(model, torchvision.models.ResNet) else model
    return {
        "saliency": lambda: Saliency(model).attribute(x, target=target, abs=False),
        "input_x_gradient": lambda: InputXGradient(model).attribute(x, target=target),
        "deconvolution": lambda: Deconvolution(model).attribute(x, target=target),
        "deeplift": lambda: DeepLift(deeplift_model).attribute(x, target=target),
    }


def test_tiny_cnns_match_captum():
    torch.manual_seed(0)
    for model, x, target in [(TinyCNN().eval(), IMAGES, [1, 3]), (TinyVideoCNN().eval(), CLIPS, 2)]:
        references = gradient_references(model, x, target)
        ours = xk.explain(model, x, method=list(references), target=target, progress=False)
        for name, reference in references.items():
            assert_matches(ours[name], reference())


@pytest.mark.parametrize("arch", ["resnet18", "vgg11", "mobilenet_v3_small"])
def test_torchvision_models_match_captum(arch, models):
    model = models[arch]
    references = gradient_references(model, PHOTOS, [1, 7])
    del references["input_x_gradient"]  # x times saliency's gradient (tiny CNNs above)
    if arch == "vgg11":
        del references["deconvolution"]  # its big classifier is slow; resnet18's ReLUs suffice
    if arch == "mobilenet_v3_small":
        del references["deeplift"]  # Hardswish: refused, see below
    ours = xk.explain(model, PHOTOS, method=list(references), target=[1, 7], progress=False)
    for name, reference in references.items():
        assert_matches(ours[name], reference())


def test_deeplift_refuses_mobilenets_hardswish(models):
    with pytest.raises(
        ValueError, match=r"deeplift has rules for ReLU.*features.0.2 \(Hardswish\)"
    ):
        xk.explain(models["mobilenet_v3_small"], PHOTOS, method="deeplift", target=1)
    softmax = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Softmax(dim=1))
    with pytest.raises(ValueError, match=r"2 \(Softmax\)"):
        xk.explain(softmax, IMAGES[:, :, :3, :3], method="deeplift", target=0)


def test_deeplift_nonlinearities_and_max_pooling_match_captum():
    # every rule captum has (but Softmax), in 2D and 3D. Each nonlinearity follows a linear
    # layer: captum 0.9 reads a nonlinearity's output gradient before the next one's hook
    # rescales it (both hook the tensor between them), so there the first one's rule sees the
    # plain gradient. The pools do not overlap (see the next test).
    torch.manual_seed(0)
    flat = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.Conv2d(4, 4, 3, padding=1),
        nn.MaxPool2d(2), nn.Conv2d(4, 4, 1), nn.ELU(), nn.Conv2d(4, 6, 3), nn.LeakyReLU(0.1),
        nn.Conv2d(6, 6, 1),
        nn.Softplus(), nn.Conv2d(6, 6, 1), nn.Sigmoid(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(6, 3),
    ).eval()  # fmt: skip
    video = nn.Sequential(
        nn.Conv3d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv3d(4, 4, 3, padding=1),
        nn.MaxPool3d(2), nn.Conv3d(4, 5, 1), nn.Tanh(), nn.AdaptiveAvgPool3d(1), nn.Flatten(),
        nn.Linear(5, 3),
    ).eval()  # fmt: skip
    for model, x in [(flat, IMAGES), (video, CLIPS)]:
        baseline = torch.full_like(x[:1], 0.25)
        ours = xk.explain(model, x, method="deeplift", target=[2, 0], baseline=baseline)
        assert_matches(ours, DeepLift(model).attribute(x, baselines=baseline, target=[2, 0]))
        with torch.no_grad():
            change = (model(x) - model(baseline.expand_as(x)))[:, [2, 0]].diagonal()
        assert float(change.abs().max()) > 1e-3
        summed = ours.raw["input"].flatten(1).sum(dim=1)
        torch.testing.assert_close(summed, change, atol=0.02 * float(change.abs().max()), rtol=0)


def test_deeplift_overlapping_max_pool_adds_up_where_captum_keeps_one_window():
    # Two 3x3 windows (stride 2) of a 5x5 input share their maximum x[2, 2] = 5 (the corner
    # is 0 in the baseline and the input): the output changes by 5 in all four windows, so
    # F(x) - F(0) = 5 * (1 + 2 + 3 + 4) = 50 goes to that pixel. captum's max_unpool keeps
    # one window (5 * 4 = 20), losing summation-to-delta.
    net = nn.Sequential(nn.MaxPool2d(3, stride=2), nn.Flatten(), nn.Linear(4, 1, bias=False))
    with torch.no_grad():
        net[2].weight.copy_(torch.tensor([[1.0, 2.0, 3.0, 4.0]]))
    x = torch.zeros(1, 1, 5, 5)
    x[0, 0, 2, 2] = 5.0
    expected = torch.zeros_like(x)
    expected[0, 0, 2, 2] = 50.0
    ours = xk.explain(net, x, method="deeplift", target=0).raw["input"]
    torch.testing.assert_close(ours, expected)
    assert float(DeepLift(net).attribute(x, target=0)[0, 0, 2, 2]) == 20.0


def test_deeplift_pairs_stay_together_at_any_batch_size():
    # each input is forwarded with its baseline: batch_size 1 still runs pairs (2 rows)
    torch.manual_seed(0)
    model = TinyCNN().eval()
    x = torch.cat([IMAGES, IMAGES.flip(-1)])
    whole = xk.explain(model, x, method="deeplift", target=[3, 4, 0, 1], baseline=0.3)
    rows = []
    model.register_forward_pre_hook(lambda _m, args: rows.append(len(args[0])))
    for batch_size in (1, 3):
        rows.clear()
        split = xk.explain(model, x, method="deeplift", target=[3, 4, 0, 1], baseline=0.3,
                           batch_size=batch_size)  # fmt: skip
        torch.testing.assert_close(split.raw["input"], whole.raw["input"])
    # batch_size 3: the shared pass's 3 + 1 samples, then one input with its baseline per pass
    assert rows == [3, 1, 2, 2, 2, 2]


def test_occlusion_matches_captum_in_2d_and_3d(models):
    torch.manual_seed(0)
    cases = [
        (TinyCNN().eval(), IMAGES, dict(window=(8, 12), stride=(4, 5), baseline=0.5)),
        (models["resnet18"], PHOTOS, dict(window=16, stride=16)),
        (TinyVideoCNN().eval(), CLIPS, dict(window=(2, 6, 8), stride=(1, 3, 4))),
    ]
    for model, x, options in cases:
        ours = xk.explain(model, x, method="occlusion", target=[1, 2], progress=False, **options)
        spatial = x.ndim - 2
        window, stride = (options[key] for key in ("window", "stride"))
        window = window if isinstance(window, tuple) else (window,) * spatial
        stride = stride if isinstance(stride, tuple) else (stride,) * spatial
        theirs = Occlusion(model).attribute(
            x, sliding_window_shapes=(3, *window), strides=(3, *stride),
            baselines=options.get("baseline", 0.0), target=[1, 2], perturbations_per_eval=16,
        )  # fmt: skip
        assert torch.equal(theirs[:, 0], theirs[:, 2])  # every channel is occluded together
        assert_matches(ours, theirs[:, 0], per_channel=False)
        assert ours.raw["input"].shape == (2, *x.shape[2:])


def test_occlusion_default_window_is_cut_to_small_inputs():
    torch.manual_seed(0)
    model = TinyVideoCNN().eval()
    ours = xk.explain(model, CLIPS, method="occlusion", target=1)  # window 16 -> (4, 12, 16)
    whole = Occlusion(model).attribute(CLIPS, sliding_window_shapes=(3, 4, 12, 16), target=1)
    assert_matches(ours, whole[:, 0], per_channel=False)


# noise methods with captum given the same draws --------------------------------------------


class Recorded:
    """Spies on ``pixel.noisy_copies`` and ``pixel.gradient_shap_draws`` and patches captum's
    random draws (``torch.normal``, ``np.random.choice``, ``np.random.uniform``) to replay
    what our run drew."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.noise, self.draws = [], []
        noisy_copies, draws = pixel.noisy_copies, pixel.gradient_shap_draws

        def record_noise(x, n_samples, stdevs, generator):
            noisy = noisy_copies(x, n_samples, stdevs, generator)
            self.noise.append(noisy - x.repeat_interleave(n_samples, dim=0))
            return noisy

        def record_draws(*args):
            drawn = draws(*args)
            self.draws.append(drawn)
            return drawn

        monkeypatch.setattr(pixel, "noisy_copies", record_noise)
        monkeypatch.setattr(pixel, "gradient_shap_draws", record_draws)

    def replay(self):
        noise = list(self.noise)
        draws = list(self.draws)

        def normal(mean, std):
            drawn = noise.pop(0)
            assert drawn.shape == std.shape and mean == 0
            return drawn

        self.monkeypatch.setattr(torch, "normal", normal)
        self.monkeypatch.setattr(np.random, "choice", lambda k, n: draws[0][1].numpy())
        self.monkeypatch.setattr(np.random, "uniform", lambda a, b, n: draws[0][2].numpy())


CAPTUM_BASES = {
    "saliency": (Saliency, dict(abs=False)),
    "input_x_gradient": (InputXGradient, {}),
    "deconvolution": (Deconvolution, {}),
    "guided_backprop": (GuidedBackprop, {}),
    "integrated_gradients": (IntegratedGradients, dict(n_steps=4)),
}


def pooled_cnn():
    """conv, ReLU, max-pool, conv, ReLU, GAP, linear: Deconvolution depends on the input
    only through the max-pool's choice (on TinyCNN it does not at all)."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 8, 3),
        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5),
    ).eval()  # fmt: skip


@pytest.mark.parametrize("kind", ["smoothgrad", "vargrad"])
@pytest.mark.parametrize("base", sorted(CAPTUM_BASES))
def test_noise_tunnel_matches_captum_on_the_same_noise(kind, base, monkeypatch):
    model = pooled_cnn()
    recorded = Recorded(monkeypatch)
    options = dict(base=base, n_samples=3, std=0.2, seed=5, steps=4, batch_size=4)
    ours = xk.explain(model, IMAGES, method=kind, target=[0, 4], progress=False, **options)
    recorded.replay()
    method, extra = CAPTUM_BASES[base]
    theirs = NoiseTunnel(method(model)).attribute(
        IMAGES, nt_type=kind, nt_samples=3, stdevs=0.2, target=[0, 4], **extra
    )
    assert_matches(ours, theirs)
    # the noise mattered: without it (vargrad: zero spread) the result is another
    plain = xk.explain(model, IMAGES, method=kind, target=[0, 4], progress=False,
                       **dict(options, std=0.0))  # fmt: skip
    assert float((plain.raw["input"] - ours.raw["input"]).abs().max()) > 0.1 * float(
        theirs.abs().max()
    )


def test_noise_tunnel_on_resnet_and_video(models, monkeypatch):
    for model, x, kind, base in [
        (models["resnet18"], PHOTOS, "smoothgrad", "input_x_gradient"),
        (TinyVideoCNN().eval(), CLIPS, "vargrad", "saliency"),
    ]:
        torch.manual_seed(0)
        recorded = Recorded(monkeypatch)
        ours = xk.explain(model, x, method=kind, target=[1, 2], base=base, progress=False)
        recorded.replay()  # captum's defaults: nt_samples 5, stdevs 1.0
        method, extra = CAPTUM_BASES[base]
        theirs = NoiseTunnel(method(model)).attribute(x, nt_type=kind, target=[1, 2], **extra)
        assert_matches(ours, theirs)
        monkeypatch.undo()


def _random(*shape, seed):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("model", "x", "baselines", "stdevs"),
    [
        ("tiny", IMAGES, None, 0.0),  # captum's defaults: one black baseline, no noise
        ("tiny", IMAGES, _random(3, 3, 40, 56, seed=2), 0.1),
        ("resnet18", PHOTOS, 0.5, 0.05),
        ("video", CLIPS, _random(2, 3, 4, 12, 16, seed=4), 0.1),
    ],
)
def test_gradient_shap_matches_captum_on_the_same_draws(
    model, x, baselines, stdevs, models, monkeypatch
):
    torch.manual_seed(0)
    tiny = {"tiny": TinyCNN, "video": TinyVideoCNN}
    model = tiny[model]().eval() if model in tiny else models[model]
    recorded = Recorded(monkeypatch)
    options = dict(n_samples=4, std=stdevs, seed=1, batch_size=5, progress=False)
    ours = xk.explain(model, x, method="gradient_shap", target=[1, 3], baselines=baselines,
                      **options)  # fmt: skip
    recorded.replay()
    if baselines is None:
        reference = torch.zeros_like(x[:1])
    elif isinstance(baselines, float):
        reference = torch.full_like(x[:1], baselines)
    else:
        reference = baselines
    theirs = GradientShap(model).attribute(
        x, baselines=reference, n_samples=4, stdevs=stdevs, target=[1, 3]
    )
    assert_matches(ours, theirs)
    if isinstance(baselines, torch.Tensor):  # several baselines were drawn
        assert len(set(recorded.draws[0][1].tolist())) > 1


def test_gradient_shap_is_about_complete_on_a_smooth_model():
    # with many draws and no noise, sum of attributions ~ F(x) - F(x0) (expected gradients)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.Softplus(), nn.Flatten(), nn.Linear(4 * 6 * 7, 2)
    ).eval()
    x = IMAGES[:, :, :6, :7]
    expl = xk.explain(model, x, method="gradient_shap", target=1, n_samples=64, batch_size=128)
    with torch.no_grad():
        change = model(x)[:, 1] - model(torch.zeros_like(x))[:, 1]
    summed = expl.raw["input"].flatten(1).sum(dim=1)
    assert float((summed - change).abs().max()) < 0.05 * float(change.abs().max())


# options and errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "options", "message"),
    [
        ("smoothgrad", dict(base="gradcam"), "base must be one of"),
        ("vargrad", dict(std=-1.0), "std must be a finite number >= 0"),
        ("smoothgrad", dict(n_samples=0), "n_samples must be a positive int"),
        ("smoothgrad", dict(seed=1.5), "seed must be an int"),
        ("gradient_shap", dict(baselines=torch.zeros(3, 5, 5)), "baselines of shape"),
        ("gradient_shap", dict(baselines="black"), "baselines must be a number or a tensor"),
        ("deeplift", dict(baseline=torch.zeros(2, 16)), "baseline of shape"),
        ("occlusion", dict(window=(4, 4, 4)), "window must be an int >= 1 or 2 of them"),
        ("occlusion", dict(window=0), "window must be an int >= 1"),
        ("occlusion", dict(window=(41, 4)), "is larger than the input"),
        ("occlusion", dict(window=4, stride=5), "some pixels would never be occluded"),
        ("occlusion", dict(baseline=float("nan")), "baseline contains NaN"),
    ],
)
def test_bad_options_are_refused(method, options, message):
    torch.manual_seed(0)
    with pytest.raises(ValueError, match=message):
        xk.explain(TinyCNN().eval(), IMAGES, method=method, target=0, **options)


def test_no_hooks_or_relu_changes_are_left():
    torch.manual_seed(0)
    model = TinyCNN().eval()
    x = IMAGES.clone().requires_grad_()
    plain = torch.autograd.grad(model(x)[:, 0].sum(), x)[0]
    xk.explain(model, IMAGES, method=["deconvolution", "deeplift"], target=0)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    torch.testing.assert_close(torch.autograd.grad(model(x)[:, 0].sum(), x)[0], plain)
