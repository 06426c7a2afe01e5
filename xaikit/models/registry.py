"""``load(name)``: torchvision models with their preprocessing attached; the demo zoo names."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision.models
import torchvision.models.detection
import torchvision.models.video
from torch import nn
from torchvision.models import get_model_builder, get_model_weights, list_models
from torchvision.ops.misc import FrozenBatchNorm2d

from xaikit import _download
from xaikit._runtime import device as resolve_device
from xaikit.models.torchvision_preprocess import PresetPreprocess

DEMO_MODELS = {
    "demo-mice": "a YOLOv3-tiny-style mouse detector (Darknet format)",
    "demo-mice-full": "a YOLOv3-style mouse detector: Darknet-53-like residual blocks, 3 scales",
    "demo-shapes": "a VGG-16-shaped classifier of synthetic shapes",
    "demo-actions": "a small 3D ResNet for synthetic action clips",
}
ALIASES = {
    "retinanet": "retinanet_resnet50_fpn",
    "fcos": "fcos_resnet50_fpn",
    "ssdlite": "ssdlite320_mobilenet_v3_large",
    "ssd": "ssd300_vgg16",
    "fasterrcnn": "fasterrcnn_resnet50_fpn",
    "mvit": "mvit_v2_s",
    "swin3d": "swin3d_t",
}
_DETECTOR_PREFIXES = ("fasterrcnn_", "retinanet_", "fcos_", "ssd")
# Detectors whose torchvision builder freezes the backbone's batch norm when given weights.
_FROZEN_BATCH_NORM = {
    "fasterrcnn_resnet50_fpn",
    "fasterrcnn_mobilenet_v3_large_fpn",
    "fasterrcnn_mobilenet_v3_large_320_fpn",
    "retinanet_resnet50_fpn",
    "fcos_resnet50_fpn",
}


def _names_by_task() -> dict[str, list[str]]:
    detection = [
        name
        for name in list_models(module=torchvision.models.detection)
        if name.startswith(_DETECTOR_PREFIXES)
    ]
    return {
        "classification": list_models(module=torchvision.models),
        "detection": detection,
        "video": list_models(module=torchvision.models.video),
    }


def available() -> dict[str, list[str]]:
    """Names :func:`load` accepts, by task (demo zoo first, then torchvision; aliases apart).

    Examples:
        >>> names = available()
        >>> "vgg16" in names["classification"], "r3d_18" in names["video"], names["aliases"][:2]
        (True, True, ['fasterrcnn', 'fcos'])
    """
    return {"demo": list(DEMO_MODELS), **_names_by_task(), "aliases": sorted(ALIASES)}


@dataclass
class ModelInfo:
    """What xaikit knows about a loaded model; attached as ``model.xaikit_info``.

    Attributes:
        name: The torchvision builder name.
        task: ``"classification"``, ``"detection"`` or ``"video"``.
        preprocess: Callable ``frames -> (input, mappings)``; see :class:`PresetPreprocess`.
        categories: Class names of the weights (``None`` when unknown).
        weights: What was loaded: ``"DEFAULT -> <enum name>"``, a file path, or ``None``.
        layers: Layers worth explaining, shallow to deep (demo zoo models; ``None`` otherwise).
        card: The model card (demo zoo: data, recipe, input size, normalisation, held-out
            scores; ``None`` otherwise).
    """

    name: str
    task: str
    preprocess: PresetPreprocess
    categories: list[str] | None
    weights: str | None
    layers: list[str] | None = None
    card: dict | None = None


def info(model: nn.Module) -> ModelInfo:
    """The :class:`ModelInfo` of a model made by :func:`load`."""
    found = getattr(model, "xaikit_info", None)
    if not isinstance(found, ModelInfo):
        raise TypeError("this model was not made by xaikit.models.load; it carries no ModelInfo")
    return found


def cache_path(weights_entry) -> Path:
    """Where torch keeps the file of a torchvision weights entry (``<hub dir>/checkpoints``)."""
    filename = os.path.basename(urlparse(weights_entry.url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _builder_kwargs(name: str, task: str, entry) -> dict:
    """Keyword arguments that make torchvision's builder match ``entry``'s state dict.

    They mirror what each builder does itself when given weights (``_ovewrite_named_param``),
    without letting it download anything.
    """
    kwargs = {}
    if task == "detection":
        kwargs["weights_backbone"] = None
    if entry is None:
        return kwargs
    meta = entry.meta
    if "categories" in meta and meta["categories"] is not None:
        kwargs["num_classes"] = len(meta["categories"])
    if name in ("inception_v3", "googlenet"):
        kwargs.update(transform_input=True, aux_logits=True, init_weights=False)
    elif name.startswith("vit_"):
        kwargs["image_size"] = meta["min_size"][0]
    elif name == "maxvit_t":
        kwargs["input_size"] = meta["min_size"]
    return kwargs


def _freeze_batch_norm(module: nn.Module) -> None:
    """Swap ``BatchNorm2d`` for ``FrozenBatchNorm2d`` (same eps), as trained detectors have."""
    for child_name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, child_name, FrozenBatchNorm2d(child.num_features, eps=child.eps))
        else:
            _freeze_batch_norm(child)


def _match_pretrained_build(model: nn.Module, name: str) -> None:
    """Module changes torchvision's builders make when they load weights."""
    if name in _FROZEN_BATCH_NORM:
        _freeze_batch_norm(model.backbone.body)


def _drop_auxiliary_heads(model: nn.Module, name: str) -> None:
    """As torchvision does after loading pretrained Inception / GoogLeNet weights."""
    if name == "inception_v3":
        model.aux_logits, model.AuxLogits = False, None
    elif name == "googlenet":
        model.aux_logits, model.aux1, model.aux2 = False, None, None


def _read_state_dict(path: Path) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ValueError(f"{path} does not hold a state dict; got {type(state).__name__}")
    if state and all(k.startswith("module.") for k in state):  # saved from DataParallel
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def _resolve_weights(name: str, weights, download: bool = False, progress: bool = True):
    """``(entry, file)`` for the ``weights`` argument; ``entry`` gives the preset metadata."""
    enum = get_model_weights(name)
    if weights is None:
        return None, None
    if isinstance(weights, Path) or (
        isinstance(weights, str) and (Path(weights).suffix or Path(weights).is_file())
    ):
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"weights file not found: {path}")
        return enum.DEFAULT, path
    if isinstance(weights, enum):
        entry = weights
    elif isinstance(weights, str):
        valid = ["DEFAULT", *enum.__members__]
        if weights not in valid:
            raise ValueError(f"unknown weights {weights!r} for {name}; valid: {', '.join(valid)}")
        entry = enum.DEFAULT if weights == "DEFAULT" else enum[weights]
    else:
        raise TypeError(
            f"weights must be 'DEFAULT', an entry name, a path or None; got {type(weights)}"
        )
    path = cache_path(entry)
    if not path.is_file():
        _fetch(name, enum.__name__, entry, path, download, progress)
    return entry, path


def _fetch(name: str, enum_name: str, entry, path: Path, allowed: bool, progress: bool) -> None:
    """Download ``entry``'s file into the torch cache as torchvision does, or say how to."""
    described = f"torchvision weights {enum_name}.{entry.name} for {name!r}"
    if not allowed or _download.offline():
        why = "download=False" if not allowed else f"{_download.OFFLINE_VARIABLE} is set"
        raise FileNotFoundError(
            f"{described} are not in the torch cache and {why}: {path.name} is missing from "
            f"{path.parent}. Fetch {entry.url} on a machine with network access and put it in "
            "that folder (or pass weights=<path to a state dict>, or weights=None for random "
            "weights)."
        )
    match = torch.hub.HASH_REGEX.search(path.name)
    try:
        _download.download(
            entry.url, path, sha256=match.group(1) if match else None, progress=progress
        )
    except _download.DownloadError as error:
        raise FileNotFoundError(f"{described}: {error}") from error


def load(
    name: str,
    weights="DEFAULT",
    device=None,
    *,
    download: bool = True,
    progress: bool = True,
    **builder_kwargs,
) -> nn.Module:
    """Load a model by name, in eval mode, with its preprocessing attached.

    torchvision classifiers, detectors (Faster R-CNN, RetinaNet, FCOS, SSD / SSDlite) and video
    classifiers (R3D, MC3, R(2+1)D, S3D, MViT, Swin3D) come back as the torchvision module
    itself, so layer names are torchvision's (``"features.28"``, ``"layer4"``). Its
    ``xaikit_info`` (see :func:`info`) holds the preprocessing, which maps frames to input and
    records the inverse mapping, and the class names.

    Args:
        name: A name from :func:`available` (aliases such as ``"retinanet"`` and ``"mvit"``
            included).
        weights: ``"DEFAULT"`` (or a torchvision weights entry name such as ``"IMAGENET1K_V1"``)
            loads that file from the torch cache (``<torch.hub.get_dir()>/checkpoints``), and
            downloads it there first when it is missing, as torchvision does; a path loads a
            state dict file; ``None`` gives random weights. Files are read with
            ``torch.load(weights_only=True)``. Demo zoo models load their files from the
            package (``"DEFAULT"``; ``"gated"`` is demo-actions' layer-wise gated variant).
        device: ``None`` picks CUDA, then MPS, then CPU.
        download: Fetch a missing torchvision file from its URL (checked against the SHA-256
            prefix in its name, written atomically). ``False``, or ``XAIKIT_OFFLINE=1`` in the
            environment, never touches the network.
        progress: Show a progress bar while downloading.
        **builder_kwargs: Passed to the torchvision builder (e.g. ``num_classes`` for a
            fine-tuned state dict).

    Returns:
        The model, in eval mode on ``device``.

    Raises:
        ValueError: unknown name (the message lists the valid ones) or weights entry.
        FileNotFoundError: the weights file is missing and cannot be downloaded (offline,
            ``download=False``, no network, a hash mismatch): the message names the file, its
            URL and the folder it belongs in; for a demo model, the command that reproduces it.
        RuntimeError: the state dict does not fit the architecture.

    Examples:
        >>> import numpy as np
        >>> model = load("resnet18", weights=None, device="cpu")
        >>> x, mappings = info(model).preprocess(np.zeros((480, 640, 3), np.uint8), device="cpu")
        >>> model(x).shape, info(model).task, len(info(model).categories), model.training
        (torch.Size([1, 1000]), 'classification', 1000, False)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string; got {type(name).__name__}")
    if name in DEMO_MODELS:
        if builder_kwargs:
            raise TypeError(f"demo model {name!r} takes no builder arguments")
        from xaikit.models.zoo.loading import load_demo

        return load_demo(name, weights=weights, device=device)
    name = ALIASES.get(name, name)
    tasks = _names_by_task()
    task = next((t for t, names in tasks.items() if name in names), None)
    if task is None:
        listing = "; ".join(f"{t}: {', '.join(names)}" for t, names in available().items())
        raise ValueError(f"unknown model name {name!r}. Valid names are {listing}")

    entry, path = _resolve_weights(name, weights, download, progress)
    kwargs = _builder_kwargs(name, task, entry)
    kwargs.update(builder_kwargs)
    model = get_model_builder(name)(weights=None, **kwargs)
    if entry is not None:
        _match_pretrained_build(model, name)
    if path is not None:
        try:
            model.load_state_dict(_read_state_dict(path), strict=True)
        except RuntimeError as error:
            raise RuntimeError(f"{path} does not fit {name}: {error}") from None
    if entry is not None:
        _drop_auxiliary_heads(model, name)

    preset_entry = entry if entry is not None else get_model_weights(name).DEFAULT
    categories = preset_entry.meta.get("categories")
    if "num_classes" in builder_kwargs:
        categories = None
    if weights == "DEFAULT":
        described = f"DEFAULT -> {entry.name}"
    else:
        described = None if weights is None else str(weights)
    model.xaikit_info = ModelInfo(
        name=name,
        task=task,
        preprocess=PresetPreprocess(preset_entry.transforms(), task),
        categories=list(categories) if categories is not None else None,
        weights=described,
    )
    return model.eval().to(resolve_device(device))
