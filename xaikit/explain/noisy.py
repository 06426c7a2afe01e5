"""Noise-smoothed gradient CAMs: Smooth Grad-CAM++ and the Gaussian noise that SS-CAM shares.

Smooth Grad-CAM++ needs passes of its own: ``n_samples`` noisy copies of every sample are
forwarded and back-propagated, ``batch_size`` copies at a time (a ``tqdm`` bar,
``progress=False`` hides it), and the first three moments of the gradients at every requested
layer are averaged over the copies. The noise is drawn on the CPU from a generator seeded with
the option ``seed``, one full draw per copy in torch-cam's order, so ``torch.manual_seed(seed)``
before torch-cam's extractor gives it the same noise.
"""

from __future__ import annotations

import math
import numbers

import torch

from xaikit.explain._maps import spatial_sum
from xaikit.explain.registry import LayerMap, channel_map, register

_EPS_TORCHCAM = 1e-8  # torch-cam's epsilon in the Smooth Grad-CAM++ denominator


def sample_count(context, default: int) -> int:
    """The option ``n_samples`` (number of noisy or integration copies), checked."""
    count = context.options.get("n_samples", default)
    if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 1:
        raise ValueError(f"n_samples must be a positive int; got {count!r}")
    return int(count)


def noise_std(context, default: float) -> float:
    """The option ``std`` (standard deviation of the Gaussian noise), checked."""
    std = context.options.get("std", default)
    if isinstance(std, bool) or not isinstance(std, numbers.Real) or not math.isfinite(std):
        raise ValueError(f"std must be a finite number >= 0; got {std!r}")
    if std < 0:
        raise ValueError(f"std must be a finite number >= 0; got {std!r}")
    return float(std)


def noise_generator(context) -> torch.Generator:
    """A CPU generator seeded with the option ``seed`` (default 0)."""
    seed = context.options.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an int; got {seed!r}")
    return torch.Generator().manual_seed(int(seed))


class CopyNoise:
    """Gaussian noise ``N(0, std^2)`` of one shape for copies 0, 1, 2... of a tensor.

    Each copy is one draw of the whole ``shape`` from ``generator`` (on the CPU, then moved),
    made when a chunk first needs it; copies are asked in increasing order (chunks run in
    order), so only the copies of the current chunk are kept.

    Examples:
        >>> import torch
        >>> noise = CopyNoise((2, 3), 1.0, torch.Generator().manual_seed(0), "cpu", torch.float32)
        >>> draws = torch.randn((2, 2, 3), generator=torch.Generator().manual_seed(0))
        >>> copies, rows = torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1])
        >>> torch.equal(noise.rows(copies, rows), draws[copies, rows])
        True
    """

    def __init__(self, shape, std: float, generator: torch.Generator, device, dtype):
        self.shape = tuple(shape)
        self.std = std
        self.generator = generator
        self.device, self.dtype = device, dtype
        self._drawn: dict[int, torch.Tensor] = {}
        self._next = 0

    def rows(self, copies: torch.Tensor, *index: torch.Tensor) -> torch.Tensor:
        """``noise[copy][index]`` for each entry: ``copies`` ``(n,)`` (non-decreasing across
        calls) and one ``(n,)`` index per leading axis of ``shape`` to pick."""
        first, last = int(copies.min()), int(copies.max())
        for old in [copy for copy in self._drawn if copy < first]:
            del self._drawn[old]
        while self._next <= last:
            draw = torch.randn(self.shape, generator=self.generator) * self.std
            self._drawn[self._next] = draw.to(self.device, self.dtype)
            self._next += 1
        if first == last:
            return self._drawn[first][index]
        rows = torch.empty((len(copies), *self.shape[len(index) :]), dtype=self.dtype,
                           device=self.device)  # fmt: skip
        for copy in range(first, last + 1):  # no stack of whole draws: index each in place
            chosen = copies == copy
            rows[chosen] = self._drawn[copy][tuple(axis[chosen] for axis in index)]
        return rows


def noisy_gradient_moments(context, count: int, std: float, generator) -> dict[str, tuple]:
    """Means over ``count`` noisy copies ``x + N(0, std^2)`` of the gradients ``G``, ``G^2``
    and ``G^3`` of the target score at every requested layer, ``(B, C, *s)`` each.

    Copy ``i`` of sample ``b`` is pair ``i * B + b``; pairs run ``batch_size`` per forward and
    backward (the graph starts at the first requested layer, as in the shared pass), with the
    class of each sample fixed to the one explained on ``x``.
    """
    from tqdm.auto import tqdm

    x = context.x
    batch = len(x)
    noise = CopyNoise(x.shape, std, generator, x.device, x.dtype)
    sums = {
        name: [torch.zeros_like(context.activations[name]) for _ in range(3)]
        for name in context.layer_names
    }
    captured = context.capture.activations
    total = count * batch
    starts = range(0, total, context.batch_size)
    for start in tqdm(starts, desc="smooth grad-cam++", disable=not context.progress, leave=False):
        pairs = torch.arange(start, min(start + context.batch_size, total), device=x.device)
        copies, samples = pairs // batch, pairs % batch
        inputs = x[samples] + noise.rows(copies, samples)
        with context.capture.graph_from_first_layer(), context.autocast_context():
            scores = context.sample_scores(context.model(inputs), samples)
            tensors = [captured[name] for name in context.layer_names]
            grads = torch.autograd.grad(scores.sum(), tensors, allow_unused=True)
        captured.clear()
        for name, grad in zip(context.layer_names, grads, strict=True):
            if grad is not None:
                grad = grad.detach().float()
                for power, moment in enumerate(sums[name], start=1):
                    moment.index_add_(0, samples, grad.pow(power))
    return {name: tuple(moment / count for moment in sums[name]) for name in context.layer_names}


def smooth_gradcam_plusplus_terms(
    activation: torch.Tensor, mean_1: torch.Tensor, mean_2: torch.Tensor, mean_3: torch.Tensor
) -> torch.Tensor:
    """Per-channel terms ``w_k A_k`` of Smooth Grad-CAM++ from the gradient moments.

    ``alpha = D2 / (2 D2 + sum_s A D3 + 1e-8)`` and ``w_k = sum_s alpha ReLU(D1)``, where
    ``Dp`` is the mean of ``G^p`` over the noisy copies and ``A`` the activation of ``x``
    itself; all are ``(B, C, *s)`` and the terms are too.

    Examples:
        Two noisy copies whose gradients are ``(2, 0)`` and ``(0, 2)``: ``D1 = (1, 1)``,
        ``D2 = (2, 2)``, ``D3 = (4, 4)``; with ``A = (1, 0)``, ``sum_s A D3 = 4``, so
        ``alpha = 2 / (4 + 4) = 1/4`` and ``w = 1/4 + 1/4``:

        >>> import torch
        >>> a = torch.tensor([[[[1.0, 0.0]]]])   # (1, 1, 1, 2)
        >>> d1, d2, d3 = (torch.full_like(a, v) for v in (1.0, 2.0, 4.0))
        >>> smooth_gradcam_plusplus_terms(a, d1, d2, d3).tolist()
        [[[[0.5, 0.0]]]]
    """
    alpha = mean_2 / (2 * mean_2 + spatial_sum(activation * mean_3) + _EPS_TORCHCAM)
    weights = spatial_sum(alpha * mean_1.clamp_min(0))
    return weights * activation


@register(
    "smoothgradcam++", options=("n_samples", "std", "seed"), needs_gradients=False, per_channel=True
)
def run_smooth_gradcam_plusplus(context) -> dict[str, LayerMap]:
    """Smooth Grad-CAM++ (Omeiza et al. 2019, "Smooth Grad-CAM++: An Enhanced Inference Level
    Visualization Technique for Deep Convolutional Neural Network Models"), as torch-cam 0.5's
    ``SmoothGradCAMpp`` computes its weights.

    ``M = sum_k w_k A_k`` with ``w_k = sum_s alpha ReLU(D1)``,
    ``alpha = D2 / (2 D2 + sum_s A_k D3 + 1e-8)``: ``Dp`` is the mean of ``(dy/dA)^p`` over
    ``n_samples`` copies ``x + N(0, std^2)`` and ``A`` the activation of ``x`` (see
    :func:`smooth_gradcam_plusplus_terms`); activations and gradients are ``(B, C, h, w)`` or
    ``(B, C, t, h, w)``. The numerator ``D2`` is torch-cam's correction of the paper's
    ``D1``. Options ``n_samples=4``, ``std=0.3`` (torch-cam's defaults) and ``seed=0``; the
    noise is added to the input as the model receives it (after its preprocessing).

    Extra passes: ``n_samples`` forwards and backwards of each sample, ``batch_size`` noisy
    copies at a time (the shared pass gives ``A`` and the class; no shared backward).

    Differences from torch-cam 0.5, whose every noisy pass overwrites its hooks: there the
    ``ReLU`` term is the last noisy copy's gradient and the map combines the last noisy copy's
    activations; here the ``ReLU`` term is the mean gradient ``D1`` (the paper averages the
    derivatives of every order over the copies) and the map combines the activations of ``x``
    (with ``n_samples=1`` and torch-cam's activation hook kept on ``x``, the two agree).
    torch-cam min-max normalises ``ReLU(M)`` at feature resolution with ``1e-8`` added to the
    range, where ``maps`` are resized first (``raw`` is ``M``).
    """
    count = sample_count(context, 4)
    std = noise_std(context, 0.3)
    moments = noisy_gradient_moments(context, count, std, noise_generator(context))
    results = {}
    for layer in context.layer_names:
        terms = smooth_gradcam_plusplus_terms(context.activations[layer], *moments[layer])
        results[layer] = LayerMap(channel_map(terms, context))
    return results
