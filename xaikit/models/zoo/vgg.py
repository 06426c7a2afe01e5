"""A narrow VGG-16: five conv blocks ``conv1`` .. ``conv5`` (2, 2, 3, 3, 3 convolutions).

The block names follow the humans-vs-CNN paper, where "conv n" is VGG-16's n-th block of
convolutions: ``conv5`` is the last conv layer (before ``pool5``), the usual Grad-CAM layer, and
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
    """VGG-16 (with batch norm) of configurable width for small images.

    ``features`` holds ``conv1, pool1, ..., conv5, pool5``; as in torchvision's VGG, ``avgpool``
    brings ``pool5`` to the grid of the training size (so other input sizes work too), and
    ``classifier`` is VGG's three fully connected layers (``fc6``, ``fc7``, ``fc8``).

    Args:
        num_classes: Number of outputs K.
        widths: Channels of the five blocks.
        input_size: ``(H, W)`` of the training input, each a multiple of 32 (sets ``fc6``).
        hidden: Width of ``fc6`` and ``fc7``.
        dropout: Dropout before ``fc7`` and ``fc8``.

    Shapes:
        Input ``(B, 3, H, W)`` normalised RGB, ``H, W >= 32``; output ``(B, K)`` logits. Block
        ``conv n`` gives ``(B, widths[n - 1], H / 2**(n - 1), W / 2**(n - 1))``.

    Examples:
        >>> model = VGG16Narrow(5, widths=(4, 4, 8, 8, 8), input_size=(64, 64), hidden=16)
        >>> model(torch.zeros(2, 3, 64, 64)).shape, model(torch.zeros(1, 3, 224, 160)).shape
        (torch.Size([2, 5]), torch.Size([1, 5]))
        >>> [name for name, _ in model.features.named_children()][-2:]
        ['conv5', 'pool5']
        >>> model.features.conv5(torch.zeros(1, 8, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(
        self,
        num_classes: int,
        widths=(16, 32, 64, 96, 128),
        input_size=(96, 96),
        hidden: int = 128,
        dropout: float = 0.3,
    ):
        super().__init__()
        if len(widths) != len(VGG16_DEPTHS):
            raise ValueError(f"widths must give 5 block widths; got {widths!r}")
        height, width = (int(v) for v in input_size)
        if height % 32 or width % 32 or height <= 0 or width <= 0:
            raise ValueError(f"input_size must be (H, W) multiples of 32; got {input_size!r}")
        blocks, channels = OrderedDict(), 3
        for number, (out, depth) in enumerate(zip(widths, VGG16_DEPTHS, strict=True), start=1):
            blocks[f"conv{number}"] = conv_block(channels, out, depth)
            blocks[f"pool{number}"] = nn.MaxPool2d(2, 2)
            channels = out
        self.features = nn.Sequential(blocks)
        self.avgpool = nn.AdaptiveAvgPool2d((height // 32, width // 32))
        flat = channels * (height // 32) * (width // 32)
        self.classifier = nn.Sequential(
            OrderedDict(
                fc6=nn.Linear(flat, hidden),
                relu6=nn.ReLU(),
                drop6=nn.Dropout(dropout),
                fc7=nn.Linear(hidden, hidden),
                relu7=nn.ReLU(),
                drop7=nn.Dropout(dropout),
                fc8=nn.Linear(hidden, num_classes),
            )
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
