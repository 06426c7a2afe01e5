"""Deep Feature Factorization (Collins, Achanta and Süsstrunk 2018): a layer's concepts by
non-negative matrix factorisation of its activations.

The activations ``(B, C, *S)`` of the whole batch are one ``C x (B S)`` matrix, shifted per
channel to be non-negative and factorised as ``W H`` with ``n_components`` columns in ``W``
(the concepts, each a direction in channel space) and rows in ``H`` (where each concept is
present, a heatmap per image). Like pytorch-grad-cam's ``DeepFeatureFactorization``, the batch
is factorised at once, so its images share their concepts (the paper's co-segmentation) and a
sample's maps depend on the other samples of the call: explain one image at a time for concepts
of that image alone.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from xaikit.explain.registry import LayerMap, register

N_COMPONENTS = 5  # pytorch-grad-cam's dff() and run_dff_on_image default
CONCEPT_RULES = ("class", "dominant")
# scikit-learn NMF's defaults, and the random_state pytorch-grad-cam gives it
_NMF_TOLERANCE, _NMF_MAX_ITERATIONS, _NMF_SEED = 1e-4, 200, 0


def nmf(matrix: torch.Tensor, n_components: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-negative ``matrix ~= W H`` (Frobenius loss) as scikit-learn's
    ``NMF(n_components, init="random", random_state=0)`` computes it, in torch.

    The start is scikit-learn's random one (``|N(0, 1)| sqrt(mean / n_components)`` from
    ``numpy.random.RandomState(0)``, ``H`` drawn before ``W``); each iteration is one pass of
    coordinate descent over the columns of ``W``, then of ``H^T`` (Cichocki and Phan 2009: a
    column's update is exact given the others, clipped at zero), stopping when the projected
    gradient's L1 norm falls to ``1e-4`` of the first pass's, or after 200 passes. On the CPU
    the passes run on one thread (``torch.set_num_threads(1)`` for the call): their small
    matrix products are latency-bound, and a busy machine's BLAS threads slowed them 100-fold.

    Args:
        matrix: ``(n, m)`` non-negative.
        n_components: number of columns of ``W``.

    Returns:
        ``W`` ``(n, n_components)`` and ``H`` ``(n_components, m)``, non-negative.

    Examples:
        >>> import torch
        >>> w, h = nmf(torch.tensor([[1.0, 2.0], [2.0, 4.0]]), 1)   # rank 1: exact
        >>> (w @ h).round(decimals=4).tolist()
        [[1.0, 2.0], [2.0, 4.0]]
    """
    rows, columns = matrix.shape
    generator = np.random.RandomState(_NMF_SEED)
    scale = np.sqrt(np.float32(matrix.mean().item()) / n_components)
    start_h = scale * generator.standard_normal((n_components, columns)).astype(np.float32)
    start_w = scale * generator.standard_normal((rows, n_components)).astype(np.float32)
    w = torch.from_numpy(np.abs(start_w)).to(matrix)
    h_transposed = torch.from_numpy(np.abs(start_h).T.copy()).to(matrix)
    with _one_thread(matrix.device):
        for iteration in range(_NMF_MAX_ITERATIONS):
            violation = _coordinate_pass(matrix, w, h_transposed)
            violation = violation + _coordinate_pass(matrix.T, h_transposed, w)
            if iteration == 0:
                first = float(violation)
                if first == 0:
                    break
            elif float(violation) / first <= _NMF_TOLERANCE:
                break
    return w, h_transposed.T


@contextmanager
def _one_thread(device: torch.device) -> Iterator[None]:
    """Torch's CPU ops on one thread inside the block (nothing changes on other devices)."""
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _coordinate_pass(matrix: torch.Tensor, w: torch.Tensor, h_transposed: torch.Tensor):
    """Update ``w`` in place, one column after the other, for ``matrix ~= w h``; returns the
    L1 norm of the projected gradient met on the way (scikit-learn's ``violation``)."""
    gram = h_transposed.T @ h_transposed
    negative_target = -(matrix @ h_transposed)
    curvature = gram.diagonal()
    # a column whose curvature is zero is left as it is (scikit-learn skips it)
    steps = torch.where(curvature != 0, 1 / curvature, 0.0).tolist()
    before = w.clone()
    gradients = torch.empty_like(w)
    for column, step in enumerate(steps):
        gradient = torch.addmv(negative_target[:, column], w, gram[column])
        gradients[:, column] = gradient
        w[:, column] = (w[:, column] - step * gradient).clamp_min(0)
    # where an entry was zero, only a negative gradient could move it
    return torch.where(before == 0, gradients.clamp_max(0), gradients).abs().sum()


def deep_feature_factorization(
    activation: torch.Tensor, n_components: int = N_COMPONENTS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Deep Feature Factorization of one layer's activations ``(B, C, *S)``, pytorch-grad-cam's
    ``dff``: each channel is shifted by its minimum over the batch, the ``C x (B S)`` matrix is
    factorised by :func:`nmf`, and the concepts are ``W``'s columns plus the shift (in the
    activations' own space, what pytorch-grad-cam feeds a classifier). The factorisation runs
    in float64 where the device has it (not on MPS): 200 float32 passes of coordinate descent
    drift by about 1e-4 from the exact iterates.

    Returns:
        ``concepts`` ``(C, n_components)`` and ``heatmaps`` ``(B, n_components, *S)`` (rows of
        ``H``, non-negative, not normalised).

    Examples:
        >>> import torch
        >>> a = torch.tensor([[[[2.0, 0.0, 0.0]], [[0.0, 0.0, 3.0]]]])  # (1, 2, 1, 3)
        >>> concepts, heatmaps = deep_feature_factorization(a, n_components=2)
        >>> tuple(heatmaps.shape)   # two concepts: channel 0 at position 0, 1 at position 2
        (1, 2, 1, 3)
        >>> (heatmaps / heatmaps.amax(dim=-1, keepdim=True)).round(decimals=3).tolist()
        [[[[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]]]]
    """
    _, heatmaps, concepts = _factorized(activation, n_components)
    return concepts, heatmaps


def _factorized(activation: torch.Tensor, n_components: int):
    """``(W, heatmaps, concepts)`` of :func:`deep_feature_factorization`."""
    batch, channels = activation.shape[:2]
    matrix = activation.transpose(0, 1).reshape(channels, -1).nan_to_num(nan=0.0)
    offset = matrix.amin(dim=1, keepdim=True)
    precise = activation.dtype if activation.device.type == "mps" else torch.float64
    w, h = nmf((matrix - offset).to(precise), n_components)
    w, h = w.to(activation.dtype), h.to(activation.dtype)
    heatmaps = h.reshape(n_components, batch, *activation.shape[2:]).transpose(0, 1)
    return w, heatmaps, w + offset


@register("dff", options=("n_components", "concept"))
def run_dff(context) -> dict[str, LayerMap]:
    """Deep Feature Factorization per layer (:func:`deep_feature_factorization`): the map is
    the heatmap of one concept, resized, then min-max normalised like every CAM.
    pytorch-grad-cam min-max normalises each concept's heatmap before resizing it and not
    after, so its maps span a little less than [0, 1]; normalised again, they are these. No
    gradient is needed.

    Options:
        n_components: number of concepts (default 5, pytorch-grad-cam's ``dff`` default; its
            class's ``__call__`` defaults to 16).
        concept: which concept's heatmap is each sample's map: ``"class"``, the concept that
            the model's last ``nn.Linear`` classifies most as the explained class (softmax
            over classes of the classifier on each concept, as pytorch-grad-cam's
            ``run_dff_on_image`` labels them; needs a class target and a layer with as many
            channels as that linear layer takes, the layer before global pooling);
            ``"dominant"``, the concept with the largest share of the sample's shifted
            activations (``|W_j|_1 sum_s H_j``); an int, that concept for every sample (so every
            concept's map is one call each, the factorisation being deterministic); ``None``
            (default): ``"class"`` where it applies, else ``"dominant"``.
    """
    n_components = context.options.get("n_components", N_COMPONENTS)
    if isinstance(n_components, bool) or not isinstance(n_components, numbers.Integral):
        raise ValueError(f"n_components must be a positive int; got {n_components!r}")
    if n_components < 1:
        raise ValueError(f"n_components must be a positive int; got {n_components!r}")
    concept = context.options.get("concept")
    if not (concept is None or concept in CONCEPT_RULES or _is_index(concept, n_components)):
        raise ValueError(
            f"concept must be None, {' or '.join(map(repr, CONCEPT_RULES))} or an int in "
            f"[0, {n_components}); got {concept!r}"
        )
    results = {}
    for layer in context.layer_names:
        w, heatmaps, concepts = _factorized(context.activations[layer], int(n_components))
        chosen = _chosen_concepts(context, layer, concept, w, heatmaps, concepts)
        index = chosen.reshape(-1, 1, *([1] * (heatmaps.ndim - 2)))
        index = index.expand(-1, 1, *heatmaps.shape[2:])
        results[layer] = LayerMap(heatmaps.gather(1, index).squeeze(1))
    return results


def _is_index(concept, n_components: int) -> bool:
    return (
        not isinstance(concept, bool)
        and isinstance(concept, numbers.Integral)
        and 0 <= concept < n_components
    )


def _chosen_concepts(context, layer, concept, w, heatmaps, concepts) -> torch.Tensor:
    """The concept index ``(B,)`` whose heatmap is each sample's map (see :func:`run_dff`)."""
    batch = heatmaps.shape[0]
    if isinstance(concept, numbers.Integral):
        return torch.full((batch,), int(concept), device=heatmaps.device)
    classifier = _classifier_of(context.model, concepts.shape[0])
    if concept == "class" or (
        concept is None and context.classes is not None and classifier is not None
    ):
        if context.classes is None:
            raise ValueError(
                "dff concept='class' needs a class target (None, an int, ints, TopK or "
                "ClassTarget); use concept='dominant' or an index"
            )
        if classifier is None:
            raise ValueError(
                f"dff concept='class' scores concepts with the model's last nn.Linear, which "
                f"must take the {concepts.shape[0]} channels of layer {layer!r}; pick the layer "
                "before global pooling, or use concept='dominant' or an index"
            )
        with torch.no_grad():
            logits = classifier(concepts.T.to(classifier.weight.dtype)).float()
        probabilities = logits.softmax(dim=1)  # (n_components, classes)
        return probabilities[:, context.classes.to(logits.device)].argmax(dim=0)
    mass = w.sum(dim=0) * heatmaps.flatten(2).sum(dim=2)  # (B, n_components)
    return mass.argmax(dim=1)


def _classifier_of(model: torch.nn.Module, channels: int) -> torch.nn.Linear | None:
    """The model's last ``nn.Linear`` if it takes ``channels`` inputs, else ``None``."""
    linears = [module for module in model.modules() if isinstance(module, torch.nn.Linear)]
    if linears and linears[-1].in_features == channels:
        return linears[-1]
    return None
