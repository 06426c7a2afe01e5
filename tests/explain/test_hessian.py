"""Hessian-CIAM on a quadratic head (Hessian known in closed form), on a smooth head and on
confident demo images, where the finite differences of float32 gradients break down."""

import copy

import pytest
import torch
from torch import nn

import xaikit as xk
from xaikit.explain._maps import pearson
from xaikit.explain.hessian import DEFAULT_HVP, hessian_ciam_map


class Quadratic(nn.Module):
    """layer = x; one logit 0.5 * sum(layer^2): gradient = A, Hessian = I, so H 1 = 1."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Identity()
        self.scale = nn.Parameter(torch.tensor(0.5))

    def forward(self, x):
        a = self.layer(x)
        return (self.scale * a.pow(2)).flatten(1).sum(dim=1, keepdim=True)


X = torch.tensor([[[[1.0, -2.0]], [[3.0, 4.0]]]])  # (1, 2, 1, 2): four values, ||1|| = 2


@pytest.mark.parametrize("hvp", ["finite_difference", "central", "exact"])
def test_unsmoothed_map_hand_worked(hvp):
    expl = xk.explain(
        Quadratic(), X, method="hessian_ciam", layers=["layer"], hvp=hvp, smooth=False
    )
    # H^ = 1/2 everywhere: L_H = relu(A/2) summed over channels = (0.5 + 1.5, 0 + 2) = (2, 2).
    torch.testing.assert_close(expl.raw["layer"], torch.tensor([[[2.0, 2.0]]]), atol=1e-3, rtol=0)


def test_smoothed_map_polarity_and_projection():
    expl = xk.explain(Quadratic(), X, method="hessian_ciam", layers=["layer"])
    # A_H = [[0.5, 1.5], [0, 2]] (positions x channels); first right singular vector of that
    # matrix, oriented to correlate with L_H, gives A_H v1 >= 0 here.
    a_h = torch.tensor([[0.5, 1.5], [0.0, 2.0]], dtype=torch.float64)
    v1 = torch.linalg.svd(a_h).Vh[0]
    projection = (a_h @ v1).abs()
    torch.testing.assert_close(expl.raw["layer"][0, 0].double(), projection, atol=1e-3, rtol=0)


def test_unknown_hvp_mode(tiny_cnn, images):
    with pytest.raises(ValueError, match="hvp must be one of"):
        xk.explain(tiny_cnn, images, method="hessian_ciam", layers=["features.3"], hvp="magic")


def test_runs_on_tiny_cnn(tiny_cnn, images):
    expl = xk.explain(tiny_cnn, images, method="hessian_ciam", layers=["features.3"])
    maps = expl.maps["features.3"]
    assert maps.shape == (2, 16, 16) and float(maps.min()) >= 0 and float(maps.max()) <= 1


def hessian_vector_products(model, x, layer, modes, r=1e-3):
    """``{mode: Hv}`` of the label-free score at ``layer`` for each ``hvp`` mode."""
    from xaikit.explain import targets
    from xaikit.explain.engine import Context
    from xaikit.explain.hessian import hessian_vector_product
    from xaikit.explain.hooks import ActivationCapture, preserved_state
    from xaikit.models.layers import resolve_layers

    resolved = resolve_layers(model, [layer])
    target = targets.resolve(None, batch_size=len(x), model=model, image_size=x.shape[-2:])
    options = {"batch_size": 32, "progress": False}
    with preserved_state(model), ActivationCapture(resolved) as capture:
        context = Context(model, x, resolved, target, capture, options, False, None, False)
        return {mode: hessian_vector_product(context, *resolved[0], mode, r) for mode in modes}


def exact_float64_hvp(model, x, layer):
    """Reference ``Hv`` of ``logsumexp(logits)``: double backward on a float64 copy."""
    model = copy.deepcopy(model).double().eval()
    store = {}
    module = dict(model.named_modules())[layer]
    module.register_forward_hook(lambda _m, _a, out: store.setdefault("a", out))
    score = torch.logsumexp(model(x.double()), dim=1).sum()
    (gradient,) = torch.autograd.grad(score, store["a"], create_graph=True)
    (hvp,) = torch.autograd.grad(gradient.sum(), store["a"])
    return hvp


def correlations(first, second):
    return pearson(first.flatten(1).double(), second.flatten(1).double())


class SmoothHead(nn.Module):
    """Conv features, then a twice-differentiable head (softplus, tanh): a non-zero Hessian."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.Softplus())
        self.head = nn.Sequential(nn.Conv2d(6, 8, 3, padding=1), nn.Tanh())
        self.fc = nn.Linear(8 * 8 * 8, 4)

    def forward(self, x):
        return self.fc(self.head(self.features(x)).flatten(1))


def test_central_difference_matches_the_exact_product_on_a_smooth_head():
    torch.manual_seed(0)
    model = SmoothHead().eval()
    x = torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    hvps = hessian_vector_products(model, x, "features", ["exact", "central"])
    reference = exact_float64_hvp(model, x, "features")
    assert (correlations(hvps["central"], hvps["exact"]) > 0.99).all()
    assert (correlations(hvps["exact"], reference) > 0.999).all()
    assert model.fc.weight.dtype == torch.float32  # the float64 pass left the model as it was


def test_default_agrees_with_the_exact_product_on_confident_demo_images():
    # demo-shapes' conv5 feeds global average pooling and a linear layer: the score's only
    # curvature is the softmax's, ~ 1 - p_max, so the finite differences of the float32
    # gradients (the paper's Eq. 2) drown in rounding on confident images (correlation
    # 0.06-0.46 on 4 of these 8 before the default changed).
    model = xk.models.load("demo-shapes")
    data = xk.data.synthetic.shapes(8, shape=(64, 64), objects=(1, 3), seed=300_000)
    x, _ = xk.models.info(model).preprocess(data.images, device="cpu")
    layer = "features.conv5"
    reference = exact_float64_hvp(model, x, layer)
    hvps = hessian_vector_products(model, x, layer, [DEFAULT_HVP, "central", "finite_difference"])
    assert DEFAULT_HVP == "exact"
    assert (correlations(hvps["exact"], reference) > 0.99).all()
    assert (correlations(hvps["central"], reference) > 0.99).all()
    assert (correlations(hvps["finite_difference"], reference) < 0.9).sum() >= 2
    activation = model.features(x).detach()
    expected = hessian_ciam_map(activation, reference.float(), smooth=True)
    default = xk.explain(model, x, method="hessian_ciam", layers=[layer], progress=False)
    torch.testing.assert_close(
        default.raw[layer], expected, atol=1e-4 * float(expected.max()), rtol=0
    )


def test_bad_step_is_refused(tiny_cnn, images):
    with pytest.raises(ValueError, match="r must be > 0"):
        xk.explain(tiny_cnn, images, method="hessian_ciam", layers=["features.3"], r=0.0)
