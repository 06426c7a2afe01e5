"""The 3D-CAM paper's per-sample MaxBoxAcc against wsolevaluation's set-wide one, the
Hessian-CIAM paper's 95 %-energy cleaning, and wsolevaluation's PxAP (hand-built masks and, when
the real data folder is there, the OpenImages test masks of ``evaluation_test.py``)."""

import numpy as np
import pytest

from tests.realdata import real_path
from xaikit.metrics import localization as loc
from xaikit.metrics.registry import METRICS


def _two_best_thresholds():
    """A sharp blob (best box above 0.7 of its maximum) and a wide one (best below 0.15)."""
    maps = np.zeros((2, 12, 12))
    maps[0, 3:8, 3:8] = 0.7  # a 5 x 5 halo ...
    maps[0, 4:7, 4:7] = 1.0  # ... around the 3 x 3 object
    maps[1, 2:10, 2:10] = 0.15  # an 8 x 8 plateau, the object ...
    maps[1, 5, 5] = 1.0  # ... with a one-pixel peak
    boxes = [np.array([[4, 4, 7, 7]]), np.array([[2, 2, 10, 10]])]
    return maps, boxes


class TestMaxBoxAccRules:
    def test_best_threshold_per_sample_or_for_the_set(self):
        maps, boxes = _two_best_thresholds()
        ious = loc.best_box_iou(maps, boxes, cam_thresholds=[0.1, 0.8])
        # sharp: 9/25 at 0.1, 1 at 0.8; wide: 1 at 0.1, 1/64 at 0.8
        np.testing.assert_allclose(ious, [[9 / 25, 1.0], [1.0, 1 / 64]])
        assert loc.max_box_acc_per_sample(maps, boxes) == 1.0
        assert loc.max_box_acc(maps, boxes) == 0.5
        per_sample = METRICS["MaxBoxAcc per sample"].score(maps, {"boxes": boxes}, [0.5])
        set_wide = METRICS["MaxBoxAcc"].score(maps, {"boxes": boxes}, [0.5])
        assert (per_sample.tolist(), set_wide.tolist()) == ([1.0], [0.5])

    def test_per_sample_is_never_below_set_wide(self, rng):
        maps = rng.random((6, 16, 16)) ** 3
        boxes = [np.array([[x, x, x + 6, x + 8]]) for x in range(6)]
        deltas = list(loc.UCF24_IOU_THRESHOLDS)
        per_sample = loc.max_box_acc_per_sample(maps, boxes, iou_threshold=deltas)
        set_wide = loc.max_box_acc(maps, boxes, iou_threshold=deltas, multi_contour=True)
        assert per_sample.shape == (6,) and (per_sample >= set_wide).all()
        assert METRICS["MaxBoxAcc per sample"].thresholds == loc.UCF24_IOU_THRESHOLDS

    def test_largest_contour_when_told(self):
        maps = np.zeros((1, 10, 10))
        maps[0, 0:2, 0:2] = 1.0  # the object, small
        maps[0, 5:10, 5:10] = 1.0  # a larger blob elsewhere
        boxes = [np.array([[0, 0, 2, 2]])]
        assert loc.max_box_acc_per_sample(maps, boxes) == 1.0
        assert loc.max_box_acc_per_sample(maps, boxes, multi_contour=False) == 0.0


class TestEnergyClean:
    def test_hand_worked(self):
        saliency = np.array([[4.0, 3.0, 0.0], [2.0, 1.0, 0.0]])  # sum 10, descending 4 3 2 1
        # 95 %: 9.5 needs 4 + 3 + 2 + 1; 90 %: 9 is reached at 2; 70 %: at 3
        np.testing.assert_array_equal(loc.energy_clean(saliency, 0.95), saliency)
        expected = np.array([[4.0, 3.0, 0.0], [2.0, 0.0, 0.0]])
        np.testing.assert_array_equal(loc.energy_clean(saliency, 0.9), expected)
        np.testing.assert_array_equal(loc.energy_clean(saliency, 0.7), [[4, 3, 0], [0, 0, 0]])

    def test_keeps_the_pixels_of_the_energy_box_and_ties(self):
        saliency = np.zeros((2, 6, 6))
        saliency[0, 1, 1], saliency[0, 4, 4], saliency[0, 2:4, 0] = 10.0, 1.0, 0.5
        saliency[1, :2, :2] = 1.0  # ties: all four kept together
        cleaned = loc.energy_clean(saliency, 0.9)
        rows, columns = np.nonzero(cleaned[0])
        box = loc.energy_box(saliency[0], 0.9)
        assert [columns.min(), rows.min(), columns.max() + 1, rows.max() + 1] == box.tolist()
        assert cleaned[0].sum() == 11.0  # 10 + 1 >= 0.9 * 12
        assert loc.energy_clean(saliency[0]).sum() == 12.0  # 0.95 * 12 needs both 0.5 (tied)
        np.testing.assert_array_equal(loc.energy_clean(saliency[1], 0.5), saliency[1])

    def test_edges(self):
        np.testing.assert_array_equal(loc.energy_clean(np.zeros((3, 3))), np.zeros((3, 3)))
        with pytest.raises(ValueError, match="non-negative"):
            loc.energy_clean(-np.eye(3))
        with pytest.raises(ValueError, match=r"energy must lie in \(0, 1\]"):
            loc.energy_clean(np.eye(3), 0.0)


class TestPxAP:
    @staticmethod
    def _mask():
        mask = np.zeros((2, 5, 5))
        mask[0, 1:3, 1:4] = 1  # 6 object pixels
        mask[1, 4, :] = 1  # 5 more: P = 11, N = 39
        return mask

    @pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
    def test_constant_map_scores_the_positive_share(self, value):
        assert loc.pxap(np.full((2, 5, 5), value), self._mask()) == pytest.approx(11 / 50)

    def test_perfect_map_and_ignored_pixels(self):
        mask = self._mask()
        assert loc.pxap(mask, mask) == 1.0
        ignore = np.zeros(mask.shape, bool)
        ignore[0, 4, :4] = True  # background pixels scored 1: would cost precision
        perfect = mask.copy()
        perfect[ignore] = 1.0
        assert loc.pxap(perfect, mask) < 1.0
        assert loc.pxap(perfect, mask, ignore=ignore) == 1.0
        # 11 / 46 once 4 background pixels are left out
        assert loc.pxap(np.full(mask.shape, 0.3), mask, ignore=ignore) == pytest.approx(11 / 46)

    def test_hand_worked_rectangle_rule(self):
        # object 0.9, 0.5; background 0.7, 0.1 -> (P, R) at the thresholds (1, 1/2), (1/2, 1/2),
        # (2/3, 1): 1 * 1/2 + 1/2 * 0 + 2/3 * 1/2
        saliency = np.array([[0.9, 0.5, 0.7, 0.1]])
        mask = np.array([[1, 1, 0, 0]])
        assert loc.pxap(saliency, mask) == pytest.approx(0.5 + 1 / 3)
        # a score of exactly 1.0 sits in the bin [1, 2), above 0.995
        assert loc.pxap(np.array([[1.0, 0.995]]), np.array([[1, 0]])) == 1.0

    def test_clips_pool_their_frames_and_the_registry_reads_masks(self):
        mask = self._mask()
        flat = np.full((2, 5, 5), 0.5)
        assert loc.pxap(flat[None], mask[None]) == loc.pxap(flat, mask)
        entry = METRICS["PxAP"]
        assert entry.reads == ("masks",) and entry.higher_is_better
        assert entry.score(mask, {"masks": mask}).tolist() == [1.0]

    def test_errors(self):
        mask = self._mask()
        with pytest.raises(ValueError, match="no positive ground truth"):
            loc.pxap(np.full((5, 5), 0.5), np.zeros((5, 5)))
        with pytest.raises(ValueError, match=r"values in \[0, 1\] and no NaN"):
            loc.pxap(np.full((2, 5, 5), np.nan), mask)
        with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
            loc.pxap(np.full((2, 5, 5), 1.5), mask)
        with pytest.raises(ValueError, match="masks must match saliency"):
            loc.pxap(np.zeros((1, 5, 5)), mask)


# wsolevaluation's evaluation_test.py: OpenImages val masks resized to 224 x 224
WSOL_MASKS = ("peer", "wsolevaluation", "test_data", "test_masks", "val")


def _wsol_mask(folder: str, image: str):
    """Object (union of the instance masks) and ignored pixels, as wsolevaluation's
    ``get_mask`` reads them: nearest resize to 224 x 224, > 0.5 of the 0..255 values."""
    import cv2

    root = real_path(*WSOL_MASKS, folder)

    def read(path):
        values = np.float32(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE))
        return cv2.resize(values, (224, 224), interpolation=cv2.INTER_NEAREST) > 0.5

    instances = sorted(root.glob(f"{image}_m*.png"))
    assert instances, f"no instance mask for {image} in {root}"
    objects = np.any([read(path) for path in instances], axis=0)
    ignore = read(root / f"{image}_ignore.png") & ~objects
    return objects, ignore


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("folder", "image", "positives", "negatives"),
    [
        ("0bt_c3", "1cd9ac0169ec7df0", 43031, 7145),
        ("0bt_c3", "3a29f0b33894d4a6", 833, 49343),  # the peer's 49342 is within its 0.1 %
        ("0bt_c3", "3b3b9931325d65c9", 347, 13910),  # 13909 likewise
    ],
)
def test_pxap_reproduces_wsolevaluations_constant_and_perfect_maps(
    folder, image, positives, negatives
):
    objects, ignore = _wsol_mask(folder, image)
    assert (objects.sum(), (~objects & ~ignore).sum()) == (positives, negatives)
    for value in (0.0, 0.5, 1.0):
        score = loc.pxap(np.full((224, 224), value), objects, ignore=ignore)
        assert score == pytest.approx(positives / (positives + negatives), abs=1e-12)
    peer = {"1cd9ac0169ec7df0": 43031 / (43031 + 7145), "3a29f0b33894d4a6": 833 / (833 + 49342)}
    if image in peer:  # the peer's literal, delta 0.1 in percent
        assert 100 * score == pytest.approx(100 * peer[image], abs=0.1)
    for value in (0.0, 1.0):  # the perfect map, ignored pixels set to 0 or 1
        perfect = np.where(ignore, value, objects.astype(float))
        assert loc.pxap(perfect, objects, ignore=ignore) == 1.0


@pytest.mark.realdata
def test_pxap_errors_on_wsolevaluations_all_background_and_all_object_masks():
    background, ignore = _wsol_mask("0by6g", "490365f63135f3e0")
    for value in (0.0, 1.0):
        with pytest.raises(ValueError, match="no positive ground truth"):
            loc.pxap(np.full((224, 224), value), background, ignore=ignore)
    objects, ignore = _wsol_mask("0by6g", "b4d953e7105da1d8")
    for value in (0.0, 1.0):
        assert loc.pxap(np.full((224, 224), value), objects, ignore=ignore) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no NaN"):
        loc.pxap(np.full((224, 224), np.nan), objects, ignore=ignore)


def test_pxap_ignores_background_pixels_only_and_always_bins_from_zero():
    mask = np.zeros((4, 4))
    mask[0] = 1  # P = 4, N = 12
    ignore = np.zeros((4, 4), bool)
    ignore[:2] = True  # covers the object row too: its pixels still count
    flat = np.full((4, 4), 0.05)
    assert loc.pxap(flat, mask, ignore=ignore) == pytest.approx(4 / 12)
    assert loc.pxap(flat, mask, cam_thresholds=[0.5]) == loc.pxap(flat, mask) == 0.25
