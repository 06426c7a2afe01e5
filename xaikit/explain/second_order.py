"""Second derivatives for ShapleyCAM: the Hessian-vector product ``H A`` at a layer and a
guard for the one common layer torch cannot differentiate twice (``nn.Hardsigmoid``, in
MobileNetV3's squeeze-and-excitation blocks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


@contextmanager
def twice_differentiable(model: nn.Module) -> Iterator[int]:
    """Inside the block, every ``nn.Hardsigmoid`` of ``model`` returns ``relu6(x + 3) / 6``,
    the same values (the same float operations), but built from ``relu6``, whose backward
    torch can differentiate: torch has no derivative of ``hardsigmoid_backward``, so a
    double backward through MobileNetV3 fails (pytorch-grad-cam's ``ShapleyCAM`` does). Both
    are piecewise linear: the second derivative is zero either way. Yields the number of
    modules changed; they behave as before once the block exits.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Hardsigmoid())
        >>> a = torch.tensor([-4.0, 0.0, 1.5], requires_grad=True)
        >>> with twice_differentiable(net) as count:
        ...     (g,) = torch.autograd.grad(net(a).pow(2).sum(), a, create_graph=True)
        ...     (h,) = torch.autograd.grad(g.sum(), a)   # d2/da2 (a + 3)^2 / 36 = 1/18 inside
        >>> count, net(a).tolist(), [round(v, 4) for v in h.tolist()]
        (1, [0.0, 0.5, 0.75], [0.0, 0.0556, 0.0556])
    """
    modules = [module for module in model.modules() if isinstance(module, nn.Hardsigmoid)]
    inputs: dict[nn.Module, torch.Tensor] = {}

    def keep_input(module, args):
        inputs[module] = args[0]
        return (args[0].clone(),) if module.inplace else None  # keep it from being overwritten

    def recompute(module, args, output):
        return F.relu6(inputs.pop(module) + 3) / 6

    handles = [m.register_forward_pre_hook(keep_input) for m in modules]
    handles += [m.register_forward_hook(recompute) for m in modules]
    try:
        yield len(modules)
    finally:
        for handle in handles:
            handle.remove()


def hessian_times_activation(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """``H A`` ``(B, C, *S)``: the derivative of ``G . A`` at ``A``, ``A`` held fixed, from a
    gradient ``G`` taken with ``create_graph=True`` (one double backward); zero where ``G``
    does not depend on ``A`` (a head that is linear after the layer).

    Raises:
        ValueError: an operation of the model has no second derivative in torch.

    Examples:
        >>> import torch
        >>> a = torch.tensor([[1.0, 2.0]], requires_grad=True)
        >>> (g,) = torch.autograd.grad(a.pow(3).sum(), a, create_graph=True)  # H = diag(6 a)
        >>> hessian_times_activation(a, g).tolist()                             # 6 a * a
        [[6.0, 24.0]]
    """
    hvp = None
    if gradient.requires_grad:
        try:
            with torch.enable_grad():
                (hvp,) = torch.autograd.grad(
                    gradient, activation, grad_outputs=activation.detach(), allow_unused=True
                )
        except RuntimeError as error:
            if "not implemented" not in str(error):
                raise
            raise ValueError(
                f"shapleycam needs the model's second derivatives, and torch has none for one "
                f"of its operations: {error}"
            ) from error
    return torch.zeros_like(activation) if hvp is None else hvp
