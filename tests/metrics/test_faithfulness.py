"""Faithfulness metrics: hand-computed curves on linear models, ROAD imputation, model untouched."""

import numpy as np
import pytest
import torch
from torch import nn

from xaikit.metrics import faithfulness as faith


def linear_model(weights):
    """Logit of class 0 = sum(weights * pixels); class 1 = 0."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(weights.numel(), 2, bias=False))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].weight[0] = weights.flatten()
    return model


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class TestDeletionInsertion:
    def test_hand_computed_deletion_curve(self):
        model = linear_model(torch.tensor([3.0, 2.0, 1.0, 0.0]))
        image = torch.ones(1, 1, 2, 2)
        saliency = torch.tensor([[[0.9, 0.1], [0.5, 0.0]]])  # order: pixel 0, 2, 1, 3
        auc, curves = faith.deletion_auc(
            model, image, saliency, target=0, n_steps=4, return_curves=True
        )
        expected = sigmoid(np.array([6.0, 3.0, 2.0, 0.0, 0.0]))
        np.testing.assert_allclose(curves[0], expected, rtol=1e-6)
        trapezoid = (expected.sum() - expected[0] / 2 - expected[-1] / 2) / 4
        assert auc[0] == pytest.approx(trapezoid, rel=1e-6)

    def test_insertion_from_given_substrate(self):
        model = linear_model(torch.tensor([3.0, 2.0, 1.0, 0.0]))
        image = torch.ones(1, 1, 2, 2)
        saliency = torch.tensor([[[0.9, 0.1], [0.5, 0.0]]])
        _, curves = faith.insertion_auc(
            model,
            image,
            saliency,
            target=0,
            n_steps=2,
            substrate=torch.zeros(1, 1, 2, 2),
            return_curves=True,
        )  # two pixels per step: 0, then pixels 0 and 2, then all
        np.testing.assert_allclose(curves[0], sigmoid(np.array([0.0, 4.0, 6.0])), rtol=1e-6)

    def test_default_blur_substrate_matches_rise_kernel(self):
        from scipy.ndimage import convolve, gaussian_filter

        delta = np.zeros((11, 11))
        delta[5, 5] = 1
        kernel = gaussian_filter(delta, 5)
        image = torch.rand(1, 2, 9, 9, generator=torch.Generator().manual_seed(0))
        blurred = faith._blurred(image)[0].numpy()
        expected = [convolve(c, kernel[::-1, ::-1], mode="constant") for c in image[0].numpy()]
        np.testing.assert_allclose(blurred, expected, atol=1e-6)

    def test_model_left_as_it_was_and_batches(self, tiny_cnn, images):
        tiny_cnn.train()
        before = {k: v.clone() for k, v in tiny_cnn.state_dict().items()}
        saliency = torch.rand(2, 16, 16)
        small = faith.deletion_auc(tiny_cnn, images, saliency, n_steps=8, batch_size=3)
        large = faith.deletion_auc(tiny_cnn, images, saliency, n_steps=8, batch_size=100)
        np.testing.assert_allclose(small, large, rtol=1e-6)
        assert tiny_cnn.training and all(m.training for m in tiny_cnn.modules())
        for key, value in tiny_cnn.state_dict().items():
            assert torch.equal(value, before[key])
            assert tiny_cnn.state_dict()[key].grad is None

    def test_input_errors(self, tiny_cnn, images):
        with pytest.raises(ValueError, match=r"saliency must be \(B, H, W\) = \(2, 16, 16\)"):
            faith.deletion_auc(tiny_cnn, images, torch.rand(2, 8, 8))
        with pytest.raises(ValueError, match=r"images must be a batch \(B, C, H, W\)"):
            faith.insertion_auc(tiny_cnn, images[0], torch.rand(16, 16))
        with pytest.raises(ValueError, match="one class per image"):
            faith.deletion_auc(tiny_cnn, images, torch.rand(2, 16, 16), target=[0, 1, 2])
        with pytest.raises(ValueError, match="move the model there first"):
            faith.deletion_auc(tiny_cnn, images, torch.rand(2, 16, 16), device="meta")


class TestConfidence:
    def test_average_drop_and_increase_by_hand(self):
        model = linear_model(torch.tensor([2.0, 0.0, 0.0, -1.0]))
        images = torch.ones(2, 1, 2, 2)
        saliency = torch.tensor([[[1.0, 0.0], [0.0, 0.5]], [[0.0, 1.0], [1.0, 1.0]]])
        # image 0: logit 1 -> 2 - 0.5 = 1.5 (rises); image 1: logit 1 -> -1 (drops)
        y, o = sigmoid(1.0), np.array([sigmoid(1.5), sigmoid(-1.0)])
        expected_drop = 100 * np.mean(np.maximum(0, y - o) / y)
        assert faith.average_drop(model, images, saliency, target=0) == pytest.approx(expected_drop)
        assert faith.increase_in_confidence(model, images, saliency, target=0) == 50.0

    def test_constant_map_masks_everything(self):
        model = linear_model(torch.tensor([2.0, 0.0, 0.0, 0.0]))
        drop = faith.average_drop(
            model, torch.ones(1, 1, 2, 2), torch.full((1, 2, 2), 0.3), target=0
        )
        assert drop == pytest.approx(100 * (1 - 0.5 / sigmoid(2.0)))


class TestRoad:
    def test_imputation_is_the_neighbour_mean(self):
        image = np.zeros((1, 3, 3))
        image[0] = [[1, 2, 3], [4, 0, 6], [7, 8, 9]]
        removed = np.zeros((3, 3), dtype=bool)
        removed[1, 1] = True
        filled = faith._impute(image, removed, 0.0, np.random.default_rng(0))
        expected = (2 + 4 + 6 + 8) / 6 + (1 + 3 + 7 + 9) / 12
        assert filled[0, 1, 1] == pytest.approx(expected)
        np.testing.assert_array_equal(filled[0][~removed], image[0][~removed])

    def test_constant_image_is_reproduced(self):
        image = np.full((2, 5, 5), 0.7)
        removed = np.zeros((5, 5), dtype=bool)
        removed[1:4, 0:3] = True  # a block touching the border
        filled = faith._impute(image, removed, 0.0, np.random.default_rng(0))
        np.testing.assert_allclose(filled, image)

    def test_morf_and_lerf_on_a_linear_model(self):
        weights = torch.zeros(16)
        weights[:4] = 2.0  # only the top row matters
        model = linear_model(weights)
        image = torch.zeros(1, 1, 4, 4)
        image[0, 0, 0] = 1.0  # a bright top row on black
        saliency = torch.zeros(1, 4, 4)
        saliency[0, 0] = 1.0
        morf = faith.road(model, image, saliency, target=0, fractions=[0.25], noise=0.0)
        lerf = faith.road(
            model, image, saliency, target=0, fractions=[0.25], order="lerf", noise=0.0
        )
        assert morf.shape == (1, 1)
        # MoRF imputes the top row from the black row below: logit 0; LeRF keeps the top row
        assert morf[0, 0] == pytest.approx(0.5)
        assert lerf[0, 0] == pytest.approx(sigmoid(8.0))

    def test_bad_arguments(self, tiny_cnn, images):
        with pytest.raises(ValueError, match="'morf', 'lerf'"):
            faith.road(tiny_cnn, images, torch.rand(2, 16, 16), order="random")
        with pytest.raises(ValueError, match=r"fractions must be values in \[0, 1\]"):
            faith.road(tiny_cnn, images, torch.rand(2, 16, 16), fractions=[1.5])
