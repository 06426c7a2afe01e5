"""Exception-safe hooks and model-state guards used by every explainer.

Everything here is a context manager: hooks are removed and the model's ``training`` flags,
parameters' ``requires_grad`` and ``.grad`` are restored on exit, also when an error escapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def preserved_state(model: nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode for the block; restore flags, ``requires_grad`` and ``.grad``.

    Examples:
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Linear(2, 2)).train()
        >>> with preserved_state(net):
        ...     net.training
        False
        >>> net.training
        True
    """
    flags = [(module, module.training) for module in model.modules()]
    parameters = [(p, p.requires_grad, p.grad) for p in model.parameters()]
    try:
        model.eval()
        yield
    finally:
        for module, training in flags:
            module.training = training
        for parameter, requires_grad, grad in parameters:
            parameter.requires_grad_(requires_grad)
            parameter.grad = grad


class ActivationCapture:
    """Forward hooks that keep the latest output of each given module.

    Use as a context manager; :meth:`paused` switches capture off for perturbation forwards.

    Args:
        layers: ``(name, module)`` pairs.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
        >>> with ActivationCapture([("0", net[0])]) as capture:
        ...     _ = net(torch.zeros(1, 2))
        ...     tuple(capture.activations["0"].shape)
        (1, 3)
        >>> len(net[0]._forward_hooks)
        0
    """

    def __init__(self, layers: Sequence[tuple[str, nn.Module]]):
        self.layers = list(layers)
        self.activations: dict[str, torch.Tensor] = {}
        self.enabled = True
        self._handles: list = []

    def _hook(self, name: str) -> Callable:
        def hook(module, args, output):
            if not self.enabled:
                return None
            if not isinstance(output, torch.Tensor):
                raise ValueError(
                    f"layer {name!r} ({type(module).__name__}) returns "
                    f"{type(output).__name__}, not a tensor; pick a layer with a tensor output"
                )
            self.activations[name] = output
            # Downstream in-place ops (ReLU(inplace=True)) would overwrite the captured
            # tensor and rebase its gradient; they act on this copy instead.
            return output.clone()

        return hook

    def __enter__(self) -> ActivationCapture:
        self._handles = [module.register_forward_hook(self._hook(n)) for n, module in self.layers]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Switch capture off inside the block (activations already captured are kept)."""
        before = self.enabled
        self.enabled = False
        try:
            yield
        finally:
            self.enabled = before


@contextmanager
def output_replaced(module: nn.Module, function: Callable[[torch.Tensor], torch.Tensor]):
    """Replace ``module``'s output by ``function(output)`` inside the block."""
    handle = module.register_forward_hook(lambda _module, _args, output: function(output))
    try:
        yield
    finally:
        handle.remove()


class _PositiveGradient(torch.autograd.Function):
    """Identity forward; backward lets only positive gradients through."""

    @staticmethod
    def forward(ctx, tensor):
        return tensor.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad.clamp_min(0)


@contextmanager
def guided_relus(model: nn.Module) -> Iterator[int]:
    """Guided backpropagation through every ``nn.ReLU`` of ``model`` inside the block.

    Each ReLU output passes through a gate that keeps only positive gradients; with the
    ReLU's own mask this gives ``grad_in = (x > 0) * max(grad_out, 0)``. Works at any batch
    size and with ``inplace`` ReLUs; the modules themselves are not replaced, so their
    behaviour is back to normal once the block exits. Yields the number of ReLUs gated.
    """
    relus = [module for module in model.modules() if isinstance(module, nn.ReLU)]
    handles = [
        relu.register_forward_hook(lambda _m, _a, output: _PositiveGradient.apply(output))
        for relu in relus
    ]
    try:
        yield len(relus)
    finally:
        for handle in handles:
            handle.remove()
