"""Deletion and insertion AUC in torch-cam's convention (the trapezoid over the actual fractions of
pixels changed): the literals of torch-cam's ``tests/test_metrics.py``."""

import numpy as np
import pytest
import torch
from torch import nn

from xaikit.metrics import faithfulness as faith


class SumClassifier(nn.Module):
    """torch-cam's SumClassifier scores (s, 1 - s), s = the sum of the input; the logits
    (log s, log(1 - s)) make the softmax probabilities those very scores."""

    def forward(self, images):
        total = images.flatten(1).sum(dim=1)
        return torch.stack([torch.log(total), torch.log1p(-total)], dim=1)


def _curves(images, n_steps, convention):
    saliency = images[:, 0]  # the input itself ranks its pixels (descending, stable)
    options = {"n_steps": n_steps, "convention": convention, "return_curves": True}
    deletion = faith.deletion_auc(SumClassifier(), images, saliency, 0, **options)
    insertion = faith.insertion_auc(SumClassifier(), images, saliency, 0, substrate=0, **options)
    return deletion, insertion


def test_steps_that_do_not_divide_the_pixels():
    # (1, 1, 1, 5), steps 3: step 2, counts 0, 2, 4, 5 -> fractions 0, 0.4, 0.8, 1
    images = torch.tensor([0.3, 0.25, 0.2, 0.15, 0.1]).reshape(1, 1, 1, 5)
    (deletion, deletion_curve), (insertion, insertion_curve) = _curves(images, 3, "torch-cam")
    np.testing.assert_allclose(deletion_curve, [[1.0, 0.45, 0.1, 0.0]], atol=1e-6)
    np.testing.assert_allclose(insertion_curve, [[0.0, 0.55, 0.9, 1.0]], atol=1e-6)
    assert deletion.tolist() == pytest.approx([0.41], abs=1e-6)
    assert insertion.tolist() == pytest.approx([0.59], abs=1e-6)
    # RISE's default takes the four points as evenly spaced: 1/3 (0.5 + 0.45 + 0.1)
    (rise_deletion, _), (rise_insertion, _) = _curves(images, 3, "rise")
    assert rise_deletion.tolist() == pytest.approx([0.35], abs=1e-6)
    assert rise_insertion.tolist() == pytest.approx([0.65], abs=1e-6)


def test_steps_that_divide_the_pixels_agree():
    images = torch.tensor([[0.4, 0.3], [0.2, 0.1]]).reshape(1, 1, 2, 2)
    for convention in faith.CAUSAL_CONVENTIONS:
        (deletion, curve), (insertion, _) = _curves(images, 2, convention)
        np.testing.assert_allclose(curve, [[1.0, 0.3, 0.0]], atol=1e-6)
        assert deletion.tolist() == pytest.approx([0.4], abs=1e-6)
        assert insertion.tolist() == pytest.approx([0.6], abs=1e-6)


def test_unknown_convention():
    images = torch.full((1, 1, 2, 2), 0.2)
    with pytest.raises(ValueError, match="convention must be one of 'rise', 'torch-cam'"):
        faith.deletion_auc(SumClassifier(), images, images[:, 0], 0, convention="captum")
