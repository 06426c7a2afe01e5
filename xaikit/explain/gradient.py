"""The gradient (and activation-only) CAM family, each a pure function of one layer.

Shapes: activations ``A`` and gradients ``G = dy/dA`` are ``(B, C, h, w)`` for images or
``(B, C, t, h, w)`` for video; every function returns the raw map ``(B, h, w)`` /
``(B, t, h, w)`` before the final ReLU and normalisation, which the engine applies
(pytorch-grad-cam's convention: ReLU, min-max per sample, resize to the input).
Sums and means run over all spatial (and temporal) axes, so every method works in 2D and 3D.
"""

from __future__ import annotations

import torch
from torch import nn

from xaikit.explain._maps import first_component, spatial_sum, upsample
from xaikit.explain.registry import LayerMap, layer_method, register

_EPS_PLUSPLUS = 1e-6  # pytorch-grad-cam's epsilon in the Grad-CAM++ denominator
_EPS_XGRAD = 1e-7  # and in XGrad-CAM's activation sum


def _spatial_mean(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.mean(dim=tuple(range(2, tensor.ndim)))


def _weighted_channel_sum(weights: torch.Tensor, activation: torch.Tensor) -> torch.Tensor:
    """``sum_k w_k A_k`` for weights ``(B, C)`` or ``(B, C, 1, ...)``: one batched matrix
    product, no ``(B, C, *S)`` temporary."""
    return torch.einsum("bc,bc...->b...", weights.flatten(1), activation)


@layer_method("gradcam")
def gradcam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM: channel weights are the spatial mean of the gradient, ``sum_k w_k A_k``.

    Examples:
        >>> import torch
        >>> a = torch.tensor([[[[1.0, 2.0]], [[3.0, 0.0]]]])   # (1, 2, 1, 2)
        >>> g = torch.tensor([[[[1.0, 1.0]], [[-1.0, 0.0]]]])
        >>> gradcam(a, g).tolist()   # weights 1 and -0.5
        [[[-0.5, 2.0]]]
    """
    return _weighted_channel_sum(_spatial_mean(gradient), activation)


@layer_method("hirescam")
def hirescam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """HiResCAM: element-wise ``sum_k G_k * A_k`` (no spatial averaging of the gradient)."""
    return (gradient * activation).sum(dim=1)


@layer_method("layercam")
def layercam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """LayerCAM: ``sum_k ReLU(G_k) * A_k``."""
    return (gradient.clamp_min(0) * activation).sum(dim=1)


@layer_method("xgradcam")
def xgradcam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """XGrad-CAM: weights ``sum_s G A / (sum_s A + eps)`` per channel."""
    weights = spatial_sum(gradient * activation) / (spatial_sum(activation) + _EPS_XGRAD)
    return _weighted_channel_sum(weights, activation)


@layer_method("gradcam++")
def gradcam_plusplus(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM++ (Eq. 19 of Chattopadhay et al., exponential-score closed form).

    ``alpha = G^2 / (2 G^2 + sum_s A * G^3 + eps)`` (zero where ``G = 0``), weights
    ``sum_s alpha * ReLU(G)``. Only ``G > 0`` contributes, so the sum runs on ``P = ReLU(G)``:
    ``alpha * P = P^2 / (2 P^2 + sum_s A * P^3 + eps) * P``, which is zero where ``G <= 0``.
    """
    positive = gradient.clamp_min(0)
    squared = positive.pow(2)
    denominator = squared * (2 + spatial_sum(activation) * positive) + _EPS_PLUSPLUS
    weights = spatial_sum(squared / denominator * positive)
    return _weighted_channel_sum(weights, activation)


@layer_method("eigencam", needs_gradients=False)
def eigencam(activation: torch.Tensor, gradient: torch.Tensor | None = None) -> torch.Tensor:
    """Eigen-CAM: projection of the centred ``(positions, channels)`` activations on their
    first principal direction (class-independent, as in pytorch-grad-cam).

    The SVD's arbitrary sign is fixed so the map correlates positively with the channel sum
    of the activations; pytorch-grad-cam keeps whatever sign LAPACK returns, so the two agree
    up to that sign.
    """
    return first_component(activation, center=True, orient_like=activation.sum(dim=1))


ALL_NEGATIVE_MODES = ("literal", "zero")


def three_d_cam_terms(
    activation: torch.Tensor,
    gradient: torch.Tensor,
    size: tuple[int, ...],
    all_negative: str = "literal",
) -> tuple[torch.Tensor, torch.Tensor]:
    """3DCAM of one layer (Yudistira et al., Eq. 1-2) at feature and at input resolution.

    ``beta = sum_c G_c`` (Eq. 1) and ``alpha = sum_c A_c``; each is upsampled (trilinear for
    video, Eq. 5; bilinear for images: the paper's 2DCAM), divided by its per-sample maximum
    and passed through a ReLU; the map is their product (Eq. 2). Reading of the paper: the
    activation field is summed over channels like the gradient, so both factors are
    ``(B, *S)``.

    A factor whose maximum is negative (``all_negative``):

    * ``"literal"`` (default): Eq. 2 as printed, ``ReLU(x / max x)``. Dividing by a negative
      maximum flips the signs, so the factor is >= 1 everywhere (1 where ``x`` is largest,
      more where it is more negative) and the product can exceed 1: the map at input
      resolution is then divided by its maximum, so it stays in [0, 1] (``raw`` keeps the
      product as printed). At a layer followed by global
      average pooling and a linear classifier the gradient is the same at every position,
      so ``beta / max beta = 1`` and the map is ``ReLU(alpha / max alpha)`` whatever the
      sign of ``beta``.
    * ``"zero"``: the factor is zero, following the text rather than the equation ("ReLU ...
      to omit negative gradients and avoid false positive attentions", Sec. 3.2); the map
      is then all zero and lies in [0, 1].

    A factor whose maximum is exactly 0 gives zeros in both modes (Eq. 2 divides by 0).

    Returns:
        ``(raw, full)``: the product at feature resolution and at ``size``.

    Examples:
        >>> import torch
        >>> gradient = torch.tensor([[[[-2.0, -1.0]]]])     # beta = (-2, -1): max -1
        >>> activation = torch.tensor([[[[1.0, 4.0]]]])     # alpha / max alpha = (0.25, 1)
        >>> three_d_cam_terms(activation, gradient, (1, 2))[0].tolist()   # (2 * .25, 1 * 1)
        [[[0.5, 1.0]]]
        >>> three_d_cam_terms(activation, gradient, (1, 2), all_negative="zero")[0].tolist()
        [[[0.0, 0.0]]]
    """
    if all_negative not in ALL_NEGATIVE_MODES:
        raise ValueError(f"all_negative must be one of {ALL_NEGATIVE_MODES}; got {all_negative!r}")
    beta = gradient.sum(dim=1)
    alpha = activation.sum(dim=1)

    def product(beta_map: torch.Tensor, alpha_map: torch.Tensor) -> torch.Tensor:
        return _max_relu(beta_map, all_negative) * _max_relu(alpha_map, all_negative)

    raw = product(beta, alpha)
    full = product(upsample(beta, size), upsample(alpha, size))
    # The public maps lie in [0, 1]: a literal map that exceeds 1 is divided by its maximum.
    peak = full.reshape(full.shape[0], -1).amax(dim=1).clamp_min(1.0)
    return raw, full / peak.reshape(-1, *([1] * (full.ndim - 1)))


def _max_relu(values: torch.Tensor, all_negative: str) -> torch.Tensor:
    """``ReLU(x / max x)`` per sample; zero when ``max x == 0``, and when ``max x < 0`` with
    ``all_negative="zero"``."""
    top = values.reshape(values.shape[0], -1).amax(dim=1)
    top = top.reshape(-1, *([1] * (values.ndim - 1)))
    defined = top > 0 if all_negative == "zero" else top != 0
    safe = torch.where(defined, top, 1.0)
    return torch.where(defined, (values / safe).clamp_min(0), 0.0)


@register("3dcam", options=("all_negative",), needs_gradients=True, normalise="none")
def run_3dcam(context) -> dict[str, LayerMap]:
    """3DCAM per layer (Eq. 2, see :func:`three_d_cam_terms`; option ``all_negative`` =
    ``"literal"`` (default) or ``"zero"``). Sum-3DCAM (Eq. 6) is
    ``Explanation.combine(layers, how="sum")``; the counterfactual 3DCAM (Eq. 7, negated
    gradients) is ``target=Counterfactual()``, whose score is the negated class score."""
    all_negative = context.options.get("all_negative", "literal")
    results = {}
    for layer in context.layer_names:
        raw, full = three_d_cam_terms(
            context.activations[layer], context.gradients[layer], context.input_size, all_negative
        )
        results[layer] = LayerMap(raw, full)
    return results


def final_linear(model: nn.Module) -> nn.Linear:
    """The last ``nn.Linear`` registered in ``model`` (the classifier CAM reads)."""
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise ValueError("cam needs a final nn.Linear classifier; the model has none")
    return linears[-1]


@register("cam", needs_gradients=False)
def run_cam(context) -> dict[str, LayerMap]:
    """CAM (Zhou et al.): ``M_c = sum_k w_k^c A_k`` with ``w^c`` the final linear layer's row
    for the explained class. Needs a class target and a layer with as many channels as the
    classifier has inputs (the layer before global average pooling)."""
    if context.classes is None:
        raise ValueError("cam needs a class target (None, an int, ints, TopK or ClassTarget)")
    weight = final_linear(context.model).weight.detach()
    results = {}
    for layer in context.layer_names:
        activation = context.activations[layer]
        if activation.shape[1] != weight.shape[1]:
            raise ValueError(
                f"cam: layer {layer!r} has {activation.shape[1]} channels but the final linear "
                f"layer takes {weight.shape[1]} inputs; pick the layer before global pooling"
            )
        class_weights = weight[context.classes].to(activation.dtype)
        results[layer] = LayerMap(_weighted_channel_sum(class_weights, activation))
    return results
