"""Saliency maps against human fixations: AUC-Judd, AUC-Borji, shuffled AUC, NSS, CC, SIM, KLD,
information gain, EMD and the humans-vs-CNN paper's MAE.

Every function takes one map ``(H, W)`` or a stack ``(B, H, W)`` (numpy or torch) and returns a
float or a ``(B,)`` float array. The default ``convention="mit"`` follows the MIT saliency
benchmark code (``cvzoya/saliency``, ``code_forMetrics/*.m``); ``convention="pysaliency"``, where
offered, follows ``pysaliency.metrics`` (the Tübingen benchmark).

Ground truth, as in the MIT benchmark:

* a *fixation mask* ``(H, W)``: pixels > 0 are fixated (AUCs, NSS, information gain). The MIT
  convention collapses repeated fixations of a pixel; the pysaliency convention of NSS and
  shuffled AUC reads the values as fixation counts and weights by them.
* a *fixation density* ``(H, W)``: the blurred fixation map (CC, SIM, KLD, EMD, MAE).

Shared outcomes: maps of different shapes raise ``ValueError`` (resize the saliency map to the
ground truth first; the resizing method changes every score); an infinite value raises; a NaN
anywhere in a saliency map gives NaN for that map (the MIT code's rule) with a warning that counts
those maps; NaN or infinity in the ground truth raises; a mask without fixations gives NaN; an
``(H, W, 3)`` image given as a map raises.
"""

from __future__ import annotations

import functools

import numpy as np

from xaikit._arrays import minmax
from xaikit.metrics._inputs import (
    as_maps,
    check_choice,
    check_finite_maps,
    check_not_empty,
    check_same_shape,
    is_constant,
    unstack,
)
from xaikit.metrics.registry import metric

#: MATLAB's ``eps``, the regulariser of the MIT KL divergence and information gain.
EPS = float(np.finfo(np.float64).eps)

CONVENTIONS = ("mit", "pysaliency")

__all__ = [
    "EPS",
    "auc_borji",
    "auc_judd",
    "auc_shuffled",
    "cc",
    "emd",
    "info_gain",
    "kld",
    "mae",
    "nss",
    "sim",
]


# ----------------------------------------------------------------------------------------------
# input preparation


def _saliency(saliency) -> tuple[np.ndarray, bool]:
    """The saliency stack: infinite values raise; a map with a NaN scores NaN (MIT's rule),
    with a warning that counts those maps."""
    maps, batched = as_maps(saliency, "saliency")
    check_not_empty(maps, "saliency")
    check_finite_maps(maps, "saliency", nan_rule="NaN")
    return maps, batched


def _broadcast(maps: np.ndarray, values: np.ndarray, name: str) -> np.ndarray:
    """``values`` shaped like ``maps``: one map broadcasts over a stack, other shapes raise."""
    if values.shape[0] == 1 and maps.shape[0] > 1:
        values = np.broadcast_to(values, maps.shape)
    check_same_shape(maps, values, "saliency", name)
    return values


def _fixations(maps: np.ndarray, fixation_mask, name: str, *, counts: bool = False) -> list:
    """Per map, ``(indices, weights)``: the flat indices of its fixated pixels (> 0) and their
    weights, the mask values when ``counts`` else ones. The mask is read in its own dtype (no
    float64 copy) and checked in one pass (``>= 0`` is False for NaN)."""
    masks, _ = as_maps(fixation_mask, name, dtype=None)
    if not (masks >= 0).all() or (masks.dtype.kind == "f" and np.isinf(masks).any()):
        raise ValueError(
            f"{name} must be finite and non-negative without NaN (> 0 marks a fixation)"
        )
    fixations = []
    for mask in _broadcast(maps, masks, name):
        flat = mask.ravel()
        indices = np.flatnonzero(flat > 0)
        weights = flat[indices].astype(np.float64) if counts else np.ones(indices.size)
        fixations.append((indices, weights))
    return fixations


def _saliency_and_mask(saliency, fixation_mask, *, counts: bool = False):
    maps, batched = _saliency(saliency)
    return maps, _fixations(maps, fixation_mask, "fixation_mask", counts=counts), batched


def _saliency_and_density(saliency, fixation_density):
    maps, batched = _saliency(saliency)
    density, _ = as_maps(fixation_density, "fixation_density")
    check_finite_maps(density, "fixation_density")
    return maps, _broadcast(maps, density, "fixation_density"), batched


def _per_map(score, maps, fixations, *others, batched: bool, least: int = 1):
    """``score(map, (indices, weights), *others_i)`` for each map; a map with a NaN or with fewer
    than ``least`` fixated pixels scores NaN."""
    scores = np.full(maps.shape[0], np.nan)
    for index, (single, fixation, *rest) in enumerate(zip(maps, fixations, *others, strict=True)):
        if fixation[0].size >= least and not np.isnan(single).any():
            scores[index] = score(single, fixation, *rest)
    return unstack(scores, batched)


def _pair(maps: np.ndarray) -> np.ndarray:
    """Room for two working arrays shaped like ``maps``, in one allocation (unpack it as
    ``first, second = _pair(maps)``): half the allocations of two separate temporaries."""
    return np.empty((2, *maps.shape))


def _rescaled(single: np.ndarray, *indices: np.ndarray) -> list[np.ndarray]:
    """The min-max normalised values of ``single`` at each array of flat ``indices``."""
    flat = minmax(single, batched=False).ravel()
    return [flat[where] for where in indices]


def _mit_minmax(maps: np.ndarray) -> np.ndarray:
    """Each ``(H, W)`` map of a stack min-max normalised by the one helper; the MIT code divides
    a constant map by a zero span, so a map the helper finds constant becomes NaN here."""
    scaled = minmax(maps)
    scaled[~(scaled > 0).any(axis=(1, 2))] = np.nan  # MIT: constant map -> 0 / 0
    return scaled


# ----------------------------------------------------------------------------------------------
# AUC family


def _judd_auc(single: np.ndarray, fixation, jitter: bool, seed) -> float:
    if single.max() == single.min():
        return 0.5
    indices, _ = fixation
    n_fixations, n_pixels = indices.size, single.size
    if n_fixations == n_pixels:
        return np.nan
    values = single.ravel()
    if jitter:  # noise / 1e7 + map, then the min-max normalisation
        values = np.random.default_rng(seed).random(n_pixels) / 1e7 + values
    values = minmax(values, batched=False)
    positives = np.sort(values[indices])  # ascending
    # above[k] = #pixels >= the k-th largest fixated value (sorting the working copy in place).
    values.sort()
    above = n_pixels - np.searchsorted(values, positives[::-1], side="left")
    ranks = np.arange(1, n_fixations + 1)
    true_positive = np.concatenate(([0.0], ranks / n_fixations, [1.0]))
    false_positive = np.concatenate(([0.0], (above - ranks) / (n_pixels - n_fixations), [1.0]))
    return float(np.trapezoid(true_positive, false_positive))


def _judd_auc_pysaliency(single: np.ndarray, fixation, noise) -> float:
    """pysaliency's Judd ROC (``general_roc(..., judd=1)``): the thresholds are the fixations'
    values (repeats included), the TPR is the share of fixations (weighted by their counts) at
    or above a threshold, the FPR the share of unfixated pixels at or above it."""
    if single.max() == single.min():
        return 0.5
    indices, weights = fixation
    if indices.size == single.size:
        return np.nan
    values = single.ravel() if noise is None else single.ravel() + noise.ravel()
    negatives = np.sort(np.delete(values, indices))
    order = np.argsort(-values[indices], kind="stable")
    thresholds, counts = values[indices][order], weights[order]
    true_positive = np.concatenate(([0.0], np.cumsum(counts) / counts.sum(), [1.0]))
    above = negatives.size - np.searchsorted(negatives, thresholds, side="left")
    false_positive = np.concatenate(([0.0], above / negatives.size, [1.0]))
    return float(np.trapezoid(true_positive, false_positive))


@metric("AUC-Judd", reads=("fixations",), higher_is_better=True, per_map=True)
def auc_judd(
    saliency, fixation_mask, *, jitter: bool = True, seed: int | None = 0, convention: str = "mit"
):
    """AUC-Judd: area under the ROC curve of fixated against non-fixated pixels.

    Conventions:

    * ``"mit"`` (default, ``AUC_Judd.m``): the map is min-max normalised; the thresholds are the
      saliency values at the fixated pixels, each fixated pixel counting once (the mask is
      binary); the true-positive rate at the i-th highest threshold is i / N_fix and the
      false-positive rate counts the non-fixated pixels at or above it; the curve is
      integrated with the trapezoid rule. ``jitter`` adds uniform noise in [0, 1e-7) before
      the normalisation, as the MIT code does, so tied values do not bias the rank-based TPR;
      it is drawn from a fresh ``numpy.random.default_rng(seed)`` for each map, so a map scores
      the same alone or in a stack.
    * ``"pysaliency"`` (``SaliencyMapModel.AUC_Judd``: ``AUC(average='image',
      nonfixations='unfixated', thresholds='fixations')``): the mask values are fixation
      counts, so a pixel fixated k times weighs k in the TPR (the MIT code counts it once);
      the negatives are the pixels never fixated; no normalisation. ``jitter`` adds
      ``1e-7 * randn`` from one ``numpy.random.RandomState(seed)`` drawn map after map in stack
      order (pysaliency's ``RandomNoiseSaliencyMapModel``; its default seed is 42), so with
      jitter a map's score depends on its place in the stack.

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` saliency map(s).
        fixation_mask: ``(H, W)`` or ``(B, H, W)``; pixels > 0 are fixated (``"pysaliency"``:
            the value is the number of fixations). One mask broadcasts over a stack.
        jitter: add the tie-breaking noise.
        seed: seed of the jitter.
        convention: ``"mit"`` or ``"pysaliency"``.

    Returns:
        The AUC in [0, 1] (0.5 = chance): a float, or ``(B,)`` for a stack (pysaliency's image
        average is their mean). A constant map gives 0.5; a NaN map, a mask without fixations
        or one covering every pixel gives NaN.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.saliency import auc_judd
        >>> saliency = np.array([[0.9, 0.1], [0.2, 0.8]])
        >>> fixations = np.array([[1, 0], [0, 0]])
        >>> auc_judd(saliency, fixations, jitter=False)
        1.0
        >>> auc_judd(np.ones((2, 2)), fixations)
        0.5
        >>> counts = np.array([[0, 0, 3, 1]])  # the pixel 0.35 fixated three times
        >>> line = np.array([[0.1, 0.4, 0.35, 0.8]])
        >>> auc_judd(line, counts, jitter=False), auc_judd(line, counts, jitter=False,
        ...                                               convention="pysaliency")
        (0.875, 0.8125)
    """
    check_choice(convention, "convention", CONVENTIONS)
    if convention == "mit":
        maps, fixations, batched = _saliency_and_mask(saliency, fixation_mask)
        score = functools.partial(_judd_auc, jitter=jitter, seed=seed)
        return _per_map(score, maps, fixations, batched=batched)
    maps, fixations, batched = _saliency_and_mask(saliency, fixation_mask, counts=True)
    if jitter:
        noise = np.random.RandomState(seed).randn(*maps.shape) * 1e-7
    else:
        noise = [None] * maps.shape[0]
    return _per_map(_judd_auc_pysaliency, maps, fixations, noise, batched=batched)


def _count_at_or_above(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``(m, K)``: for each column of ``values`` ``(n, m)``, how many entries are >= each of the
    ascending ``thresholds`` ``(K,)`` (one ``searchsorted`` and one ``bincount``, no loop)."""
    n, m = values.shape
    bins = thresholds.size + 1
    reached = np.searchsorted(thresholds, values, side="right")  # thresholds <= each value
    offsets = bins * np.arange(m)
    histogram = np.bincount((reached + offsets).ravel(), minlength=bins * m).reshape(m, bins)
    return n - np.cumsum(histogram, axis=1)[:, :-1]


def _sampled_auc(positives: np.ndarray, negatives: np.ndarray, step: float) -> float:
    """Mean AUC over splits; ``negatives`` is ``(n_negatives, n_splits)`` (``AUC_Borji.m``).

    Each split's thresholds run from ``step * floor(top / step)`` down to 0, ``top`` being its
    largest value. All splits share the grid of the largest ``top``: a threshold above a split's
    own ``top`` gives the point (0, 0) again, which adds no area.
    """
    top = max(positives.max(), negatives.max())
    thresholds = step * np.arange(int(np.floor(top / step + 1e-10)) + 1)  # ascending
    true_positive = _count_at_or_above(positives[:, None], thresholds) / positives.size
    false_positive = _count_at_or_above(negatives, thresholds) / negatives.shape[0]
    n_splits = negatives.shape[1]
    # Descending thresholds, framed by (0, 0) and (1, 1), as in the MIT code.
    zeros, ones = np.zeros((n_splits, 1)), np.ones((n_splits, 1))
    true_positive = np.broadcast_to(true_positive[:, ::-1], false_positive.shape)
    true_positive = np.hstack([zeros, true_positive, ones])
    false_positive = np.hstack([zeros, false_positive[:, ::-1], ones])
    return float(np.trapezoid(true_positive, false_positive, axis=1).mean())


def _check_splits(n_splits: int, step: float) -> None:
    if int(n_splits) != n_splits or n_splits < 1:
        raise ValueError(f"n_splits must be a positive integer; got {n_splits!r}")
    if not 0 < step <= 1:
        raise ValueError(f"step must lie in (0, 1]; got {step}")


@metric("AUC-Borji", reads=("fixations",), higher_is_better=True, per_map=True)
def auc_borji(
    saliency, fixation_mask, *, n_splits: int = 100, step: float = 0.1, seed: int | None = 0
):
    """AUC-Borji: fixated pixels against pixels drawn uniformly from the whole image.

    MIT convention (``AUC_Borji.m``): min-max normalisation; for each of ``n_splits`` splits,
    N_fix pixels are drawn uniformly *with replacement* from all pixels (fixated ones included)
    as negatives; thresholds run from the largest value down to 0 in steps of ``step``; the
    score is the mean trapezoid AUC over the splits. The draws come from a fresh
    ``numpy.random.default_rng(seed)`` for each map.

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` saliency map(s).
        fixation_mask: ``(H, W)`` or ``(B, H, W)``; pixels > 0 are fixated.
        n_splits: number of random negative sets.
        step: threshold step.
        seed: seed of the negative draws.

    Returns:
        The AUC in [0, 1]: a float, or ``(B,)`` for a stack. A constant map gives 0.5; a NaN map
        or a mask with at most one fixation gives NaN (as in the MIT code).

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.saliency import auc_borji
        >>> saliency = np.zeros((10, 10)); saliency[0, :2] = 1.0
        >>> fixations = np.zeros((10, 10)); fixations[0, :2] = 1
        >>> round(auc_borji(saliency, fixations), 2)
        0.98
    """
    _check_splits(n_splits, step)
    maps, fixations, batched = _saliency_and_mask(saliency, fixation_mask)

    def score(single, fixation):
        if single.max() == single.min():
            return 0.5
        indices, _ = fixation
        draws = np.random.default_rng(seed).integers(0, single.size, size=(indices.size, n_splits))
        positives, negatives = _rescaled(single, indices, draws)
        return _sampled_auc(positives, negatives, step)

    return _per_map(score, maps, fixations, batched=batched, least=2)


def _exact_auc(positives, positive_weights, negatives, negative_weights) -> float:
    """Weighted Mann-Whitney AUC; ties count one half (pysaliency's ``general_roc``)."""
    order = np.argsort(negatives, kind="stable")
    negatives, negative_weights = negatives[order], negative_weights[order]
    cumulative = np.concatenate(([0.0], np.cumsum(negative_weights)))
    below = cumulative[np.searchsorted(negatives, positives, side="left")]
    at_or_below = cumulative[np.searchsorted(negatives, positives, side="right")]
    per_positive = (below + 0.5 * (at_or_below - below)) / cumulative[-1]
    return float(np.sum(per_positive * positive_weights) / np.sum(positive_weights))


@metric("sAUC", reads=("fixations", "other_fixations"), higher_is_better=True, per_map=True)
def auc_shuffled(
    saliency,
    fixation_mask,
    other_fixations,
    *,
    n_splits: int = 100,
    step: float = 0.1,
    seed: int | None = 0,
    convention: str = "mit",
):
    """Shuffled AUC: fixated pixels against the fixations of other images (centre-bias free).

    Conventions:

    * ``"mit"`` (``AUC_shuffled.m``): min-max normalisation; ``other_fixations`` > 0 marks the
      union of the other images' fixations; per split, min(N_fix, N_other) of those locations are
      drawn *without replacement* as negatives; thresholds from the largest value down to 0 in
      steps of ``step``; mean trapezoid AUC over ``n_splits`` splits.
    * ``"pysaliency"`` (``pysaliency`` sAUC): exact AUC against *all* other fixations, ties
      counting one half, no sampling and no normalisation; both maps are read as fixation counts
      (repeated fixations weigh more).

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` saliency map(s).
        fixation_mask: ``(H, W)`` or ``(B, H, W)``; fixations of this image (> 0).
        other_fixations: ``(H, W)`` or ``(B, H, W)``; fixations of other images, same size.
        n_splits: number of splits (``"mit"`` only).
        step: threshold step (``"mit"`` only).
        seed: seed of the draws (``"mit"`` only).
        convention: ``"mit"`` or ``"pysaliency"``.

    Returns:
        The AUC in [0, 1]: a float, or ``(B,)`` for a stack. A constant map gives 0.5; a NaN
        map, no fixation, or no other fixation gives NaN.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.saliency import auc_shuffled
        >>> saliency = np.array([[1.0, 0.5], [0.0, 0.0]])
        >>> fixations = np.array([[1, 0], [0, 0]])
        >>> others = np.array([[0, 1], [1, 0]])
        >>> auc_shuffled(saliency, fixations, others, convention="pysaliency")
        1.0
    """
    check_choice(convention, "convention", CONVENTIONS)
    _check_splits(n_splits, step)
    counts = convention == "pysaliency"
    maps, fixations, batched = _saliency_and_mask(saliency, fixation_mask, counts=counts)
    others = _fixations(maps, other_fixations, "other_fixations", counts=counts)

    def score(single, fixation, other):
        (indices, weights), (other_indices, other_weights) = fixation, other
        if other_indices.size == 0:
            return np.nan
        if single.max() == single.min():
            return 0.5
        if counts:
            flat = single.ravel()
            return _exact_auc(flat[indices], weights, flat[other_indices], other_weights)
        positives, candidates = _rescaled(single, indices, other_indices)
        n_negatives = min(positives.size, candidates.size)
        rng = np.random.default_rng(seed)
        picks = np.stack(
            [rng.permutation(candidates.size)[:n_negatives] for _ in range(n_splits)], axis=1
        )
        return _sampled_auc(positives, candidates[picks], step)

    return _per_map(score, maps, fixations, others, batched=batched)


# ----------------------------------------------------------------------------------------------
# NSS, CC, SIM, KLD, IG


@metric("NSS", reads=("fixations",), higher_is_better=True, per_map=True)
def nss(saliency, fixation_mask, *, convention: str = "mit"):
    """Normalised scanpath saliency: mean z-scored saliency at the fixated pixels.

    Conventions:

    * ``"mit"`` (``NSS.m``): z-score with the N-1 standard deviation (MATLAB ``std``); fixated
      pixels (> 0) count once; a constant map gives NaN (0/0).
    * ``"pysaliency"``: N standard deviation (``np.std``); the mask values are fixation counts
      and weigh the mean (pysaliency averages over fixations); a constant map is not divided and
      gives 0.

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` saliency map(s).
        fixation_mask: ``(H, W)`` or ``(B, H, W)``; pixels > 0 are fixated.
        convention: ``"mit"`` or ``"pysaliency"``.

    Returns:
        NSS (0 = chance, higher is better): a float, or ``(B,)`` for a stack. NaN map or no
        fixation: NaN.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.saliency import nss
        >>> saliency = np.array([[4.0, 0.0], [0.0, 0.0]])
        >>> nss(saliency, saliency > 0)
        1.5
        >>> round(nss(saliency, saliency > 0, convention="pysaliency"), 4)
        1.7321
    """
    check_choice(convention, "convention", CONVENTIONS)
    counts = convention == "pysaliency"
    maps, fixations, batched = _saliency_and_mask(saliency, fixation_mask, counts=counts)

    def score(single, fixation):
        if single.max() == single.min():
            return 0.0 if counts else np.nan
        indices, weights = fixation
        # Only the fixated pixels are z-scored: the mean and std still cover the whole map.
        z = (single.ravel()[indices] - single.mean()) / single.std(ddof=0 if counts else 1)
        return np.sum(z * weights) / np.sum(weights)

    return _per_map(score, maps, fixations, batched=batched)


@metric("CC", reads=("density",), higher_is_better=True, per_map=True)
def cc(saliency, fixation_density, *, convention: str = "mit"):
    """Pearson linear correlation coefficient between the saliency map and the fixation density.

    Both maps are z-scored and correlated (MIT ``CC.m``: ``corr2``). Conventions differ only on a
    constant map: ``"mit"`` gives NaN; ``"pysaliency"`` gives 0.0 when only the saliency map is
    constant (NaN when both are).

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` saliency map(s).
        fixation_density: ``(H, W)`` or ``(B, H, W)``; the blurred fixation map.
        convention: ``"mit"`` or ``"pysaliency"``.

    Returns:
        CC in [-1, 1]: a float, or ``(B,)`` for a stack. NaN map: NaN.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.saliency import cc
        >>> density = np.array([[0.0, 1.0], [2.0, 3.0]])
        >>> cc(2 * density + 1, density)
        1.0
        >>> cc(np.ones((2, 2)), density, convention="pysaliency")
        0.0
    """
    check_choice(convention, "convention", CONVENTIONS)
    maps, density, batched = _saliency_and_density(saliency, fixation_density)
    centred_maps, centred_density = _pair(maps)
    np.subtract(maps, maps.mean(axis=(1, 2), keepdims=True), out=centred_maps)
    np.subtract(density, density.mean(axis=(1, 2), keepdims=True), out=centred_density)

    def dot(first, second):  # per-map sum of products, without a product array
        return np.einsum("bhw,bhw->b", first, second)

    covariance = dot(centred_maps, centred_density)
    norm = np.sqrt(dot(centred_maps, centred_maps) * dot(centred_density, centred_density))
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.clip(covariance / norm, -1.0, 1.0)
    constant_maps, constant_density = is_constant(maps), is_constant(density)
    scores[constant_maps | constant_density] = np.nan
    if convention == "pysaliency":
        scores[constant_maps & ~constant_density] = 0.0
    return unstack(scores, batched)


def _to_density(maps: np.ndarray, convention: str, out: np.ndarray) -> np.ndarray:
    """Per-map probability distributions, written to ``out``: MIT min-max then divide by the sum
    (all-zero maps stay zero, constant non-zero maps become NaN); pysaliency shifts by -min if
    negative, divides by the sum, and makes a zero-sum map uniform."""
    if convention == "mit":
        out[...] = _minmax_distribution(maps)
        out[~(maps != 0).any(axis=(1, 2))] = 0.0
        return out
    np.subtract(maps, np.minimum(maps.min(axis=(1, 2), keepdims=True), 0.0), out=out)
    out[out.sum(axis=(1, 2)) == 0] = 1.0
    return _divide_by_sum(out, out=out)


def _minmax_distribution(maps: np.ndarray) -> np.ndarray:
    """Each map min-max normalised (MIT: a constant map gives NaN), then divided by its sum."""
    scaled = _mit_minmax(maps)
    return _divide_by_sum(scaled, out=scaled)


@metric("SIM", reads=("density",), higher_is_better=True, per_map=True)
def sim(saliency, fixation_density, *, convention: str = "mit"):
    """Similarity (histogram intersection) of two maps made into distributions: sum of minima.

    Conventions: ``"mit"`` (``similarity.m``) min-max normalises each map that is not all zero,
    then divides by its sum, so a constant non-zero map gives NaN and an all-zero map scores 0;
    ``"pysaliency"`` does no min-max (it shifts negative maps by -min), divides by the sum and
    treats a zero-sum map as uniform.

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` saliency map(s).
        fixation_density: ``(H, W)`` or ``(B, H, W)``; the blurred fixation map.
        convention: ``"mit"`` or ``"pysaliency"``.

    Returns:
        SIM in [0, 1] (1 = identical distributions): a float, or ``(B,)``. NaN map: NaN.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.saliency import sim
        >>> density = np.array([[0.0, 1.0], [1.0, 2.0]])
        >>> sim(density, density)
        1.0
        >>> sim(np.array([[0.0, 1.0], [0.0, 0.0]]), density)
        0.25
    """
    check_choice(convention, "convention", CONVENTIONS)
    maps, density, batched = _saliency_and_density(saliency, fixation_density)
    predicted, truth = _pair(maps)
    _to_density(maps, convention, out=predicted)  # a NaN anywhere makes the whole map NaN
    _to_density(density, convention, out=truth)
    scores = np.minimum(predicted, truth, out=predicted)
    return unstack(scores.sum(axis=(1, 2)), batched)


@metric("KLD", reads=("density",), higher_is_better=False, per_map=True)
def kld(saliency, fixation_density, *, convention: str = "mit"):
    """KL divergence KL(fixation density || saliency), in nats; lower is better.

    Conventions:

    * ``"mit"`` (``KLdiv.m``, = pysaliency ``MIT_KLDiv``): each map is divided by its sum (an
      all-zero map is left as zeros); KL = sum Q * ln(eps + Q / (P + eps)) with
      eps = 2.2204e-16, Q the fixation density, P the saliency map. Negative saliency values
      raise (apply a ReLU or a min-max first).
    * ``"pysaliency"`` (pysaliency ``KLDiv``): negative maps are shifted by -min, 1e-20 is added
      to both maps before dividing by the sum, and KL = sum Q * (ln Q - ln P) without eps.

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` saliency map(s), P.
        fixation_density: ``(H, W)`` or ``(B, H, W)``, Q; must be non-negative.
        convention: ``"mit"`` or ``"pysaliency"``.

    Returns:
        KL >= 0: a float, or ``(B,)`` for a stack. NaN map: NaN.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.saliency import kld
        >>> density = np.array([[1.0, 1.0], [0.0, 0.0]])
        >>> round(kld(np.ones((2, 2)), density), 6)  # ln 2
        0.693147
        >>> abs(kld(density, density)) < 1e-12
        True
    """
    check_choice(convention, "convention", CONVENTIONS)
    maps, density, batched = _saliency_and_density(saliency, fixation_density)
    if (density < 0).any():
        raise ValueError(f"fixation_density must be non-negative; got a minimum {density.min()}")
    # The terms are built in place in one array, in the same operation order as the formulas.
    if convention == "mit":
        if (maps < 0).any():  # False for NaN
            raise ValueError(
                "saliency must be non-negative for the MIT KL divergence (apply a ReLU or a "
                f"min-max first); got a minimum {np.nanmin(maps)}"
            )
        terms, truth = _pair(maps)
        _divide_by_sum(density, out=truth)
        _divide_by_sum(maps, out=terms)
        terms += EPS
        np.divide(truth, terms, out=terms)
        terms += EPS
        np.log(terms, out=terms)  # ln(eps + Q / (P + eps))
    else:
        terms, truth = _pair(maps)
        np.subtract(maps, np.minimum(maps.min(axis=(1, 2), keepdims=True), 0), out=terms)
        terms += 1e-20
        np.log(_divide_by_sum(terms, out=terms), out=terms)  # ln P
        np.add(density, 1e-20, out=truth)
        _divide_by_sum(truth, out=truth)
        np.subtract(np.log(truth), terms, out=terms)  # ln Q - ln P
    terms *= truth
    return unstack(terms.sum(axis=(1, 2)), batched)


def _divide_by_sum(maps: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Each map divided by its sum (a map summing to 0 is left as it is); ``out`` may be
    ``maps`` to divide in place."""
    total = maps.sum(axis=(1, 2), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.divide(maps, np.where(total != 0, total, 1), out=out)


@metric("IG", reads=("fixations",), higher_is_better=True, per_map=True)
def info_gain(saliency, fixation_mask, baseline=None):
    """Information gain over a baseline map, in bits per fixated pixel (MIT ``InfoGain.m``).

    Both maps are min-max normalised and divided by their sum;
    IG = mean over fixated pixels of log2(eps + P) - log2(eps + B), eps = 2.2204e-16.
    ``baseline=None`` is the uniform distribution 1 / (H W) (pysaliency's ``UniformModel``; the
    MIT code, which min-max normalises, cannot take a constant baseline). A constant saliency map
    or baseline gives NaN, as in the MIT code.

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` saliency map(s).
        fixation_mask: ``(H, W)`` or ``(B, H, W)``; pixels > 0 are fixated.
        baseline: ``(H, W)`` or ``(B, H, W)`` baseline map (a centre bias, other images'
            fixations), or ``None`` for uniform.

    Returns:
        IG in bits (0 = as good as the baseline): a float, or ``(B,)`` for a stack. NaN map or no
        fixation: NaN.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.saliency import info_gain
        >>> saliency = np.array([[1.0, 0.0], [0.0, 0.0]])
        >>> round(info_gain(saliency, saliency > 0), 6)  # log2(1) - log2(1/4)
        2.0
    """
    maps, fixations, batched = _saliency_and_mask(saliency, fixation_mask)
    predicted = _minmax_distribution(maps)
    if baseline is None:
        references = [None] * maps.shape[0]  # uniform
    else:
        reference, _ = as_maps(baseline, "baseline")
        check_finite_maps(reference, "baseline")
        references = _minmax_distribution(_broadcast(maps, reference, "baseline"))

    def score(single, fixation, distribution, reference):
        # Only the fixated pixels need a logarithm.
        indices, weights = fixation
        reference = 1.0 / single.size if reference is None else reference.ravel()[indices]
        gain = np.log2(EPS + distribution.ravel()[indices]) - np.log2(EPS + reference)
        return np.sum(gain * weights) / np.sum(weights)

    return _per_map(score, maps, fixations, predicted, references, batched=batched)


# ----------------------------------------------------------------------------------------------
# EMD and MAE


def _transport_cost(source: np.ndarray, target: np.ndarray, distances: np.ndarray) -> float:
    """Exact optimal-transport cost between two distributions of equal mass (POT if present,
    else the HiGHS linear program in scipy; both are exact).

    The distances are a metric, so the mass two cells share can stay where it is at no cost and
    only each cell's surplus has to move (the Kantorovich-Rubinstein duality): the same optimum
    from a problem between the cells that give and the cells that take.
    """
    surplus = source - target
    giving, taking = surplus > 0, surplus < 0
    if not (giving.any() and taking.any()):
        return 0.0
    source, target = surplus[giving], -surplus[taking]
    distances = np.ascontiguousarray(distances[np.ix_(giving, taking)])
    try:
        import ot
    except ImportError:
        ot = None
    if ot is not None:
        return float(ot.emd2(source, target, distances))
    from scipy.optimize import linprog
    from scipy.sparse import identity, kron, vstack

    rows, columns = (np.ones((1, size)) for size in distances.shape)
    equalities = vstack(
        [kron(identity(source.size), columns), kron(rows, identity(target.size))]
    ).tocsr()
    # The last equality is implied by the others (equal total mass).
    result = linprog(
        distances.ravel(),
        A_eq=equalities[:-1],
        b_eq=np.concatenate([source, target])[:-1],
        bounds=(0, None),
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"the transport problem did not solve: {result.message}")
    return float(result.fun)


@metric("EMD", reads=("density",), higher_is_better=False, per_map=True)
def emd(saliency, fixation_density, *, downsize: int = 32):
    """Earth mover's distance between the saliency map and the fixation density; lower is better.

    MIT convention (``EMD.m``): both maps are shrunk by ``downsize`` to
    (ceil(H / downsize), ceil(W / downsize)) cells, each divided by its sum, and the exact
    transport cost is computed with the Euclidean distance between cell indices (units: cells).
    Deviation: the shrinking uses OpenCV area averaging (``INTER_AREA``) instead of MATLAB's
    antialiased bicubic ``imresize``. Negative saliency values raise.

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` saliency map(s), non-negative.
        fixation_density: ``(H, W)`` or ``(B, H, W)``, non-negative.
        downsize: shrink factor (1 keeps the full grid, which is slow beyond ~40x40 cells).

    Returns:
        EMD >= 0: a float, or ``(B,)`` for a stack. NaN map, or a map that sums to 0: NaN.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.saliency import emd
        >>> left = np.array([[1.0, 0.0, 0.0]])
        >>> right = np.array([[0.0, 0.0, 1.0]])
        >>> round(emd(left, right, downsize=1), 6)  # all the mass moves two cells
        2.0
    """
    import cv2

    if int(downsize) != downsize or downsize < 1:
        raise ValueError(f"downsize must be a positive integer; got {downsize!r}")
    maps, density, batched = _saliency_and_density(saliency, fixation_density)
    if (maps < 0).any() or (density < 0).any():  # NaN < 0 is False
        raise ValueError("emd needs non-negative maps (apply a ReLU or a min-max first)")
    height, width = maps.shape[1:]
    cells = (int(np.ceil(height / downsize)), int(np.ceil(width / downsize)))
    rows, columns = np.divmod(np.arange(cells[0] * cells[1]), cells[1])
    distances = np.hypot(rows[:, None] - rows[None], columns[:, None] - columns[None])

    def shrink(single):
        if cells == (height, width):
            return single.ravel()
        return cv2.resize(single, cells[::-1], interpolation=cv2.INTER_AREA).ravel()

    scores = np.full(maps.shape[0], np.nan)
    for index, (single, truth) in enumerate(zip(maps, density, strict=True)):
        if np.isnan(single).any():
            continue
        source, target = shrink(single), shrink(truth)
        if source.sum() <= 0 or target.sum() <= 0:
            continue
        scores[index] = _transport_cost(source / source.sum(), target / target.sum(), distances)
    return unstack(scores, batched)


@metric("MAE", reads=("density",), higher_is_better=False, per_map=True)
def mae(saliency, human_map):
    """Mean absolute error between a min-max normalised map and a human attention map.

    The humans-vs-CNN paper (Ebrahimpour et al., ISVC 2019, eq. 15):
    MAE = 1/(W H) * sum |S(x, y) - G(x, y)|, with S the network's map min-max normalised to
    [0, 1] and G the human map in [0, 1] (duration-weighted fixations divided by their maximum,
    then blurred with an 80x80 Gaussian of sigma 20: ``xaikit.data.fixation_map``), used as given.

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` network attention map(s), any range.
        human_map: ``(H, W)`` or ``(B, H, W)`` human map with values in [0, 1].

    Returns:
        MAE in [0, 1], lower is better: a float, or ``(B,)`` for a stack. A constant or NaN map
        gives NaN (it has no [0, 1] normalisation); a human map outside [0, 1] raises.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.saliency import mae
        >>> human = np.array([[1.0, 0.5], [0.0, 0.0]])
        >>> mae(np.array([[10.0, 5.0], [0.0, 0.0]]), human)
        0.0
        >>> mae(np.array([[0.0, 0.0], [0.0, 3.0]]), human)
        0.625
    """
    maps, human, batched = _saliency_and_density(saliency, human_map)
    if human.min() < 0 or human.max() > 1:
        raise ValueError(
            f"human_map must lie in [0, 1]; got values in [{human.min()}, {human.max()}]"
        )
    errors = _mit_minmax(maps)
    errors -= human
    return unstack(np.abs(errors, out=errors).mean(axis=(1, 2)), batched)
