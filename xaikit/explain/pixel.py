"""Pixel-level methods: Guided Backprop, Guided Grad-CAM, Integrated Gradients.

Each runs its own pass (Guided Backprop changes how ReLUs back-propagate, Integrated
Gradients evaluates the model along a path). The attribution ``(B, C, H, W)`` is summed over
the colour channels into the raw map ``(B, H, W)`` (``(B, T, H, W)`` for video) under the
key ``"input"``; the displayed map is ``|raw| / max |raw|`` per sample.
"""

from __future__ import annotations

import numpy as np
import torch

from xaikit.explain._maps import upsample
from xaikit.explain.gradient import gradcam
from xaikit.explain.hooks import guided_relus, input_copy
from xaikit.explain.registry import LayerMap, register


def input_gradient(context, x: torch.Tensor, samples: torch.Tensor) -> torch.Tensor:
    """Gradient of the explained score of ``samples`` with respect to the input ``x``, one
    forward and backward per ``batch_size`` rows (each on a copy of them)."""
    gradients = []
    for rows in torch.arange(len(x), device=x.device).split(context.batch_size):
        leaf, chunk = input_copy(x[rows], requires_grad=True)
        with context.capture.paused(), torch.enable_grad(), context.autocast_context():
            scores = context.sample_scores(context.model(chunk), samples[rows])
            (gradient,) = torch.autograd.grad(scores.sum(), leaf)
        gradients.append(gradient.detach().float())
    return torch.cat(gradients)


def guided_backprop_attribution(context) -> torch.Tensor:
    """Guided Backprop ``(B, C, *S)``: input gradient with every ReLU passing only positive
    gradients (any batch size; the ReLUs behave normally again afterwards)."""
    samples = torch.arange(len(context.x), device=context.x.device)
    with guided_relus(context.model):
        return input_gradient(context, context.x, samples)


@register("guided_backprop", uses_layers=False, relu=False, normalise="absmax")
def run_guided_backprop(context) -> dict[str, LayerMap]:
    """Guided Backprop (Springenberg et al.), channel-summed."""
    return {"input": LayerMap(guided_backprop_attribution(context).sum(dim=1))}


@register("guided_gradcam", needs_gradients=True, relu=False, normalise="absmax")
def run_guided_gradcam(context) -> dict[str, LayerMap]:
    """Guided Grad-CAM: Guided Backprop times the ReLU'd Grad-CAM of each layer, upsampled
    (bilinear / trilinear) to the input; channel-summed, one map per layer."""
    guided = guided_backprop_attribution(context)
    results = {}
    for layer in context.layer_names:
        cam = gradcam(context.activations[layer], context.gradients[layer]).clamp_min(0)
        product = (guided * upsample(cam, context.input_size).unsqueeze(1)).sum(dim=1)
        results[layer] = LayerMap(product, product)
    return results


@register(
    "integrated_gradients",
    options=("steps",),
    uses_layers=False,
    relu=False,
    normalise="absmax",
)
def run_integrated_gradients(context) -> dict[str, LayerMap]:
    """Integrated Gradients (Sundararajan et al.) from a black (zero) baseline.

    ``(x - x0) * sum_i w_i dF/dx(x0 + a_i (x - x0))`` with Gauss-Legendre nodes ``a_i`` and
    weights ``w_i`` on [0, 1] (``steps`` of them, default 50; Captum's default rule), the
    path points forwarded ``batch_size`` at a time.
    """
    from tqdm.auto import tqdm

    steps = int(context.options.get("steps", 50))
    if steps < 1:
        raise ValueError(f"steps must be >= 1; got {steps}")
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    alphas = torch.tensor(0.5 * (nodes + 1), dtype=context.x.dtype, device=context.x.device)
    weights = torch.tensor(0.5 * weights, dtype=context.x.dtype, device=context.x.device)
    x = context.x
    baseline = torch.zeros_like(x)
    batch = len(x)
    total = torch.zeros_like(x)
    per_chunk = max(1, context.batch_size // batch)
    starts = range(0, steps, per_chunk)
    for start in tqdm(
        starts, desc="integrated gradients", disable=not context.progress, leave=False
    ):
        chunk = slice(start, min(start + per_chunk, steps))
        a = alphas[chunk].reshape(-1, 1, *([1] * (x.ndim - 1)))
        path = (baseline + a * (x - baseline)).reshape(-1, *x.shape[1:])
        samples = torch.arange(batch, device=x.device).repeat(a.shape[0])
        gradient = input_gradient(context, path, samples).reshape(-1, *x.shape)
        w = weights[chunk].reshape(-1, *([1] * x.ndim))
        total += (w * gradient).sum(dim=0)
    attribution = (x - baseline) * total
    return {"input": LayerMap(attribution.sum(dim=1))}
