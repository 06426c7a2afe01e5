"""Dense Attention (Ebrahimpour et al., "Do humans look where deep CNNs attend?", sect. 3.2).

Label-free: the Gestalt Total ``GT`` is the mean activation of the deepest requested layer
(or ``gestalt_layer=``); its gradient ``G_n`` at each requested layer ``f_n`` gives

* spatial weights ``W^s = softmax_{x,y}(sum_c G_n)`` (Eq. 8-9),
* channel weights ``W^c = softmax_c(sum_{x,y} G_n)`` (Eq. 11),
* SCA features ``f^SCA = W^c * f_n + W^s * f_n`` (Eq. 10-12, read as the two attention maps
  ``A^c = W^c . f_n`` and ``A^s = W^s (.) f_n`` added: the literal ``A^c . f_n`` would
  square the features),
* the layer map: the channel mean of ``f^SCA`` (Eq. 14's per-layer term).

Combinations (Eq. 13-14) sum the per-layer maps from the deepest layer down, each upsampled
to the finer layer's resolution, under keys ``"conv5+conv4"``, ``"conv5+conv4+conv3"``...
One forward and one backward of ``GT`` serve all layers.
"""

from __future__ import annotations

import torch

from xaikit.explain._maps import upsample
from xaikit.explain.registry import LayerMap, register


def sca_map(feature: torch.Tensor, sensitivity: torch.Tensor) -> torch.Tensor:
    """Per-layer Dense Attention map ``(B, *S)`` from ``f_n`` and ``G_n`` (both ``(B, C, *S)``).

    Examples:
        >>> import torch
        >>> f = torch.ones(1, 2, 1, 2)          # two channels, two positions
        >>> g = torch.zeros(1, 2, 1, 2)         # flat sensitivity: uniform softmaxes
        >>> sca_map(f, g).tolist()               # (1/2 + 1/2) * 1 per channel, mean over channels
        [[[1.0, 1.0]]]
    """
    batch, channels = feature.shape[:2]
    spatial = torch.softmax(sensitivity.sum(dim=1).reshape(batch, -1), dim=1)
    spatial = spatial.reshape(batch, 1, *feature.shape[2:])
    channel = torch.softmax(sensitivity.reshape(batch, channels, -1).sum(dim=2), dim=1)
    channel = channel.reshape(batch, channels, *([1] * (feature.ndim - 2)))
    return (channel * feature + spatial * feature).mean(dim=1)


@register("dense_attention", options=("gestalt_layer",))
def run_dense_attention(context) -> dict[str, LayerMap]:
    """Dense Attention maps per layer and their deep-to-shallow combinations."""
    layers = dict(context.layers)
    order = [name for name in context.forward_order() if name in layers]
    gestalt = context.options.get("gestalt_layer", order[-1])
    if gestalt not in layers:
        raise ValueError(f"gestalt_layer {gestalt!r} must be one of the requested layers {order}")
    features, sensitivities = context.gradients_of(
        lambda acts: acts[gestalt].mean(dim=tuple(range(1, acts[gestalt].ndim)))
    )
    results = {name: LayerMap(sca_map(features[name], sensitivities[name])) for name in order}
    deep_to_shallow = order[::-1]
    total = results[deep_to_shallow[0]].raw
    for depth, name in enumerate(deep_to_shallow[1:], start=2):
        fine = results[name].raw
        total = upsample(total, tuple(fine.shape[1:])) + fine
        results["+".join(deep_to_shallow[:depth])] = LayerMap(total)
    return results
