"""The training loop of the demo classifiers, and batched prediction through a preprocessing.

Training is deterministic from its seed on the CPU (one ``torch.Generator`` drives the
shuffling and the augmentation; the model is initialised after :func:`seed_everything`).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from xaikit._runtime import model_device


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU generator seeded with ``seed`` for batches.

    Examples:
        >>> a = torch.randn(2, generator=seed_everything(3))
        >>> torch.equal(a, torch.randn(2, generator=seed_everything(3)))
        True
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (seeds code that uses the legacy global generator)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def fit_classifier(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    preset: Callable[[torch.Tensor], torch.Tensor],
    *,
    epochs: float,
    batch_size: int,
    lr: float,
    weight_decay: float,
    generator: torch.Generator,
    device: torch.device,
    augment: Callable | None = None,
    max_steps: int | None = None,
    desc: str = "train",
) -> list[float]:
    """Train ``model`` with AdamW, a one-cycle learning rate and cross-entropy.

    Args:
        model: The classifier; it is moved to ``device`` and left in eval mode.
        inputs: uint8 items in the layout ``preset`` takes: images ``(N, 3, H, W)`` or clips
            ``(N, T, 3, H, W)``; they stay on the CPU, one batch at a time goes to ``device``.
        labels: ``(N,)`` int64 class indices.
        preset: uint8 batch on ``device`` -> normalised model input (the model's preprocessing).
        epochs: Passes over the data (a fraction is allowed).
        batch_size: Items per step.
        lr: Peak learning rate.
        weight_decay: AdamW weight decay.
        generator: CPU generator for shuffling and ``augment``.
        device: Where to train.
        augment: Optional ``(uint8 batch, labels, generator) -> (batch, labels)``.
        max_steps: Stop after this many steps (for smoke runs); the schedule still spans them.
        desc: Label of the progress bar.

    Returns:
        The loss of every step.
    """
    if len(inputs) != len(labels) or len(inputs) == 0:
        raise ValueError(f"need as many labels as inputs (> 0); got {len(inputs)}, {len(labels)}")
    steps_per_epoch = max(1, len(inputs) // batch_size)
    total = max(1, round(epochs * steps_per_epoch))
    if max_steps is not None:
        total = min(total, max_steps)
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total)
    losses: list[float] = []
    order = torch.empty(0, dtype=torch.long)
    bar = tqdm(range(total), desc=desc, unit="step")
    for step in bar:
        start = (step % steps_per_epoch) * batch_size
        if start == 0:
            order = torch.randperm(len(inputs), generator=generator)
        index = order[start : start + batch_size]
        batch, target = inputs[index], labels[index]
        if augment is not None:
            batch, target = augment(batch, target, generator)
        logits = model(preset(batch.to(device)))
        loss = F.cross_entropy(logits, target.to(device))
        descend(loss, optimizer, schedule, losses, bar)
    return losses


def descend(loss, optimizer, schedule, losses: list[float], bar) -> None:
    """One optimiser and schedule step on ``loss``; log it, and every 20 steps show the mean
    of the last 20 on the progress ``bar``."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    schedule.step()
    losses.append(loss.item())
    if len(losses) % 20 == 1:
        bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3g}")


@torch.no_grad()
def class_probabilities(
    model: nn.Module, items: np.ndarray, preprocess, batch_size: int = 64
) -> np.ndarray:
    """Softmax class probabilities of each item, through the model's own preprocessing.

    Args:
        model: A classifier in eval mode.
        items: ``(N, H, W, 3)`` uint8 frames or ``(N, T, H, W, 3)`` clips.
        preprocess: The model's ``xaikit_info.preprocess`` (``items, device -> (input, maps)``).
        batch_size: Items per forward pass.

    Returns:
        ``(N, K)`` float32 probabilities.
    """
    device = model_device(model)
    probabilities = []
    for start in range(0, len(items), batch_size):
        x, _ = preprocess(items[start : start + batch_size], device=device)
        probabilities.append(model(x).float().softmax(dim=1).cpu())
    return torch.cat(probabilities).numpy()


def predict(model: nn.Module, items: np.ndarray, preprocess, batch_size: int = 64) -> np.ndarray:
    """Predicted class of each item (:func:`class_probabilities`' argmax): ``(N,)`` int64."""
    return class_probabilities(model, items, preprocess, batch_size).argmax(axis=1)
