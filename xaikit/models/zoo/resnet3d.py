"""A small 3D ResNet for clips, and the 3D-CAM paper's layer-wise gated variant.

Both share the backbone ``stem, layer1, layer2, layer3, layer4`` (one basic block per stage, as
torchvision's ``r3d_18`` with one block instead of two and narrower). :class:`GatedResNet3D`
adds the paper's attention gating (Sec. 3.9): every stage's ReLU'd output is average-pooled over
space and to ``temporal_bins`` slices of time, fed to its own linear classifier, and the stage
logits are combined with per-clip gates (a softmax over stages of a learned score per stage).
"""

from __future__ import annotations

import torch
from torch import nn

#: Stage names, in forward order: the layers the gated variant attaches classifiers to.
STAGES = ("stem", "layer1", "layer2", "layer3", "layer4")


class BasicBlock3d(nn.Module):
    """Two 3x3x3 convolutions with batch norm and an identity (or 1x1x1 projection) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride):
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(out_channels)
        self.conv2 = nn.Conv3d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm3d(out_channels)
        self.relu = nn.ReLU()
        self.downsample = None
        if in_channels != out_channels or stride != 1:
            self.downsample = nn.Sequential(
                nn.Conv3d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm3d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + shortcut)


class ResNet3D(nn.Module):
    """A four-stage 3D ResNet (a one-block-per-stage ``r3d_18``), for small clips.

    Args:
        num_classes: Number of outputs K.
        widths: Channels of ``stem, layer1 .. layer4``.

    Shapes:
        Input ``(B, 3, T, H, W)`` normalised RGB clips; output ``(B, K)`` logits. The stem
        (3x5x5 conv, stride 1x2x2, then a 1x2x2 max pool) gives ``(T, H/4, W/4)``; ``layer1``
        keeps it; ``layer2 .. layer4`` halve time and space each.

    Examples:
        >>> model = ResNet3D(8, widths=(4, 4, 8, 8, 8))
        >>> model(torch.zeros(2, 3, 16, 64, 64)).shape
        torch.Size([2, 8])
        >>> [tuple(o.shape[2:]) for o in model.stages(torch.zeros(1, 3, 16, 64, 64))]
        [(16, 16, 16), (16, 16, 16), (8, 8, 8), (4, 4, 4), (2, 2, 2)]
    """

    def __init__(self, num_classes: int, widths=(16, 16, 32, 64, 128)):
        super().__init__()
        if len(widths) != len(STAGES):
            raise ValueError(f"widths must give {len(STAGES)} stage widths; got {widths!r}")
        self.widths = tuple(int(w) for w in widths)
        stem, *stages = self.widths
        self.stem = nn.Sequential(
            nn.Conv3d(3, stem, (3, 5, 5), (1, 2, 2), (1, 2, 2), bias=False),
            nn.BatchNorm3d(stem),
            nn.ReLU(),
            nn.MaxPool3d((1, 2, 2), (1, 2, 2)),
        )
        channels = stem
        for number, out in enumerate(stages, start=1):
            setattr(self, f"layer{number}", BasicBlock3d(channels, out, 1 if number == 1 else 2))
            channels = out
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(channels, num_classes)

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The outputs of ``stem, layer1 .. layer4`` for ``x`` ``(B, 3, T, H, W)``."""
        if x.ndim != 5 or x.shape[1] != 3:
            raise ValueError(f"input must be (B, 3, T, H, W); got shape {tuple(x.shape)}")
        outputs = []
        for name in STAGES:
            x = getattr(self, name)(x)
            outputs.append(x)
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.stages(x)[-1]), 1))


class GatedResNet3D(ResNet3D):
    """:class:`ResNet3D` with the 3D-CAM paper's layer-wise gated classification.

    Stage ``s`` gives logits ``z_s = W_s p_s`` from ``p_s``, its ReLU'd output pooled to
    ``(C_s, temporal_bins, 1, 1)`` and flattened; a gate score ``g_s = u_s . p_s`` per clip, and
    the output is ``sum_s softmax(g)_s z_s``. The gates of the last forward pass are kept in
    :attr:`last_gates` ``(B, 5)`` to show which stage decided.

    Args:
        num_classes: Number of outputs K.
        widths: Channels of ``stem, layer1 .. layer4``.
        temporal_bins: Slices of time each stage is pooled to (the paper's ``T / t``).

    Shapes:
        Input ``(B, 3, T, H, W)``; output ``(B, K)`` logits.

    Examples:
        >>> model = GatedResNet3D(8, widths=(4, 4, 8, 8, 8))
        >>> model(torch.zeros(2, 3, 16, 64, 64)).shape, tuple(model.last_gates.shape)
        (torch.Size([2, 8]), (2, 5))
        >>> sorted(model.heads)
        ['layer1', 'layer2', 'layer3', 'layer4', 'stem']
    """

    def __init__(self, num_classes: int, widths=(16, 16, 32, 64, 128), temporal_bins: int = 2):
        super().__init__(num_classes, widths)
        del self.fc  # every stage has its own classifier instead
        self.temporal_bins = int(temporal_bins)
        self.pool = nn.AdaptiveAvgPool3d((self.temporal_bins, 1, 1))
        sizes = {
            name: width * self.temporal_bins
            for name, width in zip(STAGES, self.widths, strict=True)
        }
        self.heads = nn.ModuleDict({name: nn.Linear(n, num_classes) for name, n in sizes.items()})
        self.gates = nn.ModuleDict({name: nn.Linear(n, 1) for name, n in sizes.items()})
        self.last_gates: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits, scores = [], []
        for name, output in zip(STAGES, self.stages(x), strict=True):
            pooled = torch.flatten(self.pool(torch.relu(output)), 1)
            logits.append(self.heads[name](pooled))
            scores.append(self.gates[name](pooled))
        gates = torch.softmax(torch.cat(scores, dim=1), dim=1)
        self.last_gates = gates.detach()
        return (gates.unsqueeze(-1) * torch.stack(logits, dim=1)).sum(dim=1)
