"""torch modules for the Darknet layer types, built from parsed cfg sections, with Darknet's
semantics (AlexeyAB/darknet, which OpenCV DNN's importer follows).

Each builder knows the shape of its inputs at the cfg's input size, as ``(C, H, W)``, and gives
its own (:attr:`DarknetLayer.shape`), so the network is checked while it is assembled, as
Darknet does. Layers that read earlier layers list them in ``sources`` (absolute indices).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from xaikit.models.darknet_cfg import Section

Shape = tuple[int, int, int]  # (channels, height, width) at the cfg's input size

#: Batch norm ``(x - mean) / sqrt(var + eps)``: OpenCV DNN's eps, the reference xaikit is tested
#: against. Darknet itself (AlexeyAB's ``fuse_conv_batchnorm``) adds 1e-5, which moves the heads
#: of real models by up to 0.1 where a channel's running variance is ~0 (MobileNetV2-YOLOv3-Nano);
#: ``load_darknet(batch_norm_eps=1e-5)`` gives Darknet's own numbers.
BATCH_NORM_EPS = 1e-6


def _softplus(x: torch.Tensor) -> torch.Tensor:
    return F.softplus(x, threshold=20.0)  # Darknet's MISH_THRESHOLD


def _stair(x: torch.Tensor) -> torch.Tensor:
    n = torch.floor(x)
    half = torch.floor(x / 2)
    return torch.where(torch.remainder(n, 2) == 0, half, x - n + half)


def _normalize_channels(x: torch.Tensor) -> torch.Tensor:
    positive = x.clamp(min=0)
    return positive / (positive.sum(dim=1, keepdim=True) + 1e-4)


def _normalize_channels_softmax(x: torch.Tensor, use_max: bool) -> torch.Tensor:
    shift = x.amax(dim=1, keepdim=True) if use_max else 0.0
    e = torch.exp(x - shift)
    return e / (e.sum(dim=1, keepdim=True) + 1e-4)


#: Darknet's activations (``activations.h``), by cfg name. OpenCV DNN reads only linear,
#: leaky, relu, logistic, tanh, mish and swish; the rest follow Darknet's formulas literally.
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": lambda x: x,
    "leaky": lambda x: F.leaky_relu(x, 0.1),
    "revleaky": lambda x: F.leaky_relu(x, 0.1),
    "relu": F.relu,
    "relu6": F.relu6,
    "logistic": torch.sigmoid,
    "loggy": lambda x: 2 * torch.sigmoid(x) - 1,
    "tanh": torch.tanh,
    "mish": lambda x: x * torch.tanh(_softplus(x)),
    "swish": F.silu,
    "hard_mish": lambda x: torch.where(x > 0, x, torch.where(x > -2, x * x / 2 + x, 0.0 * x)),
    "elu": lambda x: torch.where(x >= 0, x, torch.expm1(x)),
    "selu": lambda x: torch.where(x >= 0, 1.0507 * x, 1.0507 * 1.6732 * torch.expm1(x)),
    "gelu": lambda x: 0.5 * x * (1 + torch.tanh(0.797885 * x + 0.035677 * x**3)),
    "relie": lambda x: torch.where(x > 0, x, 0.01 * x),
    "ramp": lambda x: F.relu(x) + 0.1 * x,
    "plse": lambda x: torch.where(
        x < -4, 0.01 * (x + 4), torch.where(x > 4, 0.01 * (x - 4) + 1, 0.125 * x + 0.5)
    ),
    "stair": _stair,
    "hardtan": lambda x: x.clamp(-1, 1),
    "lhtan": lambda x: torch.where(x < 0, 0.001 * x, torch.where(x > 1, 0.001 * (x - 1) + 1, x)),
    "normalize_channels": _normalize_channels,
    "normalize_channels_softmax": lambda x: _normalize_channels_softmax(x, False),
    "normalize_channels_softmax_maxval": lambda x: _normalize_channels_softmax(x, True),
}

# Native modules for the common ones: faster, and what torch users expect to see printed.
_NATIVE = {
    "linear": nn.Identity,
    "leaky": lambda: nn.LeakyReLU(0.1),
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "mish": nn.Mish,
    "swish": nn.SiLU,
}


#: In-place versions, for inference (no autograd): one pass less over the activations.
_IN_PLACE = {
    "linear": lambda x: x,
    "leaky": lambda x: F.leaky_relu_(x, 0.1),
    "relu": F.relu_,
    "relu6": lambda x: F.hardtanh_(x, 0.0, 6.0),
    "logistic": torch.sigmoid_,
    "tanh": torch.tanh_,
    "mish": lambda x: F.mish(x, inplace=True),
    "swish": lambda x: F.silu(x, inplace=True),
}


class Activation(nn.Module):
    """One of Darknet's activations by its cfg name (:data:`ACTIVATIONS`)."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name
        self.function = ACTIVATIONS[name]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)

    def extra_repr(self) -> str:
        return self.name


def activation(section: Section, default: str = "linear") -> nn.Module:
    """The module for the section's ``activation=`` (Darknet's default differs per layer)."""
    name = section.get_str("activation", default)
    if name not in ACTIVATIONS:
        raise ValueError(
            f"{section._where()}: activation {name!r} on line {section.option_lines['activation']}"
            f" is not a Darknet activation; use one of {', '.join(ACTIVATIONS)}"
        )
    return _NATIVE[name]() if name in _NATIVE else Activation(name)


class DarknetLayer(nn.Module):
    """Base of the layers: ``sources`` (absolute indices of the layers it reads besides the
    previous one, in forward-argument order) and ``shape`` (its output at the cfg size)."""

    sources: list[int]
    shape: Shape

    def _init(self, section: Section, shape: Shape, sources=()) -> None:
        self.index = section.index
        self.sources = list(sources)
        self.shape = tuple(int(v) for v in shape)
        if min(self.shape) <= 0:
            raise ValueError(
                f"{section._where()}: its output would be {self.shape[0]}x{self.shape[1]}x"
                f"{self.shape[2]} (channels x height x width); the input is too small for it"
            )


def _strides(section: Section, default: int = 1) -> tuple[int, int]:
    """Darknet's ``stride``, overridden per axis by ``stride_y`` / ``stride_x``: ``(sy, sx)``."""
    stride = section.get_int("stride", default)
    sy, sx = section.get_int("stride_y", stride), section.get_int("stride_x", stride)
    if sy <= 0 or sx <= 0:
        raise ValueError(f"{section._where()}: strides must be > 0; got {sy} (y), {sx} (x)")
    return sy, sx


class ConvBlock(nn.Sequential):
    """``[convolutional]``: ``conv``, then ``bn`` (when ``batch_normalize=1``), then ``act``.

    Darknet's output size ``(h + 2 * padding - size) / stride + 1``, with ``padding = size / 2``
    when ``pad=1``; a dilated conv pads by ``padding * dilation`` (which keeps that size only
    for odd kernels padded by ``(size - 1) / 2``, the one case Darknet computes consistently).
    """

    OPTIONS = ("filters", "size", "stride", "stride_x", "stride_y", "groups", "pad", "padding",
               "dilation", "batch_normalize", "activation")  # fmt: skip
    #: Darknet options not implemented here, with the value that changes nothing.
    NEUTRAL = {"antialiasing": 0, "xnor": 0, "binary": 0, "bin_output": 0, "flipped": 0,
               "sway": 0, "rotate": 0, "stretch": 0, "stretch_sway": 0, "deform": 0,
               "coordconv": 0}  # fmt: skip

    def __init__(self, section: Section, shape: Shape, device=None):
        section.check_options(self.OPTIONS, self.NEUTRAL)
        channels, height, width = shape
        filters = section.get_int("filters", 1)
        size = section.get_int("size", 1)
        self.strides = sy, sx = _strides(section)
        groups = section.get_int("groups", 1)
        dilation = section.get_int("dilation", 1) if size > 1 else 1
        padding = size // 2 if section.get_int("pad", 0) else section.get_int("padding", 0)
        batch_norm = bool(section.get_int("batch_normalize", 0))
        if filters <= 0 or size <= 0 or groups <= 0 or dilation <= 0 or padding < 0:
            raise ValueError(
                f"{section._where()}: filters, size, groups and dilation must be > 0 and "
                "padding >= 0"
            )
        if channels % groups or filters % groups:
            raise ValueError(
                f"{section._where()}: groups={groups} must divide the input channels "
                f"({channels}) and filters ({filters})"
            )
        if dilation > 1 and 2 * padding != size - 1:
            raise ValueError(
                f"{section._where()}: dilation={dilation} needs an odd size with pad=1 (padding "
                f"(size - 1) / 2); Darknet's output size is inconsistent otherwise"
            )
        layers = {
            "conv": nn.Conv2d(
                channels,
                filters,
                size,
                (sy, sx),
                padding * dilation,
                dilation,
                groups,
                bias=not batch_norm,
                device=device,
            )  # fmt: skip
        }
        if batch_norm:
            layers["bn"] = nn.BatchNorm2d(filters, eps=BATCH_NORM_EPS, device=device)
        layers["act"] = activation(section, "logistic")
        super().__init__(OrderedDict(layers))
        self._in_place = _IN_PLACE.get(section.get_str("activation", "logistic"))
        DarknetLayer._init(self, section, (
            filters, (height + 2 * padding - size) // sy + 1, (width + 2 * padding - size) // sx + 1
        ))  # fmt: skip
        self._folded_cache: tuple | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """In eval mode, batch norm runs folded into the conv (one pass over the activations
        instead of two; OpenCV DNN does the same), unless a hook watches ``conv`` or ``bn``."""
        if self.training or "bn" not in self._modules or _hooked(self.conv) or _hooked(self.bn):
            return super().forward(x)
        weight, bias = self._folded()
        conv = self.conv
        y = F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups)
        if self._in_place is not None and not torch.is_grad_enabled() and not _hooked(self.act):
            return self._in_place(y)  # y is this call's own tensor
        return self.act(y)

    def _folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(weight, bias)`` of the conv with batch norm folded in; cached while no tensor
        changes, recomputed with autograd when the parameters need gradients."""
        conv, bn = self.conv, self.bn
        tensors = (conv.weight, bn.weight, bn.bias, bn.running_mean, bn.running_var)
        tracked = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
        key = (bn.eps, *((t.data_ptr(), t._version, t.dtype, t.device) for t in tensors))
        if not tracked and self._folded_cache is not None and self._folded_cache[0] == key:
            return self._folded_cache[1]
        with torch.set_grad_enabled(tracked):
            scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
            weight = conv.weight * scale.view(-1, 1, 1, 1)
            if conv.weight.is_contiguous(memory_format=torch.channels_last):
                weight = weight.contiguous(memory_format=torch.channels_last)
            folded = (weight, bn.bias - bn.running_mean * scale)
        if not tracked:
            self._folded_cache = (key, folded)
        return folded


class Connected(nn.Module):
    """``[connected]``: a fully connected layer on the flattened ``(C, H, W)`` input, then
    batch norm (``batch_normalize=1``) and the activation; output ``(B, output, 1, 1)``."""

    OPTIONS = ("output", "batch_normalize", "activation")

    def __init__(self, section: Section, shape: Shape, device=None):
        super().__init__()
        section.check_options(self.OPTIONS)
        outputs = section.get_int("output", 1)
        if outputs <= 0:
            raise ValueError(f"{section._where()}: output must be > 0; got {outputs}")
        batch_norm = bool(section.get_int("batch_normalize", 0))
        # Darknet: gamma * normalise(W x) + bias, so with batch norm the bias is the BN's beta.
        self.linear = nn.Linear(math.prod(shape), outputs, bias=not batch_norm, device=device)
        self.bn = nn.BatchNorm1d(outputs, eps=BATCH_NORM_EPS, device=device) if batch_norm else None
        self.act = activation(section, "logistic")
        DarknetLayer._init(self, section, (outputs, 1, 1))
        self.in_shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(
                f"layer {self.index} [connected] needs a {self.in_shape} input (the cfg's "
                f"width and height); got {tuple(x.shape[1:])}"
            )
        y = self.linear(x.flatten(1))
        if self.bn is not None:
            y = self.bn(y)
        return self.act(y)[:, :, None, None]


class MaxPool(DarknetLayer):
    """``[maxpool]`` with Darknet's padding: ``padding`` (default ``size - 1``) split top/left
    ``padding // 2`` and bottom/right the rest, padded with ``-inf`` so a pad never wins.

    That is what makes the ``size=2 stride=1`` layer of YOLOv3-tiny keep its grid size; zero
    padding (as some ports do) changes the result wherever activations are negative.
    ``maxpool_depth=1`` instead takes, at each position, the maximum over the channels
    ``g, g + out_channels, g + 2 * out_channels, ...`` for each output channel ``g``.
    """

    OPTIONS = ("stride", "stride_x", "stride_y", "size", "padding", "maxpool_depth",
               "out_channels")  # fmt: skip
    NEUTRAL = {"antialiasing": 0}

    def __init__(self, section: Section, shape: Shape):
        super().__init__()
        section.check_options(self.OPTIONS, self.NEUTRAL)
        self.strides = sy, sx = _strides(section)
        self.size = section.get_int("size", sy)
        self.padding = section.get_int("padding", self.size - 1)
        if self.size <= 0 or self.padding < 0:
            raise ValueError(f"{section._where()}: size must be > 0 and padding >= 0")
        self.depth = bool(section.get_int("maxpool_depth", 0))
        channels, height, width = shape
        if self.depth:
            self.out_channels = section.get_int("out_channels", 1)
            if not 0 < self.out_channels <= channels:
                raise ValueError(
                    f"{section._where()}: out_channels must be in [1, {channels}] (the input "
                    f"channels); got {self.out_channels}"
                )
            self.strides = (1, 1)
            self._init(section, (self.out_channels, height, width))
            return
        self._init(section, (
            channels, (height + self.padding - self.size) // sy + 1,
            (width + self.padding - self.size) // sx + 1,
        ))  # fmt: skip

    def _padded(self, x: torch.Tensor, value: float = float("-inf")) -> torch.Tensor:
        """``x`` padded as Darknet does: ``padding // 2`` before, the rest after."""
        if not self.padding:
            return x
        before, after = self.padding // 2, self.padding - self.padding // 2
        return F.pad(x, (before, after, before, after), value=value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.depth:
            channels = x.shape[1]
            groups = -(-channels // self.out_channels)
            filler = x.new_full((x.shape[0], groups * self.out_channels - channels,
                                 *x.shape[2:]), float("-inf"))  # fmt: skip
            stacked = torch.cat([x, filler], 1).unflatten(1, (groups, self.out_channels))
            return stacked.amax(dim=1)
        before, after = self.padding // 2, self.padding - self.padding // 2
        if before == after and 2 * before <= self.size:  # its own padding never wins either
            return F.max_pool2d(x, self.size, self.strides, before)
        sy, sx = self.strides
        last_y = (x.shape[2] + self.padding - self.size) // sy * sy + self.size - before
        last_x = (x.shape[3] + self.padding - self.size) // sx * sx + self.size - before
        if before == 0 and last_y <= x.shape[2] and last_x <= x.shape[3]:
            return F.max_pool2d(x, self.size, self.strides)  # no window reaches the pad
        return F.max_pool2d(self._padded(x), self.size, self.strides)

    def extra_repr(self) -> str:
        if self.depth:
            return f"maxpool_depth, out_channels={self.out_channels}"
        return f"size={self.size}, stride={self.strides}, padding={self.padding}"


class LocalAvgPool(MaxPool):
    """``[local_avgpool]``: the mean over each window's positions inside the input (pads are
    not counted), with ``[maxpool]``'s size, stride and padding rules."""

    OPTIONS = ("stride", "stride_x", "stride_y", "size", "padding")
    NEUTRAL = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = F.avg_pool2d(self._padded(x, 0.0), self.size, self.strides)
        ones = self._padded(torch.ones_like(x[:1, :1]), 0.0)
        return total / F.avg_pool2d(ones, self.size, self.strides)


class AvgPool(DarknetLayer):
    """``[avgpool]``: the mean over all positions of each channel, ``(B, C, 1, 1)``."""

    def __init__(self, section: Section, shape: Shape):
        super().__init__()
        section.check_options(())
        self._init(section, (shape[0], 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3), keepdim=True)


class Upsample(DarknetLayer):
    """``[upsample]``: nearest-neighbour by an integer ``stride``, times ``scale``."""

    OPTIONS = ("stride", "scale")

    def __init__(self, section: Section, shape: Shape):
        super().__init__()
        section.check_options(self.OPTIONS)
        self.factor = section.get_int("stride", 2)
        self.scale = section.get_float("scale", 1.0)
        if self.factor <= 0:
            raise ValueError(
                f"{section._where()}: stride must be > 0; got {self.factor} (a negative stride, "
                "Darknet's reverse upsampling, is not implemented)"
            )
        channels, height, width = shape
        self._init(section, (channels, height * self.factor, width * self.factor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.interpolate(x, scale_factor=self.factor, mode="nearest")
        return y if self.scale == 1 else y * self.scale

    def extra_repr(self) -> str:
        return f"factor={self.factor}" + (f", scale={self.scale:g}" if self.scale != 1 else "")


class Route(DarknetLayer):
    """``[route]``: concatenate earlier outputs on channels, each optionally cut to one of
    ``groups`` equal channel slices (``group_id``), as in YOLOv4-tiny."""

    OPTIONS = ("layers", "groups", "group_id")

    def __init__(self, section: Section, shapes: list[Shape]):
        super().__init__()
        section.check_options(self.OPTIONS)
        sources = _resolve(section, section.get_ints("layers"), section.index)
        self.groups = section.get_int("groups", 1)
        self.group_id = section.get_int("group_id", 0)
        if self.groups <= 0 or not 0 <= self.group_id < self.groups:
            raise ValueError(f"{section._where()}: need groups > 0 and 0 <= group_id < groups")
        picked = [shapes[s] for s in sources]
        if len({shape[1:] for shape in picked}) != 1:
            sizes = {s: f"{shapes[s][2]}x{shapes[s][1]}" for s in sources}
            raise ValueError(
                f"{section._where()}: joins layers of different sizes {sizes} (W x H); is the "
                "cfg's width and height a multiple of the network's downsampling?"
            )
        if any(shape[0] % self.groups for shape in picked):
            raise ValueError(f"{section._where()}: groups must divide every input's channels")
        channels = sum(shape[0] // self.groups for shape in picked)
        self._init(section, (channels, *picked[0][1:]), sources)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.groups > 1:
            inputs = [x.chunk(self.groups, dim=1)[self.group_id] for x in inputs]
        return inputs[0] if len(inputs) == 1 else torch.cat(inputs, dim=1)

    def extra_repr(self) -> str:
        return f"sources={self.sources}, groups={self.groups}, group_id={self.group_id}"


class Shortcut(DarknetLayer):
    """``[shortcut]``: the previous output plus the outputs of the ``from`` layers.

    As in Darknet, the result has the previous layer's channels: a source with fewer channels
    is added to the first ones only, one with more is cut (YOLOv3-tiny-PRN adds layers of 256
    and 128 channels). Sizes must match.
    """

    OPTIONS = ("from", "activation")
    NEUTRAL = {"weights_type": "none", "weights_normalization": "none"}

    def __init__(self, section: Section, shapes: list[Shape]):
        super().__init__()
        for key, neutral in self.NEUTRAL.items():
            if section.get_str(key, neutral) != neutral:
                raise ValueError(
                    f"{section._where()}: {key}={section.get_str(key)} on line "
                    f"{section.option_lines[key]}: weighted shortcuts are not implemented"
                )
        section.check_options((*self.OPTIONS, *self.NEUTRAL))
        sources = _resolve(section, section.get_ints("from"), section.index)
        previous = shapes[section.index - 1]
        for s in sources:
            if shapes[s][1:] != previous[1:]:
                raise ValueError(
                    f"{section._where()}: adds layer {s} ({shapes[s][2]}x{shapes[s][1]}) to "
                    f"layer {section.index - 1} ({previous[2]}x{previous[1]}); sizes must match"
                )
        self.channels = [shapes[s][0] for s in sources]
        self.act = activation(section)
        self._init(section, previous, sources)

    def forward(self, previous: torch.Tensor, *others: torch.Tensor) -> torch.Tensor:
        out = previous
        for other in others:
            n = min(out.shape[1], other.shape[1])
            if n == out.shape[1] == other.shape[1]:
                out = out + other
            else:
                out = torch.cat([out[:, :n] + other[:, :n], out[:, n:]], dim=1)
        return self.act(out)


class ScaleChannels(DarknetLayer):
    """``[scale_channels]`` (squeeze-and-excitation): the output of layer ``from`` times the
    previous output, ``(B, C, 1, 1)`` per channel or, with ``scale_wh=1``, ``(B, 1, H, W)``
    per position."""

    OPTIONS = ("from", "scale_wh", "activation")

    def __init__(self, section: Section, shapes: list[Shape]):
        super().__init__()
        section.check_options(self.OPTIONS)
        (source,) = _resolve(section, _single(section, "from"), section.index)
        self.scale_wh = bool(section.get_int("scale_wh", 0))
        scales, target = shapes[section.index - 1], shapes[source]
        expected = (1, *target[1:]) if self.scale_wh else (target[0], 1, 1)
        if scales != expected:
            raise ValueError(
                f"{section._where()}: the previous layer gives {scales} (C, H, W); scaling "
                f"layer {source} {target} needs {expected}"
            )
        self.act = activation(section)
        self._init(section, target, [source])

    def forward(self, scales: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return self.act(features * scales)


class Sam(DarknetLayer):
    """``[sam]`` (spatial attention): the output of layer ``from`` times the previous output,
    element by element."""

    OPTIONS = ("from", "activation")

    def __init__(self, section: Section, shapes: list[Shape]):
        super().__init__()
        section.check_options(self.OPTIONS)
        (source,) = _resolve(section, _single(section, "from"), section.index)
        if shapes[source] != shapes[section.index - 1]:
            raise ValueError(
                f"{section._where()}: multiplies layer {source} {shapes[source]} by layer "
                f"{section.index - 1} {shapes[section.index - 1]}; shapes must match"
            )
        self.act = activation(section)
        self._init(section, shapes[source], [source])

    def forward(self, scales: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return self.act(features * scales)


class Reorg(DarknetLayer):
    """``[reorg]``: Darknet's space-to-depth (YOLOv2's passthrough layer).

    Darknet's ``reorg_cpu`` reads the ``(C, H, W)`` input as ``(C / s^2, H * s, W * s)`` and
    writes channel ``k = (dy * s + dx) * C / s^2 + c`` of an ``(C, H, W)`` grid, which it then
    uses as ``(C * s^2, H / s, W / s)``: not a plain space-to-depth, but what trained YOLOv2
    weights expect (OpenCV DNN does the same).
    """

    OPTIONS = ("stride",)
    NEUTRAL = {"reverse": 0, "flatten": 0, "extra": 0}

    def __init__(self, section: Section, shape: Shape):
        super().__init__()
        section.check_options(self.OPTIONS, self.NEUTRAL)
        self.stride = s = section.get_int("stride", 2)
        channels, height, width = shape
        if s <= 0 or channels % (s * s) or height % s or width % s:
            raise ValueError(
                f"{section._where()}: stride {s} must divide the height ({height}) and width "
                f"({width}), and its square the channels ({channels})"
            )
        self.strides = (s, s)
        self._init(section, (channels * s * s, height // s, width // s))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        s = self.stride
        grid = x.reshape(batch, channels // (s * s), height, s, width, s)
        out = grid.permute(0, 3, 5, 1, 2, 4).reshape(batch, channels, height, width)
        return out.reshape(batch, channels * s * s, height // s, width // s)


class Identity(DarknetLayer):
    """``[dropout]`` and ``[cost]``: the previous output unchanged (at inference)."""

    OPTIONS = {
        "dropout": ("probability", "dropblock", "dropblock_size_rel", "dropblock_size_abs"),
        "cost": ("type", "scale", "ratio", "noobject_scale", "thresh"),
    }

    def __init__(self, section: Section, shape: Shape):
        super().__init__()
        section.check_options(self.OPTIONS[section.kind])
        self._init(section, shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Softmax(DarknetLayer):
    """``[softmax]``: softmax over each of ``groups`` equal slices of the flattened input,
    divided by ``temperature`` first."""

    OPTIONS = ("groups", "temperature")
    NEUTRAL = {"spatial": 0, "noloss": 0}

    def __init__(self, section: Section, shape: Shape):
        super().__init__()
        _refuse_tree(section)
        section.check_options(self.OPTIONS, self.NEUTRAL)
        self.groups = section.get_int("groups", 1)
        self.temperature = section.get_float("temperature", 1.0)
        if self.groups <= 0 or math.prod(shape) % self.groups or not self.temperature > 0:
            raise ValueError(
                f"{section._where()}: groups must divide the {math.prod(shape)} inputs and "
                "temperature must be > 0"
            )
        self._init(section, shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grouped = x.reshape(x.shape[0], self.groups, -1) / self.temperature
        return torch.softmax(grouped, dim=-1).reshape(x.shape)


#: Darknet's ``nms_kind`` values and the suppression each one means here.
NMS_KINDS = {"greedynms": "iou", "cornersnms": "iou", "diounms": "diou"}


class DetectionHead(DarknetLayer):
    """Base of ``[yolo]`` and ``[region]``: passes the raw head through and decodes it.

    Attributes:
        anchors: ``(A, 2)`` buffer of anchor (width, height) in input pixels.
        classes: Number of classes ``C``; the head has ``A * (5 + C)`` channels.
        stride: Input pixels per grid cell (``(sy, sx)`` when they differ).
        nms_kind: ``"diou"`` for ``nms_kind=diounms``, else ``"iou"``.
        beta_nms: Darknet's ``beta_nms`` (0.6), the exponent of DIoU-NMS.
    """

    def _head_init(self, section: Section, shape: Shape, strides, pairs) -> None:
        self.register_buffer("anchors", torch.tensor(pairs, dtype=torch.float32))
        sy, sx = strides
        self.stride = sy if sy == sx else (sy, sx)
        kind = section.get_str("nms_kind", "greedynms")
        if kind not in NMS_KINDS:
            raise ValueError(f"{section._where()}: nms_kind must be one of {list(NMS_KINDS)}")
        self.nms_kind = NMS_KINDS[kind]
        self.beta_nms = section.get_float("beta_nms", 0.6)
        if shape[0] != self.channels:
            raise ValueError(
                f"{section._where()}: {len(self.anchors)} anchors x (5 + {self.classes} "
                f"classes) needs {self.channels} input channels, but layer "
                f"{section.index - 1} gives {shape[0]}; set its filters={self.channels}"
            )
        self._init(section, shape)

    @property
    def channels(self) -> int:
        return len(self.anchors) * (5 + self.classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def extra_repr(self) -> str:
        return f"anchors={len(self.anchors)}, classes={self.classes}, stride={self.stride}"


class YoloLayer(DetectionHead):
    """``[yolo]``: anchors in input pixels (``anchors`` picked by ``mask``), ``scale_x_y``, and
    ``new_coords=1`` (YOLOv4-CSP, YOLOv7: the conv's logistic output is decoded as
    ``(2 t)^2`` times the anchor, objectness and classes taken as they are)."""

    OPTIONS = ("classes", "num", "anchors", "mask", "scale_x_y", "new_coords", "nms_kind",
               "beta_nms")  # fmt: skip

    def __init__(self, section: Section, shape: Shape, strides: tuple[int, int]):
        super().__init__()
        section.check_options(self.OPTIONS)
        self.classes = section.get_int("classes", 20)
        num = section.get_int("num", 1)
        flat = section.get_floats("anchors")
        if len(flat) != 2 * num:
            raise ValueError(
                f"{section._where()}: num={num} needs {2 * num} anchor values; got {len(flat)}"
            )
        mask = section.get_ints("mask", list(range(num)))
        if any(not 0 <= m < num for m in mask):
            raise ValueError(f"{section._where()}: mask {mask} indexes past num={num} anchors")
        self.scale_x_y = section.get_float("scale_x_y", 1.0)
        self.new_coords = bool(section.get_int("new_coords", 0))
        self._head_init(section, shape, strides, [(flat[2 * m], flat[2 * m + 1]) for m in mask])

    def decode(self, raw: torch.Tensor) -> torch.Tensor:
        from xaikit.models.yolo import decode_yolo_head

        return decode_yolo_head(raw, self.anchors, self.stride, self.scale_x_y, self.new_coords)


class RegionLayer(DetectionHead):
    """``[region]`` (YOLOv2): all ``num`` anchors, given in grid cells (stored here in input
    pixels), logistic x, y and objectness, ``exp`` sizes, and a softmax over the classes
    (``softmax=1``; with ``softmax=0`` Darknet takes the class values as they are)."""

    OPTIONS = ("classes", "num", "anchors", "coords", "softmax", "nms_kind", "beta_nms")
    NEUTRAL = {"classfix": 0, "background": 0}

    def __init__(self, section: Section, shape: Shape, strides: tuple[int, int]):
        super().__init__()
        _refuse_tree(section)
        section.check_options(self.OPTIONS, self.NEUTRAL)
        self.classes = section.get_int("classes", 20)
        num = section.get_int("num", 1)
        if section.get_int("coords", 4) != 4:
            raise ValueError(f"{section._where()}: only coords=4 is implemented")
        self.softmax = bool(section.get_int("softmax", 0))
        flat = section.get_floats("anchors")
        if len(flat) != 2 * num:
            raise ValueError(
                f"{section._where()}: num={num} needs {2 * num} anchor values; got {len(flat)}"
            )
        sy, sx = strides
        pairs = [(flat[2 * a] * sx, flat[2 * a + 1] * sy) for a in range(num)]
        self._head_init(section, shape, strides, pairs)

    def decode(self, raw: torch.Tensor) -> torch.Tensor:
        from xaikit.models.yolo import decode_region_head

        return decode_region_head(raw, self.anchors, self.stride, self.softmax)


def _refuse_tree(section: Section) -> None:
    if "tree" in section.options:
        raise ValueError(
            f"{section._where()}: tree= on line {section.option_lines['tree']}: "
            "hierarchical softmax (YOLO9000) is not implemented"
        )


def _hooked(module: nn.Module) -> bool:
    return bool(module._forward_hooks or module._forward_pre_hooks or module._backward_hooks)


def _single(section: Section, key: str) -> list[int]:
    values = section.get_ints(key)
    if len(values) != 1:
        raise ValueError(f"{section._where()}: '{key}' must name one layer; got {values}")
    return values


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
