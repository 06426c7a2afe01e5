"""Is a difference real? McNemar's exact test for two classifiers on the same items, and a
paired bootstrap interval for the mean difference of two per-sample scores.

The notebooks say "better" only when these say the difference is larger than chance:
:func:`compare_accuracy` (two models, one prediction each per item) and :func:`compare_scores`
(two methods, one score each per image or clip), each with a sentence
(:attr:`Comparison.verdict`) that states the sample count and the uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

__all__ = ["Comparison", "bootstrap_difference", "compare_accuracy", "compare_scores", "mcnemar"]


def _paired(first, second, name: str) -> tuple[np.ndarray, np.ndarray]:
    first, second = np.asarray(first, dtype=float).ravel(), np.asarray(second, dtype=float).ravel()
    if first.shape != second.shape:
        raise ValueError(
            f"{name}: both need one value per item, got {first.size} and {second.size}"
        )
    if first.size == 0:
        raise ValueError(f"{name}: no items to compare")
    return first, second


def mcnemar(first_correct, second_correct) -> float:
    """Two-sided exact McNemar p-value: are two classifiers' error rates on the same items equal?

    Only the discordant items count: ``b`` where only the first is right, ``c`` where only the
    second is; under the null hypothesis each discordant item goes either way with probability
    1/2, so ``p = P(Binomial(b + c, 1/2) as or more extreme than b)`` (McNemar 1947, the exact
    binomial form). No discordant item gives ``p = 1``.

    Args:
        first_correct, second_correct: ``(N,)`` booleans, whether each model got item i right.

    Returns:
        The p-value in [0, 1].

    Examples:
        >>> round(mcnemar([1, 1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0, 0]), 4)  # b = 6, c = 0
        0.0312
        >>> mcnemar([1, 0], [0, 1])
        1.0
    """
    first, second = _paired(first_correct, second_correct, "mcnemar")
    first, second = first.astype(bool), second.astype(bool)
    only_first, only_second = int(np.sum(first & ~second)), int(np.sum(second & ~first))
    if only_first + only_second == 0:
        return 1.0
    return float(binomtest(only_first, only_first + only_second, 0.5).pvalue)


def bootstrap_difference(
    first, second, *, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``first - second`` over paired items, with a percentile bootstrap interval.

    Items (images, clips) are resampled with replacement, keeping each item's two values
    together, ``resamples`` times; the interval is the central ``confidence`` share of the
    resampled means (Efron and Tibshirani 1993, the percentile interval). Items where either
    value is NaN are left out.

    Args:
        first, second: ``(N,)`` per-item scores of two methods on the same items.
        confidence: Coverage of the interval, in (0, 1).
        resamples: Bootstrap resamples.
        seed: Seed of the resampling, so a notebook prints the same interval every run.

    Returns:
        ``(mean difference, low, high)``.

    Examples:
        >>> mean, low, high = bootstrap_difference([0.9, 0.8, 0.7, 0.9], [0.5, 0.4, 0.6, 0.5])
        >>> round(mean, 3), low > 0
        (0.325, True)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    first, second = _paired(first, second, "bootstrap_difference")
    differences = (first - second)[~(np.isnan(first) | np.isnan(second))]
    if differences.size == 0:
        raise ValueError("bootstrap_difference: every pair has a NaN")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, differences.size, size=(resamples, differences.size))
    means = differences[picks].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(differences.mean()), float(low), float(high)


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing two models or methods on the same items.

    Attributes:
        first, second: Their names.
        difference: ``first - second`` (accuracy, or mean score).
        low, high: The 95 % bootstrap interval of the difference (score comparisons), or NaN.
        p_value: McNemar's p-value (accuracy comparisons), or NaN.
        items: How many paired items the comparison rests on.
        higher_is_better: Whether a larger value is the better one.
    """

    first: str
    second: str
    difference: float
    low: float
    high: float
    p_value: float
    items: int
    higher_is_better: bool = True

    @property
    def significant(self) -> bool:
        """Whether the data support a difference: p < 0.05, or an interval that excludes 0."""
        if not np.isnan(self.p_value):
            return self.p_value < 0.05
        return self.low > 0 or self.high < 0

    @property
    def verdict(self) -> str:
        """One sentence: which is better, by how much, on how many items, and how sure.

        Examples:
            >>> Comparison("gated", "baseline", 0.016, np.nan, np.nan, 0.5, 64).verdict
            'gated - baseline = +0.016 on 64 items (McNemar p = 0.500): no clear difference'
        """
        if np.isnan(self.p_value):
            evidence = f"95 % interval [{self.low:+.3f}, {self.high:+.3f}]"
        else:
            evidence = f"McNemar p = {self.p_value:.3f}"
        text = f"{self.first} - {self.second} = {self.difference:+.3f}"
        text += f" on {self.items} items ({evidence})"
        if not self.significant:
            return f"{text}: no clear difference"
        first_better = (self.difference > 0) == self.higher_is_better
        winner, loser = (self.first, self.second) if first_better else (self.second, self.first)
        return f"{text}: {winner} is better than {loser}"


def compare_accuracy(first_correct, second_correct, names=("first", "second")) -> Comparison:
    """Accuracy difference of two classifiers on the same items, tested with :func:`mcnemar`.

    Examples:
        >>> result = compare_accuracy([1] * 40 + [0] * 10, [1] * 30 + [0] * 20, ("a", "b"))
        >>> result.verdict
        'a - b = +0.200 on 50 items (McNemar p = 0.002): a is better than b'
    """
    first, second = _paired(first_correct, second_correct, "compare_accuracy")
    difference = float(first.astype(bool).mean() - second.astype(bool).mean())
    p_value = mcnemar(first, second)
    return Comparison(*names, difference, np.nan, np.nan, p_value, first.size)


def compare_scores(
    first, second, names=("first", "second"), *, higher_is_better: bool = True, seed: int = 0
) -> Comparison:
    """Mean difference of two methods' per-item scores, with :func:`bootstrap_difference`.

    Examples:
        >>> compare_scores([0.2, 0.3, 0.25], [0.5, 0.6, 0.55], ("A", "B"),
        ...                higher_is_better=False).verdict
        'A - B = -0.300 on 3 items (95 % interval [-0.300, -0.300]): A is better than B'
    """
    mean, low, high = bootstrap_difference(first, second, seed=seed)
    items = int(np.sum(~(np.isnan(np.asarray(first, float)) | np.isnan(np.asarray(second, float)))))
    return Comparison(*names, mean, low, high, np.nan, items, higher_is_better)
