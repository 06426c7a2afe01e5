"""A narrow VGG-16: five conv blocks ``conv1`` .. ``conv5`` (2, 2, 3, 3, 3 convolutions).

The block names follow the humans-vs-CNN paper, where "conv n" is VGG-16's n-th block of
convolutions: ``conv5`` is the last conv layer, the usual Grad-CAM (and here CAM) layer, and
``conv2`` the layer whose maps matched human fixations best.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

#: Convolutions per block in VGG-16.
VGG16_DEPTHS = (2, 2, 3, 3, 3)


def conv_block(in_channels: int, out_channels: int, depth: int) -> nn.Sequential:
    """``depth`` times (3x3 conv, batch norm, ReLU); the block's output is its last ReLU."""
    layers = []
    for index in range(depth):
        layers += [
            nn.Conv2d(in_channels if index == 0 else out_channels, out_channels, 3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=False),
        ]
    return nn.Sequential(*layers)


class VGG16Narrow(nn.Module):
    """VGG-16 (with batch norm) of configurable width, with the global-average-pooling head of
    Zhou et al.'s VGG-GAP, so CAM applies to ``conv5``.

    ``features`` holds ``conv1, pool1, ..., conv4, pool4, conv5``: as in VGG-GAP, ``pool5`` is
    dropped so ``conv5`` keeps a useful grid; ``avgpool`` averages it over space and
    ``classifier`` (``fc``) is one linear layer, whose weights are CAM's class weights.

    Args:
        num_classes: Number of outputs K.
        widths: Channels of the five blocks.
        dropout: Dropout before ``fc``.

    Shapes:
        Input ``(B, 3, H, W)`` normalised RGB, ``H, W >= 16``; output ``(B, K)`` logits. Block
        ``conv n`` gives ``(B, widths[n - 1], H / 2**(n - 1), W / 2**(n - 1))``.

    Examples:
        >>> model = VGG16Narrow(5, widths=(4, 4, 8, 8, 8))
        >>> model(torch.zeros(2, 3, 64, 64)).shape, model(torch.zeros(1, 3, 224, 160)).shape
        (torch.Size([2, 5]), torch.Size([1, 5]))
        >>> [name for name, _ in model.features.named_children()][-2:]
        ['pool4', 'conv5']
        >>> model.features.conv5(torch.zeros(1, 8, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(self, num_classes: int, widths=(16, 32, 64, 96, 128), dropout: float = 0.1):
        super().__init__()
        if len(widths) != len(VGG16_DEPTHS):
            raise ValueError(f"widths must give 5 block widths; got {widths!r}")
        blocks, channels = OrderedDict(), 3
        for number, (out, depth) in enumerate(zip(widths, VGG16_DEPTHS, strict=True), start=1):
            blocks[f"conv{number}"] = conv_block(channels, out, depth)
            if number < len(VGG16_DEPTHS):
                blocks[f"pool{number}"] = nn.MaxPool2d(2, 2)
            channels = out
        self.features = nn.Sequential(blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            OrderedDict(drop=nn.Dropout(dropout), fc=nn.Linear(channels, num_classes))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
