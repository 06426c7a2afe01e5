"""AUC-Judd in pysaliency's convention on the toy of pysaliency's
``tests/test_saliency_map_models.py``: a Gaussian model on two 40 x 40 images, eight fixations
with repeats."""

import numpy as np
import pytest

from xaikit.metrics import saliency as sal
from xaikit.study import fixation_scores

#: (image, x, y) of the eight fixations; image 0 has (2, 12) three times.
FIXATIONS = [(0, 0, 10), (0, 1, 11), (0, 2, 12), (0, 2, 12), (0, 2, 12), (1, 1, 21), (1, 5, 25)]
FIXATIONS += [(1, 3, 33)]


def _toy():
    """pysaliency's GaussianSaliencyMapModel on both images, and the fixation counts."""
    height = width = 40
    y, x = np.mgrid[0:height, 0:width]
    gaussian = np.exp(
        -0.5 * ((x - width / 2) ** 2 + (y - height / 2) ** 2) / np.hypot(width, height)
    )
    counts = np.zeros((2, height, width))
    for image, column, row in FIXATIONS:
        counts[image, row, column] += 1
    return np.stack([gaussian, gaussian]), counts


def test_pysaliency_literal_without_jitter():
    maps, counts = _toy()
    per_image = sal.auc_judd(maps, counts, jitter=False, convention="pysaliency")
    np.testing.assert_allclose(per_image, [0.4363180964308077, 0.45376748069296596], rtol=1e-12)
    assert per_image.mean() == pytest.approx(0.44504278856188684, rel=1e-12)
    # the MIT convention counts the pixel fixated three times once
    assert sal.auc_judd(maps, counts, jitter=False).mean() == pytest.approx(0.38405, abs=1e-5)


def test_pysaliency_literal_with_its_jitter():
    maps, counts = _toy()
    jittered = sal.auc_judd(maps, counts, seed=42, convention="pysaliency")  # RandomState(42)
    assert jittered.mean() == pytest.approx(0.44674389480275517, rel=1e-10)
    # derived (its mean with image 0 is the literal): the noise breaks the Gaussian's ties
    assert jittered[1] == pytest.approx(0.4567939887288666, rel=1e-10)
    assert jittered[1] - 0.45376748069296596 > 1e-3


def test_the_study_table_passes_the_convention():
    maps, counts = _toy()
    scores = fixation_scores(
        {"gaussian": maps},
        counts / counts.max(),
        counts,
        metrics=["AUC-Judd"],
        jitter=False,
        convention="pysaliency",
    )
    assert scores["value"].tolist() == pytest.approx([0.44504278856188684], rel=1e-12)


def test_edges_in_the_pysaliency_convention():
    mask = np.array([[2, 0], [0, 0]])
    assert sal.auc_judd(np.full((2, 2), 3.0), mask, convention="pysaliency") == 0.5
    assert np.isnan(sal.auc_judd(np.eye(2), np.zeros((2, 2)), convention="pysaliency"))
    assert np.isnan(sal.auc_judd(np.eye(2), np.ones((2, 2)), convention="pysaliency"))
    # without repeats the two conventions agree
    saliency = np.array([[0.1, 0.4, 0.35, 0.8]])
    once = np.array([[0, 0, 1, 1]])
    assert sal.auc_judd(saliency, once, jitter=False, convention="pysaliency") == 0.875
    with pytest.raises(ValueError, match="convention must be one of"):
        sal.auc_judd(saliency, once, convention="matlab")
