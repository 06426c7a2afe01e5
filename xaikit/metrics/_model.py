"""Running a model for a metric: its device, eval mode restored afterwards, batched scores."""

from __future__ import annotations

import contextlib

import numpy as np

from xaikit._arrays import to_numpy


def run_device(model, device=None):
    """The device to run ``model`` on without moving it: the one it lives on.

    ``device=None`` takes :func:`xaikit._runtime.model_device`; an explicit device must be of
    the type the model's tensors are on, since moving it would change it (a model without
    tensors runs anywhere).
    """
    from xaikit._runtime import device as resolve_device
    from xaikit._runtime import model_device

    home = model_device(model)
    if device is None:
        return home
    resolved = resolve_device(device)
    holds_tensors = any(True for _ in model.parameters()) or any(True for _ in model.buffers())
    if holds_tensors and home.type != resolved.type:
        raise ValueError(
            f"the model is on {home} but device={device!r} was asked for; move the model "
            "there first (metrics do not move models)"
        )
    return resolved


@contextlib.contextmanager
def evaluating(model):
    """Put ``model`` in eval mode, restoring every module's training flag afterwards."""
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, flag in flags:
            module.training = flag


def as_images(images, name: str = "images"):
    """A float ``(B, C, H, W)`` tensor."""
    import torch

    tensor = images if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images))
    if tensor.ndim != 4:
        raise ValueError(f"{name} must be a batch (B, C, H, W); got shape {tuple(tensor.shape)}")
    if tensor.shape[0] == 0:
        raise ValueError(f"{name} is empty; got shape {tuple(tensor.shape)}")
    return tensor.float()


def as_saliency_for(images, saliency):
    """``(B, H, W)`` float64 numpy maps matching the images' batch and spatial size."""
    maps = np.asarray(to_numpy(saliency), dtype=np.float64)
    if maps.ndim == 2:
        maps = maps[None]
    expected = (images.shape[0], *images.shape[2:])
    if maps.shape != expected:
        raise ValueError(
            f"saliency must be (B, H, W) = {expected} to match images {tuple(images.shape)}; got "
            f"{maps.shape} (upsample the maps to the input size first)"
        )
    return maps


def class_probabilities(
    model, make_inputs, count: int, targets, device, batch_size: int, what: str
):
    """Softmax probability of ``targets[i]`` for input ``i`` of ``count``, ``batch_size`` at a time.

    ``make_inputs(start, stop)`` builds inputs ``start .. stop - 1`` as a ``(n, C, H, W)`` tensor,
    so the perturbed images never all sit in memory together.
    """
    import torch
    from tqdm.auto import tqdm

    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    outputs = []
    starts = range(0, count, batch_size)
    with torch.no_grad():
        for start in tqdm(starts, desc=what, leave=False, disable=len(starts) < 8):
            stop = min(start + batch_size, count)
            logits = model(make_inputs(start, stop).to(device)).float()
            picked = targets[start:stop].to(device)
            outputs.append(torch.softmax(logits, dim=1).gather(1, picked[:, None])[:, 0].cpu())
    return torch.cat(outputs).double().numpy()


def resolve_targets(model, images, target, device):
    """``(B,)`` long tensor of classes: the top-1 prediction when ``target`` is None."""
    import torch

    if target is None:
        with torch.no_grad():
            return model(images.to(device)).argmax(dim=1).cpu()
    targets = torch.as_tensor(np.asarray(to_numpy(target))).long().reshape(-1)
    if targets.numel() == 1:
        targets = targets.expand(images.shape[0])
    if targets.numel() != images.shape[0]:
        raise ValueError(
            f"target must be None, one class, or one class per image ({images.shape[0]}); got "
            f"{targets.numel()}"
        )
    return targets
