"""Perturbation methods: Score-CAM (and its SS-CAM and IS-CAM variants), Ablation-CAM, RISE.

Every perturbed input is forwarded ``batch_size`` at a time, under ``torch.no_grad`` with
the activation capture paused, with a ``tqdm`` progress bar (``progress=False`` hides it).
Scores come from the explained target, with the class of each sample fixed to the one of
the unperturbed pass.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from xaikit._arrays import minmax
from xaikit.explain._maps import upsample
from xaikit.explain.hooks import forward_replaced
from xaikit.explain.noisy import CopyNoise, noise_generator, noise_std, sample_count
from xaikit.explain.pixel import baseline_like
from xaikit.explain.registry import LayerMap, channel_map, register


def channel_masks(
    activation: torch.Tensor, size: tuple[int, ...], normalise_first: bool = False
) -> torch.Tensor:
    """Each channel of ``(B, C, *s)`` as a mask ``(B, C, *size)`` in [0, 1] (Score-CAM).

    Default, pytorch-grad-cam's order: resized with ``align_corners=True`` (its
    ``UpsamplingBilinear2d``), then min-max normalised. ``normalise_first``, torch-cam's order:
    min-max normalised at feature resolution, then resized with half-pixel centres.

    Examples:
        >>> import torch
        >>> a = torch.tensor([[[[1.0, 3.0]], [[2.0, 2.0]]]])   # (1, 2, 1, 2)
        >>> channel_masks(a, (1, 2)).tolist()   # a constant channel masks nothing
        [[[[0.0, 1.0]], [[0.0, 0.0]]]]
        >>> channel_masks(a[:, :1], (1, 4), normalise_first=True).tolist()
        [[[[0.0, 0.25, 0.75, 1.0]]]]
    """
    if normalise_first:
        return upsample(_minmax_channels(activation), size)
    return _minmax_channels(upsample(activation, size, align_corners=True))


def _minmax_channels(tensor: torch.Tensor) -> torch.Tensor:
    return minmax(tensor.reshape(tensor.shape[0] * tensor.shape[1], -1)).reshape(tensor.shape)


def masked_scores(context, masks, description: str, copies: int = 1, perturb=None):
    """Target scores of ``x * mask`` for every (copy, sample, channel), ``batch_size`` masked
    inputs per forward (:meth:`~xaikit.explain.engine.Context.score_batches`).

    Args:
        masks: ``(B, C, *S)`` channel masks (:func:`channel_masks`).
        copies: how many times every mask is scored (SS-CAM's noisy and IS-CAM's scaled
            copies); pair ``(i, b, k)`` runs in that order, copy outermost.
        perturb: ``(masks (n, *S), copies, samples, channels) -> (n, *S)``, the masks of
            those pairs on their copy; ``None`` keeps them.

    Returns:
        ``(copies, B, C)`` scores.
    """
    x = context.x
    batch, channels = masks.shape[:2]

    def inputs_for(start, stop):
        pairs = torch.arange(start, stop, device=x.device)
        copy, rest = pairs // (batch * channels), pairs % (batch * channels)
        samples, channel = rest // channels, rest % channels
        chosen = masks[samples, channel]
        if perturb is not None:
            chosen = perturb(chosen, copy, samples, channel)
        return x[samples] * chosen.unsqueeze(1), samples

    scores = context.score_batches(inputs_for, copies * batch * channels, description)
    return scores.reshape(copies, batch, channels)


def score_weighted_map(scores: torch.Tensor, activation: torch.Tensor, context) -> torch.Tensor:
    """``sum_k w_k A_k`` with ``w = softmax_k`` of the scores ``(copies, B, C)`` averaged
    over the copies (through :func:`~xaikit.explain.registry.channel_map`)."""
    weights = torch.softmax(scores.mean(dim=0), dim=1)
    weights = weights.reshape(*weights.shape, *([1] * (activation.ndim - 2)))
    return channel_map(weights * activation, context)


@register("scorecam", per_channel=True)
def run_scorecam(context) -> dict[str, LayerMap]:
    """Score-CAM (Wang et al.): each channel, upsampled and min-max normalised, masks the
    input; the softmax over channels of the masked scores weights the channels.

    Masks are upsampled with ``align_corners=True`` like pytorch-grad-cam's
    ``UpsamplingBilinear2d``; one forward per ``batch_size`` (image, channel) pairs.
    """
    results = {}
    for layer in context.layer_names:
        activation = context.activations[layer]
        masks = channel_masks(activation, context.input_size)
        scores = masked_scores(context, masks, f"score-cam {layer}")
        results[layer] = LayerMap(score_weighted_map(scores, activation, context))
    return results


@register("ablationcam", per_channel=True)
def run_ablationcam(context) -> dict[str, LayerMap]:
    """Ablation-CAM (Desai & Ramaswamy): channel weight ``(y - y_k) / y`` where ``y_k`` is the
    score with channel ``k`` of the layer set to zero. Each ablated forward skips the layer
    itself: it returns the activation of the shared pass with the channel zeroed (as
    pytorch-grad-cam's ``AblationLayer`` does); the layers before it are recomputed."""
    x = context.x
    results = {}
    for layer, module in context.layers:
        activation = context.activations[layer]
        batch, channels = activation.shape[:2]
        chosen: dict[str, torch.Tensor] = {}

        def ablated(activation=activation, chosen=chosen, channels=channels):
            pairs = chosen["pairs"]
            output = activation[pairs // channels]
            output[torch.arange(len(pairs), device=output.device), pairs % channels] = 0
            return output

        def inputs_for(start, stop, chosen=chosen, channels=channels):
            chosen["pairs"] = torch.arange(start, stop, device=x.device)
            return x[chosen["pairs"] // channels], chosen["pairs"] // channels

        with forward_replaced(module, ablated):
            scores = context.score_batches(inputs_for, batch * channels, f"ablation-cam {layer}")
        original = context.scores[:, None]
        weights = (original - scores.reshape(batch, channels)) / original
        shape = weights.shape + (1,) * (activation.ndim - 2)
        results[layer] = LayerMap(channel_map(weights.reshape(shape) * activation, context))
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


@register("sscam", options=("n_samples", "std", "seed"), per_channel=True)
def run_sscam(context) -> dict[str, LayerMap]:
    """SS-CAM (Wang et al. 2020, "SS-CAM: Smoothed Score-CAM for Sharper Visual Feature
    Localization"), as torch-cam 0.5's ``SSCAM``.

    ``M = sum_k w_k A_k`` with ``w = softmax_k((1/N) sum_i y(x * (U_k + d_ik)))``: ``U_k`` is
    channel ``k`` of ``A`` ``(B, C, h, w)`` or ``(B, C, t, h, w)``, min-max normalised at
    feature resolution and resized to the input (torch-cam's masks, :func:`channel_masks`),
    and ``d_ik`` Gaussian noise ``N(0, std^2)`` at input resolution, one draw of the whole
    ``(B, C, *S)`` per copy ``i`` (torch-cam's order; ``torch.manual_seed(seed)`` before
    torch-cam gives the same noise). Options ``n_samples=35``, ``std=2.0`` (torch-cam's
    defaults), ``seed=0``.

    Extra passes: ``n_samples * C`` masked forwards per sample and layer, ``batch_size`` at a
    time (:func:`masked_scores`).

    Differences from torch-cam, which give the same ``raw``: torch-cam min-max normalises
    ``ReLU(M)`` at feature resolution with ``1e-8`` added to the range, where ``maps`` are
    resized first; its masks add ``1e-8`` to each channel's range too (a channel constant up
    to float rounding masks nothing here, see :func:`~xaikit._arrays.minmax`). It subtracts the
    unmasked score from every masked one, the same for every channel of a sample, which the
    softmax ignores. Scores are the target's (the logit of a class).
    """
    count = sample_count(context, 35)
    std = noise_std(context, 2.0)
    generator = noise_generator(context)
    results = {}
    for layer in context.layer_names:
        activation = context.activations[layer]
        masks = channel_masks(activation, context.input_size, normalise_first=True)
        noise = CopyNoise(masks.shape, std, generator, masks.device, masks.dtype)

        def noisy(chosen, copy, samples, channel, noise=noise):
            return chosen + noise.rows(copy, samples, channel)

        scores = masked_scores(context, masks, f"ss-cam {layer}", count, noisy)
        results[layer] = LayerMap(score_weighted_map(scores, activation, context))
    return results


def iscam_coefficients(count: int) -> torch.Tensor:
    """IS-CAM's mask scales ``c_i = sum_{j=1..i} j / N`` for ``i = 1..N`` (``N = count``):
    torch-cam's code, which adds ``i / N`` to the scale at each step (its docstring prints the
    sum from ``j = 0`` to ``i - 1``, one step behind), so they grow from ``1/N`` to
    ``(N + 1) / 2``.

    Examples:
        >>> iscam_coefficients(4).tolist()   # 1/4, 1/4 + 2/4, ... + 3/4, ... + 4/4
        [0.25, 0.75, 1.5, 2.5]
    """
    return torch.cumsum(torch.arange(1, count + 1, dtype=torch.float64) / count, dim=0)


@register("iscam", options=("n_samples",), per_channel=True)
def run_iscam(context) -> dict[str, LayerMap]:
    """IS-CAM (Naidu et al. 2020, "IS-CAM: Integrated Score-CAM for axiomatic-based
    explanations"), as torch-cam 0.5's ``ISCAM``.

    ``M = sum_k w_k A_k`` with ``w = softmax_k((1/N) sum_i y(x * c_i U_k))``: ``U_k`` as in
    SS-CAM (torch-cam's masks of ``A`` ``(B, C, h, w)`` or ``(B, C, t, h, w)``) and ``c_i``
    the accumulated integration coefficients of :func:`iscam_coefficients`. Option
    ``n_samples=10`` (torch-cam's default).

    Extra passes: ``n_samples * C`` masked forwards per sample and layer, ``batch_size`` at a
    time (:func:`masked_scores`). Normalisation and scores differ from torch-cam's as in
    :func:`run_sscam`; ``raw`` is the same.
    """
    count = sample_count(context, 10)
    coefficients = iscam_coefficients(count)
    results = {}
    for layer in context.layer_names:
        activation = context.activations[layer]
        masks = channel_masks(activation, context.input_size, normalise_first=True)
        scale = coefficients.to(masks.device, masks.dtype)

        def scaled(chosen, copy, samples, channel, scale=scale):
            return chosen * scale[copy].reshape(-1, *([1] * (chosen.ndim - 1)))

        scores = masked_scores(context, masks, f"is-cam {layer}", count, scaled)
        results[layer] = LayerMap(score_weighted_map(scores, activation, context))
    return results


def _per_axis(value, name: str, size: tuple[int, ...]) -> tuple[int, ...]:
    """An int (every spatial axis) or one int per spatial axis, each >= 1."""
    values = (value,) * len(size) if isinstance(value, numbers.Integral) else tuple(value)
    if len(values) != len(size) or any(
        isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in values
    ):
        raise ValueError(
            f"{name} must be an int >= 1 or {len(size)} of them (one per spatial axis of the "
            f"{'x'.join(map(str, size))} input); got {value!r}"
        )
    return tuple(int(v) for v in values)


def occlusion_windows(size: tuple[int, ...], window, stride) -> list[torch.Tensor]:
    """Per spatial axis, which positions each window start covers: ``(n_k, L_k)`` booleans.

    ``n_k = ceil((L - W) / S) + 1`` windows start at ``0, S, 2S...``; the last one is cut at
    the border (captum's ``Occlusion``).

    Examples:
        >>> [axis.int().tolist() for axis in occlusion_windows((3,), (2,), (2,))]
        [[[1, 1, 0], [0, 0, 1]]]
    """
    axes = []
    for length, width, step in zip(size, window, stride, strict=True):
        if width > length:
            raise ValueError(f"window {tuple(window)} is larger than the input {size}")
        if step > width and width < length:
            raise ValueError(
                f"stride {tuple(stride)} is larger than the window {tuple(window)}: "
                "some pixels would never be occluded"
            )
        starts = torch.arange(math.ceil((length - width) / step) + 1)[:, None] * step
        positions = torch.arange(length)[None]
        axes.append((positions >= starts) & (positions < starts + width))
    return axes


@register(
    "occlusion",
    options=("window", "stride", "baseline"),
    uses_layers=False,
    relu=False,
    normalise="absmax",
)
def run_occlusion(context) -> dict[str, LayerMap]:
    """Occlusion (Zeiler & Fergus 2014, Sec. 4.2), captum's ``Occlusion``: a window slides over
    the spatial axes (``H, W``; ``T, H, W`` for video) covering every channel; each pixel's
    attribution is the mean, over the windows covering it, of ``y(x) - y(x_occluded)``, the
    score drop when the window is set to the baseline (not divided by the window's size).

    Options: ``window`` (default 16; an int for every spatial axis, or one per axis; the
    default is cut to the input's size, a larger given window is refused), ``stride``
    (default half the window, at least 1; captum's default is 1) and ``baseline`` (default
    0: a number or a tensor broadcast to the input). Windows start every ``stride`` and the
    last one is cut at the border: ``ceil((L - W) / S) + 1`` per axis. ``raw["input"]`` and
    the map are ``(B, *S)`` (captum repeats it over the channels); extra passes: one forward
    per sample and window, ``batch_size`` at a time.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import xaikit as xk
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(3, 1, bias=False))
        >>> _ = net[1].weight.data.copy_(torch.tensor([[1.0, 2.0, 3.0]]))
        >>> x = torch.tensor([[[[20.0, 50.0, 30.0]]]])   # y = 210
        >>> # windows {0, 1} (drop 120) and {1, 2} (drop 190): pixel 1 takes their mean
        >>> expl = xk.explain(net, x, method="occlusion", target=0, window=(1, 2), stride=1)
        >>> expl.raw["input"].tolist()
        [[[120.0, 155.0, 190.0]]]
    """
    x = context.x
    size = context.input_size
    given = "window" in context.options
    window = _per_axis(context.options.get("window", 16), "window", size)
    if not given:
        window = tuple(min(w, length) for w, length in zip(window, size, strict=True))
    stride = _per_axis(
        context.options.get("stride", tuple(max(1, w // 2) for w in window)), "stride", size
    )
    baseline = baseline_like(context.options.get("baseline", 0.0), x)
    axes = [axis.to(x.device) for axis in occlusion_windows(size, window, stride)]
    counts = [len(axis) for axis in axes]
    windows = math.prod(counts)

    def masks_of(index: torch.Tensor) -> torch.Tensor:  # (n,) window numbers -> (n, 1, *S)
        mask = torch.ones((len(index),) + (1,) * len(size), dtype=x.dtype, device=x.device)
        for k in reversed(range(len(size))):
            shape = [len(index)] + [1] * len(size)
            shape[k + 1] = -1
            mask = mask * axes[k][index % counts[k]].reshape(shape).to(x.dtype)
            index = index // counts[k]
        return mask.unsqueeze(1)

    def inputs_for(start, stop):
        pairs = torch.arange(start, stop, device=x.device)
        samples = pairs // windows
        mask = masks_of(pairs % windows)
        return x[samples] * (1 - mask) + baseline[samples] * mask, samples

    scores = context.score_batches(inputs_for, len(x) * windows, "occlusion")
    drops = (context.scores[:, None] - scores.reshape(len(x), windows)).reshape(-1, *counts)
    total, covered = drops, torch.ones(counts)
    for axis in axes:  # contract each window axis with its coverage, position axis appended
        axis = axis.to(drops.dtype)
        total = torch.tensordot(total, axis, dims=([1], [0]))
        covered = torch.tensordot(covered, axis.cpu(), dims=([0], [0]))
    attribution = total / covered.to(total.device)
    return {"input": LayerMap(attribution, attribution)}
