"""Hessian-CIAM on a quadratic head, where the Hessian is known in closed form."""

import pytest
import torch
from torch import nn

import xaikit as xk


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


@pytest.mark.parametrize("hvp", ["finite_difference", "exact"])
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
