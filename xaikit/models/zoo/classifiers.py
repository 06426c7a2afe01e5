"""demo-shapes and demo-actions: their architecture, data, recipe and augmentation.

The fitting loop is :func:`xaikit.models.zoo.training.fit_classifier`; training from the seed,
held-out scoring and the model card are :mod:`xaikit.study.zoo` (``python -m xaikit.study.zoo
NAME``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torchvision.transforms._presets import ImageClassification, VideoClassification

from xaikit.models.zoo import datasets
from xaikit.models.zoo.resnet3d import STAGES, GatedResNet3D, ResNet3D
from xaikit.models.zoo.vgg import VGG16Narrow

#: Normalisation of every demo classifier's input: ``(x / 255 - mean) / std``.
MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


@dataclass(frozen=True)
class Recipe:
    """Data and optimisation settings of one demo classifier (all recorded in its card)."""

    input_size: tuple[int, int]  # (H, W)
    widths: tuple[int, ...]
    train_items: int
    held_out_items: int
    epochs: float
    batch_size: int
    lr: float
    weight_decay: float = 5e-4
    seed: int = 0
    frames: int | None = None  # clips only
    objects: tuple[int, int] | None = None  # shapes only: objects per image (inclusive range)
    dominance: float | None = None  # shapes only: largest object's lead (see shape_set)


RECIPES = {
    "demo-shapes": Recipe(
        (64, 64), (16, 32, 48, 64, 96), 10_000, 1_000, 8, 64, 2e-3, objects=(1, 3), dominance=0.6
    ),
    "demo-actions": Recipe((64, 64), (8, 16, 32, 48, 64), 1_024, 512, 3, 32, 3e-3, frames=8),
}
#: Items per generator call (one seed each) when making a set.
CHUNK = {"demo-shapes": 256, "demo-actions": 64}
#: Layers worth explaining, shallow to deep.
LAYERS = {
    "demo-shapes": [f"features.conv{n}" for n in range(1, 6)],
    "demo-actions": list(STAGES),
}


def preset(name: str, input_size) -> nn.Module:
    """The torchvision preset (resize, centre crop, normalise) of a demo classifier."""
    height, width = input_size
    if name == "demo-shapes":
        return ImageClassification(crop_size=height, resize_size=height, mean=MEAN, std=STD)
    return VideoClassification(
        crop_size=(height, width), resize_size=(height, width), mean=MEAN, std=STD
    )


def build(name: str, architecture: dict) -> nn.Module:
    """The untrained network described by a card's ``architecture`` entry."""
    kind = architecture["class"]
    classes = len(architecture["classes"])
    if kind == "VGG16Narrow":
        return VGG16Narrow(classes, architecture["widths"])
    if kind == "ResNet3D":
        return ResNet3D(classes, architecture["widths"])
    if kind == "GatedResNet3D":
        return GatedResNet3D(
            classes,
            architecture["widths"],
            frames=architecture["frames"],
            temporal_factor=architecture["temporal_factor"],
        )
    raise ValueError(f"card of {name!r} names an unknown architecture {kind!r}")


def make_data(name: str, recipe: Recipe, items: int, seed: int):
    """``(items, labels, classes)``: uint8 ``(N, H, W, 3)`` images or ``(N, T, H, W, 3)`` clips."""
    shape = recipe.input_size
    if name == "demo-shapes":
        return datasets.shape_set(items, shape, seed, CHUNK[name], recipe.objects, recipe.dominance)
    return datasets.action_set(items, recipe.frames, shape, seed, CHUNK[name])


def flip_images(batch: torch.Tensor, labels: torch.Tensor, generator: torch.Generator):
    """Random horizontal and vertical flips of ``(B, 3, H, W)`` images (labels unchanged)."""
    flip = torch.rand(2, len(batch), generator=generator) < 0.5
    batch = torch.where(flip[0, :, None, None, None], batch.flip(-1), batch)
    return torch.where(flip[1, :, None, None, None], batch.flip(-2), batch), labels


def variants(name: str) -> dict[str, dict]:
    """Architecture entries (less the class names) of each weights file of ``name``."""
    recipe = RECIPES[name]
    if name == "demo-shapes":
        return {"DEFAULT": {"class": "VGG16Narrow", "widths": list(recipe.widths)}}
    return {
        "DEFAULT": {"class": "ResNet3D", "widths": list(recipe.widths)},
        "gated": {
            "class": "GatedResNet3D",
            "widths": list(recipe.widths),
            "frames": recipe.frames,
            "temporal_factor": 2,  # the paper's t
        },
    }
