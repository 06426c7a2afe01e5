"""Tiny random CNNs, 2D and 3D, that the explainer and widget tests share."""

from torch import nn


class TinyCNN(nn.Module):
    """conv(3->6) · relu · conv(6->8, stride 2) · relu · GAP · linear(8->5); any (B, 3, H, W)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(6, 8, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


class TinyVideoCNN(nn.Module):
    """Conv3d(3->4) · relu · Conv3d(4->6, stride 2) · relu · GAP · linear(6->4); any clip."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(3, 4, 3, padding=1),
            nn.ReLU(),
            nn.Conv3d(4, 6, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))
