"""Localisation metrics: wsolevaluation's unit-test vectors, hand-worked pointing and energy."""

import numpy as np
import pytest
import torch

from xaikit.metrics import localization as loc

# wsolevaluation evaluation_test.py: score maps, thresholds np.arange(0, 1, 0.2), largest contour
UNIMODAL = np.array(
    [
        [0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.4, 0.4, 0.4, 0.6],
        [0.0, 0.4, 1.0, 0.8, 0.6],
        [0.0, 0.4, 0.4, 0.4, 0.6],
    ]
)
UNIMODAL_BOXES = [[1, 1, 4, 3], [1, 1, 4, 3], [2, 1, 4, 3], [2, 2, 4, 3], [2, 2, 3, 3]]
MULTIMODAL = np.array(
    [
        [0.4, 0.0, 0.2, 0.2, 0.2],
        [0.4, 0.4, 0.0, 0.4, 0.0],
        [0.0, 0.0, 0.0, 0.4, 0.0],
        [1.0, 0.6, 0.8, 0.2, 0.2],
    ]
)
MULTIMODAL_BOXES = [[0, 0, 4, 3], [0, 0, 2, 2], [0, 3, 3, 3], [2, 3, 3, 3], [0, 3, 1, 3]]


class TestBoxesFromMap:
    @pytest.mark.parametrize(
        ("scoremap", "expected"), [(UNIMODAL, UNIMODAL_BOXES), (MULTIMODAL, MULTIMODAL_BOXES)]
    )
    def test_wsolevaluation_vectors(self, scoremap, expected):
        boxes = [loc.boxes_from_map(scoremap, t)[0].tolist() for t in np.arange(0, 1, 0.2)]
        assert boxes == expected

    def test_degenerate_maps_give_the_zero_box(self):
        for scoremap in (np.zeros((3, 3)), np.full((3, 3), np.nan), np.full((3, 3), 0.7)):
            assert loc.boxes_from_map(scoremap, 0.4).tolist() == [[0, 0, 0, 0]]

    def test_all_contours(self):
        boxes = loc.boxes_from_map(MULTIMODAL, 0.2, multi_contour=True)
        # > 0.2: the top-left L, and an 8-connected chain from (1, 3) down to the bottom row,
        # whose polygon area is smaller, so the largest-contour box above is the L
        assert sorted(boxes.tolist()) == [[0, 0, 2, 2], [0, 1, 4, 3]]

    def test_input_checks(self):
        with pytest.raises(ValueError, match="one map"):
            loc.boxes_from_map(np.zeros((2, 3, 3)), 0.5)
        with pytest.raises(ValueError, match=r"cam_threshold must lie in \[0, 1\]"):
            loc.boxes_from_map(np.zeros((3, 3)), 1.5)


class TestMaxBoxAcc:
    def test_oracle_threshold_is_shared_by_the_set(self):
        # Map 0 matches its box only at low thresholds (IoU 1 at tau < 0.5); map 1 only at high
        # ones. Per-image oracles would give 1.0; the shared threshold gives 0.5.
        maps = np.zeros((2, 10, 10))
        maps[:, 2:8, 2:8] = 0.4
        maps[:, 4:6, 4:6] = 1.0
        boxes = [np.array([[2, 2, 8, 8]]), np.array([[4, 4, 6, 6]])]
        assert loc.max_box_acc(maps, boxes, cam_thresholds=[0.2, 0.6]) == 0.5
        ious = loc.best_box_iou(maps, boxes, cam_thresholds=[0.2, 0.6])
        np.testing.assert_allclose(ious, [[1, 9 / 49], [9 / 49, 1]])

    def test_v2_averages_thresholds_with_all_contours(self):
        maps = np.zeros((1, 12, 12))
        maps[0, 1:3, 1:3] = 1.0
        maps[0, 8:10, 8:10] = 1.0
        boxes = [np.array([[8, 8, 10, 10]])]
        assert loc.max_box_acc_v2(maps, boxes) == 1.0
        # largest contour: ties go to the first contour OpenCV returns, the bottom-right one
        assert loc.max_box_acc(maps, [np.array([[1, 1, 3, 3]])]) == 0.0

    def test_clips_are_scored_frame_by_frame(self):
        clip = np.zeros((1, 2, 10, 10))
        clip[0, 0, 2:5, 2:5] = 1.0
        clip[0, 1, 6:9, 6:9] = 1.0
        boxes = [[np.array([[2, 2, 5, 5]]), np.array([[2, 2, 5, 5]])]]
        assert loc.max_box_acc(torch.from_numpy(clip), boxes, iou_threshold=0.5) == 0.5
        assert loc.max_box_acc(clip, boxes, iou_threshold=list(loc.UCF24_IOU_THRESHOLDS)).shape == (
            6,
        )
        with pytest.raises(ValueError, match="per clip, then per frame"):
            loc.max_box_acc(clip, [np.array([[2, 2, 5, 5]])])

    def test_input_checks(self):
        with pytest.raises(ValueError, match="one box array per image"):
            loc.max_box_acc(np.zeros((2, 5, 5)), [np.zeros((1, 4))])
        with pytest.raises(ValueError, match=r"cam_thresholds must be values in \[0, 1\)"):
            loc.max_box_acc(np.zeros((1, 5, 5)), [np.zeros((1, 4))], cam_thresholds=[1.0])


class TestPointingGame:
    def test_tolerance_is_strict(self):
        saliency = np.zeros((40, 40))
        saliency[20, 20] = 1.0
        mask = np.zeros((40, 40))
        mask[29, 32] = 1  # distance sqrt(81 + 144) = 15
        assert loc.pointing_game_hits(saliency, mask).tolist() == [0.0]
        assert loc.pointing_game_hits(saliency, mask, tolerance=15.01).tolist() == [1.0]

    def test_first_maximum_and_skips(self):
        saliency = np.zeros((3, 10, 10))
        saliency[:, 0, 9] = saliency[:, 9, 0] = 1.0  # tie: row-major argmax takes (0, 9)
        masks = np.zeros((3, 10, 10))
        masks[0, 0, 9] = 1
        masks[1, 9, 0] = 1
        hits = loc.pointing_game_hits(saliency, masks, tolerance=0)
        assert hits[:2].tolist() == [1.0, 0.0] and np.isnan(hits[2])
        assert loc.pointing_game(saliency, masks, tolerance=0) == 0.5
        assert np.isnan(loc.pointing_game(saliency, np.zeros((3, 10, 10))))

    def test_per_class_mean(self):
        saliency = np.zeros((4, 5, 5))
        saliency[:, 0, 0] = 1
        masks = np.zeros((4, 5, 5))
        masks[[0, 1, 2], 0, 0] = 1
        masks[3, 4, 4] = 1
        # class 0: 1/1; class 1: 2/3 -> mean 5/6 (a pooled mean would be 3/4)
        assert loc.pointing_game(saliency, masks, [0, 1, 1, 1], tolerance=1) == pytest.approx(5 / 6)
        with pytest.raises(ValueError, match="one class per map"):
            loc.pointing_game(saliency, masks, [0, 1])

    def test_hit_point_on_boxes(self):
        saliency = np.zeros((2, 8, 8))
        saliency[0, 3, 3] = saliency[1, 7, 7] = 1
        boxes = [np.array([[3, 3, 5, 5]]), np.array([[0, 0, 6, 6], [7, 7, 7, 7]])]
        assert loc.hit_point(saliency, boxes) == 1.0
        assert loc.hit_point(saliency, [np.array([[4, 4, 5, 5]]), np.zeros((0, 4))]) == 0.0


class TestAcc2:
    def test_prediction_and_overlap(self):
        maps = np.zeros((3, 10, 10))
        maps[:, 1:4, 1:4] = 1.0
        boxes = [np.array([[2, 2, 5, 5]]), np.array([[2, 2, 5, 5]]), np.array([[6, 6, 9, 9]])]
        assert loc.acc2(maps, boxes) == pytest.approx(2 / 3)
        assert loc.acc2(maps, boxes, correct=[True, False, True]) == pytest.approx(1 / 3)
        # estimated box [1, 1, 4, 4] (boundingRect end) vs [2, 2, 5, 5]: 9 / 23
        assert loc.acc2(maps, boxes, iou_threshold=9 / 23) == 0.0
        assert loc.acc2(maps, boxes, iou_threshold=0.39) == pytest.approx(2 / 3)


class TestEnergy:
    def test_energy_box_ties_and_fractions(self):
        saliency = np.zeros((6, 6))
        saliency[1, 1] = 5
        saliency[2, 4] = saliency[4, 2] = 2  # tied pixels enter together
        saliency[5, 5] = 1
        np.testing.assert_array_equal(loc.energy_box(saliency, 0.5), [1, 1, 1, 1])
        np.testing.assert_array_equal(loc.energy_box(saliency, 0.75), [1, 1, 4, 4])
        np.testing.assert_array_equal(loc.energy_box(saliency, 1.0), [1, 1, 5, 5])

    def test_energy_iou_table(self):
        saliency = np.zeros((2, 6, 6))
        saliency[:, 1:3, 1:3] = 1.0
        saliency[0, 5, 5] = 0.0
        saliency[1] = 0.0
        ious = loc.energy_box_iou(saliency, [np.array([[1, 1, 2, 2]]), np.array([[0, 0, 1, 1]])])
        assert ious.shape == (2, 5)
        np.testing.assert_allclose(ious[0], 1.0)
        assert np.isnan(ious[1]).all()  # all-zero map

    def test_negative_map_raises(self):
        with pytest.raises(ValueError, match="non-negative"):
            loc.energy_box(-np.ones((3, 3)))
        with pytest.raises(ValueError, match=r"energy must lie in \(0, 1\]"):
            loc.energy_box(np.ones((3, 3)), 0.0)


def test_boxes_to_mask_clips_at_the_border():
    mask = loc.boxes_to_mask([[2, 1, 10, 1]], (3, 4))
    assert mask.sum() == 2 and mask[1, 2:].all()
