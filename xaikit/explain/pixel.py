"""Pixel-level methods: Guided Backprop, Guided Grad-CAM, Integrated Gradients.

Each runs its own pass (Guided Backprop changes how ReLUs back-propagate, Integrated
Gradients evaluates the model along a path) and uses the key ``"input"`` (Guided Grad-CAM:
one map per layer). The displayed map (``Explanation.maps``) is the attribution summed over
the colour channels, ``(B, H, W)`` (``(B, T, H, W)`` for video), then ``|a| / max |a|`` per
sample. ``Explanation.raw`` is that channel sum for Guided Backprop and Guided Grad-CAM, and
the per-channel attribution ``(B, C, H, W)`` (``(B, C, T, H, W)``) for Integrated Gradients,
as captum returns it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

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


UPSAMPLE_MODES = ("bilinear", "nearest")


def cam_at_input(cam: torch.Tensor, size: tuple[int, ...], mode: str) -> torch.Tensor:
    """Resize a ``(B, *s)`` Grad-CAM to ``(B, *size)``: ``"bilinear"`` (trilinear for video,
    half-pixel centres) or ``"nearest"`` (``torch`` nearest: each cell becomes a block).

    Examples:
        >>> import torch
        >>> cam = torch.tensor([[[0.0, 4.0]]])                  # (1, 1, 2)
        >>> cam_at_input(cam, (1, 4), "nearest").tolist()
        [[[0.0, 0.0, 4.0, 4.0]]]
        >>> cam_at_input(cam, (1, 4), "bilinear").tolist()
        [[[0.0, 1.0, 3.0, 4.0]]]
    """
    if mode not in UPSAMPLE_MODES:
        raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}; got {mode!r}")
    if mode == "bilinear":
        return upsample(cam, size)
    return F.interpolate(cam.unsqueeze(1), size=size, mode="nearest").squeeze(1)


@register(
    "guided_gradcam",
    options=("upsample",),
    needs_gradients=True,
    relu=False,
    normalise="absmax",
)
def run_guided_gradcam(context) -> dict[str, LayerMap]:
    """Guided Grad-CAM (Selvaraju et al., Sec. 3.2): Guided Backprop ``(B, C, *S)`` times the
    ReLU'd Grad-CAM of each layer resized to the input, summed over channels, one map per
    layer.

    Option ``upsample``: ``"bilinear"`` (default; trilinear for video) or ``"nearest"``.
    The default is the paper's (Grad-CAM is "upsampled to the input image resolution using
    bilinear interpolation" before the product) and the resize every other CAM of this
    package uses for its displayed map, so the guided map is Guided Backprop times the
    Grad-CAM shown next to it. captum's ``GuidedGradCam`` defaults to ``"nearest"`` (each
    Grad-CAM cell becomes a block), which ``upsample="nearest"`` reproduces.
    """
    mode = context.options.get("upsample", "bilinear")
    guided = guided_backprop_attribution(context)
    results = {}
    for layer in context.layer_names:
        cam = gradcam(context.activations[layer], context.gradients[layer]).clamp_min(0)
        product = (guided * cam_at_input(cam, context.input_size, mode).unsqueeze(1)).sum(dim=1)
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
    """Integrated Gradients (Sundararajan et al., Eq. 1) from a black (zero) baseline.

    ``IG_i = (x_i - x0_i) * sum_k w_k dF/dx_i(x0 + a_k (x - x0))`` with Gauss-Legendre nodes
    ``a_k`` and weights ``w_k`` on [0, 1] (``steps`` of them, default 50; captum's default
    rule), the path points forwarded ``batch_size`` at a time. ``raw["input"]`` is ``IG`` per
    input element ``(B, C, *S)``, captum's ``multiply_by_inputs=True`` attribution, whose
    sum approximates ``F(x) - F(x0)`` (completeness, Prop. 1); ``maps["input"]`` is its
    channel sum ``|sum_c IG_c| / max`` for display.
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
    return {"input": LayerMap(attribution, attribution.sum(dim=1))}
