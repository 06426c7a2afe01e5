"""torch modules for the Darknet layer types, built from parsed cfg sections.

Each builder returns ``(module, out_channels, stride)`` so the network can check shapes while it
is assembled; ``stride`` is the layer's total downsampling relative to the network input.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from xaikit.models.darknet_cfg import Section

# Darknet computes batch norm as (x - mean) / sqrt(var + eps) with a small eps; OpenCV DNN uses
# 1e-6 too. torch's default 1e-5 shifts the heads of a trained model by ~1e-4.
BATCH_NORM_EPS = 1e-6

_ACTIVATIONS = {
    "leaky": lambda: nn.LeakyReLU(0.1),
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "logistic": nn.Sigmoid,
    "mish": nn.Mish,
    "swish": nn.SiLU,
}


class ConvBlock(nn.Sequential):
    """``[convolutional]``: ``conv``, then ``bn`` (when ``batch_normalize=1``), then ``act``."""

    OPTIONS = ("filters", "size", "stride", "groups", "pad", "padding", "batch_normalize",
               "activation")  # fmt: skip
    #: Darknet options not implemented here, with the value that changes nothing.
    NEUTRAL = {"dilation": 1, "antialiasing": 0, "xnor": 0, "binary": 0, "bin_output": 0,
               "flipped": 0, "sway": 0, "rotate": 0, "stretch": 0, "stretch_sway": 0,
               "deform": 0, "coordconv": 0}  # fmt: skip

    def __init__(self, section: Section, in_channels: int):
        section.check_options(self.OPTIONS, self.NEUTRAL)
        filters = section.get_int("filters")
        size = section.get_int("size", 1)
        stride = section.get_int("stride", 1)
        groups = section.get_int("groups", 1)
        padding = size // 2 if section.get_int("pad", 0) else section.get_int("padding", 0)
        batch_norm = bool(section.get_int("batch_normalize", 0))
        activation = section.get_str("activation", "logistic")
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"{section._where()}: activation {activation!r} is not supported; "
                f"use one of {', '.join(_ACTIVATIONS)}"
            )
        if filters <= 0 or size <= 0 or stride <= 0 or groups <= 0:
            raise ValueError(f"{section._where()}: filters, size, stride and groups must be > 0")
        if in_channels % groups or filters % groups:
            raise ValueError(
                f"{section._where()}: groups={groups} must divide the input channels "
                f"({in_channels}) and filters ({filters})"
            )
        layers = {
            "conv": nn.Conv2d(
                in_channels, filters, size, stride, padding, groups=groups, bias=not batch_norm
            )
        }
        if batch_norm:
            layers["bn"] = nn.BatchNorm2d(filters, eps=BATCH_NORM_EPS)
        layers["act"] = _ACTIVATIONS[activation]()
        super().__init__(OrderedDict(layers))
        self.stride = stride


class MaxPool(nn.Module):
    """``[maxpool]`` with Darknet's padding: ``padding`` (default ``size - 1``) split top/left
    ``padding // 2`` and bottom/right the rest, padded with ``-inf`` so a pad never wins.

    That is what makes the ``size=2 stride=1`` layer of YOLOv3-tiny keep its grid size; zero
    padding (as some ports do) changes the result wherever activations are negative.
    """

    OPTIONS = ("stride", "size", "padding")
    NEUTRAL = {"maxpool_depth": 0, "antialiasing": 0}

    def __init__(self, section: Section):
        super().__init__()
        section.check_options(self.OPTIONS, self.NEUTRAL)
        self.stride = section.get_int("stride", 1)
        self.size = section.get_int("size", self.stride)
        self.padding = section.get_int("padding", self.size - 1)
        if self.size <= 0 or self.stride <= 0 or self.padding < 0:
            raise ValueError(f"{section._where()}: size and stride must be > 0, padding >= 0")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        before, after = self.padding // 2, self.padding - self.padding // 2
        if self.padding:
            x = F.pad(x, (before, after, before, after), value=float("-inf"))
        return F.max_pool2d(x, self.size, self.stride)

    def extra_repr(self) -> str:
        return f"size={self.size}, stride={self.stride}, padding={self.padding}"


class Upsample(nn.Module):
    """``[upsample]``: nearest-neighbour by an integer ``stride``."""

    OPTIONS = ("stride",)
    NEUTRAL = {"scale": 1}

    def __init__(self, section: Section):
        super().__init__()
        section.check_options(self.OPTIONS, self.NEUTRAL)
        self.factor = section.get_int("stride", 2)
        if self.factor <= 0:
            raise ValueError(f"{section._where()}: stride must be > 0; got {self.factor}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.factor, mode="nearest")

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


class Route(nn.Module):
    """``[route]``: concatenate earlier outputs on channels, each optionally cut to one of
    ``groups`` equal channel slices (``group_id``), as in YOLOv4-tiny."""

    OPTIONS = ("layers", "groups", "group_id")

    def __init__(self, section: Section, index: int):
        super().__init__()
        section.check_options(self.OPTIONS)
        self.sources = _resolve(section, section.get_ints("layers"), index)
        self.groups = section.get_int("groups", 1)
        self.group_id = section.get_int("group_id", 0)
        if not 0 <= self.group_id < self.groups:
            raise ValueError(f"{section._where()}: need 0 <= group_id < groups")

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.groups > 1:
            inputs = [x.chunk(self.groups, dim=1)[self.group_id] for x in inputs]
        return inputs[0] if len(inputs) == 1 else torch.cat(inputs, dim=1)

    def extra_repr(self) -> str:
        return f"sources={self.sources}, groups={self.groups}, group_id={self.group_id}"


class Shortcut(nn.Module):
    """``[shortcut]``: add the output of layer ``from`` to the previous output."""

    OPTIONS = ("from", "weights_type", "activation")

    def __init__(self, section: Section, index: int):
        super().__init__()
        section.check_options(self.OPTIONS)
        sources = _resolve(section, section.get_ints("from"), index)
        if len(sources) != 1:
            raise ValueError(f"{section._where()}: only a single 'from' layer is supported")
        if section.get_str("weights_type", "none") != "none":
            raise ValueError(f"{section._where()}: weighted shortcuts are not supported")
        activation = section.get_str("activation", "linear")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"{section._where()}: activation {activation!r} is not supported")
        self.sources = [index - 1, sources[0]]
        self.act = _ACTIVATIONS[activation]()

    def forward(self, previous: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        return self.act(previous + other)


#: Darknet's ``nms_kind`` values and the suppression each one means here.
NMS_KINDS = {"greedynms": "iou", "cornersnms": "iou", "diounms": "diou"}


class YoloLayer(nn.Module):
    """``[yolo]``: passes the raw head output through unchanged and holds what decoding needs.

    Attributes:
        anchors: ``(A, 2)`` buffer of this head's anchor (width, height) in input pixels.
        classes: Number of classes ``C``; the head has ``A * (5 + C)`` channels.
        stride: Input pixels per grid cell.
        scale_x_y: Darknet's ``scale_x_y`` (1 for YOLOv3).
        nms_kind: ``"diou"`` for ``nms_kind=diounms``, else ``"iou"`` (no option,
            ``greedynms`` or ``cornersnms``: suppression by IoU).
        beta_nms: Darknet's ``beta_nms`` (0.6), the exponent of DIoU-NMS.
    """

    OPTIONS = ("classes", "num", "anchors", "mask", "scale_x_y", "nms_kind", "beta_nms")
    NEUTRAL = {"new_coords": 0}

    def __init__(self, section: Section, stride: int):
        super().__init__()
        section.check_options(self.OPTIONS, self.NEUTRAL)
        self.classes = section.get_int("classes")
        num = section.get_int("num", 1)
        flat = section.get_ints("anchors")
        if len(flat) != 2 * num:
            raise ValueError(
                f"{section._where()}: num={num} needs {2 * num} anchor values; got {len(flat)}"
            )
        mask = section.get_ints("mask", list(range(num)))
        if any(not 0 <= m < num for m in mask):
            raise ValueError(f"{section._where()}: mask {mask} indexes past num={num} anchors")
        pairs = [(flat[2 * m], flat[2 * m + 1]) for m in mask]
        self.register_buffer("anchors", torch.tensor(pairs, dtype=torch.float32))
        self.stride = stride
        self.scale_x_y = section.get_float("scale_x_y", 1.0)
        kind = section.get_str("nms_kind", "greedynms")
        if kind not in NMS_KINDS:
            raise ValueError(f"{section._where()}: nms_kind must be one of {list(NMS_KINDS)}")
        self.nms_kind = NMS_KINDS[kind]
        self.beta_nms = section.get_float("beta_nms", 0.6)

    @property
    def channels(self) -> int:
        return len(self.anchors) * (5 + self.classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def extra_repr(self) -> str:
        return f"anchors={len(self.anchors)}, classes={self.classes}, stride={self.stride}"


def _resolve(section: Section, indices: list[int], index: int) -> list[int]:
    if not indices:
        raise ValueError(f"{section._where()}: names no layers")
    resolved = [i + index if i < 0 else i for i in indices]
    for original, i in zip(indices, resolved, strict=True):
        if not 0 <= i < index:
            raise ValueError(
                f"{section._where()}: refers to layer {original}, which resolves to {i}; "
                f"only layers 0..{index - 1} come before it"
            )
    return resolved
