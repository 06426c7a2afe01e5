"""Dense Attention worked by hand on a two-layer network."""

import torch
from torch import nn

import xaikit as xk


class TwoLayers(nn.Module):
    """conv1 = x (identity); conv2 = 2 * conv1 on a 1x2 grid, averaged into one logit."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Identity()
        self.conv2 = nn.Conv2d(2, 2, 1, bias=False)
        with torch.no_grad():
            self.conv2.weight.copy_(torch.tensor([[[[2.0]], [[0.0]]], [[[0.0]], [[2.0]]]]))

    def forward(self, x):
        return self.conv2(self.conv1(x)).mean(dim=(1, 2, 3))[:, None]


def test_dense_attention_hand_worked():
    x = torch.tensor([[[[1.0, 3.0]], [[2.0, 0.0]]]])  # (1, 2, 1, 2)
    expl = xk.explain(TwoLayers(), x, method="dense_attention", layers=["conv1", "conv2"])
    # GT = mean(conv2) over 4 values: G_2 = 1/4 everywhere -> uniform softmaxes (1/2, 1/2);
    # SCA = f/2 + f/2 = f, channel mean of conv2 = 2 * [[1.5, 1.5]] = [[3, 3]].
    torch.testing.assert_close(expl.raw["conv2"], torch.tensor([[[3.0, 3.0]]]))
    # G_1 = 2 * 1/4 = 1/2 everywhere: uniform again, so conv1's map is mean_c x = [[1.5, 1.5]].
    torch.testing.assert_close(expl.raw["conv1"], torch.tensor([[[1.5, 1.5]]]))
    torch.testing.assert_close(expl.raw["conv2+conv1"], torch.tensor([[[4.5, 4.5]]]))


def test_dense_attention_softmax_weights_follow_sensitivity():
    from xaikit.explain.dense_attention import sca_map

    f = torch.ones(1, 1, 1, 2)
    g = torch.tensor([[[[0.0, torch.log(torch.tensor(3.0))]]]])
    # spatial softmax of (0, ln 3) = (1/4, 3/4); one channel: channel weight 1.
    torch.testing.assert_close(sca_map(f, g), torch.tensor([[[1.25, 1.75]]]))


def test_dense_attention_on_tiny_cnn(tiny_cnn, images):
    layers = ["features.1", "features.3"]
    expl = xk.explain(tiny_cnn, images, method="dense_attention", layers=layers)
    assert set(expl.maps) == {"features.1", "features.3", "features.3+features.1"}
    assert expl.raw["features.3+features.1"].shape == (2, 16, 16)
