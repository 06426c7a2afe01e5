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
ground truth first; the resizing method changes every score); a NaN anywhere in a saliency map
gives NaN for that map; NaN in the ground truth raises; a mask without fixations gives NaN.
"""

from __future__ import annotations

import numpy as np

from xaikit.metrics._inputs import (
    as_maps,
    check_choice,
    check_not_empty,
    check_same_shape,
    has_nan,
    is_constant,
    minmax,
    unstack,
)

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


def _saliency_and_mask(saliency, fixation_mask, *, counts: bool = False):
    maps, batched = as_maps(saliency, "saliency")
    check_not_empty(maps, "saliency")
    mask_values, _ = as_maps(fixation_mask, "fixation_mask")
    if np.isnan(mask_values).any() or (mask_values < 0).any():
        raise ValueError("fixation_mask must be non-negative without NaN (> 0 marks a fixation)")
    if mask_values.shape[0] == 1 and maps.shape[0] > 1:
        mask_values = np.broadcast_to(mask_values, maps.shape)
    check_same_shape(maps, mask_values, "saliency", "fixation_mask")
    weights = mask_values if counts else (mask_values > 0).astype(np.float64)
    return maps, weights, batched


def _saliency_and_density(saliency, fixation_density):
    maps, batched = as_maps(saliency, "saliency")
    check_not_empty(maps, "saliency")
    density, _ = as_maps(fixation_density, "fixation_density")
    if np.isnan(density).any():
        raise ValueError("fixation_density must not contain NaN")
    if density.shape[0] == 1 and maps.shape[0] > 1:
        density = np.broadcast_to(density, maps.shape)
    check_same_shape(maps, density, "saliency", "fixation_density")
    return maps, density, batched


def _per_map(function, maps, weights, batched, *args):
    """Apply ``function(map, weights, *args)`` to each map; NaN maps and maps without fixations
    score NaN."""
    scores = np.full(maps.shape[0], np.nan)
    for index, (single, single_weights) in enumerate(zip(maps, weights, strict=True)):
        if np.isnan(single).any() or not single_weights.any():
            continue
        scores[index] = function(single, single_weights, *args)
    return unstack(scores, batched)


# ----------------------------------------------------------------------------------------------
# AUC family


def _judd_auc(single: np.ndarray, mask: np.ndarray, jitter: bool, seed) -> float:
    if single.max() == single.min():
        return 0.5
    if jitter:
        single = single + np.random.default_rng(seed).random(single.shape) / 1e7
    single = (single - single.min()) / (single.max() - single.min())
    positives = np.sort(single[mask > 0])  # ascending
    n_fixations, n_pixels = positives.size, single.size
    if n_fixations == n_pixels:
        return np.nan
    # above[k] = #pixels >= the k-th largest fixated value; only pixels at or above the lowest
    # fixated value can count, so only those are sorted.
    flat = single.ravel()
    candidates = np.sort(flat[flat >= positives[0]])
    above = candidates.size - np.searchsorted(candidates, positives[::-1], side="left")
    ranks = np.arange(1, n_fixations + 1)
    true_positive = np.concatenate(([0.0], ranks / n_fixations, [1.0]))
    false_positive = np.concatenate(([0.0], (above - ranks) / (n_pixels - n_fixations), [1.0]))
    return float(np.trapezoid(true_positive, false_positive))


def auc_judd(saliency, fixation_mask, *, jitter: bool = True, seed: int | None = 0):
    """AUC-Judd: area under the ROC curve of fixated against non-fixated pixels.

    MIT convention (``AUC_Judd.m``): the map is min-max normalised; the thresholds are the
    saliency values at the fixated pixels; the true-positive rate at the i-th highest threshold is
    i / N_fix and the false-positive rate counts the non-fixated pixels at or above it; the curve
    is integrated with the trapezoid rule. ``jitter`` adds uniform noise in [0, 1e-7) before the
    normalisation, as the MIT code does, so tied values do not bias the rank-based TPR; it is drawn
    from a fresh ``numpy.random.default_rng(seed)`` for each map, so a map scores the same alone
    or in a stack.

    Args:
        saliency: ``(H, W)`` or ``(B, H, W)`` saliency map(s).
        fixation_mask: ``(H, W)`` or ``(B, H, W)``; pixels > 0 are fixated. One mask broadcasts
            over a stack.
        jitter: add the MIT code's tie-breaking noise.
        seed: seed of the jitter.

    Returns:
        The AUC in [0, 1] (0.5 = chance): a float, or ``(B,)`` for a stack. A constant map gives
        0.5; a NaN map, a mask without fixations or one covering every pixel gives NaN.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.saliency import auc_judd
        >>> saliency = np.array([[0.9, 0.1], [0.2, 0.8]])
        >>> fixations = np.array([[1, 0], [0, 0]])
        >>> auc_judd(saliency, fixations, jitter=False)
        1.0
        >>> auc_judd(np.ones((2, 2)), fixations)
        0.5
    """
    maps, weights, batched = _saliency_and_mask(saliency, fixation_mask)
    return _per_map(_judd_auc, maps, weights, batched, jitter, seed)


def _sampled_auc(positives: np.ndarray, negatives: np.ndarray, step: float) -> float:
    """Mean AUC over splits; ``negatives`` is ``(n_negatives, n_splits)`` (``AUC_Borji.m``)."""
    scores = np.empty(negatives.shape[1])
    for split in range(negatives.shape[1]):
        current = negatives[:, split]
        top = max(positives.max(), current.max())
        thresholds = step * np.arange(int(np.floor(top / step + 1e-10)), -1, -1)
        true_positive = (positives[None, :] >= thresholds[:, None]).mean(axis=1)
        false_positive = (current[None, :] >= thresholds[:, None]).mean(axis=1)
        true_positive = np.concatenate(([0.0], true_positive, [1.0]))
        false_positive = np.concatenate(([0.0], false_positive, [1.0]))
        scores[split] = np.trapezoid(true_positive, false_positive)
    return float(scores.mean())


def _check_splits(n_splits: int, step: float) -> None:
    if int(n_splits) != n_splits or n_splits < 1:
        raise ValueError(f"n_splits must be a positive integer; got {n_splits!r}")
    if not 0 < step <= 1:
        raise ValueError(f"step must lie in (0, 1]; got {step}")


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
    maps, weights, batched = _saliency_and_mask(saliency, fixation_mask)
    scores = np.full(maps.shape[0], np.nan)
    for index, (single, mask) in enumerate(zip(maps, weights, strict=True)):
        if np.isnan(single).any() or np.count_nonzero(mask) <= 1:
            continue
        if single.max() == single.min():
            scores[index] = 0.5
            continue
        single = (single - single.min()) / (single.max() - single.min())
        positives = single[mask > 0]
        draws = np.random.default_rng(seed).integers(
            0, single.size, size=(positives.size, n_splits)
        )
        scores[index] = _sampled_auc(positives, single.ravel()[draws], step)
    return unstack(scores, batched)


def _exact_auc(positives, positive_weights, negatives, negative_weights) -> float:
    """Weighted Mann-Whitney AUC; ties count one half (pysaliency's ``general_roc``)."""
    order = np.argsort(negatives, kind="stable")
    negatives, negative_weights = negatives[order], negative_weights[order]
    cumulative = np.concatenate(([0.0], np.cumsum(negative_weights)))
    below = cumulative[np.searchsorted(negatives, positives, side="left")]
    at_or_below = cumulative[np.searchsorted(negatives, positives, side="right")]
    per_positive = (below + 0.5 * (at_or_below - below)) / cumulative[-1]
    return float(np.sum(per_positive * positive_weights) / np.sum(positive_weights))


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
    maps, weights, batched = _saliency_and_mask(saliency, fixation_mask, counts=counts)
    _, other_weights, _ = _saliency_and_mask(maps, other_fixations, counts=counts)
    scores = np.full(maps.shape[0], np.nan)
    for index, (single, mask, other) in enumerate(zip(maps, weights, other_weights, strict=True)):
        if np.isnan(single).any() or not mask.any() or not other.any():
            continue
        if single.max() == single.min():
            scores[index] = 0.5
        elif counts:
            scores[index] = _exact_auc(
                single[mask > 0], mask[mask > 0], single[other > 0], other[other > 0]
            )
        else:
            single = (single - single.min()) / (single.max() - single.min())
            positives, candidates = single[mask > 0], single[other > 0]
            n_negatives = min(positives.size, candidates.size)
            rng = np.random.default_rng(seed)
            picks = np.stack(
                [rng.permutation(candidates.size)[:n_negatives] for _ in range(n_splits)], axis=1
            )
            scores[index] = _sampled_auc(positives, candidates[picks], step)
    return unstack(scores, batched)


# ----------------------------------------------------------------------------------------------
# NSS, CC, SIM, KLD, IG


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
    maps, weights, batched = _saliency_and_mask(saliency, fixation_mask, counts=counts)
    ddof = 1 if convention == "mit" else 0
    constant = is_constant(maps)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = maps.mean(axis=(1, 2), keepdims=True)
        std = np.where(
            constant[:, None, None], 1.0, maps.std(axis=(1, 2), ddof=ddof, keepdims=True)
        )
        z = np.where(constant[:, None, None], 0.0, (maps - mean) / std)
        scores = (z * weights).sum(axis=(1, 2)) / weights.sum(axis=(1, 2))
    if convention == "mit":
        scores[constant] = np.nan
    return unstack(scores, batched)


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
    centred_maps = maps - maps.mean(axis=(1, 2), keepdims=True)
    centred_density = density - density.mean(axis=(1, 2), keepdims=True)
    covariance = (centred_maps * centred_density).sum(axis=(1, 2))
    norm = np.sqrt((centred_maps**2).sum(axis=(1, 2)) * (centred_density**2).sum(axis=(1, 2)))
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.clip(covariance / norm, -1.0, 1.0)
    scores[is_constant(maps) | is_constant(density)] = np.nan
    if convention == "pysaliency":
        scores[is_constant(maps) & ~is_constant(density)] = 0.0
    return unstack(scores, batched)


def _to_density(maps: np.ndarray, convention: str) -> np.ndarray:
    """Per-map probability distributions: MIT min-max then divide by the sum (all-zero maps stay
    zero, constant non-zero maps become NaN); pysaliency shifts by -min if negative, divides by the
    sum, and makes a zero-sum map uniform."""
    if convention == "mit":
        nonzero = (maps != 0).any(axis=(1, 2))
        scaled = np.where(nonzero[:, None, None], minmax(maps), maps)
    else:
        low = np.minimum(maps.min(axis=(1, 2), keepdims=True), 0.0)
        scaled = maps - low
        zero = scaled.sum(axis=(1, 2)) == 0
        scaled = np.where(zero[:, None, None], 1.0, scaled)
    total = scaled.sum(axis=(1, 2), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total != 0, scaled / np.where(total != 0, total, 1), scaled)


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
    scores = np.minimum(_to_density(maps, convention), _to_density(density, convention))
    scores = scores.sum(axis=(1, 2))
    scores[has_nan(maps)] = np.nan
    return unstack(scores, batched)


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
    if convention == "mit":
        if (np.nan_to_num(maps, nan=0.0) < 0).any():
            raise ValueError(
                "saliency must be non-negative for the MIT KL divergence (apply a ReLU or a "
                f"min-max first); got a minimum {np.nanmin(maps)}"
            )
        predicted = _divide_by_sum(maps)
        truth = _divide_by_sum(density)
        scores = (truth * np.log(EPS + truth / (predicted + EPS))).sum(axis=(1, 2))
    else:
        predicted = _divide_by_sum(
            maps - np.minimum(maps.min(axis=(1, 2), keepdims=True), 0) + 1e-20
        )
        truth = _divide_by_sum(density + 1e-20)
        scores = (truth * (np.log(truth) - np.log(predicted))).sum(axis=(1, 2))
    return unstack(scores, batched)


def _divide_by_sum(maps: np.ndarray) -> np.ndarray:
    total = maps.sum(axis=(1, 2), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total != 0, maps / np.where(total != 0, total, 1), maps)


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
    maps, weights, batched = _saliency_and_mask(saliency, fixation_mask)
    predicted = _divide_by_sum(minmax(maps))
    if baseline is None:
        reference = np.full_like(maps, 1.0 / maps[0].size)
    else:
        reference, _ = as_maps(baseline, "baseline")
        if reference.shape[0] == 1 and maps.shape[0] > 1:
            reference = np.broadcast_to(reference, maps.shape)
        check_same_shape(maps, reference, "saliency", "baseline")
        reference = _divide_by_sum(minmax(reference))
    gain = np.log2(EPS + predicted) - np.log2(EPS + reference)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = (gain * weights).sum(axis=(1, 2)) / weights.sum(axis=(1, 2))
    return unstack(scores, batched)


# ----------------------------------------------------------------------------------------------
# EMD and MAE


def _transport_cost(source: np.ndarray, target: np.ndarray, distances: np.ndarray) -> float:
    """Exact optimal-transport cost between two distributions of equal mass (POT if present,
    else the HiGHS linear program in scipy; both are exact)."""
    try:
        import ot
    except ImportError:
        ot = None
    if ot is not None:
        return float(ot.emd2(source, target, distances))
    from scipy.optimize import linprog
    from scipy.sparse import identity, kron, vstack

    count = source.size
    ones = np.ones((1, count))
    equalities = vstack([kron(identity(count), ones), kron(ones, identity(count))]).tocsr()
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
    if (np.nan_to_num(maps) < 0).any() or (density < 0).any():
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
    scores = np.abs(minmax(maps) - human).mean(axis=(1, 2))
    return unstack(scores, batched)
