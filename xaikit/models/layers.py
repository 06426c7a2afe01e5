"""The layer catalogue: every module of a model with its output shape and stride.

One dry run with forward hooks records, for each named module, the shape of the tensor it
returns. Widgets show the readable :attr:`LayerInfo.label`; explainers resolve layer names
through :func:`resolve_layers`, which suggests the closest valid names on a typo.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from xaikit._runtime import model_device

__all__ = ["LayerInfo", "default_input", "layers", "resolve_layers", "stage_layers"]


@dataclass(frozen=True)
class LayerInfo:
    """One module of a model, as seen in a dry run.

    Attributes:
        name: dotted module path, as in ``model.named_modules()`` (``"layer3"``, ``"features.28"``).
        kind: class name of the module (``"Conv2d"``, ``"Sequential"``, ``"BasicBlock"``).
        shape: output shape without the batch axis: ``(C, H, W)``, ``(C, T, H, W)`` or
            ``(K,)``; ``None`` when the module does not return a single tensor.
        stride: input size divided by output size per spatial axis, ``(sH, sW)`` or
            ``(sT, sH, sW)``; ``None`` for outputs without the input's spatial axes.
    """

    name: str
    kind: str
    shape: tuple[int, ...] | None
    stride: tuple[int, ...] | None

    @property
    def channels(self) -> int | None:
        """Number of channels (the first axis of :attr:`shape`), or ``None``."""
        return self.shape[0] if self.shape else None

    @property
    def is_feature_map(self) -> bool:
        """True when the output keeps the input's spatial axes (a CAM can be drawn on it)."""
        return self.stride is not None

    @property
    def label(self) -> str:
        """Readable label such as ``"layer3 · stride 16 · 256 ch · 14x14"``.

        Video layers show the temporal and spatial strides: ``"stride 2x16"`` and
        ``"4x14x14"`` (T x H x W).
        """
        parts = [self.name]
        if self.stride is not None and self.shape is not None:
            spatial = self.stride[-1] if self.stride[-1] == self.stride[-2] else None
            if spatial is None:
                spatial_text = f"{self.stride[-2]}x{self.stride[-1]}"
            else:
                spatial_text = _number(spatial)
            if len(self.stride) == 3:
                spatial_text = f"{_number(self.stride[0])}x{spatial_text}"
            parts.append(f"stride {spatial_text}")
            parts.append(f"{self.shape[0]} ch")
            parts.append("x".join(str(size) for size in self.shape[1:]))
        elif self.shape is not None:
            parts.append(f"{self.kind} {'x'.join(str(size) for size in self.shape)}")
        else:
            parts.append(self.kind)
        return " · ".join(parts)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2g}"


def default_input(model: nn.Module, device: torch.device | None = None) -> torch.Tensor:
    """A zero input fitting the model's first convolution: ``(1, C, 224, 224)`` for Conv2d,
    ``(1, C, 16, 112, 112)`` for Conv3d.

    Raises:
        ValueError: the model has no Conv2d / Conv3d to infer the input from.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv3d):
            shape = (1, module.in_channels, 16, 112, 112)
            break
        if isinstance(module, nn.Conv2d):
            shape = (1, module.in_channels, 224, 224)
            break
    else:
        raise ValueError(
            "cannot guess an input for a model without Conv2d/Conv3d layers; "
            "pass example_input=, a tensor of shape (B, C, H, W) or (B, C, T, H, W)"
        )
    return torch.zeros(shape, device=model_device(model) if device is None else device)


def layers(model: nn.Module, example_input: torch.Tensor | None = None) -> list[LayerInfo]:
    """Catalogue every named module of ``model`` in forward order, from one dry run.

    Args:
        model: any ``nn.Module`` whose forward takes one tensor.
        example_input: ``(B, C, H, W)`` or ``(B, C, T, H, W)`` tensor on the model's device.
            ``None`` builds a zero input from the first convolution (see :func:`default_input`).

    Returns:
        One :class:`LayerInfo` per module that ran, ordered by the time its forward first
        finished (a module called twice keeps the shape of its last call). The model's
        ``training`` flags are left as they were; nothing is kept of the dry run.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
        ...                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
        >>> infos = layers(net, torch.zeros(1, 3, 32, 32))
        >>> infos[0].label
        '0 · stride 2 · 8 ch · 16x16'
        >>> [(info.name, info.shape) for info in infos if not info.is_feature_map]
        [('3', (8,)), ('4', (2,))]
    """
    if example_input is None:
        example_input = default_input(model)
    if not isinstance(example_input, torch.Tensor) or example_input.ndim not in (4, 5):
        got = (
            tuple(example_input.shape) if isinstance(example_input, torch.Tensor) else example_input
        )
        raise ValueError(
            f"example_input must be a tensor of shape (B, C, H, W) or (B, C, T, H, W); got {got!r}"
        )
    input_spatial = example_input.shape[2:]
    records: dict[str, tuple[str, tuple[int, ...] | None]] = {}

    def recorder(name: str):
        def hook(module, args, output):
            shape = tuple(output.shape[1:]) if isinstance(output, torch.Tensor) else None
            records.pop(name, None)
            records[name] = (type(module).__name__, shape)

        return hook

    handles = [
        module.register_forward_hook(recorder(name))
        for name, module in model.named_modules()
        if name
    ]
    flags = [(module, module.training) for module in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            model(example_input)
    finally:
        for handle in handles:
            handle.remove()
        for module, training in flags:
            module.training = training

    infos = []
    for name, (kind, shape) in records.items():
        stride = None
        if shape is not None and len(shape) == len(input_spatial) + 1:
            stride = tuple(
                size_in / size_out if size_in % size_out else size_in // size_out
                for size_in, size_out in zip(input_spatial, shape[1:], strict=True)
            )
        infos.append(LayerInfo(name=name, kind=kind, shape=shape, stride=stride))
    return infos


def feature_map_layers(model: nn.Module, example_input: torch.Tensor) -> dict[str, LayerInfo]:
    """The layers whose output is a feature map larger than 1x1 (the layers a CAM can read),
    by name, in forward order.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        >>> list(feature_map_layers(net, torch.zeros(1, 3, 8, 8)))
        ['0', '1']
    """
    return {
        info.name: info
        for info in layers(model, example_input)
        if info.is_feature_map and any(size > 1 for size in info.shape[1:])
    }


def stage_layers(model: nn.Module, example_input: torch.Tensor | None = None) -> list[str]:
    """The output of every stage of a CNN: per spatial size, the module that produces it.

    A stage is a run of consecutive modules (in the order of :func:`layers`) whose feature maps
    have the same spatial size, larger than 1x1. Its output is the outermost module that lies
    wholly inside the run (every submodule that ran is in it too), the last one when several
    are: ResNet's ``layer1`` rather than ``layer1.1.relu``, MobileNet's ``features.1`` rather
    than the expansion conv of the next block. A run whose leaf modules are all pooling layers
    (VGG's last max pool and its adaptive average pool) is no stage. For torchvision's VGG-16
    these are the five convolutional blocks before their max pools (``features.3, 8, 15, 22,
    29``: the humans-vs-CNN paper's conv1 .. conv5); for ResNets the stem's ``relu`` and
    ``layer1`` .. ``layer4``.

    Args:
        model: any ``nn.Module`` whose forward takes one tensor.
        example_input: ``(B, C, H, W)`` or ``(B, C, T, H, W)``; ``None`` as in :func:`layers`.

    Returns:
        Module names, shallowest stage first.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        ...                     nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        >>> stage_layers(net, torch.zeros(1, 3, 16, 16))
        ['1', '4']
    """
    modules = dict(model.named_modules())
    runs: list[list[str]] = []
    previous = None
    for info in layers(model, example_input):
        if not info.is_feature_map or all(size == 1 for size in info.shape[1:]):
            continue
        if runs and previous == info.shape[1:]:
            runs[-1].append(info.name)
        else:
            runs.append([info.name])
        previous = info.shape[1:]
    run_of = {name: index for index, run in enumerate(runs) for name in run}

    def wholly_inside(name: str) -> bool:
        prefix = name + "."
        return all(run_of[name] == run for other, run in run_of.items() if other.startswith(prefix))

    def is_pooling_leaf(name: str) -> bool:
        module = modules[name]
        return not any(module.children()) and "Pool" in type(module).__name__

    stages = []
    for run in runs:
        leaves = [name for name in run if not any(modules[name].children())]
        if all(is_pooling_leaf(name) for name in leaves):
            continue
        candidates = [name for name in run if wholly_inside(name)]
        depth = min(name.count(".") for name in candidates)
        stages.append([name for name in candidates if name.count(".") == depth][-1])
    return stages


def resolve_layers(
    model: nn.Module, layers: str | nn.Module | Iterable[str | nn.Module]
) -> list[tuple[str, nn.Module]]:
    """Turn layer names or modules into ``(name, module)`` pairs.

    Args:
        model: the model the layers belong to.
        layers: one name / module or a sequence of them. Names are dotted paths as in
            ``model.named_modules()``.

    Returns:
        ``(name, module)`` pairs in the order given, without duplicates.

    Raises:
        ValueError: empty list, unknown name (the message lists the closest valid names),
            or a module that is not part of ``model``.

    Examples:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
        >>> [name for name, _ in resolve_layers(net, ["0", net[1]])]
        ['0', '1']
        >>> resolve_layers(net, "2")
        Traceback (most recent call last):
        ...
        ValueError: unknown layer '2'; closest valid names: '1', '0'
    """
    if isinstance(layers, (str, nn.Module)):
        layers = [layers]
    requested: Sequence[str | nn.Module] = list(layers)
    if not requested:
        raise ValueError("layers is empty; give at least one layer name or module")
    by_name = {name: module for name, module in model.named_modules() if name}
    by_module = {id(module): name for name, module in by_name.items()}
    resolved: dict[str, nn.Module] = {}
    for layer in requested:
        if isinstance(layer, nn.Module):
            name = by_module.get(id(layer))
            if name is None:
                raise ValueError(f"module {type(layer).__name__} is not a submodule of the model")
            resolved[name] = layer
        elif isinstance(layer, str):
            if layer not in by_name:
                close = difflib.get_close_matches(layer, list(by_name), n=5, cutoff=0.0)
                suggestion = ", ".join(repr(name) for name in close)
                raise ValueError(f"unknown layer {layer!r}; closest valid names: {suggestion}")
            resolved[layer] = by_name[layer]
        else:
            raise ValueError(f"a layer must be a name (str) or an nn.Module; got {layer!r}")
    return list(resolved.items())
