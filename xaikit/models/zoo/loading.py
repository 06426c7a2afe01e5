"""Load a demo zoo model from its card and weights, with its metadata attached."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from xaikit._runtime import device as resolve_device
from xaikit.models.zoo import cards

#: The demo detectors (Darknet cfg + weights; see :mod:`xaikit.models.zoo.detector`).
DETECTOR_NAMES = ("demo-mice", "demo-mice-full")
#: The demo names and how each is trained.
NAMES = ("demo-shapes", "demo-actions", *DETECTOR_NAMES)


def _weights_entry(name: str, card: dict, weights) -> dict:
    entries = card["weights"]
    if weights not in entries:
        raise ValueError(
            f"unknown weights {weights!r} for {name!r}; valid: {', '.join(map(repr, entries))} "
            "(or None for random weights)"
        )
    return entries[weights]


def load_demo(name: str, weights="DEFAULT", device=None, folder: Path | None = None) -> nn.Module:
    """A demo model in eval mode on ``device``, with ``xaikit_info`` (see ``xaikit.models.info``).

    Args:
        name: ``"demo-shapes"``, ``"demo-actions"``, ``"demo-mice"`` (YOLOv3-tiny-style) or
            ``"demo-mice-full"`` (YOLOv3-style, three scales).
        weights: A weights entry of the card: ``"DEFAULT"`` (all four), ``"gated"``
            (demo-actions: the layer-wise gated variant); ``None`` gives random weights.
        device: ``None`` picks CUDA, then MPS, then CPU.
        folder: Where the card and weights are; defaults to the package's ``zoo/weights``.

    Raises:
        FileNotFoundError: the card or a weights file is missing; the message names the file
            and the command that reproduces it.
        ValueError: an unknown name or weights entry.

    Examples:
        >>> load_demo("demo-nothing")
        Traceback (most recent call last):
        ...
        ValueError: unknown demo model 'demo-nothing'; valid: demo-shapes, demo-actions, \
demo-mice, demo-mice-full
    """
    from xaikit.models.registry import ModelInfo

    if name not in NAMES:
        raise ValueError(f"unknown demo model {name!r}; valid: {', '.join(NAMES)}")
    folder = Path(folder or cards.WEIGHTS_DIR)
    card = cards.read_card(name, folder)
    key = "DEFAULT" if weights is None else weights
    entry = _weights_entry(name, card, key)
    path = None if weights is None else cards.require_file(folder / entry["file"], name)
    if name in DETECTOR_NAMES:
        from xaikit.models.zoo.detector import load_detector

        model, preprocess = load_detector(card, folder, path)
    else:
        from xaikit.models.torchvision_preprocess import PresetPreprocess
        from xaikit.models.zoo.classifiers import build, preset

        model = build(name, entry["architecture"])
        if path is not None:
            state = torch.load(path, map_location="cpu", weights_only=True)
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as error:
                raise RuntimeError(
                    f"{path} does not fit the card's architecture of {name!r}: {error}. "
                    f"Reproduce both with: {cards.reproduce_command(name)}"
                ) from None
        preprocess = PresetPreprocess(preset(name, card["input_size"]), card["task"])
    model.xaikit_info = ModelInfo(
        name=name,
        task=card["task"],
        preprocess=preprocess,
        categories=list(card["classes"]),
        weights=None if path is None else str(path),
        layers=list(card["layers"]),
        card=card,
    )
    return model.eval().to(resolve_device(device))
