"""Hessian-CIAM (Qian et al., MICCAI 2023): a category-independent activation map.

For a layer's activation ``A`` and a label-free score ``s`` (the log-sum-exp of the logits,
a smooth maximum over classes; an explicit ``target`` replaces it), the Hessian-vector
product ``Hv`` with ``v`` all ones is normalised ``H^ = |Hv| / ||Hv||_2`` per sample, and
``L_H = sum_c ReLU(H^ (.) A)``. With ``smooth=True`` (default) ``A_H = ReLU(H^ (.) A)`` is
read as a ``(positions, channels)`` matrix and projected on its first right singular
vector, flipped if it correlates negatively with ``L_H``, then ReLU'd (Eq. 3).

``hvp="finite_difference"`` (default) is the paper's Eq. 2:
``(grad s(A + r v) - grad s(A)) / r`` with ``r=1e-3`` relative to the activation scale.
It is the default because it is the paper's definition and, for ReLU / max-pool heads
(piecewise linear), it still sees the curvature of the kinks crossed within ``r``, where the
exact product sees only the softmax curvature. ``hvp="exact"`` is the double-backward
product (Pearlmutter), exact for twice-differentiable heads.
"""

from __future__ import annotations

from functools import partial

import torch

from xaikit.explain._maps import first_component
from xaikit.explain.registry import LayerMap, register

HVP_MODES = ("finite_difference", "exact")


def hessian_ciam_map(activation: torch.Tensor, hvp: torch.Tensor, smooth: bool) -> torch.Tensor:
    """``L_HS`` (``smooth=True``) or ``L_H`` from ``A`` and ``Hv`` (both ``(B, C, *S)``).

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
    """The explicit ``target``'s score, else (``None``) the log-sum-exp of the logits."""
    if target is not None:
        return target.score(outputs)
    if not isinstance(outputs, torch.Tensor) or outputs.ndim != 2:
        raise ValueError("a label-free score needs (B, K) outputs; pass a callable target")
    return torch.logsumexp(outputs.float(), dim=1)


def hessian_vector_product(context, layer, module, mode: str, step: float) -> torch.Tensor:
    """``H v`` of the label-free score at ``layer``'s activation, ``v`` all ones.

    ``"finite_difference"``: ``(g(A + r v) - g(A)) / r`` with ``r = step * mean |A|`` per
    sample (two extra passes); ``"exact"``: double backward (one extra pass). The passes run
    ``batch_size`` samples at a time, like the shared one.
    """
    return torch.cat(
        [_hvp_of_rows(context, rows, layer, module, mode, step) for rows in context.chunks()]
    )


def _hvp_of_rows(context, rows, layer, module, mode: str, step: float) -> torch.Tensor:
    target = context.target_of(rows) if context.explicit_target else None
    gradient_at = partial(context.layer_gradient, layer, module, partial(label_free_score, target))
    if mode == "exact":
        activation, gradient = gradient_at(rows, create_graph=True)
        with torch.enable_grad():
            (hvp,) = torch.autograd.grad(gradient.sum(), activation, allow_unused=True)
        return torch.zeros_like(activation) if hvp is None else hvp.detach().float()
    activation, gradient = gradient_at(rows)
    scale = activation.detach().abs().flatten(1).mean(dim=1).clamp_min(1e-12) * step
    scale = scale.reshape(-1, *([1] * (activation.ndim - 1)))
    _, shifted = gradient_at(rows, shift=scale)
    return ((shifted - gradient) / scale).detach().float()


@register("hessian_ciam", options=("hvp", "r", "smooth"))
def run_hessian_ciam(context) -> dict[str, LayerMap]:
    """Hessian-CIAM of every requested layer (options ``hvp``, ``r``, ``smooth``)."""
    mode = context.options.get("hvp", "finite_difference")
    if mode not in HVP_MODES:
        raise ValueError(f"hvp must be one of {HVP_MODES}; got {mode!r}")
    step = float(context.options.get("r", 1e-3))
    smooth = bool(context.options.get("smooth", True))
    results = {}
    for layer, module in context.layers:
        hvp = hessian_vector_product(context, layer, module, mode, step)
        results[layer] = LayerMap(hessian_ciam_map(context.activations[layer], hvp, smooth))
    return results
