"""A small 3D ResNet for clips, and the 3D-CAM paper's layer-wise gated variant.

Both share the backbone ``stem, layer1, layer2, layer3, layer4`` (one basic block per stage, as
torchvision's ``r3d_18`` with one block instead of two and narrower). The ``stem`` is the
convolution unit (Conv3d, batch norm, ReLU) whose output is the paper's "conv" row (Table 1,
"Conv3d 1a", listed before "MaxPool3d 2a"): its max pool is a separate module (``stem_pool``), so
a hook on ``stem`` sees the map before pooling. "The output of conv3d 1a" is read as the unit's
output after batch norm and ReLU: ``Conv3d_1a_7x7`` is I3D's name for such a unit, and the
paper's 3D ResNeXt applies ``conv1, bn1, relu`` before its max pool. ``stem.0`` is the bare
convolution, for the reading before batch norm.
:class:`GatedResNet3D` adds the paper's layer-wise gating (Sec. 3.9).
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
        (3x5x5 conv, stride 1x2x2, batch norm, ReLU) gives ``(T, H/2, W/2)``, its 1x2x2 max
        pool ``(T, H/4, W/4)``; ``layer1`` keeps that; ``layer2 .. layer4`` halve time and
        space each.

    Examples:
        >>> model = ResNet3D(8, widths=(4, 4, 8, 8, 8))
        >>> model(torch.zeros(2, 3, 16, 64, 64)).shape
        torch.Size([2, 8])
        >>> [tuple(o.shape[2:]) for o in model.stages(torch.zeros(1, 3, 16, 64, 64))]
        [(16, 32, 32), (16, 16, 16), (8, 8, 8), (4, 4, 4), (2, 2, 2)]
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
        )
        self.stem_pool = nn.MaxPool3d((1, 2, 2), (1, 2, 2))
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
        outputs = [self.stem(x)]
        x = self.stem_pool(outputs[0])
        for name in STAGES[1:]:
            x = getattr(self, name)(x)
            outputs.append(x)
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.stages(x)[-1]), 1))


def stage_frames(frames: int) -> list[int]:
    """Time steps of each stage's output for clips of ``frames`` frames (:class:`ResNet3D`).

    Examples:
        >>> stage_frames(8)
        [8, 8, 4, 2, 1]
    """
    steps = [frames, frames]
    for _ in STAGES[2:]:
        steps.append((steps[-1] - 1) // 2 + 1)  # kernel 3, stride 2, padding 1
    return steps


class GatedResNet3D(ResNet3D):
    """:class:`ResNet3D` with the 3D-CAM paper's layer-wise gated classification (Sec. 3.9).

    As the paper writes it, each stage's feature map goes through a ReLU and is pooled from
    ``B x T x W x H x C`` to ``B x T/t x 1 x 1 x 1``: space and channels averaged entirely,
    time averaged in windows of ``t`` (``temporal_factor``, the paper's 2; a stage with fewer
    than ``t`` steps keeps one), and fed to that stage's fully connected layer, ``z_s = W_s
    p_s``. All five stages are targeted, as the paper's ``conv3d 1a, mixed 2 .. mixed 5``.

    The paper says only that the stages are "connected to their respective fc layer in the form
    of gated connection" (Sec. 4, Fig. 9 "attention gate"); it prints no formula for the gate or
    for how the stage outputs join. The reading here, and why:

    * the network keeps its own head, ``fc(GAP(layer4))``, and the stage outputs are added to
      its logits: the paper gates "selected layers" of a trained 3D ResNeXt, and the pooled
      vectors hold only ``sum_s T_s / t`` numbers per clip (12 for 8-frame clips), with the
      channels, which the head classifies from, averaged away;
    * each stage's gate is a per-clip scalar of its own pooled vector, ``g_s = sigmoid(u_s .
      p_s + b_s)`` (an attention gate), so every stage can add to the decision independently
      ("gated of each layer contributes to information"); a softmax over stages would make
      them compete;

    ``logits = fc(GAP(layer4)) + sum_s g_s z_s``. The gates of the last forward pass are kept in
    :attr:`last_gates` ``(B, 5)``, in ``STAGES`` order, values in (0, 1): which stages the
    decision draws on. Differences from the text: the ReLU before pooling changes nothing here
    (every stage already ends in one), and time is pooled by adaptive average pooling into
    ``T_s // t`` bins (windows of exactly ``t`` when ``t`` divides ``T_s``).

    Args:
        num_classes: Number of outputs K.
        widths: Channels of ``stem, layer1 .. layer4``.
        frames: Clip length T the stage classifiers are sized for (their inputs are
            ``T_s / t`` long).
        temporal_factor: The paper's t.

    Shapes:
        Input ``(B, 3, T, H, W)`` with ``T = frames``; output ``(B, K)`` logits;
        :meth:`pooled` gives each stage's ``(B, T_s / t, 1, 1, 1)``.

    Examples:
        >>> model = GatedResNet3D(8, widths=(4, 4, 8, 8, 8), frames=8)
        >>> x = torch.zeros(2, 3, 8, 64, 64)
        >>> [tuple(p.shape) for p in model.pooled(x)]
        [(2, 4, 1, 1, 1), (2, 4, 1, 1, 1), (2, 2, 1, 1, 1), (2, 1, 1, 1, 1), (2, 1, 1, 1, 1)]
        >>> model(x).shape, tuple(model.last_gates.shape)
        (torch.Size([2, 8]), (2, 5))
    """

    def __init__(
        self,
        num_classes: int,
        widths=(16, 16, 32, 64, 128),
        *,
        frames: int = 8,
        temporal_factor: int = 2,
    ):
        super().__init__(num_classes, widths)
        self.frames, self.temporal_factor = int(frames), int(temporal_factor)
        if self.frames < 1 or self.temporal_factor < 1:
            raise ValueError(
                f"frames and temporal_factor must be >= 1; got {frames}, {temporal_factor}"
            )
        self.bins = [max(1, steps // self.temporal_factor) for steps in stage_frames(self.frames)]
        self.heads = nn.ModuleDict(
            {s: nn.Linear(n, num_classes) for s, n in zip(STAGES, self.bins, strict=True)}
        )
        self.gates = nn.ModuleDict(
            {s: nn.Linear(n, 1) for s, n in zip(STAGES, self.bins, strict=True)}
        )
        self.last_gates: torch.Tensor | None = None

    def pooled(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each stage's ReLU'd output pooled to ``(B, T_s / t, 1, 1, 1)`` (the paper's shape)."""
        outputs = self._stages(x)
        return [self._pool(output, bins) for output, bins in zip(outputs, self.bins, strict=True)]

    def _stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.ndim == 5 and x.shape[2] != self.frames:
            raise ValueError(
                f"the stage classifiers take clips of {self.frames} frames; got {x.shape[2]}"
            )
        return self.stages(x)

    @staticmethod
    def _pool(output: torch.Tensor, bins: int) -> torch.Tensor:
        over_time = torch.relu(output).mean(dim=(1, 3, 4))  # (B, T_s): channels and space pooled
        pooled = nn.functional.adaptive_avg_pool1d(over_time[:, None], bins)
        return pooled[:, 0, :, None, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = self._stages(x)
        logits = self.fc(torch.flatten(self.avgpool(outputs[-1]), 1))
        gates = []
        for name, output, bins in zip(STAGES, outputs, self.bins, strict=True):
            pooled = torch.flatten(self._pool(output, bins), 1)
            gate = torch.sigmoid(self.gates[name](pooled))
            logits = logits + gate * self.heads[name](pooled)
            gates.append(gate)
        self.last_gates = torch.cat(gates, dim=1).detach()
        return logits
