"""Tiny random models every explainer test reuses: a 2D CNN, a 3D CNN and a toy detector."""

import pytest
import torch
from torch import nn


class ToyDetector(nn.Module):
    """A one-scale YOLO-like head on a 4x4 grid: raw predictions (B, 16, 5 + 3).

    Each grid cell predicts a box centred on the cell (cx, cy in input pixels, w = h = 8),
    a sigmoid objectness and sigmoid class scores, so IoU matching is well defined.
    """

    def __init__(self, classes: int = 3):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=4, padding=1)
        )
        self.head = nn.Conv2d(8, 1 + classes, 1)

    def forward(self, x):
        features = self.backbone(x)
        raw = self.head(features).sigmoid()  # (B, 1 + K, 4, 4)
        batch, _, rows, cols = raw.shape
        step_y, step_x = x.shape[2] / rows, x.shape[3] / cols
        ys, xs = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
        centres = torch.stack([(xs + 0.5) * step_x, (ys + 0.5) * step_y], dim=-1).reshape(-1, 2)
        sizes = torch.full_like(centres, 8.0)
        geometry = torch.cat([centres, sizes], dim=1).to(x).expand(batch, -1, -1)
        scores = raw.flatten(2).transpose(1, 2)
        return torch.cat([geometry, scores], dim=2)


@pytest.fixture
def toy_detector():
    torch.manual_seed(0)
    return ToyDetector().eval()


@pytest.fixture
def images():
    return torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))


@pytest.fixture
def clips():
    return torch.rand(2, 3, 4, 8, 8, generator=torch.Generator().manual_seed(2))
