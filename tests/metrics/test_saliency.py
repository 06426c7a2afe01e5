"""Saliency against fixations: hand-worked cases, pysaliency where conventions match, edges."""

import sys

import numpy as np
import pytest
import torch

from xaikit.metrics import saliency as sal


def random_fixations(rng, shape, count):
    """Fixation coordinates with repeats, and the count map they make."""
    ys = rng.integers(0, shape[0], count)
    xs = rng.integers(0, shape[1], count)
    counts = np.zeros(shape)
    np.add.at(counts, (ys, xs), 1)
    return ys, xs, counts


class TestAucJudd:
    def test_hand_worked(self):
        # min-max: [0, 3/7, 2/7... ] thresholds 1 (1 pixel above) and 0.357 (3 pixels above):
        # TPR [0, .5, 1, 1], FPR [0, 0, .5, 1] -> 0.375 + 0.5
        saliency = np.array([[0.1, 0.4, 0.35, 0.8]])
        fixations = np.array([[0, 0, 1, 1]])
        assert sal.auc_judd(saliency, fixations, jitter=False) == pytest.approx(0.875)

    def test_matches_pysaliency_judd_roc(self, rng, pysaliency_roc):
        saliency = rng.random((3, 24, 32))
        _, _, counts = random_fixations(rng, (24, 32), 30)
        mask = counts > 0
        ours = sal.auc_judd(saliency, mask, jitter=False)
        for index in range(3):
            expected, _, _ = pysaliency_roc.general_roc_numba(
                saliency[index][mask], saliency[index][~mask], judd=1
            )
            assert ours[index] == pytest.approx(expected, abs=1e-12)

    def test_jitter_is_seeded_and_small(self, rng):
        saliency = np.round(rng.random((20, 20)), 1)  # many ties
        mask = rng.random((20, 20)) > 0.9
        first = sal.auc_judd(saliency, mask, seed=3)
        assert first == sal.auc_judd(saliency, mask, seed=3)
        assert abs(first - sal.auc_judd(saliency, mask, jitter=False)) < 0.1

    def test_edge_cases(self):
        mask = np.array([[1, 0], [0, 0]])
        assert sal.auc_judd(np.full((2, 2), 3.0), mask) == 0.5
        assert np.isnan(sal.auc_judd(np.array([[np.nan, 0], [1, 2]]), mask))
        assert np.isnan(sal.auc_judd(np.eye(2), np.zeros((2, 2))))
        assert np.isnan(sal.auc_judd(np.eye(2), np.ones((2, 2))))


class TestAucBorjiAndShuffled:
    def test_borji_expectation(self):
        # Fixated pixels 1, others 0: a split whose k draws hit fixated pixels scores
        # 1 - k / (2 N_fix); draws are uniform, so the mean is 1 - N_fix / (2 N_pixels).
        saliency = np.zeros((10, 10))
        saliency[0, :4] = 1.0
        score = sal.auc_borji(saliency, saliency > 0, n_splits=4000, seed=7)
        assert score == pytest.approx(1 - 4 / 200, abs=0.003)

    def test_borji_needs_two_fixations(self):
        saliency = np.arange(16.0).reshape(4, 4)
        one = np.zeros((4, 4))
        one[1, 1] = 1
        assert np.isnan(sal.auc_borji(saliency, one))

    def test_shuffled_mit_hand_worked(self):
        # As many other fixations as fixations: every split uses all of them, so no randomness.
        # Thresholds 1.0 ... 0.0 step 0.1: ROC (0,0) (0,.5) (.5,1) (1,1) -> 0.875.
        saliency = np.array([[1.0, 0.55, 0.5, 0.0]])
        fixations = np.array([[1, 1, 0, 0]])
        others = np.array([[0, 0, 1, 1]])
        assert sal.auc_shuffled(saliency, fixations, others) == pytest.approx(0.875)

    def test_shuffled_pysaliency_matches_per_fixation_auc(self, rng, pysaliency_roc):
        saliency = np.round(rng.random((16, 20)), 2)  # ties count one half
        ys, xs, counts = random_fixations(rng, (16, 20), 25)
        other_ys, other_xs, other_counts = random_fixations(rng, (16, 20), 60)
        negatives = saliency[other_ys, other_xs]
        per_fixation = [
            pysaliency_roc.auc_for_one_positive(saliency[y, x], negatives)
            for y, x in zip(ys, xs, strict=True)
        ]
        expected = np.mean(per_fixation)
        ours = sal.auc_shuffled(saliency, counts, other_counts, convention="pysaliency")
        assert ours == pytest.approx(expected, abs=1e-12)

    def test_shuffled_without_other_fixations_is_nan(self):
        assert np.isnan(sal.auc_shuffled(np.eye(3), np.eye(3), np.zeros((3, 3))))

    def test_bad_parameters(self):
        with pytest.raises(ValueError, match="n_splits"):
            sal.auc_borji(np.eye(3), np.eye(3), n_splits=0)
        with pytest.raises(ValueError, match="step"):
            sal.auc_shuffled(np.eye(3), np.eye(3), np.eye(3), step=0)
        with pytest.raises(ValueError, match="'mit', 'pysaliency'; got 'matlab'"):
            sal.auc_shuffled(np.eye(3), np.eye(3), np.eye(3), convention="matlab")


class TestNss:
    def test_mit_hand_worked(self):
        # mean 1, N-1 std sqrt(12 / 3) = 2; fixations at 4 and 0: (1.5 - 0.5) / 2
        saliency = np.array([[4.0, 0.0], [0.0, 0.0]])
        assert sal.nss(saliency, np.array([[1, 1], [0, 0]])) == pytest.approx(0.5)

    def test_pysaliency_counts_repeats(self, rng, pysaliency_metrics):
        saliency = rng.random((12, 15))
        ys, xs, counts = random_fixations(rng, (12, 15), 40)
        expected = pysaliency_metrics.NSS(saliency, xs, ys).mean()
        assert sal.nss(saliency, counts, convention="pysaliency") == pytest.approx(expected)

    def test_constant_map(self):
        mask = np.eye(2)
        assert np.isnan(sal.nss(np.ones((2, 2)), mask))
        assert sal.nss(np.ones((2, 2)), mask, convention="pysaliency") == 0.0


class TestCcSimKld:
    def test_cc_matches_pysaliency(self, rng, pysaliency_metrics):
        saliency, density = rng.random((2, 10, 12))
        expected = pysaliency_metrics.CC(saliency, density)
        assert sal.cc(saliency, density) == pytest.approx(expected, abs=1e-12)
        assert sal.cc(saliency, density, convention="pysaliency") == pytest.approx(expected)

    def test_cc_constant_maps(self, pysaliency_metrics):
        density = np.arange(4.0).reshape(2, 2)
        constant = np.full((2, 2), 0.1)
        assert np.isnan(sal.cc(constant, density))
        assert sal.cc(constant, density, convention="pysaliency") == 0.0
        assert pysaliency_metrics.CC(constant, density) == 0.0
        assert np.isnan(sal.cc(constant, constant, convention="pysaliency"))

    def test_sim_mit_hand_worked(self):
        # MIT min-max: [0, .5, .5, 1] / 2 against [0, 1, 0, 0]
        density = np.array([[0.0, 1.0], [1.0, 2.0]])
        assert sal.sim(np.array([[0.0, 1.0], [0.0, 0.0]]), density) == pytest.approx(0.25)
        # pysaliency divides by the sum only: [0, .25, .25, .5] against [0, 1, 0, 0]
        assert sal.sim(
            np.array([[0.0, 1.0], [0.0, 0.0]]), density, convention="pysaliency"
        ) == pytest.approx(0.25)
        shifted = density + 1  # min-max removes the shift; pysaliency does not
        assert sal.sim(shifted, density) == pytest.approx(1.0)
        assert sal.sim(shifted, density, convention="pysaliency") == pytest.approx(
            np.minimum(shifted / shifted.sum(), density / density.sum()).sum()
        )

    def test_sim_matches_pysaliency(self, rng, pysaliency_metrics):
        saliency = rng.normal(size=(9, 11))  # negative values are shifted by -min
        density = rng.random((9, 11))
        expected = pysaliency_metrics.SIM(saliency, density)
        assert sal.sim(saliency, density, convention="pysaliency") == pytest.approx(expected)

    def test_sim_constant_and_zero_maps(self):
        density = np.eye(3)
        assert np.isnan(sal.sim(np.full((3, 3), 2.0), density))
        assert sal.sim(np.zeros((3, 3)), density) == 0.0
        assert sal.sim(np.zeros((3, 3)), density, convention="pysaliency") == pytest.approx(1 / 3)

    def test_kld_matches_pysaliency(self, rng, pysaliency_metrics):
        saliency = rng.random((8, 10))
        saliency[0, 0] = 0.0
        density = rng.random((8, 10))
        density[0, :] = 0.0  # where the saliency is 0 the two eps (2.2204e-16 rounded) would differ
        with np.errstate(divide="ignore"):
            mit = pysaliency_metrics.MIT_KLDiv(saliency, density)
            default = pysaliency_metrics.image_based_kl_divergence(saliency, density)
        assert sal.kld(saliency, density) == pytest.approx(mit, abs=1e-12)
        assert sal.kld(saliency, density, convention="pysaliency") == pytest.approx(default)

    def test_kld_direction_and_negative_maps(self):
        saliency = np.array([[1.0, 1.0, 1.0, 1.0]])
        density = np.array([[1.0, 0.0, 0.0, 0.0]])
        assert sal.kld(saliency, density) == pytest.approx(np.log(4))  # KL(density || saliency)
        eps = np.finfo(float).eps  # the other direction: three empty predicted pixels hit the eps
        expected = 0.25 * np.log(0.25 / (1 + eps)) + 0.75 * np.log(eps + 0.25 / eps)
        assert sal.kld(density, saliency) == pytest.approx(expected)
        with pytest.raises(ValueError, match="non-negative"):
            sal.kld(saliency - 2, density)


class TestInfoGainEmdMae:
    def test_info_gain_hand_worked(self):
        saliency = np.array([[3.0, 1.0], [1.0, 1.0]])  # min-max -> [1, 0, 0, 0]
        baseline = np.array([[1.0, 1.0], [0.0, 2.0]])  # min-max /sum -> [.25, .25, 0, .5]
        mask = np.array([[1, 0], [0, 0]])
        assert sal.info_gain(saliency, mask, baseline) == pytest.approx(2.0)
        assert sal.info_gain(saliency, mask) == pytest.approx(2.0)  # uniform: 1/4
        assert np.isnan(sal.info_gain(np.ones((2, 2)), mask))

    def test_emd_hand_worked(self):
        saliency = np.zeros((64, 64))
        saliency[:32, :32] = 1.0
        density = np.zeros((64, 64))
        density[32:, 32:] = 5.0
        # 32x32 cells -> 2x2 grid, all the mass moves one diagonal cell
        assert sal.emd(saliency, density) == pytest.approx(np.sqrt(2))
        assert sal.emd(density, density) == pytest.approx(0.0, abs=1e-12)
        assert np.isnan(sal.emd(np.zeros((64, 64)), density))

    def test_emd_solvers_agree(self, rng, monkeypatch):
        pytest.importorskip("ot")
        saliency, density = rng.random((2, 5, 6))
        with_pot = sal.emd(saliency, density, downsize=1)
        monkeypatch.setitem(sys.modules, "ot", None)  # import fails -> scipy HiGHS
        assert sal.emd(saliency, density, downsize=1) == pytest.approx(with_pot, abs=1e-7)

    def test_mae_range_check(self):
        with pytest.raises(ValueError, match=r"human_map must lie in \[0, 1\]"):
            sal.mae(np.eye(2), 2 * np.eye(2))
        assert np.isnan(sal.mae(np.ones((2, 2)), np.eye(2)))


ALL_WITH_MASK = [sal.auc_judd, sal.auc_borji, sal.nss, sal.info_gain]
ALL_WITH_DENSITY = [sal.cc, sal.sim, sal.kld, sal.emd, sal.mae]


@pytest.mark.parametrize("metric", ALL_WITH_MASK + ALL_WITH_DENSITY)
class TestCommonBehaviour:
    def ground_truth(self, metric, rng, shape):
        if metric in ALL_WITH_MASK:
            return rng.random(shape) > 0.8
        return rng.random(shape)

    def test_stack_equals_loop_and_tensors_accepted(self, metric, rng):
        maps = rng.random((3, 40, 48))
        truth = self.ground_truth(metric, rng, (3, 40, 48))
        stacked = metric(torch.from_numpy(maps), torch.from_numpy(truth))
        assert stacked.shape == (3,)
        singles = [metric(maps[i], truth[i]) for i in range(3)]
        np.testing.assert_allclose(stacked, singles, rtol=1e-6)
        assert isinstance(singles[0], float)

    def test_one_ground_truth_broadcasts(self, metric, rng):
        maps = rng.random((2, 40, 48))
        truth = self.ground_truth(metric, rng, (40, 48))
        np.testing.assert_allclose(
            metric(maps, truth), [metric(maps[0], truth), metric(maps[1], truth)], rtol=1e-6
        )

    def test_nan_map_gives_nan(self, metric, rng):
        maps = rng.random((2, 8, 8))
        maps[1, 2, 2] = np.nan
        with pytest.warns(UserWarning, match="1 of 2 saliency map.*contain NaN and score NaN"):
            scores = metric(maps, self.ground_truth(metric, rng, (8, 8)) + 0)
        assert np.isfinite(scores[0]) and np.isnan(scores[1])

    @pytest.mark.parametrize("value", [np.inf, -np.inf])
    def test_infinite_map_raises(self, metric, rng, value):
        maps = rng.random((2, 8, 8))
        maps[1, 2, 3] = value
        with pytest.raises(
            ValueError, match=r"saliency must be finite.*\(map 1, row 2, column 3\)"
        ):
            metric(maps, self.ground_truth(metric, rng, (8, 8)) + 0)

    def test_infinite_ground_truth_raises(self, metric, rng):
        truth = self.ground_truth(metric, rng, (8, 8)).astype(float)
        truth[0, 0] = np.inf
        with pytest.raises(ValueError, match="finite"):
            metric(rng.random((8, 8)), truth)

    def test_an_rgb_image_is_not_a_map(self, metric, rng):
        with pytest.raises(ValueError, match=r"\(16, 16, 3\).*RGB.*a map is \(H, W\) or a stack"):
            metric(rng.random((16, 16, 3)), self.ground_truth(metric, rng, (16, 16)))

    def test_bad_shapes_raise(self, metric, rng):
        with pytest.raises(ValueError, match="same shape"):
            metric(rng.random((4, 5)), self.ground_truth(metric, rng, (5, 4)))
        with pytest.raises(ValueError, match=r"\(H, W\) or a stack of maps \(B, H, W\)"):
            metric(rng.random((1, 1, 4, 5)), self.ground_truth(metric, rng, (4, 5)))
        with pytest.raises(ValueError, match="empty"):
            metric(np.zeros((0, 4, 5)), self.ground_truth(metric, rng, (4, 5)))

    def test_nan_ground_truth_raises(self, metric, rng):
        truth = self.ground_truth(metric, rng, (4, 5)).astype(float)
        truth[0, 0] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            metric(rng.random((4, 5)), truth)


class TestFastPathsMatchDirectFormulas:
    def test_sampled_auc_matches_one_threshold_grid_per_split(self, rng):
        # The MIT loop: each split has its own thresholds, from its own top value down to 0.
        positives, negatives = rng.random(40) ** 2, rng.random((40, 9)) ** 3
        expected = []
        for split in negatives.T:
            top = max(positives.max(), split.max())
            thresholds = 0.1 * np.arange(int(np.floor(top / 0.1 + 1e-10)), -1, -1)
            tpr = (positives[None] >= thresholds[:, None]).mean(axis=1)
            fpr = (split[None] >= thresholds[:, None]).mean(axis=1)
            expected.append(np.trapezoid(np.r_[0, tpr, 1], np.r_[0, fpr, 1]))
        assert sal._sampled_auc(positives, negatives, 0.1) == pytest.approx(np.mean(expected))

    def test_transport_of_the_surplus_matches_the_full_problem(self, rng):
        ot = pytest.importorskip("ot")
        source, target = rng.random(30), rng.random(30)
        source, target = source / source.sum(), target / target.sum()
        rows, columns = np.divmod(np.arange(30), 6)
        distances = np.hypot(rows[:, None] - rows, columns[:, None] - columns)
        full = ot.emd2(source, target, distances)
        assert sal._transport_cost(source, target, distances) == pytest.approx(full, rel=1e-9)
        assert sal._transport_cost(source, source, distances) == 0.0

    def test_masks_of_any_dtype_agree(self, rng):
        saliency = rng.random((30, 40))
        mask = rng.random((30, 40)) > 0.9
        for metric in (sal.auc_judd, sal.nss, sal.info_gain):
            expected = metric(saliency, mask)
            for converted in (mask.astype(np.uint8), mask.astype(np.float32), 3.0 * mask):
                assert metric(saliency, converted) == expected
