"""Hessian-CIAM (Qian et al., MICCAI 2023): a category-independent activation map.

For a layer's activation ``A`` and a label-free score ``s`` (the log-sum-exp of the logits,
a smooth maximum over classes; an explicit ``target`` replaces it), the Hessian-vector
product ``Hv`` with ``v`` all ones (the paper's Eq. 1-2) is normalised
``H^ = |Hv| / ||Hv||_2`` per sample, and ``L_H = sum_c ReLU(H^ (.) A)``. With ``smooth=True``
(default) ``A_H = ReLU(H^ (.) A)`` is read as a ``(positions, channels)`` matrix and
projected on its first right singular vector, flipped if it correlates negatively with
``L_H``, then ReLU'd (Eq. 3). The paper does not name its score; the log-sum-exp is this
package's label-free reading.

How ``Hv`` is computed (option ``hvp``; option ``r``, default ``1e-3``, sets the finite
differences' step ``h = r * mean |A|`` per sample and is unused by ``"exact"``):

* ``"exact"`` (default): Pearlmutter's double-backward product ``d/dA (grad s . v)``, the
  limit ``r -> 0`` of Eq. 2 that the paper approximates. The log-sum-exp runs in float64:
  its curvature ``diag(p) - p p^T`` is about ``1 - p_max`` and cancels to rounding noise in
  float32 on confident inputs. Exact wherever the head is twice differentiable; ReLU and
  max-pool kinks have zero curvature almost everywhere, so only the smooth parts count.
* ``"central"``: ``(g(A + h v) - g(A - h v)) / 2h`` with the model run in float64 for the
  call (parameters cast back afterwards), ``h = r * mean |A|``: error ``O(h^2)``, no float32
  cancellation; it sees the kinks crossed within ``h``.
* ``"finite_difference"``: the paper's Eq. 2 as written, the forward difference
  ``(g(A + h v) - g(A)) / h`` in the model's dtype. Kept as an option, no longer the
  default: in float32 the difference of two gradients that agree to ~7
  digits is rounding noise when the curvature is small (confident inputs); on 8 held-out
  demo-shapes images at ``features.conv5`` (global average pooling and a linear head, where
  Eq. 2 should equal the exact product) it correlated 0.06-0.46 with it on 4 of them, and
  the final maps differed by up to 1.0. ``"exact"`` and ``"central"`` correlate > 0.9999
  there with a float64 double-backward reference.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial

import torch

from xaikit.explain._maps import first_component
from xaikit.explain.registry import LayerMap, register

HVP_MODES = ("exact", "central", "finite_difference")
DEFAULT_HVP = "exact"
DEFAULT_STEP = 1e-3


def hessian_ciam_map(activation: torch.Tensor, hvp: torch.Tensor, smooth: bool) -> torch.Tensor:
    """``L_HS`` (``smooth=True``, Eq. 3) or ``L_H`` from ``A`` and ``Hv`` (both ``(B, C, *S)``).

    Examples:
        >>> import torch
        >>> a = torch.tensor([[[[1.0, -2.0]], [[3.0, 4.0]]]])    # (1, 2, 1, 2)
        >>> hv = torch.ones_like(a)                               # ||Hv|| = 2, H^ = 1/2
        >>> hessian_ciam_map(a, hv, smooth=False).tolist()        # (0.5 + 1.5, 0 + 2)
        [[[2.0, 2.0]]]
    """
    batch = activation.shape[0]
    norm = hvp.reshape(batch, -1).norm(dim=1).reshape(-1, *([1] * (hvp.ndim - 1)))
    weights = torch.where(norm > 0, hvp.abs() / norm.clamp_min(1e-30), 0.0)
    weighted = (weights * activation).clamp_min(0)
    plain = weighted.sum(dim=1)
    if not smooth:
        return plain
    return first_component(weighted, center=False, orient_like=plain).clamp_min(0)


def label_free_score(target, outputs) -> torch.Tensor:
    """The explicit ``target``'s score, else (``None``) the log-sum-exp of the logits, both in
    float64 so that their second derivative does not cancel to float32 noise.

    Examples:
        >>> import torch
        >>> label_free_score(None, torch.zeros(1, 4))   # log(4)
        tensor([1.3863], dtype=torch.float64)
    """
    if target is not None:
        return target.score(outputs).double()
    if not isinstance(outputs, torch.Tensor) or outputs.ndim != 2:
        raise ValueError("a label-free score needs (B, K) outputs; pass a callable target")
    return torch.logsumexp(outputs.double(), dim=1)


def hessian_vector_product(context, layer, module, mode: str, step: float) -> torch.Tensor:
    """``H v`` ``(B, C, *s)`` (float32) of the label-free score at ``layer``'s activation, ``v``
    all ones, by ``mode`` (see the module docstring): ``"exact"`` costs one extra forward and
    double backward (``step`` unused), ``"central"`` two float64 forwards and backwards,
    ``"finite_difference"`` two in the model's dtype. The passes run ``batch_size`` samples
    at a time, like the shared one; the step ``h = step * mean |A|`` per sample is taken
    from the shared pass's activation.
    """
    if mode not in HVP_MODES:
        raise ValueError(f"hvp must be one of {HVP_MODES}; got {mode!r}")
    if not step > 0:
        raise ValueError(f"r must be > 0; got {step!r}")
    function = {"exact": _exact_hvp, "central": _central_hvp, "finite_difference": _forward_hvp}
    parts = []
    with in_float64(context.model) if mode == "central" else nullcontext():
        for rows in context.chunks():
            target = context.target_of(rows) if context.explicit_target else None
            score = partial(label_free_score, target)
            gradient_at = partial(context.layer_gradient, layer, module, score, rows)
            shift = _step(context.activations[layer][rows], step)
            parts.append(function[mode](gradient_at, shift).detach().float())
    return torch.cat(parts)


def _step(activation: torch.Tensor, step: float) -> torch.Tensor:
    """``step * mean |A|`` per sample, shaped to broadcast over ``A``."""
    scale = activation.abs().flatten(1).mean(dim=1).clamp_min(1e-12) * step
    return scale.reshape(-1, *([1] * (activation.ndim - 1)))


def _exact_hvp(gradient_at, shift: torch.Tensor) -> torch.Tensor:
    activation, gradient = gradient_at(create_graph=True)
    with torch.enable_grad():
        (hvp,) = torch.autograd.grad(gradient.sum(), activation, allow_unused=True)
    return torch.zeros_like(activation) if hvp is None else hvp


def _forward_hvp(gradient_at, shift: torch.Tensor) -> torch.Tensor:
    _, gradient = gradient_at()
    _, shifted = gradient_at(shift=shift)
    return (shifted.float() - gradient.float()) / shift


def _central_hvp(gradient_at, shift: torch.Tensor) -> torch.Tensor:
    shift = shift.double()
    _, forward = gradient_at(shift=shift, dtype=torch.float64)
    _, backward = gradient_at(shift=-shift, dtype=torch.float64)
    return (forward - backward) / (2 * shift)


@contextmanager
def in_float64(model: torch.nn.Module) -> Iterator[None]:
    """Cast ``model``'s floating parameters and buffers to float64 inside the block and back
    to their own dtypes afterwards (exact: float32 -> float64 -> float32 round-trips), also
    when an error escapes. The tensors stay the same objects.

    Examples:
        >>> from torch import nn
        >>> net = nn.Linear(2, 1)
        >>> with in_float64(net):
        ...     net.weight.dtype
        torch.float64
        >>> net.weight.dtype
        torch.float32
    """
    tensors = [t for t in (*model.parameters(), *model.buffers()) if t.is_floating_point()]
    dtypes = [t.dtype for t in tensors]
    try:
        for tensor in tensors:
            tensor.data = tensor.data.double()
        yield
    finally:
        for tensor, dtype in zip(tensors, dtypes, strict=True):
            tensor.data = tensor.data.to(dtype)


@register("hessian_ciam", options=("hvp", "r", "smooth"))
def run_hessian_ciam(context) -> dict[str, LayerMap]:
    """Hessian-CIAM of every requested layer (options ``hvp`` = ``"exact"`` (default),
    ``"central"`` or ``"finite_difference"`` (the paper's Eq. 2), ``r`` = ``1e-3``,
    ``smooth`` = ``True``; see the module docstring)."""
    mode = context.options.get("hvp", DEFAULT_HVP)
    step = float(context.options.get("r", DEFAULT_STEP))
    smooth = bool(context.options.get("smooth", True))
    results = {}
    for layer, module in context.layers:
        hvp = hessian_vector_product(context, layer, module, mode, step)
        results[layer] = LayerMap(hessian_ciam_map(context.activations[layer], hvp, smooth))
    return results
