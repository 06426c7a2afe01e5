"""Perturbation methods: Score-CAM, Ablation-CAM, RISE.

Every perturbed input is forwarded ``batch_size`` at a time, under ``torch.no_grad`` with
the activation capture paused, with a ``tqdm`` progress bar (``progress=False`` hides it).
Scores come from the explained target, with the class of each sample fixed to the one of
the unperturbed pass.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from xaikit._arrays import minmax
from xaikit.explain._maps import upsample
from xaikit.explain.hooks import output_replaced
from xaikit.explain.registry import LayerMap, register


@register("scorecam")
def run_scorecam(context) -> dict[str, LayerMap]:
    """Score-CAM (Wang et al.): each channel, upsampled and min-max normalised, masks the
    input; the softmax over channels of the masked scores weights the channels.

    Masks are upsampled with ``align_corners=True`` like pytorch-grad-cam's
    ``UpsamplingBilinear2d``; one forward per ``batch_size`` (image, channel) pairs.
    """
    x = context.x
    results = {}
    for layer in context.layer_names:
        activation = context.activations[layer]
        batch, channels = activation.shape[:2]
        masks = upsample(activation, context.input_size, align_corners=True)
        masks = minmax(masks.reshape(batch * channels, -1)).reshape(masks.shape)

        def inputs_for(start, stop, masks=masks, channels=channels):
            pairs = torch.arange(start, stop, device=x.device)
            samples, channel = pairs // channels, pairs % channels
            return x[samples] * masks[samples, channel].unsqueeze(1), samples

        scores = context.score_batches(inputs_for, batch * channels, f"score-cam {layer}")
        weights = torch.softmax(scores.reshape(batch, channels), dim=1)
        shape = weights.shape + (1,) * (activation.ndim - 2)
        results[layer] = LayerMap((weights.reshape(shape) * activation).sum(dim=1))
    return results


@register("ablationcam")
def run_ablationcam(context) -> dict[str, LayerMap]:
    """Ablation-CAM (Desai & Ramaswamy): channel weight ``(y - y_k) / y`` where ``y_k`` is the
    score with channel ``k`` of the layer set to zero (the layer's output is replaced through
    a temporary hook; earlier layers are recomputed)."""
    x = context.x
    results = {}
    for layer, module in context.layers:
        activation = context.activations[layer]
        batch, channels = activation.shape[:2]
        ablate: dict[str, torch.Tensor] = {}

        def zero_channels(output, ablate=ablate):
            output = output.clone()
            output[torch.arange(len(output), device=output.device), ablate["channels"]] = 0
            return output

        def inputs_for(start, stop, ablate=ablate, channels=channels):
            pairs = torch.arange(start, stop, device=x.device)
            ablate["channels"] = pairs % channels
            return x[pairs // channels], pairs // channels

        with output_replaced(module, zero_channels):
            scores = context.score_batches(inputs_for, batch * channels, f"ablation-cam {layer}")
        original = context.scores[:, None]
        weights = (original - scores.reshape(batch, channels)) / original
        shape = weights.shape + (1,) * (activation.ndim - 2)
        results[layer] = LayerMap((weights.reshape(shape) * activation).sum(dim=1))
    return results


def rise_masks(
    count: int, size: tuple[int, ...], cells: int, p: float, generator: torch.Generator
) -> torch.Tensor:
    """RISE masks ``(count, 1, *size)``: a ``cells``-grid of Bernoulli(``p``) cells, upsampled
    bilinearly to ``(cells + 1) * ceil(size / cells)`` and cropped at a random shift."""
    height, width = size[-2:]
    cell_h, cell_w = math.ceil(height / cells), math.ceil(width / cells)
    grid = (torch.rand(count, 1, cells, cells, generator=generator) < p).float()
    big = F.interpolate(
        grid,
        size=((cells + 1) * cell_h, (cells + 1) * cell_w),
        mode="bilinear",
        align_corners=False,
    )
    shifts_y = torch.randint(0, cell_h, (count,), generator=generator)
    shifts_x = torch.randint(0, cell_w, (count,), generator=generator)
    masks = torch.stack(
        [
            big[i, :, y : y + height, x : x + width]
            for i, (y, x) in enumerate(zip(shifts_y, shifts_x, strict=True))
        ]
    )
    if len(size) == 3:  # video: the same spatial mask on every frame
        masks = masks.unsqueeze(2).expand(-1, -1, size[0], -1, -1)
    return masks


@register("rise", options=("n_masks", "cells", "p", "seed"), uses_layers=False, relu=False)
def run_rise(context) -> dict[str, LayerMap]:
    """RISE (Petsiuk et al.): ``sum_i score(x * M_i) M_i / (N p)`` over ``n_masks`` random
    masks (options ``n_masks=1000``, ``cells=7``, ``p=0.5``, ``seed=0``)."""
    x = context.x
    count = int(context.options.get("n_masks", 1000))
    cells = int(context.options.get("cells", 7))
    p = float(context.options.get("p", 0.5))
    if count < 1 or cells < 1 or not 0 < p <= 1:
        raise ValueError(
            f"RISE needs n_masks >= 1, cells >= 1 and 0 < p <= 1; got {count}, {cells}, {p}"
        )
    generator = torch.Generator().manual_seed(int(context.options.get("seed", 0)))
    masks = rise_masks(count, context.input_size, cells, p, generator).to(x.device, x.dtype)
    batch = len(x)

    def inputs_for(start, stop):
        pairs = torch.arange(start, stop, device=x.device)
        samples = pairs // count
        return x[samples] * masks[pairs % count], samples

    scores = context.score_batches(inputs_for, batch * count, "rise").reshape(batch, count)
    saliency = torch.einsum("bn,n...->b...", scores, masks[:, 0]) / (count * p)
    return {"input": LayerMap(saliency, saliency)}
