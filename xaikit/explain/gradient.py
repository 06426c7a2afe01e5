"""The gradient (and activation-only) CAM family, each a pure function of one layer.

Shapes: activations ``A`` and gradients ``G = dy/dA`` are ``(B, C, h, w)`` for images or
``(B, C, t, h, w)`` for video. A channel method (``per_channel=True``: Grad-CAM and its kin)
returns the per-channel terms ``(B, C, h, w)`` whose channel sum is its raw map (reduced by
:func:`~xaikit.explain.registry.channel_map`, which ``eigen_smooth`` turns into a principal
component); the others return the raw map ``(B, h, w)`` / ``(B, t, h, w)``. The engine applies
the final ReLU and normalisation (pytorch-grad-cam's convention: ReLU, min-max per sample,
resize to the input).
Sums and means run over all spatial (and temporal) axes, so every method works in 2D and 3D.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import nn

from xaikit.explain._maps import first_component, pearson, spatial_sum, upsample
from xaikit.explain.finercam import contrastive_gradients
from xaikit.explain.fullgrad import fullgrad
from xaikit.explain.registry import LayerMap, channel_map, layer_method, register
from xaikit.explain.second_order import hessian_times_activation, twice_differentiable

_EPS_PLUSPLUS = 1e-6  # pytorch-grad-cam's epsilon in the Grad-CAM++ denominator
_EPS_XGRAD = 1e-7  # and in XGrad-CAM's activation sum


def _spatial_mean(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.mean(dim=tuple(range(2, tensor.ndim)))


def _weighted(weights: torch.Tensor, activation: torch.Tensor) -> torch.Tensor:
    """Per-channel terms ``w_k A_k`` ``(B, C, *S)`` for weights ``(B, C)`` or ``(B, C, 1, ...)``."""
    return weights.reshape(*weights.shape[:2], *([1] * (activation.ndim - 2))) * activation


@layer_method("gradcam", per_channel=True)
def gradcam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM: channel weights are the spatial mean of the gradient, ``sum_k w_k A_k``.

    Examples:
        >>> import torch
        >>> a = torch.tensor([[[[1.0, 2.0]], [[3.0, 0.0]]]])   # (1, 2, 1, 2)
        >>> g = torch.tensor([[[[1.0, 1.0]], [[-1.0, 0.0]]]])
        >>> gradcam(a, g).sum(dim=1).tolist()   # weights 1 and -0.5
        [[[-0.5, 2.0]]]
    """
    return _weighted(_spatial_mean(gradient), activation)


@layer_method("hirescam", per_channel=True)
def hirescam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """HiResCAM: element-wise ``sum_k G_k * A_k`` (no spatial averaging of the gradient)."""
    return gradient * activation


@layer_method("layercam", per_channel=True)
def layercam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """LayerCAM: ``sum_k ReLU(G_k) * A_k``."""
    return gradient.clamp_min(0) * activation


@layer_method("xgradcam", per_channel=True)
def xgradcam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """XGrad-CAM: weights ``sum_s G A / (sum_s A + eps)`` per channel."""
    weights = spatial_sum(gradient * activation) / (spatial_sum(activation) + _EPS_XGRAD)
    return _weighted(weights, activation)


@layer_method("gradcam++", per_channel=True)
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
    return _weighted(weights, activation)


@layer_method("eigencam", needs_gradients=False)
def eigencam(activation: torch.Tensor, gradient: torch.Tensor | None = None) -> torch.Tensor:
    """Eigen-CAM: projection of the centred ``(positions, channels)`` activations on their
    first principal direction (class-independent, as in pytorch-grad-cam).

    The SVD's arbitrary sign is fixed so the map correlates positively with the channel sum
    of the activations; pytorch-grad-cam keeps whatever sign LAPACK returns, so the two agree
    up to that sign.
    """
    return first_component(activation, center=True, orient_like=activation.sum(dim=1))


@layer_method("eigengradcam")
def eigengradcam(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """EigenGradCAM (pytorch-grad-cam's class-discriminative variant of Eigen-CAM, Muhammad
    and Yeasin 2020): projection of the centred ``(positions, channels)`` products ``G * A``
    on their first principal direction; ``(B, C, *S) -> (B, *S)``.

    As in :func:`eigencam`, the SVD's arbitrary sign is fixed so the map correlates
    positively with the channel sum of the products (the HiResCAM map ``sum_k G_k A_k``);
    pytorch-grad-cam keeps whatever sign LAPACK returns, so the two agree up to that sign.

    Examples:
        >>> import torch
        >>> a = torch.tensor([[[[1.0, 1.0, 1.0]], [[2.0, 2.0, 2.0]]]])  # (1, 2, 1, 3)
        >>> g = torch.tensor([[[[0.0, 3.0, 6.0]], [[0.0, 2.0, 4.0]]]])  # G A: (0, 3, 6), (0, 4, 8)
        >>> eigengradcam(a, g).round(decimals=4).tolist()   # centred rows on (3, 4) / 5
        [[[-5.0, 0.0, 5.0]]]
    """
    product = gradient * activation
    return first_component(product, center=True, orient_like=product.sum(dim=1))


@layer_method("gradcam_elementwise", per_channel=True)
def gradcam_elementwise(activation: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
    """Grad-CAM element-wise (pytorch-grad-cam's ``GradCAMElementWise``): ``sum_k ReLU(G_k A_k)``,
    HiResCAM with every term rectified before the sum. Returns the terms ``(B, C, *S)``.

    Examples:
        >>> import torch
        >>> a = torch.tensor([[[[1.0, 2.0]], [[3.0, 0.0]]]])   # (1, 2, 1, 2)
        >>> g = torch.tensor([[[[1.0, 1.0]], [[-1.0, 0.0]]]])  # G * A: (1, 2), (-3, 0)
        >>> gradcam_elementwise(a, g).sum(dim=1).tolist()   # HiResCAM gives (-2, 2)
        [[[1.0, 2.0]]]
    """
    return (gradient * activation).clamp_min(0)


KPCA_KERNELS = ("sigmoid", "linear", "poly", "rbf", "cosine")
# scikit-learn KernelPCA's ``degree`` and ``coef0``, which pytorch-grad-cam's KPCA_CAM keeps
_KPCA_DEGREE, _KPCA_COEF0 = 3, 1.0
_KPCA_DENSE_POSITIONS = 200  # above, scikit-learn's KernelPCA (and ours) uses ARPACK


def kpcacam(
    activation: torch.Tensor, kernel: str = "sigmoid", gamma: float | None = None
) -> torch.Tensor:
    """KPCA-CAM (Karmani et al. 2024): the first kernel principal component of the centred
    ``(positions, channels)`` activations, class-independent; ``(B, C, *S) -> (B, *S)``.

    Each sample's ``S`` positions are points in ``R^C``, centred per channel. Their kernel
    matrix ``K`` (``S x S``; scikit-learn's kernels: ``linear`` ``x.y``, ``poly``
    ``(gamma x.y + 1)^3``, ``rbf`` ``exp(-gamma |x - y|^2)``, ``sigmoid`` (default)
    ``tanh(gamma x.y + 1)``, ``cosine`` ``x.y / (|x| |y|)``; ``gamma=None`` is ``1 / C``) is
    centred in feature space, and the map is its top eigenvector times the square root of
    the eigenvalue: what scikit-learn's ``KernelPCA(n_components=1).fit_transform`` returns
    when pytorch-grad-cam's ``KPCA_CAM`` calls it. The linear kernel gives :func:`eigencam`.
    One ``S x S`` kernel matrix per sample, in float64 where the device has it (MPS has not):
    in float32 its top eigenvector is only good to about 1e-4 of its largest entry when the
    top eigenvalues are close. See :func:`_top_eigenpair` for the eigensolver.

    The sign is fixed as in :func:`eigencam` (the map correlates positively with the channel
    sum of the activations); scikit-learn makes the eigenvector's largest entry positive
    instead, so the two agree up to that sign.

    Raises:
        ValueError: an unknown ``kernel`` or a ``gamma`` that is not a real number >= 0.

    Examples:
        >>> import torch
        >>> a = torch.tensor([[[[0.0, 3.0, 6.0]], [[0.0, 4.0, 8.0]]]])  # (1, 2, 1, 3)
        >>> kpcacam(a, kernel="linear").round(decimals=4).tolist()   # Eigen-CAM's map
        [[[-5.0, 0.0, 5.0]]]
    """
    if kernel not in KPCA_KERNELS:
        raise ValueError(f"kernel must be one of {KPCA_KERNELS}; got {kernel!r}")
    if gamma is not None:
        gamma = _real("gamma", gamma, minimum=0.0)
    batch, channels = activation.shape[:2]
    gamma = 1.0 / channels if gamma is None else gamma
    precise = _precise(activation)
    points = activation.reshape(batch, channels, -1).nan_to_num(nan=0.0).transpose(1, 2)
    points = points.to(precise)
    points = points - points.mean(dim=1, keepdim=True)  # (B, S, C)
    projections = []
    for sample in points:  # one S x S matrix at a time
        matrix = _kernel_matrix(sample[None], kernel, gamma)[0]
        matrix = matrix - matrix.mean(dim=0) - matrix.mean(dim=1, keepdim=True) + matrix.mean()
        value, vector = _top_eigenpair(matrix)
        projections.append(vector * value.clamp_min(0).sqrt())
    projection = torch.stack(projections)
    flip = pearson(projection, activation.sum(dim=1).reshape(batch, -1).to(precise)) < 0
    projection = torch.where(flip[:, None], -projection, projection)
    return projection.reshape(batch, *activation.shape[2:]).to(activation.dtype)


def _top_eigenpair(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The largest eigenvalue and a unit eigenvector of a symmetric ``(S, S)`` matrix.

    As scikit-learn's ``KernelPCA`` chooses: a dense decomposition up to
    ``_KPCA_DENSE_POSITIONS`` rows, else ARPACK's Lanczos iteration (scipy's ``eigsh``, on the
    CPU in float64, to machine precision, from a fixed start), which needs a few dozen
    ``O(S^2)`` products instead of an ``O(S^3)`` decomposition (at 56 x 56 positions: about
    1 s instead of 10 s on a CPU). Should ARPACK not converge, the dense decomposition runs.
    """
    size = matrix.shape[0]
    if size > _KPCA_DENSE_POSITIONS:
        from scipy.sparse.linalg import ArpackNoConvergence, eigsh

        start = np.random.RandomState(0).uniform(-1.0, 1.0, size)
        dense = matrix.detach().cpu().double().numpy()
        try:
            values, vectors = eigsh(dense, k=1, which="LA", tol=0, v0=start)
        except ArpackNoConvergence:
            pass
        else:
            value = torch.tensor(values[0], dtype=matrix.dtype, device=matrix.device)
            return value, torch.from_numpy(vectors[:, 0]).to(matrix)
    values, vectors = torch.linalg.eigh(matrix)  # ascending eigenvalues
    return values[-1], vectors[:, -1]


def _kernel_matrix(points: torch.Tensor, kernel: str, gamma: float) -> torch.Tensor:
    """scikit-learn's ``pairwise_kernels`` of ``(B, S, C)`` points with themselves."""
    if kernel == "cosine":
        norms = points.norm(dim=2, keepdim=True)
        points = points / torch.where(norms > 0, norms, 1.0)  # a zero point stays zero
    dots = points @ points.transpose(1, 2)
    if kernel in ("linear", "cosine"):
        return dots
    if kernel == "poly":
        return (gamma * dots + _KPCA_COEF0) ** _KPCA_DEGREE
    if kernel == "sigmoid":
        return torch.tanh(gamma * dots + _KPCA_COEF0)
    squares = dots.diagonal(dim1=1, dim2=2)
    distances = (squares[:, :, None] + squares[:, None, :] - 2 * dots).clamp_min(0)
    distances = distances * (1 - torch.eye(dots.shape[1], device=dots.device, dtype=dots.dtype))
    return torch.exp(-gamma * distances)


@register("kpcacam", options=("kernel", "gamma"))
def run_kpcacam(context) -> dict[str, LayerMap]:
    """KPCA-CAM per layer (:func:`kpcacam`; options ``kernel="sigmoid"``, ``gamma=None``)."""
    kernel = context.options.get("kernel", "sigmoid")
    gamma = context.options.get("gamma")
    return {
        layer: LayerMap(kpcacam(context.activations[layer], kernel, gamma))
        for layer in context.layer_names
    }


def fem(activation: torch.Tensor, k: float = 2.0) -> torch.Tensor:
    """FEM, the feature explanation method (Fuad et al. 2020): the weight of channel ``c`` is
    the fraction of positions where ``A_c`` exceeds its k-sigma threshold ``mean_s A_c + k
    std_s A_c`` (population standard deviation over every spatial axis); class-independent.
    Returns the terms ``w_c A_c`` ``(B, C, *S)``.

    Examples:
        >>> import torch
        >>> a = torch.tensor([[[[0.0, 0.0, 0.0, 4.0]], [[1.0, 1.0, 1.0, 1.0]]]])  # (1, 2, 1, 4)
        >>> # channel 0: mean 1, std sqrt(3), 1 of 4 positions above 1 + sqrt(3); channel 1
        >>> # is constant, so never above its threshold
        >>> fem(a, k=1.0).sum(dim=1).tolist()
        [[[0.0, 0.0, 0.0, 1.0]]]
    """
    k = _real("k", k)
    axes = tuple(range(2, activation.ndim))
    mean = activation.mean(dim=axes, keepdim=True)
    std = activation.std(dim=axes, correction=0, keepdim=True)
    weights = (activation > mean + k * std).to(activation.dtype).mean(dim=axes, keepdim=True)
    return weights * activation


@register("fem", options=("k",), per_channel=True)
def run_fem(context) -> dict[str, LayerMap]:
    """FEM per layer (:func:`fem`; option ``k=2``, pytorch-grad-cam's default)."""
    k = context.options.get("k", 2.0)
    return {
        layer: LayerMap(channel_map(fem(context.activations[layer], k), context))
        for layer in context.layer_names
    }


def randomcam(activation: torch.Tensor, generator: np.random.RandomState) -> torch.Tensor:
    """RandomCAM, a sanity-check baseline: channel weights drawn uniformly from [-1, 1),
    ``(B, C)`` of them from ``generator.uniform``; returns the terms ``w_c A_c`` ``(B, C, *S)``.

    pytorch-grad-cam's ``RandomCAM`` draws the same way from numpy's global generator, so
    after ``np.random.seed(seed)`` its maps equal ours with ``seed`` draw for draw (several
    layers draw one after another in the order given, as its target layers do).

    Examples:
        >>> import numpy as np
        >>> import torch
        >>> a = torch.eye(2, dtype=torch.float64).reshape(1, 2, 1, 2)  # channel c: 1 at c only
        >>> np.random.RandomState(0).uniform(-1, 1, size=2).round(4).tolist()
        [0.0976, 0.4304]
        >>> randomcam(a, np.random.RandomState(0)).sum(dim=1).round(decimals=4).tolist()
        [[[0.0976, 0.4304]]]
    """
    weights = generator.uniform(-1.0, 1.0, size=tuple(activation.shape[:2]))
    return _weighted(torch.from_numpy(weights).to(activation), activation)


@register("randomcam", options=("seed",), per_channel=True)
def run_randomcam(context) -> dict[str, LayerMap]:
    """RandomCAM per layer (:func:`randomcam`; option ``seed=0`` of a
    ``numpy.random.RandomState``, so repeated calls give the same maps)."""
    seed = context.options.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32); got {seed!r}")
    generator = np.random.RandomState(int(seed))
    return {
        layer: LayerMap(channel_map(randomcam(context.activations[layer], generator), context))
        for layer in context.layer_names
    }


def _precise(tensor: torch.Tensor) -> torch.dtype:
    """float64, or ``tensor``'s dtype on MPS (which has no float64)."""
    return tensor.dtype if tensor.device.type == "mps" else torch.float64


def _real(name: str, value, minimum: float | None = None) -> float:
    """``value`` as a finite float (not a bool), at least ``minimum`` when given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number; got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return float(value)


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


@register("cam", needs_gradients=False, per_channel=True)
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
        results[layer] = LayerMap(channel_map(_weighted(class_weights, activation), context))
    return results


@register("fullgrad", uses_layers=False, relu=False)
def run_fullgrad(context) -> dict[str, LayerMap]:
    """FullGrad (Srinivas & Fleuret, NeurIPS 2019, Eq. 5; pytorch-grad-cam's ``FullGrad``):
    ``sum_c psi(|x_c dS/dx_c|) + sum_l sum_c psi(|b_lc dS/dz_lc|)`` over every convolution
    and batch normalisation with a bias ``b_l`` (output ``z_l``), ``psi`` = min-max per channel
    map, then resize to the input; the sum is min-maxed per sample. Key ``"input"``: the
    requested layers are not used (pytorch-grad-cam ignores them too).

    One extra forward and backward per chunk of ``batch_size`` samples (all bias layers at
    once): see :mod:`xaikit.explain.fullgrad`. Works on ``(B, C, H, W)`` images (``Conv2d``,
    ``BatchNorm2d``) and ``(B, C, T, H, W)`` clips (``Conv3d``, ``BatchNorm3d``).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import xaikit as xk
        >>> conv, fc = nn.Conv2d(1, 1, 1), nn.Linear(1, 2, bias=False)
        >>> with torch.no_grad():
        ...     _ = conv.weight.fill_(2.0), conv.bias.fill_(-3.0), fc.weight.fill_(1.0)
        >>> net = nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), fc)
        >>> x = torch.tensor([[[[1.0, 2.0, 3.0]]]])  # z = ReLU(2 x - 3) = (0, 1, 3), S = mean z
        >>> # dS/dz = (0, 1, 1) / 3: |x dS/dx| -> (0, 2/3, 1) and |-3 dS/dz| -> (0, 1, 1)
        >>> expl = xk.explain(net, x, method="fullgrad", target=0, progress=False)
        >>> (6 * expl.raw["input"]).round().tolist()   # (0, 2/3 + 1, 1 + 1), times 6
        [[[0.0, 10.0, 12.0]]]
    """
    saliency = fullgrad(context)
    return {"input": LayerMap(saliency, saliency)}


#: Base methods of Finer-CAM: each a channel method of ``(activation, gradient)``.
FINERCAM_BASES = {
    "gradcam": gradcam,
    "gradcam++": gradcam_plusplus,
    "hirescam": hirescam,
    "layercam": layercam,
    "xgradcam": xgradcam,
}


@register(
    "finercam",
    options=("base", "comparisons", "references", "alpha", "weighting"),
    per_channel=True,
)
def run_finercam(context) -> dict[str, LayerMap]:
    """Finer-CAM (Zhang et al., CVPR 2025): a base CAM of the contrastive score that compares
    the explained class with similar classes (:mod:`xaikit.explain.finercam`), by default
    ``sum_j p_j (y_c - alpha y_j) / sum_j p_j`` with Grad-CAM's weights ``mean_s dscore/dA``.

    Options (pytorch-grad-cam 1.5.7's ``FinerCAM`` by default):

    * ``base``: ``"gradcam"`` (default), ``"gradcam++"``, ``"hirescam"``, ``"layercam"`` or
      ``"xgradcam"``.
    * ``references``: how many comparison classes to take automatically, those whose logits
      are closest to the explained class's (default 3, capped at ``K - 1``: pytorch-grad-cam's
      ``comparison_categories=[1, 2, 3]``, torch-cam's ``num_references=3``).
    * ``comparisons``: the comparison classes instead: a class index, a list for every
      sample or one list per sample (torch-cam's ``comparison_idx``).
    * ``alpha``: the comparison strength (default 1.0).
    * ``weighting``: ``"softmax"`` (default, pytorch-grad-cam) or ``"mean"`` (torch-cam).
      torch-cam's defaults are ``alpha=0.6, weighting="mean"`` (its ``gamma`` is ``alpha``).

    One extra forward and backward of the contrastive score per chunk of ``batch_size``
    samples, for all requested layers at once; needs a class target and ``(B, K)`` logits.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import xaikit as xk
        >>> conv, fc = nn.Conv2d(1, 1, 1, bias=False), nn.Linear(1, 3, bias=False)
        >>> with torch.no_grad():
        ...     _ = conv.weight.fill_(1.0), fc.weight.copy_(torch.tensor([[1.0], [3.0], [-1.0]]))
        >>> net = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), fc)  # (s, 3s, -s)
        >>> options = dict(comparisons=[1, 2], weighting="mean", alpha=0.5)
        >>> expl = xk.explain(net, torch.ones(1, 1, 2, 2), "finercam", ["0"], 0, **options)
        >>> expl.raw["0"].tolist()   # s - 0.5 (3s - s) / 2 = s / 2: weight 0.5 / 4 positions
        [[[0.125, 0.125], [0.125, 0.125]]]
    """
    base = context.options.get("base", "gradcam")
    if base not in FINERCAM_BASES:
        raise ValueError(f"base must be one of {sorted(FINERCAM_BASES)}; got {base!r}")
    activations, gradients = contrastive_gradients(context)
    function = FINERCAM_BASES[base]
    return {
        layer: LayerMap(channel_map(function(activations[layer], gradients[layer]), context))
        for layer in context.layer_names
    }


def shapley_weights(
    activation: torch.Tensor, gradient: torch.Tensor, hvp: torch.Tensor
) -> torch.Tensor:
    """ShapleyCAM's channel weights ``(B, C)``: ``mean_s (G - H A / 2)`` from ``A``, ``G`` and
    the Hessian-vector product ``H A`` (all ``(B, C, *S)``).

    Examples:
        >>> import torch
        >>> a = torch.tensor([[[[1.0, 3.0]]]])                 # (1, 1, 1, 2)
        >>> g = torch.tensor([[[[2.0, 4.0]]]])
        >>> shapley_weights(a, g, 2 * a).tolist()             # mean(2 - 1, 4 - 3)
        [[1.0]]
    """
    return _spatial_mean(gradient - 0.5 * hvp)


@register("shapleycam", per_channel=True)
def run_shapleycam(context) -> dict[str, LayerMap]:
    """ShapleyCAM (Cai, arXiv 2501.06261; pytorch-grad-cam's ``ShapleyCAM``):
    ``sum_k w_k A_k`` with ``w_k = mean_s (dS/dA_k - (H A)_k / 2)``, ``H`` the Hessian of the
    target score ``S`` at the layer's activation ``A`` (:func:`shapley_weights`): a
    second-order Taylor reading of the channels' Shapley values. Where the head is linear
    after the layer (global pooling and a linear classifier, scored on a logit) ``H A = 0``
    and the map is Grad-CAM's; the paper pairs it with the ReST score ``y_c - CE(y, c)``, a
    callable target ``lambda y: y[:, c] - F.cross_entropy(y, labels, reduction="none")``.

    One extra forward, backward (``create_graph=True``) and double backward per layer and
    chunk of ``batch_size`` samples (:meth:`~xaikit.explain.engine.Context.layer_gradient`,
    :func:`~xaikit.explain.second_order.hessian_times_activation`). ``nn.Hardsigmoid`` layers
    (MobileNetV3), which torch cannot differentiate twice, run as ``relu6(x + 3) / 6`` for the
    call (:func:`~xaikit.explain.second_order.twice_differentiable`).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> import xaikit as xk
        >>> net = nn.Sequential(nn.Identity(), nn.Flatten())
        >>> score = lambda y: 0.5 * y.pow(2).sum(dim=1)   # dS/dA = A and H = I, so H A = A
        >>> x = torch.tensor([[[[1.0, 3.0]]]])            # w = mean(A - A / 2) = 1
        >>> xk.explain(net, x, "shapleycam", ["0"], score).raw["0"].tolist()
        [[[1.0, 3.0]]]
    """
    results = {}
    with twice_differentiable(context.model):
        for layer, module in context.layers:
            terms = []
            for rows in context.chunks():
                score = context.target_of(rows).score
                activation, gradient = context.layer_gradient(
                    layer, module, score, rows, create_graph=True
                )
                hvp = hessian_times_activation(activation, gradient)
                weights = shapley_weights(activation, gradient, hvp).detach().float()
                terms.append(_weighted(weights, activation.detach().float()))
            results[layer] = LayerMap(channel_map(torch.cat(terms), context))
    return results
