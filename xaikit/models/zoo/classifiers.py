"""demo-shapes and demo-actions: their architecture, data, recipe, training and scoring.

``train(name, folder)`` generates the training set from its seeds, trains, writes the weights
and the model card into ``folder``, then loads the result the way :func:`xaikit.models.load`
does and scores it on the held-out set; the card records that score.
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torchvision.transforms._presets import ImageClassification, VideoClassification

from xaikit._runtime import device as resolve_device
from xaikit.models.zoo import cards, datasets
from xaikit.models.zoo.resnet3d import STAGES, GatedResNet3D, ResNet3D
from xaikit.models.zoo.training import fit_classifier, predict, seed_everything
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
        return GatedResNet3D(classes, architecture["widths"], architecture["temporal_bins"])
    raise ValueError(f"card of {name!r} names an unknown architecture {kind!r}")


def make_data(name: str, recipe: Recipe, items: int, seed: int):
    """``(items, labels, classes)``: uint8 ``(N, H, W, 3)`` images or ``(N, T, H, W, 3)`` clips."""
    size = (recipe.input_size[1], recipe.input_size[0])  # the generators take (width, height)
    if name == "demo-shapes":
        return datasets.shape_set(items, size, seed, CHUNK[name], recipe.objects, recipe.dominance)
    return datasets.action_set(items, recipe.frames, size, seed, CHUNK[name])


def _flip_images(batch: torch.Tensor, labels: torch.Tensor, generator: torch.Generator):
    """Random horizontal and vertical flips of ``(B, 3, H, W)`` images (labels unchanged)."""
    flip = torch.rand(2, len(batch), generator=generator) < 0.5
    batch = torch.where(flip[0, :, None, None, None], batch.flip(-1), batch)
    return torch.where(flip[1, :, None, None, None], batch.flip(-2), batch), labels


def score(name: str, model: nn.Module, seed: int, items: int) -> float:
    """Accuracy of a loaded demo classifier on ``items`` held-out items made from ``seed``."""
    recipe = RECIPES[name]
    data, labels, _ = make_data(name, recipe, items, datasets.check_held_out(seed))
    predicted = predict(model, data, model.xaikit_info.preprocess)
    return float((predicted == labels).mean())


def _variants(name: str) -> dict[str, dict]:
    """Architecture entries (less the class names) of each weights file of ``name``."""
    recipe = RECIPES[name]
    if name == "demo-shapes":
        return {"DEFAULT": {"class": "VGG16Narrow", "widths": list(recipe.widths)}}
    return {
        "DEFAULT": {"class": "ResNet3D", "widths": list(recipe.widths)},
        "gated": {"class": "GatedResNet3D", "widths": list(recipe.widths), "temporal_bins": 2},
    }


def train(
    name: str,
    folder: Path,
    device=None,
    *,
    train_items: int | None = None,
    held_out_items: int | None = None,
    max_steps: int | None = None,
) -> dict:
    """Train ``name`` from its seed, write its weights and card into ``folder``; return the card.

    ``train_items``, ``held_out_items`` and ``max_steps`` shrink the run (smoke tests); the card
    records what was actually done.
    """
    from xaikit.models.zoo.loading import load_demo

    recipe = RECIPES[name]
    device = resolve_device(device)
    train_items = train_items or recipe.train_items
    held_out_items = held_out_items or recipe.held_out_items
    started = time.perf_counter()
    datasets.check_training(train_items, datasets.TRAINING_SEED, CHUNK[name])
    data, labels, classes = make_data(name, recipe, train_items, datasets.TRAINING_SEED)
    # The presets take (N, 3, H, W) images and (N, T, 3, H, W) clips.
    inputs = torch.from_numpy(data).movedim(-1, -3).contiguous()
    targets = torch.from_numpy(labels)
    transform = preset(name, recipe.input_size)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files, parameters, seconds = {}, {}, {}
    for variant, architecture in _variants(name).items():
        architecture["classes"] = list(classes)
        tick = time.perf_counter()
        generator = seed_everything(recipe.seed)
        model = build(name, architecture)
        fit_classifier(
            model,
            inputs,
            targets,
            transform,
            epochs=recipe.epochs,
            batch_size=recipe.batch_size,
            lr=recipe.lr,
            weight_decay=recipe.weight_decay,
            generator=generator,
            device=device,
            augment=_flip_images if name == "demo-shapes" else None,
            max_steps=max_steps,
            desc=f"{name} {variant}",
        )
        filename = f"{name}.pt" if variant == "DEFAULT" else f"{name}-{variant}.pt"
        torch.save(model.cpu().state_dict(), folder / filename)
        files[variant] = {"file": filename, "sha256": cards.sha256(folder / filename)}
        files[variant]["architecture"] = architecture
        parameters[variant] = sum(p.numel() for p in model.parameters())
        seconds[variant] = round(time.perf_counter() - tick, 1)
    card = {
        "name": name,
        "task": "classification" if name == "demo-shapes" else "video",
        "classes": list(classes),
        "input_size": list(recipe.input_size),
        "frames": recipe.frames,
        "normalization": {"mean": list(MEAN), "std": list(STD), "scale": "x / 255"},
        "layers": LAYERS[name],
        "weights": files,
        "parameters": parameters,
        "data": {
            "generator": "xaikit.data.synthetic."
            + ("shapes" if name == "demo-shapes" else "actions"),
            "train": {
                "items": train_items,
                "first_seed": datasets.TRAINING_SEED,
                "chunk": CHUNK[name],
            },
            "held_out": {"items": held_out_items, "first_seed": datasets.CARD_SEED},
            "label": "class of the largest object (second largest at most `dominance` of its area)"
            if name == "demo-shapes"
            else "action",
        },
        "recipe": {
            **asdict(recipe),
            "optimizer": "AdamW",
            "schedule": "one-cycle",
            "loss": "cross-entropy",
            "augmentation": "random h/v flips" if name == "demo-shapes" else "none",
            "max_steps": max_steps,
        },
        "training": {
            "seconds": seconds,
            "device": str(device),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "machine": platform.machine(),
        },
    }
    cards.write_card(card, folder)
    held_out = {}
    for variant in files:
        model = load_demo(name, weights=variant, device=device, folder=folder)
        held_out[variant] = score(name, model, datasets.CARD_SEED, held_out_items)
    card["scores"] = {"held_out_accuracy": held_out}
    card["training"]["total_seconds"] = round(time.perf_counter() - started, 1)
    cards.write_card(card, folder)
    return card
