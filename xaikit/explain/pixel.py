"""Pixel-level methods: Guided Backprop, Guided Grad-CAM, Integrated Gradients, Saliency,
Input x Gradient, Deconvolution, SmoothGrad, VarGrad, GradientSHAP and DeepLIFT.

Each runs its own pass (Guided Backprop changes how ReLUs back-propagate, Integrated
Gradients evaluates the model along a path) and uses the key ``"input"`` (Guided Grad-CAM:
one map per layer). The displayed map (``Explanation.maps``) is the attribution summed over
the colour channels, ``(B, H, W)`` (``(B, T, H, W)`` for video), then ``|a| / max |a|`` per
sample. ``Explanation.raw`` is that channel sum for Guided Backprop and Guided Grad-CAM, and
the signed per-channel attribution ``(B, C, H, W)`` (``(B, C, T, H, W)``) for the others, as
captum returns it (Saliency: captum's ``abs=False``; its default ``abs=True`` is
``raw.abs()``).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from xaikit.explain._maps import upsample
from xaikit.explain.gradient import gradcam
from xaikit.explain.hooks import (
    deconvolution_relus,
    guided_relus,
    input_copy,
    rerouted_backward,
)
from xaikit.explain.noisy import noise_generator, noise_std, sample_count
from xaikit.explain.registry import LayerMap, register


def input_gradient(
    context,
    x: torch.Tensor,
    samples: torch.Tensor,
    description: str | None = None,
    rows_per_pass: int | None = None,
) -> torch.Tensor:
    """Gradient of the explained score of ``samples`` with respect to the input ``x``, one
    forward and backward per ``rows_per_pass`` rows (default ``batch_size``; each on a copy
    of them), with a progress bar labelled ``description`` when one is given."""
    from tqdm.auto import tqdm

    chunks = torch.arange(len(x), device=x.device).split(rows_per_pass or context.batch_size)
    hidden = description is None or not context.progress or len(chunks) == 1
    gradients = []
    for rows in tqdm(chunks, desc=description, disable=hidden, leave=False):
        leaf, chunk = input_copy(x[rows], requires_grad=True)
        with context.capture.paused(), torch.enable_grad(), context.autocast_context():
            scores = context.sample_scores(context.model(chunk), samples[rows])
            (gradient,) = torch.autograd.grad(scores.sum(), leaf)
        gradients.append(gradient.detach().float())
    return torch.cat(gradients)


def guided_backprop_attribution(context, x=None, samples=None) -> torch.Tensor:
    """Guided Backprop ``(N, C, *S)`` of ``x`` (default: the explained input; ``samples``:
    the sample each row explains): input gradient with every ReLU passing only positive
    gradients (any batch size; the ReLUs behave normally again afterwards)."""
    x = context.x if x is None else x
    samples = torch.arange(len(x), device=x.device) if samples is None else samples
    with guided_relus(context.model):
        return input_gradient(context, x, samples)


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
        cam = gradcam(context.activations[layer], context.gradients[layer]).sum(dim=1)
        cam = cam.clamp_min(0)
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
    samples = torch.arange(len(context.x), device=context.x.device)
    return pixel_map(integrated_gradients_attribution(context, context.x, samples))


def pixel_map(attribution: torch.Tensor) -> dict[str, LayerMap]:
    """``{"input": LayerMap}`` of a per-channel attribution ``(B, C, *S)``: ``raw`` is the
    attribution itself, the displayed map its channel sum (the engine takes ``|.| / max``)."""
    return {"input": LayerMap(attribution, attribution.sum(dim=1))}


def path_gradients(
    context, x, baseline, samples, alphas, weights, description: str
) -> torch.Tensor:
    """``sum_k w_k dF/dx (x0 + a_k (x - x0))`` ``(N, C, *S)`` for ``N`` inputs ``x`` and
    baselines ``x0`` (both ``(N, C, *S)``), with ``alphas`` and ``weights`` ``(K, N)``: the
    path points of as many steps as fit in ``batch_size`` rows forwarded together."""
    from tqdm.auto import tqdm

    count, steps = len(x), len(alphas)
    shape = (-1, count, *([1] * (x.ndim - 1)))
    per_chunk = max(1, context.batch_size // count)
    starts = range(0, steps, per_chunk)
    one_chunk = len(starts) == 1  # then the bar counts the chunks of rows instead
    total = torch.zeros_like(x)
    bar = tqdm(starts, desc=description, disable=one_chunk or not context.progress, leave=False)
    for start in bar:
        a = alphas[start : start + per_chunk].reshape(shape)
        path = (baseline + a * (x - baseline)).reshape(-1, *x.shape[1:])
        gradient = input_gradient(
            context, path, samples.repeat(len(a)), description if one_chunk else None
        )
        w = weights[start : start + per_chunk].reshape(shape)
        total += (w * gradient.reshape(-1, *x.shape)).sum(dim=0)
    return total


def _count_option(context, name: str, default: int) -> int:
    value = context.options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1; got {value!r}")
    return int(value)


def integrated_gradients_attribution(context, x, samples, baseline=None) -> torch.Tensor:
    """Integrated Gradients ``(N, C, *S)`` of the rows ``x`` (``samples``: the sample each
    explains) from ``baseline`` (default black), ``steps`` Gauss-Legendre nodes."""
    steps = _count_option(context, "steps", 50)
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    as_path = dict(dtype=x.dtype, device=x.device)
    alphas = torch.tensor(0.5 * (nodes + 1), **as_path)[:, None].expand(-1, len(x))
    weights = torch.tensor(0.5 * weights, **as_path)[:, None].expand(-1, len(x))
    baseline = torch.zeros_like(x) if baseline is None else baseline
    total = path_gradients(context, x, baseline, samples, alphas, weights, "integrated gradients")
    return (x - baseline) * total


def saliency_attribution(context, x, samples) -> torch.Tensor:
    """The plain input gradient ``(N, C, *S)`` of the rows ``x`` (``samples``: the sample
    each row explains)."""
    return input_gradient(context, x, samples, "saliency")


def input_x_gradient_attribution(context, x, samples) -> torch.Tensor:
    """``x * dF/dx`` ``(N, C, *S)`` of the rows ``x``."""
    return x * input_gradient(context, x, samples, "input x gradient")


def deconvolution_attribution(context, x, samples) -> torch.Tensor:
    """The input gradient ``(N, C, *S)`` of the rows ``x`` with every ReLU passing
    ``max(grad, 0)`` whatever its input (:func:`~xaikit.explain.hooks.deconvolution_relus`)."""
    with deconvolution_relus(context.model):
        return input_gradient(context, x, samples, "deconvolution")


def _all_samples(context) -> torch.Tensor:
    return torch.arange(len(context.x), device=context.x.device)


PIXEL_OPTIONS = dict(uses_layers=False, relu=False, normalise="absmax")


@register("saliency", **PIXEL_OPTIONS)
def run_saliency(context) -> dict[str, LayerMap]:
    """Saliency (Simonyan, Vedaldi & Zisserman 2014, Sec. 3.1): the gradient ``dF/dx`` of the
    explained score at the input, one backward per ``batch_size`` samples.

    ``raw["input"]`` is the signed gradient per input element ``(B, C, H, W)`` /
    ``(B, C, T, H, W)``: captum's ``Saliency(...).attribute(abs=False)``; captum's default
    ``abs=True`` is ``raw.abs()``. ``maps["input"]`` is ``|sum_c dF/dx_c| / max``, the
    channel sum of the other pixel methods (the paper takes ``max_c |dF/dx_c|``, captum's
    default summed over channels is ``sum_c |dF/dx_c|``: all three agree on one channel).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import xaikit as xk
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 1, bias=False))
        >>> _ = net[1].weight.data.copy_(torch.tensor([[1.0, -2.0, 0.0, 4.0]]))
        >>> x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])            # (1, 1, 2, 2)
        >>> expl = xk.explain(net, x, method="saliency", target=0)
        >>> expl.raw["input"].tolist()                                # F = w . x: dF/dx = w
        [[[[1.0, -2.0], [0.0, 4.0]]]]
        >>> expl.maps["input"].tolist()
        [[[0.25, 0.5], [0.0, 1.0]]]
    """
    return pixel_map(saliency_attribution(context, context.x, _all_samples(context)))


@register("input_x_gradient", **PIXEL_OPTIONS)
def run_input_x_gradient(context) -> dict[str, LayerMap]:
    """Input x Gradient (Shrikumar et al. 2016): ``x * dF/dx`` per input element
    ``(B, C, *S)`` in ``raw["input"]`` (captum's ``InputXGradient``), one backward per
    ``batch_size`` samples; ``maps["input"]`` is ``|sum_c x_c dF/dx_c| / max``.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import xaikit as xk
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 1, bias=False))
        >>> _ = net[1].weight.data.copy_(torch.tensor([[1.0, -2.0, 0.0, 4.0]]))
        >>> x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
        >>> xk.explain(net, x, method="input_x_gradient", target=0).raw["input"].tolist()
        [[[[1.0, -4.0], [0.0, 16.0]]]]
    """
    return pixel_map(input_x_gradient_attribution(context, context.x, _all_samples(context)))


@register("deconvolution", **PIXEL_OPTIONS)
def run_deconvolution(context) -> dict[str, LayerMap]:
    """Deconvolution (Zeiler & Fergus 2014, Sec. 2.1): the input gradient with each ReLU
    back-propagating ``max(grad_out, 0)``, its forward mask ignored (captum's
    ``Deconvolution``), ``(B, C, *S)`` in ``raw["input"]``; one backward per ``batch_size``
    samples. Only ``nn.ReLU`` modules are changed (a functional ``F.relu`` keeps its plain
    gradient, as in captum).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import xaikit as xk
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(2, 2, bias=False), nn.ReLU(),
        ...                     nn.Linear(2, 1, bias=False))
        >>> _ = net[1].weight.data.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        >>> _ = net[3].weight.data.copy_(torch.tensor([[3.0, -1.0]]))
        >>> x = torch.tensor([[[[-1.0, 2.0]]]])                       # (1, 1, 1, 2)
        >>> # the ReLU passes max(3, 0) = 3 on its negative input and max(-1, 0) = 0
        >>> xk.explain(net, x, method="deconvolution", target=0).raw["input"].tolist()
        [[[[3.0, 0.0]]]]
    """
    return pixel_map(deconvolution_attribution(context, context.x, _all_samples(context)))


#: The attributions NoiseTunnel (``smoothgrad``, ``vargrad``) can average: ``(context, x,
#: samples) -> (N, C, *S)``.
NOISE_BASES = {
    "saliency": saliency_attribution,
    "input_x_gradient": input_x_gradient_attribution,
    "deconvolution": deconvolution_attribution,
    "guided_backprop": guided_backprop_attribution,
    "integrated_gradients": integrated_gradients_attribution,
}


def noisy_copies(x, n_samples: int, std: float, generator) -> torch.Tensor:
    """``n_samples`` copies of each row of ``x`` plus Gaussian noise of standard deviation
    ``std`` (input units), ``(B * n_samples, C, *S)`` with the copies of a row together
    (captum's ``repeat_interleave`` order)."""
    shape = (len(x) * n_samples, *x.shape[1:])
    noise = torch.randn(shape, generator=generator, dtype=x.dtype).to(x.device)
    return x.repeat_interleave(n_samples, dim=0) + std * noise


def noise_tunnel(context, kind: str) -> torch.Tensor:
    """captum's ``NoiseTunnel`` over the ``base`` attribution: its mean (``"smoothgrad"``)
    or variance ``E[a^2] - E[a]^2`` (``"vargrad"``) over ``n_samples`` noisy copies of each
    input, ``(B, C, *S)``."""
    base = context.options.get("base", "saliency")
    if base not in NOISE_BASES:
        raise ValueError(f"base must be one of {sorted(NOISE_BASES)}; got {base!r}")
    count = sample_count(context, 5)
    x = context.x
    noisy = noisy_copies(x, count, noise_std(context, 1.0), noise_generator(context))
    samples = _all_samples(context).repeat_interleave(count)
    attributions = NOISE_BASES[base](context, noisy, samples).reshape(len(x), count, *x.shape[1:])
    mean = attributions.mean(dim=1)
    if kind == "smoothgrad":
        return mean
    return (attributions**2).mean(dim=1) - mean * mean


NOISE_OPTIONS = ("base", "n_samples", "std", "seed", "steps")


@register("smoothgrad", options=NOISE_OPTIONS, **PIXEL_OPTIONS)
def run_smoothgrad(context) -> dict[str, LayerMap]:
    """SmoothGrad (Smilkov et al. 2017, Eq. 3): the mean of a pixel attribution over
    ``n_samples`` copies of the input with Gaussian noise, ``(B, C, *S)`` in ``raw["input"]``
    (captum's ``NoiseTunnel(...).attribute(nt_type="smoothgrad")``).

    Options: ``base`` the averaged attribution, ``"saliency"`` (default; the signed gradient,
    captum's ``abs=False``), ``"input_x_gradient"``, ``"deconvolution"``,
    ``"guided_backprop"`` or ``"integrated_gradients"`` (with its ``steps``, from a black
    baseline; Input x Gradient multiplies by the noisy input, as in captum); ``n_samples``
    (default 5, captum's); ``std`` the noise's standard deviation, **absolute, in input
    units** like captum's (default 1.0, captum's; the paper's 10-20 % of the input range is
    ``0.1 * (x.max() - x.min())``); ``seed`` (default 0) of the noise. The ``B * n_samples``
    noisy inputs run ``batch_size`` at a time.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import xaikit as xk
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(2, 1, bias=False))
        >>> _ = net[1].weight.data.copy_(torch.tensor([[2.0, -1.0]]))
        >>> x = torch.tensor([[[[1.0, 5.0]]]])
        >>> # a linear model's gradient ignores the noise: its mean is the gradient itself
        >>> xk.explain(net, x, method="smoothgrad", target=0, std=0.5).raw["input"].tolist()
        [[[[2.0, -1.0]]]]
    """
    return pixel_map(noise_tunnel(context, "smoothgrad"))


@register("vargrad", options=NOISE_OPTIONS, **PIXEL_OPTIONS)
def run_vargrad(context) -> dict[str, LayerMap]:
    """VarGrad (Adebayo et al. 2018): the variance ``E[a^2] - E[a]^2`` (over the samples, not
    unbiased) of a pixel attribution over ``n_samples`` noisy copies of the input, captum's
    ``NoiseTunnel(...).attribute(nt_type="vargrad")``; the options of ``smoothgrad``.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import xaikit as xk
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(2, 1, bias=False))
        >>> _ = net[1].weight.data.copy_(torch.tensor([[2.0, -1.0]]))
        >>> x = torch.tensor([[[[1.0, 5.0]]]])
        >>> # a linear model's gradient is w for every noisy copy: no spread
        >>> xk.explain(net, x, method="vargrad", target=0).raw["input"].tolist()
        [[[[0.0, 0.0]]]]
    """
    return pixel_map(noise_tunnel(context, "vargrad"))


def _as_tensor(value, x: torch.Tensor, name: str) -> torch.Tensor:
    """A number or an array / tensor as a tensor of ``x``'s dtype and device."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = torch.tensor(float(value))
    elif isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor) or value.dtype == torch.bool or value.is_complex():
        raise ValueError(f"{name} must be a number or a tensor; got {type(value).__name__}")
    value = value.to(device=x.device, dtype=x.dtype)
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return value


def baseline_like(value, x: torch.Tensor, name: str = "baseline") -> torch.Tensor:
    """The ``baseline`` option as a tensor of ``x``'s shape: a number (every element) or a
    tensor broadcast to ``x`` (``(C, *S)``, ``(1, C, 1, 1)`` per channel, ``(B, C, *S)`` per
    sample...).

    Examples:
        >>> import torch
        >>> baseline_like(0.5, torch.zeros(2, 1, 1, 2)).tolist()
        [[[[0.5, 0.5]]], [[[0.5, 0.5]]]]
        >>> baseline_like(torch.zeros(3), torch.zeros(2, 1, 1, 2))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: baseline of shape (3,) does not broadcast to the input's (2, 1, 1, 2)...
    """
    value = _as_tensor(value, x, name)
    try:
        return torch.broadcast_to(value, x.shape)
    except RuntimeError:
        raise ValueError(
            f"{name} of shape {tuple(value.shape)} does not broadcast to the input's "
            f"{tuple(x.shape)}: give a number, a (C, *S) tensor or a (B, C, *S) one"
        ) from None


def baseline_distribution(value, x: torch.Tensor) -> torch.Tensor:
    """GradientSHAP's ``baselines`` option as ``(K, C, *S)``, the ``K`` baselines drawn from:
    ``None`` (black, ``K = 1``), a number, one baseline ``(C, *S)`` (or broadcastable, e.g.
    ``(C, 1, 1)``) or ``K`` of them ``(K, C, *S)``."""
    if value is None:
        return torch.zeros_like(x[:1])
    value = _as_tensor(value, x, "baselines")
    if value.ndim < x.ndim:
        value = value.unsqueeze(0)
    try:
        return torch.broadcast_to(value, (len(value), *x.shape[1:]))
    except RuntimeError:
        raise ValueError(
            f"baselines of shape {tuple(value.shape)} fit neither one input {tuple(x.shape[1:])}"
            f" nor (K, {', '.join(map(str, x.shape[1:]))}) for K baselines"
        ) from None


def gradient_shap_draws(x, count: int, n_samples: int, std: float, generator):
    """GradientSHAP's random draws for ``n_samples`` points per input row: the noisy inputs
    ``(B * n, C, *S)`` (:func:`noisy_copies`), the index of the baseline drawn uniformly
    among ``count`` for each and its path position ``alpha ~ U[0, 1)``, both ``(B * n,)``."""
    noisy = noisy_copies(x, n_samples, std, generator)
    index = torch.randint(count, (len(noisy),), generator=generator)
    alphas = torch.rand(len(noisy), generator=generator, dtype=x.dtype)
    return noisy, index.to(x.device), alphas.to(x.device)


@register("gradient_shap", options=("baselines", "n_samples", "std", "seed"), **PIXEL_OPTIONS)
def run_gradient_shap(context) -> dict[str, LayerMap]:
    """GradientSHAP (Lundberg & Lee 2017; captum's ``GradientShap``, expected gradients): the
    mean over ``n_samples`` draws of ``(x' - x0) * dF/dx (x0 + alpha (x' - x0))``, with
    ``x' = x + noise`` (``std``), ``x0`` a baseline drawn from ``baselines`` and
    ``alpha ~ U[0, 1)`` (one path point of Integrated Gradients per draw); ``(B, C, *S)`` in
    ``raw["input"]``, multiplied by ``x' - x0`` (captum's ``multiply_by_inputs=True``), so its
    sum approximates ``F(x) - E[F(x0)]``.

    Options: ``baselines`` (default ``None``: one black baseline; a number; one ``(C, *S)``
    tensor, or ``K`` of them ``(K, C, *S)`` to draw from, e.g. a few dataset images);
    ``n_samples`` (default 5), ``std`` (default 0.0, both captum's; absolute, input units)
    and ``seed`` (default 0). The ``B * n_samples`` points run ``batch_size`` at a time.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import xaikit as xk
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(2, 1, bias=False))
        >>> _ = net[1].weight.data.copy_(torch.tensor([[2.0, -1.0]]))
        >>> x = torch.tensor([[[[1.0, 5.0]]]])
        >>> # linear: every draw gives (x - 0) * w exactly, F(x) - F(0) = 2 - 5 = -3 in all
        >>> xk.explain(net, x, method="gradient_shap", target=0).raw["input"].tolist()
        [[[[2.0, -5.0]]]]
    """
    x = context.x
    count = sample_count(context, 5)
    baselines = baseline_distribution(context.options.get("baselines"), x)
    noisy, index, alphas = gradient_shap_draws(
        x, len(baselines), count, noise_std(context, 0.0), noise_generator(context)
    )
    chosen = baselines[index]
    samples = _all_samples(context).repeat_interleave(count)
    gradient = path_gradients(
        context, noisy, chosen, samples, alphas[None], torch.ones_like(alphas[None]),
        "gradient shap",
    )  # fmt: skip
    attribution = ((noisy - chosen) * gradient).reshape(len(x), count, *x.shape[1:])
    return pixel_map(attribution.mean(dim=1))


_EPS_DEEPLIFT = 1e-10  # captum's: below this input change, the multiplier is the gradient


def _paired_change(tensor: torch.Tensor) -> torch.Tensor:
    """``[t - t0, t - t0]`` of a ``[t, t0]`` batch (inputs, then their baselines)."""
    first, second = tensor.chunk(2)
    change = first - second
    return torch.cat([change, change])


def _plain_gradient(module: nn.Module, input: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """The module's own backward of ``grad`` at ``input`` (its hooks bypassed)."""
    with torch.enable_grad():
        leaf = input.detach().requires_grad_(True)
        (gradient,) = torch.autograd.grad(module.forward(leaf.clone()), leaf, grad)
    return gradient


def _rescale(module, input, output, grad):
    """DeepLIFT's rescale rule for an element-wise ``f``: ``grad * (f(x) - f(x0)) / (x - x0)``,
    the gradient where ``|x - x0| < 1e-10``."""
    change_in, change_out = _paired_change(input), _paired_change(output)
    multiplied = grad * change_out / change_in
    return torch.where(
        change_in.abs() < _EPS_DEEPLIFT, _plain_gradient(module, input, grad), multiplied
    )


def _max_pool_rescale(module, input, output, grad):
    """captum's DeepLIFT rule for max pooling: each window's output change goes to the argmax
    of the side (input or baseline) with the larger maximum, divided there by ``x - x0``;
    windows that share an argmax add up (captum's ``max_unpool`` keeps one of them)."""
    out, out_ref = output.chunk(2)
    grad_in, grad_ref = grad.chunk(2)
    top = torch.maximum(out, out_ref)
    shares = torch.cat([grad_in * (top - out_ref), grad_ref * (out - top)])
    first, second = _plain_gradient(module, input, shares).chunk(2)
    change_in = _paired_change(input)
    multiplied = torch.cat([first + second] * 2) / change_in
    return torch.where(
        change_in.abs() < _EPS_DEEPLIFT, _plain_gradient(module, input, grad), multiplied
    )


#: DeepLIFT's rules per module type (captum's ``SUPPORTED_NON_LINEAR`` less ``Softmax``).
DEEPLIFT_RULES = {
    (nn.ReLU, nn.ELU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus): _rescale,
    (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d): _max_pool_rescale,
}
_DEEPLIFT_SUPPORTED = "ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus, MaxPool1d/2d/3d"


def _is_nonlinearity(module: nn.Module) -> bool:
    """A ``torch.nn`` activation or a pooling other than average pooling."""
    for kind in type(module).__mro__:
        if kind.__module__ == "torch.nn.modules.activation":
            return True
        if kind.__module__ == "torch.nn.modules.pooling" and "AvgPool" not in kind.__name__:
            return True
    return False


def check_deeplift_modules(model: nn.Module) -> None:
    """Refuse a model with a ``torch.nn`` nonlinearity DeepLIFT has no rule for here.

    Raises:
        ValueError: naming each such module (e.g. MobileNetV3's ``Hardswish``).
    """
    supported = tuple(kind for kinds in DEEPLIFT_RULES for kind in kinds)
    refused = [
        f"{name} ({type(module).__name__})"
        for name, module in model.named_modules()
        if _is_nonlinearity(module) and not isinstance(module, supported)
    ]
    if refused:
        shown = ", ".join(refused[:5]) + (
            f" and {len(refused) - 5} more" if len(refused) > 5 else ""
        )
        raise ValueError(
            f"deeplift has rules for {_DEEPLIFT_SUPPORTED} modules only (captum's rescale "
            f"rules); this model also has {shown}. Use integrated_gradients or gradient_shap "
            "for it"
        )


def deeplift_attribution(context, x, baseline, samples) -> torch.Tensor:
    """DeepLIFT ``(N, C, *S)`` of the rows ``x`` against ``baseline`` (same shape): the
    rescale multipliers, back-propagated through ``[x, x0]`` pairs forwarded together
    (``batch_size // 2`` inputs with their baselines per pass, at least one), times
    ``x - x0``."""
    check_deeplift_modules(context.model)
    per_pass = max(1, context.batch_size // 2)
    chunks = torch.arange(len(x), device=x.device).split(per_pass)
    pairs = torch.cat([torch.cat([x[rows], baseline[rows]]) for rows in chunks])
    pair_samples = torch.cat([samples[rows].repeat(2) for rows in chunks])
    with rerouted_backward(context.model, DEEPLIFT_RULES):
        gradient = input_gradient(context, pairs, pair_samples, "deeplift", 2 * per_pass)
    own = [part[: len(part) // 2] for part in gradient.split([2 * len(r) for r in chunks])]
    return (x - baseline) * torch.cat(own)


@register("deeplift", options=("baseline",), **PIXEL_OPTIONS)
def run_deeplift(context) -> dict[str, LayerMap]:
    """DeepLIFT (Shrikumar, Greenside & Kundaje 2017), rescale rule, captum's ``DeepLift``:
    ``(x - x0) * m`` per input element ``(B, C, *S)`` in ``raw["input"]``, where the
    multiplier ``m`` is back-propagated like a gradient except through each nonlinearity
    ``y = f(x)``, which passes ``grad * (f(x) - f(x0)) / (x - x0)`` (the plain gradient where
    ``|x - x0| < 1e-10``); its sum equals ``F(x) - F(x0)`` (summation-to-delta) for
    piecewise-linear models.

    Option ``baseline`` (default 0, black): a number or a tensor broadcast to the input.
    Rules exist for ``nn.ReLU``, ``ELU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``, ``Softplus``
    and ``MaxPool1d/2d/3d`` modules; any other ``torch.nn`` activation or pooling (MobileNetV3's
    ``Hardswish``, ``Softmax``...) is refused. Functional calls (``F.relu``) and products of
    activations keep their plain gradient, as in captum. Unlike captum, in-place ReLUs and a
    module called more than once per forward (a ResNet block's one ReLU) work, call by call.

    Extra pass: each input is forwarded and back-propagated with its baseline
    (:func:`deeplift_attribution`). Differences from captum 0.9, where it departs from its
    own rules: overlapping max-pool windows that share an argmax add their shares here
    (captum's ``max_unpool`` keeps one, and the sum no longer equals ``F(x) - F(x0)``); and a
    nonlinearity directly followed by another (``ReLU`` then ``MaxPool2d``, as in VGG) gets
    the next one's rescaled multiplier here, where captum's hooks hand it the plain gradient.
    With a black baseline both agree on torchvision's VGG and ResNet (see the tests).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import xaikit as xk
        >>> net = nn.Sequential(nn.Flatten(), nn.Sigmoid(), nn.Linear(1, 1, bias=False))
        >>> _ = net[2].weight.data.fill_(2.0)
        >>> x = torch.tensor([[[[2.0]]]])
        >>> # 2 * (sigmoid(2) - sigmoid(0)) / (2 - 0) * (2 - 0): exactly F(x) - F(0)
        >>> round(float(xk.explain(net, x, method="deeplift", target=0).raw["input"]), 5)
        0.76159
        >>> round(float(2 * (torch.sigmoid(torch.tensor(2.0)) - 0.5)), 5)
        0.76159
    """
    x = context.x
    baseline = baseline_like(context.options.get("baseline", 0.0), x)
    return pixel_map(deeplift_attribution(context, x, baseline, _all_samples(context)))
