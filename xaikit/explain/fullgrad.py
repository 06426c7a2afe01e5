"""FullGrad's own pass (Srinivas & Fleuret, "Full-Gradient Representation for Neural Network
Visualization", NeurIPS 2019): the gradient of the target score at the input and at the
output of every layer with a bias, in one forward and one backward.

The saliency is ``sum_c psi(|x_c * dS/dx_c|) + sum_l sum_c psi(|b_lc * dS/dz_lc|)`` (Eq. 5),
where ``z_l`` is the output of a bias layer ``l`` (its gradient equals the gradient of the
bias broadcast over positions), ``b_l`` its bias and ``psi`` min-max normalises each channel
map and resizes it to the input (bilinear, trilinear for video). The bias layers are those of
pytorch-grad-cam's ``FullGrad``: every convolution with a bias and every batch normalisation
of the input's dimensionality (``Conv2d`` / ``BatchNorm2d`` for images, ``Conv3d`` /
``BatchNorm3d`` for video), whatever layers were requested. A batch normalisation's bias is
its inference-time offset ``beta - mu * gamma / sqrt(var + eps)``, as in the paper's code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from xaikit.explain._maps import upsample
from xaikit.explain.hooks import input_copy

BIAS_LAYER_TYPES = {4: (nn.Conv2d, nn.BatchNorm2d), 5: (nn.Conv3d, nn.BatchNorm3d)}
_EPS = 1e-7  # pytorch-grad-cam's epsilon in the per-channel min-max (scale_cam_image)


def bias_layers(model: nn.Module, ndim: int) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every convolution with a bias and every batch normalisation with
    an affine bias, for inputs of ``ndim`` axes (4: images, 5: video), in registration order."""
    types = BIAS_LAYER_TYPES[ndim]
    return [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, types) and getattr(module, "bias", None) is not None
    ]


def effective_bias(name: str, module: nn.Module) -> torch.Tensor:
    """The bias ``(C,)`` a layer adds at inference: a convolution's own, a batch
    normalisation's ``beta - running_mean * gamma / sqrt(running_var + eps)``."""
    if not isinstance(module, nn.modules.batchnorm._BatchNorm):
        return module.bias.detach()
    if module.running_mean is None:
        raise ValueError(
            f"fullgrad needs the running statistics of batch normalisation {name!r} "
            "(track_running_stats=True): its bias is the inference-time offset"
        )
    scale = module.weight / torch.sqrt(module.running_var + module.eps)
    return (module.bias - module.running_mean * scale).detach()


def channel_minmax(maps: torch.Tensor) -> torch.Tensor:
    """``(m - min m) / (max (m - min m) + 1e-7)`` for each ``(sample, channel)`` map of a
    ``(B, C, *S)`` tensor (pytorch-grad-cam's ``scale_cam_image``; a constant map becomes 0).

    Examples:
        >>> import torch
        >>> channel_minmax(torch.tensor([[[1.0, 3.0], [5.0, 5.0]]])).round(decimals=4).tolist()
        [[[0.0, 1.0], [0.0, 0.0]]]
    """
    flat = maps.flatten(2)
    shifted = flat - flat.amin(dim=2, keepdim=True)
    return (shifted / (shifted.amax(dim=2, keepdim=True) + _EPS)).reshape(maps.shape)


def fullgrad_map(
    x: torch.Tensor,
    input_gradient: torch.Tensor,
    bias_terms: list[tuple[torch.Tensor, torch.Tensor]],
) -> torch.Tensor:
    """FullGrad (Eq. 5) from the input ``x``, its gradient (both ``(B, C, *S)``) and, per bias
    layer call, its bias ``(C_l,)`` and the gradient at its output ``(B, C_l, *s_l)``.

    Each channel map is min-maxed (:func:`channel_minmax`) at its own resolution and resized
    to ``S``; the resize is linear, so a layer's channels are summed before it (one resize
    per layer).

    Returns:
        ``(B, *S)``, not normalised.

    Examples:
        >>> import torch
        >>> x = torch.tensor([[[[1.0, 2.0, 3.0]]]])             # (1, 1, 1, 3)
        >>> dx = torch.tensor([[[[1.0, 1.0, -1.0]]]])           # |x dx| = (1, 2, 3)
        >>> g = torch.tensor([[[[1.0, 0.0, 0.5]]]])             # |2 g| = (2, 0, 1)
        >>> fullgrad_map(x, dx, [(torch.tensor([2.0]), g)]).round(decimals=4).tolist()
        [[[1.0, 0.5, 1.5]]]
    """
    size = tuple(x.shape[2:])
    total = channel_minmax((x * input_gradient).abs()).sum(dim=1)
    for bias, gradient in bias_terms:
        shape = (1, -1, *([1] * (gradient.ndim - 2)))
        terms = channel_minmax((bias.reshape(shape).to(gradient) * gradient).abs())
        total = total + upsample(terms.sum(dim=1), size)
    return total


@contextmanager
def outputs_recorded(layers: list[tuple[str, nn.Module]]) -> Iterator[list[list]]:
    """Inside the block, record every output of each module of ``layers`` (one list per
    module, one entry per call). The model goes on with a copy, so an in-place operation
    after a layer (``ReLU(inplace=True)``) leaves the recorded output, and its gradient,
    the layer's own."""
    recorded: list[list] = [[] for _ in layers]

    def hook_for(calls: list):
        def hook(module, args, output):
            calls.append(output)
            return output.clone()

        return hook

    handles = [module.register_forward_hook(hook_for(calls)) for (_, module), calls in zip(
        layers, recorded, strict=True)]  # fmt: skip
    try:
        yield recorded
    finally:
        for handle in handles:
            handle.remove()


def fullgrad(context) -> torch.Tensor:
    """FullGrad ``(B, *S)`` of every sample (not normalised): one extra forward and backward
    per chunk of ``batch_size`` samples, to the input and every bias layer's output at once.

    Raises:
        ValueError: a bias layer's output is not a ``(B, C, *s)`` feature map of the
            sample batch (e.g. a 2D convolution run on the frames of a video model), or a
            batch normalisation keeps no running statistics.
    """
    from tqdm.auto import tqdm

    layers = bias_layers(context.model, context.x.ndim)
    biases = [effective_bias(name, module) for name, module in layers]
    parts = []
    chunks = context.chunks()
    for rows in tqdm(chunks, desc="fullgrad", disable=not context.progress, leave=False):
        leaf, x = input_copy(context.x[rows], requires_grad=True)
        with outputs_recorded(layers) as recorded, context.capture.paused():
            with torch.enable_grad(), context.autocast_context():
                scores = context.target_of(rows).score(context.model(x))
                calls = [
                    (index, output) for index, outputs in enumerate(recorded) for output in outputs
                ]
                for index, output in calls:
                    _check_output(layers[index][0], output, len(rows), len(biases[index]), x.ndim)
                tensors = [leaf, *(output for _, output in calls if output.requires_grad)]
                grads = torch.autograd.grad(scores.sum(), tensors, allow_unused=True)
        grads = iter(grads)
        input_gradient = _zero_if_none(next(grads), leaf)
        # a layer whose output does not depend on the input or does not reach the score
        # has a zero gradient: its term psi(0) is zero, so it is left out
        bias_terms = [
            (biases[index], next(grads) if output.requires_grad else None)
            for index, output in calls
        ]
        bias_terms = [(bias, grad.float()) for bias, grad in bias_terms if grad is not None]
        parts.append(fullgrad_map(context.x[rows].float(), input_gradient, bias_terms))
    return torch.cat(parts)


def _zero_if_none(gradient, tensor: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(tensor).float() if gradient is None else gradient.float()


def _check_output(name: str, output, rows: int, channels: int, ndim: int) -> None:
    if (
        not isinstance(output, torch.Tensor)
        or output.ndim != ndim
        or output.shape[0] != rows
        or output.shape[1] != channels
    ):
        got = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise ValueError(
            f"fullgrad: bias layer {name!r} outputs {got}, not a ({rows}, {channels}, ...) "
            "feature map of the explained samples; fullgrad needs every convolution and batch "
            "normalisation to run on the samples' own feature maps"
        )
