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
        self._graph_from_capture = False
        self._handles: list = []

    @contextmanager
    def graph_from_first_layer(self) -> Iterator[None]:
        """Build the autograd graph only from the first captured layer on, inside the block.

        The forward starts without gradients (as fast as inference); the first captured
        layer's output becomes a leaf that requires grad and gradients are switched on from
        there, so nothing before it pays for the graph. A captured layer whose output still
        needs no gradient (a branch that does not depend on the first, frozen weights)
        becomes a leaf too, so every captured layer gets its gradient. Gradient mode is
        restored on exit.
        """
        before = torch.is_grad_enabled()
        self._graph_from_capture = True
        try:
            with torch.no_grad():
                yield
        finally:
            self._graph_from_capture = False
            torch.set_grad_enabled(before)

    def _hook(self, name: str) -> Callable:
        def hook(module, args, output):
            if not self.enabled:
                return None
            if not isinstance(output, torch.Tensor):
                raise ValueError(
                    f"layer {name!r} ({type(module).__name__}) returns "
                    f"{type(output).__name__}, not a tensor; pick a layer with a tensor output"
                )
            if self._graph_from_capture and not output.requires_grad:
                # the first captured layer, or one on a branch that does not depend on it
                torch.set_grad_enabled(True)
                output = output.detach().requires_grad_(True)
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


@contextmanager
def forward_replaced(module: nn.Module, produce: Callable[[], torch.Tensor]):
    """Inside the block, ``module(...)`` returns ``produce()`` without running its own forward
    (a perturbation that replaces a layer's whole output skips the layer's work); its hooks
    still run.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
        >>> with forward_replaced(net[0], lambda: torch.tensor([[-1.0, 3.0]])):
        ...     net(torch.zeros(1, 2)).tolist()
        [[0.0, 3.0]]
        >>> "forward" in vars(net[0])
        False
    """
    previous = vars(module).get("forward")
    module.forward = lambda *args, **kwargs: produce()
    try:
        yield
    finally:
        if previous is None:
            del module.forward
        else:
            module.forward = previous


def input_copy(x: torch.Tensor, requires_grad: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``(leaf, model_input)``: a fresh copy of ``x`` to differentiate against and the tensor
    to give the model, a copy the model may change in place (``x.mul_(2)``,
    ``ReLU(inplace=True)`` first) without touching ``x`` or the leaf.

    Examples:
        >>> import torch
        >>> x = torch.ones(1, 3)
        >>> leaf, given = input_copy(x, requires_grad=True)
        >>> _ = given.mul_(2)
        >>> x.tolist(), leaf.tolist(), leaf.requires_grad
        ([[1.0, 1.0, 1.0]], [[1.0, 1.0, 1.0]], True)
    """
    leaf = x.detach().clone().requires_grad_(requires_grad)
    if not requires_grad:
        return leaf, leaf
    with torch.enable_grad():  # also under a caller's torch.no_grad()
        return leaf, leaf.clone()


_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _check_conv_input(name: str, conv: nn.Module, x: torch.Tensor) -> None:
    """Raise a ``ValueError`` naming the fix when ``x`` cannot enter ``conv``."""
    expected = conv.in_channels
    if x.ndim >= 2 and x.shape[1] != expected:
        layout = "(B, C, H, W)" if x.ndim == 4 else "(B, C, T, H, W)"
        hint = (
            f"; it looks channels-last: use x.permute(0, {x.ndim - 1}, "
            f"{', '.join(str(i) for i in range(1, x.ndim - 1))})"
            if x.shape[-1] == expected
            else ""
        )
        raise ValueError(
            f"the model's first convolution {name!r} takes {expected} input channels, but x "
            f"of shape {tuple(x.shape)} has {x.shape[1]} on axis 1 (expected {layout}){hint}"
        )
    weight = conv.weight
    if x.dtype != weight.dtype and not torch.is_autocast_enabled(x.device.type):
        raise ValueError(
            f"x is {x.dtype} but the model's first convolution {name!r} has {weight.dtype} "
            f"weights; pass x.to({weight.dtype}) or convert the model with model.to({x.dtype})"
        )


@contextmanager
def first_convolution_checked(model: nn.Module) -> Iterator[None]:
    """Inside the block, check the input of the first convolution that runs (channels,
    channels-last layout, dtype) and raise a clear ``ValueError`` instead of torch's error.

    Only the first convolution called is checked, on what actually reaches it, so a model
    that rearranges or casts its input itself is never refused.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 2, 1))
        >>> with first_convolution_checked(net):
        ...     net(torch.zeros(1, 8, 8, 3))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: the model's first convolution '0' takes 3 input channels, ...channels-last...
    """
    convolutions = [(n, m) for n, m in model.named_modules() if isinstance(m, _CONVOLUTIONS)]
    handles: list = []

    def remove() -> None:
        for handle in handles:
            handle.remove()
        handles.clear()

    def hook_for(name: str) -> Callable:
        def hook(module, args):
            remove()
            if args and isinstance(args[0], torch.Tensor):
                _check_conv_input(name, module, args[0])

        return hook

    handles.extend(m.register_forward_pre_hook(hook_for(n)) for n, m in convolutions)
    try:
        yield
    finally:
        remove()


class _Rerouted(torch.autograd.Function):
    """A module's output (values unchanged) whose backward is ``rule(module, input, output,
    grad_output) -> grad_input``, sent straight to the module's input: the module's own
    backward is skipped."""

    @staticmethod
    def forward(ctx, input, output, rule, module):
        ctx.save_for_backward(input, output)
        ctx.rule, ctx.module = rule, module
        return output.clone()

    @staticmethod
    def backward(ctx, grad):
        input, output = ctx.saved_tensors
        return ctx.rule(ctx.module, input.detach(), output, grad), None, None, None


def _rule_of(module: nn.Module, rules: dict) -> Callable | None:
    return next((rule for kind, rule in rules.items() if isinstance(module, kind)), None)


@contextmanager
def rerouted_backward(model: nn.Module, rules: dict) -> Iterator[int]:
    """Inside the block, every module of ``model`` that is an instance of a key of ``rules``
    (a module type or a tuple of them) back-propagates
    ``rules[kind](module, input, output, grad_output)`` instead of its own gradient (``input``
    and ``output`` are that call's, detached).

    A pre-hook keeps each call's input (a copy, graph included, when the module works in
    place) and a forward hook swaps the output for an autograd node with that backward, so
    in-place modules and modules called several times in one forward (a ResNet block's one
    ReLU) are handled call by call. The modules are not replaced and behave normally again
    once the block exits. Yields the number of modules rerouted.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> x = torch.tensor([-1.0, 2.0], requires_grad=True)
        >>> double = lambda module, input, output, grad: 2 * grad
        >>> net = nn.Sequential(nn.ReLU(inplace=True))
        >>> with rerouted_backward(net, {nn.ReLU: double}) as n:
        ...     y = net(x.clone())
        ...     (grad,) = torch.autograd.grad(y.sum(), x)
        >>> n, y.tolist(), grad.tolist()
        (1, [0.0, 2.0], [2.0, 2.0])
    """
    modules = [module for module in model.modules() if _rule_of(module, rules) is not None]
    inputs: dict[nn.Module, torch.Tensor] = {}

    def keep_input(module, args):
        # an in-place module overwrites its input: keep a copy of the value it had
        inputs[module] = args[0].clone() if getattr(module, "inplace", False) else args[0]

    def reroute(module, _args, output):
        rule = _rule_of(module, rules)
        return _Rerouted.apply(inputs.pop(module), output.detach(), rule, module)

    handles = [module.register_forward_pre_hook(keep_input) for module in modules]
    handles += [module.register_forward_hook(reroute) for module in modules]
    try:
        yield len(modules)
    finally:
        for handle in handles:
            handle.remove()
        inputs.clear()


def _guided_gradient(_module, input, _output, grad):
    return grad.clamp_min(0) * (input > 0)


def _deconvolution_gradient(_module, _input, _output, grad):
    return grad.clamp_min(0)


@contextmanager
def guided_relus(model: nn.Module) -> Iterator[int]:
    """Guided backpropagation through every ``nn.ReLU`` of ``model`` inside the block:
    ``grad_in = (x > 0) * max(grad_out, 0)`` (:func:`rerouted_backward`). Works at any batch
    size and with ``inplace`` ReLUs; the modules themselves are not replaced, so their
    behaviour is back to normal once the block exits. Yields the number of ReLUs gated.
    """
    with rerouted_backward(model, {nn.ReLU: _guided_gradient}) as count:
        yield count


@contextmanager
def deconvolution_relus(model: nn.Module) -> Iterator[int]:
    """Deconvolution (Zeiler & Fergus) through every ``nn.ReLU`` of ``model`` inside the block:
    ``grad_in = max(grad_out, 0)`` whatever the forward input was (no ReLU mask), captum's
    ``Deconvolution``; otherwise as :func:`guided_relus`.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> x = torch.tensor([-1.0, 2.0, 3.0], requires_grad=True)
        >>> net = nn.ReLU()
        >>> with deconvolution_relus(net):
        ...     (grad,) = torch.autograd.grad((net(x) * torch.tensor([1.0, 1.0, -1.0])).sum(), x)
        >>> grad.tolist()   # the masked input -1 still passes; the negative gradient does not
        [1.0, 1.0, 0.0]
    """
    with rerouted_backward(model, {nn.ReLU: _deconvolution_gradient}) as count:
        yield count
