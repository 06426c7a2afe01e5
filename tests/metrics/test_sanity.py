"""Cascading randomisation with a gradient explainer on the tiny CNN; SSIM by hand."""

import numpy as np
import pytest
import torch

from xaikit.metrics import sanity


def gradient_explain(model, x):
    """|d logit_top / d x| summed over channels: a small gradient saliency written for the test."""
    x = x.clone().requires_grad_(True)
    logits = model(x)
    top = logits.gather(1, logits.argmax(dim=1, keepdim=True)).sum()
    (grad,) = torch.autograd.grad(top, x)
    return grad.abs().sum(dim=1)


def test_layers_top_down_and_model_untouched(tiny_cnn, images):
    tiny_cnn.train()
    before = {k: v.clone() for k, v in tiny_cnn.state_dict().items()}
    table = sanity.cascading_randomization(tiny_cnn, images, gradient_explain, device="cpu")
    assert list(table.layer.unique()) == ["head", "features.2", "features.0"]
    assert len(table) == 3 * 2
    assert table.spearman.between(-1, 1).all() and table.ssim.between(-1, 1).all()
    # randomising every layer destroys the map's structure
    assert table[table.step == 3].spearman.mean() < 0.9
    assert tiny_cnn.training
    for key, value in tiny_cnn.state_dict().items():
        assert torch.equal(value, before[key])


def test_seeded_and_identity_explainer():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3, padding=1))
    x = torch.rand(1, 1, 8, 8)
    first = sanity.cascading_randomization(model, x, gradient_explain, device="cpu")
    second = sanity.cascading_randomization(model, x, gradient_explain, device="cpu")
    assert first.equals(second)
    constant = sanity.cascading_randomization(model, x, lambda m, x: torch.ones(1, 8, 8))
    assert np.isnan(constant.spearman).all() and (constant.ssim == 1.0).all()


def test_errors(tiny_cnn, images):
    with pytest.raises(ValueError, match="choose from"):
        sanity.cascading_randomization(tiny_cnn, images, gradient_explain, layers=["nope"])
    with pytest.raises(ValueError, match=r"maps \(B, H, W\)"):
        sanity.cascading_randomization(tiny_cnn, images, lambda m, x: torch.ones(16, 16))


def test_ssim_by_hand():
    # uniform 7x7 window on a 7x7 map: one position; two maps a and 2a.
    rng = np.random.default_rng(0)
    a = rng.random((7, 7))
    b = 2 * a
    data_range = b.max() - min(a.min(), b.min())
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = a.mean(), b.mean()
    var_a, var_b = a.var(ddof=1), b.var(ddof=1)
    cov = np.cov(a.ravel(), b.ravel())[0, 1]
    expected = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    assert sanity.ssim(a, b) == pytest.approx(expected)
    with pytest.raises(ValueError, match="window"):
        sanity.ssim(np.zeros((5, 5)), np.zeros((5, 5)))
