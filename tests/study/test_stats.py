"""McNemar's test and the paired bootstrap: literal values worked by hand and scipy's own."""

import numpy as np
import pytest
from scipy.stats import binomtest

from xaikit.study.stats import bootstrap_difference, compare_accuracy, compare_scores, mcnemar


def test_mcnemar_counts_only_discordant_items():
    # b = 5 items only the first gets right, c = 1 only the second: p = 2 * P(X <= 1), X ~ B(6, .5)
    first = [1] * 5 + [0] + [1] * 30 + [0] * 10
    second = [0] * 5 + [1] + [1] * 30 + [0] * 10
    assert mcnemar(first, second) == pytest.approx(2 * (1 + 6) / 2**6)
    assert mcnemar(first, second) == pytest.approx(binomtest(5, 6, 0.5).pvalue)
    # the 40 concordant items change nothing
    assert mcnemar(first[:6], second[:6]) == mcnemar(first, second)
    assert mcnemar([1, 1], [1, 1]) == 1.0


def test_one_discordant_clip_is_no_evidence():
    # notebook 03's old finding: gated better by one clip of 64
    gated = np.ones(64, bool)
    baseline = gated.copy()
    baseline[7] = False
    result = compare_accuracy(gated, baseline, ("gated", "baseline"))
    assert result.difference == pytest.approx(1 / 64)
    assert result.p_value == 1.0 and not result.significant
    assert "no clear difference" in result.verdict and "64 items" in result.verdict


def test_bootstrap_interval_is_paired_and_reproducible():
    rng = np.random.default_rng(3)
    shared = rng.normal(0, 1, 200)  # large differences between items, a small steady gap
    first, second = shared + 0.05, shared
    mean, low, high = bootstrap_difference(first, second)
    assert (
        mean == pytest.approx(0.05) and low == pytest.approx(0.05) and high == pytest.approx(0.05)
    )
    noisy = shared + rng.normal(0, 1, 200)
    mean, low, high = bootstrap_difference(noisy, shared, seed=1)
    assert low < mean < high and (mean, low, high) == bootstrap_difference(noisy, shared, seed=1)
    # about 1.96 standard errors either side
    error = np.std(noisy - shared, ddof=1) / np.sqrt(200)
    assert (high - low) / 2 == pytest.approx(1.96 * error, rel=0.1)


def test_compare_scores_direction_and_nan():
    lower_better = compare_scores(
        [0.1, 0.2, np.nan], [0.5, 0.6, 0.7], ("A", "B"), higher_is_better=False
    )
    assert lower_better.items == 2 and lower_better.verdict.endswith("A is better than B")
    higher_better = compare_scores([0.1, 0.2], [0.5, 0.6], ("A", "B"))
    assert higher_better.verdict.endswith("B is better than A")
    with pytest.raises(ValueError, match="one value per item"):
        compare_scores([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="every pair has a NaN"):
        bootstrap_difference([np.nan], [1.0])
