"""Localisation metrics: wsolevaluation's unit-test vectors (pixel boxes), hand-worked pointing
and energy (continuous boxes, xaikit's convention)."""

import numpy as np
import pytest
import torch

from xaikit.data import synthetic
from xaikit.metrics import localization as loc
from xaikit.metrics.registry import METRICS

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
        boxes = [
            loc.boxes_from_map(scoremap, t, box_convention="pixel")[0].tolist()
            for t in np.arange(0, 1, 0.2)
        ]
        assert boxes == expected

    def test_degenerate_maps_give_the_zero_box(self):
        for scoremap in (np.zeros((3, 3)), np.full((3, 3), np.nan), np.full((3, 3), 0.7)):
            assert loc.boxes_from_map(scoremap, 0.4).tolist() == [[0, 0, 0, 0]]

    def test_all_contours(self):
        boxes = loc.boxes_from_map(MULTIMODAL, 0.2, multi_contour=True, box_convention="pixel")
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
        pixel = {"cam_thresholds": [0.2, 0.6], "box_convention": "pixel"}
        assert loc.max_box_acc(maps, boxes, **pixel) == 0.5
        ious = loc.best_box_iou(maps, boxes, **pixel)
        np.testing.assert_allclose(ious, [[1, 9 / 49], [9 / 49, 1]])
        # continuous: the same boxes are pixels 2..7 and 4..5, the estimates exact
        ious = loc.best_box_iou(maps, boxes, cam_thresholds=[0.2, 0.6])
        np.testing.assert_allclose(ious, [[1, 4 / 36], [4 / 36, 1]])

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

    def test_peak_in_box_on_boxes(self):
        saliency = np.zeros((2, 8, 8))
        saliency[0, 3, 3] = saliency[1, 7, 7] = 1
        boxes = [np.array([[3, 3, 6, 6]]), np.array([[0, 0, 7, 7], [7, 7, 8, 8]])]
        assert loc.peak_in_box(saliency, boxes) == 1.0
        assert loc.peak_in_box(saliency, [np.array([[4, 4, 6, 6]]), np.zeros((0, 4))]) == 0.0
        # [6, 6, 7, 7] is pixel 6 in the continuous convention, pixels 6..7 in the pixel one
        point = [np.array([[3, 3, 6, 6]]), np.array([[6, 6, 7, 7]])]
        assert loc.peak_in_box(saliency, point) == 0.5
        assert loc.peak_in_box(saliency, point, box_convention="pixel") == 1.0


class TestHitPoint:
    """The 3D-CAM paper's hit point: a salient region meeting the box, = Acc2 at IoU 0."""

    @staticmethod
    def _peak_off_the_box():
        saliency = np.zeros((3, 12, 12))
        saliency[:, 1, 1] = 1.0  # the peak, outside every box
        saliency[:, 6:9, 6:9] = 0.6  # a second blob
        boxes = [
            np.array([[7, 7, 11, 11]]),  # the blob meets it
            np.array([[8, 5, 10, 7]]),  # one blob pixel (8, 6)
            np.array([[9, 0, 12, 4]]),  # neither
        ]
        return saliency, boxes

    def test_a_second_blob_in_the_box_is_a_hit(self):
        saliency, boxes = self._peak_off_the_box()
        assert loc.hit_point(saliency[:1], boxes[:1]) == 1.0
        assert loc.hit_point(saliency[:1], boxes[:1]) == loc.acc2(saliency[:1], boxes[:1])
        assert loc.peak_in_box(saliency[:1], boxes[:1]) == 0.0

    def test_equals_acc2_at_iou_zero_with_every_prediction_right(self):
        saliency, boxes = self._peak_off_the_box()
        every = np.ones(3, bool)
        for convention in ("continuous", "pixel"):
            hits = loc.hit_point(saliency, boxes, box_convention=convention)
            acc = loc.acc2(saliency, boxes, every, iou_threshold=0.0, box_convention=convention)
            assert hits == acc == pytest.approx(2 / 3)
        assert METRICS["hit point"].score(saliency, {"boxes": boxes}).tolist() == pytest.approx(
            METRICS["overlap"].score(saliency, {"boxes": boxes}, [0.0]).tolist()
        )
        assert loc.peak_in_box(saliency, boxes) == 0.0

    def test_map_threshold_and_skipped_maps(self):
        saliency, boxes = self._peak_off_the_box()
        # above 0.6 of the maximum only the peak is left
        assert loc.hit_point(saliency, boxes, cam_threshold=0.7) == 0.0
        assert loc.hit_point(saliency[:2], [boxes[0], np.zeros((0, 4))]) == 1.0  # no box: skipped
        assert np.isnan(loc.hit_point(saliency[:1], [np.zeros((0, 4))]))
        with pytest.raises(ValueError, match="cam_threshold must lie in"):
            loc.hit_point(saliency, boxes, cam_threshold=1.5)


class TestAcc2:
    def test_prediction_and_overlap(self):
        maps = np.zeros((3, 10, 10))
        maps[:, 1:4, 1:4] = 1.0
        boxes = [np.array([[2, 2, 5, 5]]), np.array([[2, 2, 5, 5]]), np.array([[6, 6, 9, 9]])]
        pixel = {"box_convention": "pixel"}
        assert loc.acc2(maps, boxes, **pixel) == pytest.approx(2 / 3)
        assert loc.acc2(maps, boxes, correct=[True, False, True], **pixel) == pytest.approx(1 / 3)
        # estimated box [1, 1, 4, 4] (boundingRect end) vs [2, 2, 5, 5]: 9 / 23
        assert loc.acc2(maps, boxes, iou_threshold=9 / 23, **pixel) == 0.0
        assert loc.acc2(maps, boxes, iou_threshold=0.39, **pixel) == pytest.approx(2 / 3)
        # continuous: the estimate [1, 1, 4, 4] is pixels 1..3; with [2, 2, 5, 5]: 4 / 14
        assert loc.acc2(maps, boxes, iou_threshold=[0.0, 4 / 14, 0.28]).tolist() == pytest.approx(
            [2 / 3, 0.0, 2 / 3]
        )


class TestEnergy:
    def test_energy_box_ties_and_fractions(self):
        saliency = np.zeros((6, 6))
        saliency[1, 1] = 5
        saliency[2, 4] = saliency[4, 2] = 2  # tied pixels enter together
        saliency[5, 5] = 1
        np.testing.assert_array_equal(loc.energy_box(saliency, 0.5), [1, 1, 2, 2])
        np.testing.assert_array_equal(loc.energy_box(saliency, 0.75), [1, 1, 5, 5])
        np.testing.assert_array_equal(loc.energy_box(saliency, 1.0), [1, 1, 6, 6])
        pixel = loc.energy_box(saliency, 0.75, box_convention="pixel")
        np.testing.assert_array_equal(pixel, [1, 1, 4, 4])

    def test_energy_iou_table(self):
        saliency = np.zeros((2, 6, 6))
        saliency[:, 1:3, 1:3] = 1.0
        saliency[0, 5, 5] = 0.0
        saliency[1] = 0.0
        ious = loc.energy_box_iou(saliency, [np.array([[1, 1, 3, 3]]), np.array([[0, 0, 2, 2]])])
        assert ious.shape == (2, 5)
        np.testing.assert_allclose(ious[0], 1.0)
        assert np.isnan(ious[1]).all()  # all-zero map

    def test_negative_map_raises(self):
        with pytest.raises(ValueError, match="non-negative"):
            loc.energy_box(-np.ones((3, 3)))
        with pytest.raises(ValueError, match=r"energy must lie in \(0, 1\]"):
            loc.energy_box(np.ones((3, 3)), 0.0)


def test_boxes_to_mask_clips_at_the_border():
    mask = loc.boxes_to_mask([[2, 1, 11, 2]], (3, 4))
    assert mask.sum() == 2 and mask[1, 2:].all()
    np.testing.assert_array_equal(
        loc.boxes_to_mask([[2, 1, 10, 1]], (3, 4), box_convention="pixel"), mask
    )
    assert not loc.boxes_to_mask([[-3, -2, 0, 0]], (3, 4)).any()  # left of and above the image


def test_boxes_to_mask_covers_the_pixels_whose_centre_is_inside():
    # columns: centres 0.5 and 1.5 lie in [0.4, 1.6); rows: only 1.5 lies in [1.0, 1.5]... not
    # in [1.0, 1.5) (half-open), so no row: an empty mask
    assert not loc.boxes_to_mask([[0.4, 1.0, 1.6, 1.5]], (3, 3)).any()
    mask = loc.boxes_to_mask([[0.4, 1.0, 1.6, 1.6]], (3, 3)).astype(int)
    assert mask.tolist() == [[0, 0, 0], [1, 1, 0], [0, 0, 0]]


# ----------------------------------------------------------------------------------------------
# box conventions: xaikit.data's continuous boxes go straight in; pixel boxes when told


BOX_METRICS = [name for name, entry in METRICS.items() if "boxes" in entry.reads]


def _perfect(boxes: np.ndarray, shape) -> np.ndarray:
    """1 on the pixels of continuous integer boxes, 0 elsewhere."""
    perfect = np.zeros(shape)
    for x0, y0, x1, y1 in np.asarray(boxes, int):
        perfect[y0:y1, x0:x1] = 1.0
    return perfect


@pytest.fixture(scope="module")
def data_boxes():
    """Perfect maps and the boxes exactly as ``xaikit.data.synthetic`` writes them: images of
    one object each, and clips of one actor."""
    shapes = synthetic.shapes(4, (64, 64), objects=(1, 1), seed=3)
    table = shapes.annotations.boxes
    columns = ["x0", "y0", "x1", "y1"]
    names = shapes.annotations.images["image"]
    image_boxes = [table.loc[table["image"] == name, columns].to_numpy() for name in names]
    images = np.stack([_perfect(b, (64, 64)) for b in image_boxes])
    actions = synthetic.actions(2, 3, (48, 48), seed=5)
    frames = actions.boxes.groupby("clip")
    clip_boxes = [[f[columns].to_numpy()[i : i + 1] for i in range(len(f))] for _, f in frames]
    clips = np.stack([[_perfect(b, (48, 48)) for b in clip] for clip in clip_boxes])
    return [(images, image_boxes), (clips, clip_boxes)]


@pytest.mark.parametrize("name", BOX_METRICS)
def test_every_box_metric_scores_a_perfect_map_one_on_data_boxes(name, data_boxes):
    for maps, boxes in data_boxes:
        count = maps.shape[0] * (maps.shape[1] if maps.ndim == 4 else 1)
        references = {"boxes": boxes, "correct": np.ones(count, bool)}
        np.testing.assert_allclose(METRICS[name].score(maps, references), 1.0)


def test_pixel_and_continuous_conventions_agree_on_converted_boxes():
    saliency = np.zeros((2, 8, 8))
    saliency[0, 2:5, 1:4] = 1.0  # rows 2..4, columns 1..3
    saliency[1, 5:, 4:] = 1.0  # rows 5..7, columns 4..7: on the bottom-right border
    continuous = [np.array([[1, 2, 4, 6], [6, 0, 8, 2]]), np.array([[5, 5, 8, 8]])]
    pixel = [boxes - np.array([0, 0, 1, 1]) for boxes in continuous]
    as_pixel = {"box_convention": "pixel"}

    # map 1's maximum (5, 4) is left of its box (columns 5..7), its region meets the box
    assert loc.peak_in_box(saliency, continuous) == 0.5
    assert loc.peak_in_box(saliency, pixel, **as_pixel) == 0.5
    assert loc.hit_point(saliency, continuous) == loc.hit_point(saliency, pixel, **as_pixel) == 1.0
    for c, p in zip(continuous, pixel, strict=True):
        np.testing.assert_array_equal(
            loc.boxes_to_mask(c, (8, 8)), loc.boxes_to_mask(p, (8, 8), **as_pixel)
        )
    np.testing.assert_array_equal(
        loc.energy_box(saliency), loc.energy_box(saliency, **as_pixel) + [0, 0, 1, 1]
    )
    # map 0: the 3 x 3 region in the 3 x 4 box; map 1: the 3 x 4 region around the 3 x 3 box
    for ious in (
        loc.energy_box_iou(saliency, continuous, energies=[0.9]),
        loc.energy_box_iou(saliency, pixel, energies=[0.9], **as_pixel),
    ):
        np.testing.assert_allclose(ious, [[0.75], [0.75]])
    # At the border wsolevaluation's clipping makes its box exact: the conventions agree.
    for ious in (
        loc.best_box_iou(saliency[1:], continuous[1:], cam_thresholds=[0.5]),
        loc.best_box_iou(saliency[1:], pixel[1:], cam_thresholds=[0.5], **as_pixel),
    ):
        np.testing.assert_allclose(ious, [[0.75]])
    # Inside the image wsolevaluation's box is one pixel wider and taller (4 x 4 around the 3 x 3
    # region), so an exact ground-truth box scores 9 / 16 with it and 1 with the exact box.
    exact = [np.array([[1, 2, 4, 5]])]
    assert loc.best_box_iou(saliency[:1], exact, cam_thresholds=[0.5]).item() == 1.0
    inclusive = [exact[0] - np.array([0, 0, 1, 1])]
    assert loc.best_box_iou(saliency[:1], inclusive, cam_thresholds=[0.5], **as_pixel).item() == (
        9 / 16
    )


def test_box_convention_is_checked_by_every_box_function():
    saliency, boxes = np.zeros((1, 4, 4)), [np.array([[0, 0, 2, 2]])]
    calls = [
        lambda **kw: loc.hit_point(saliency, boxes, **kw),
        lambda **kw: loc.peak_in_box(saliency, boxes, **kw),
        lambda **kw: loc.max_box_acc_per_sample(saliency, boxes, **kw),
        lambda **kw: loc.boxes_to_mask(boxes[0], (4, 4), **kw),
        lambda **kw: loc.boxes_from_map(saliency[0], 0.5, **kw),
        lambda **kw: loc.best_box_iou(saliency, boxes, **kw),
        lambda **kw: loc.max_box_acc(saliency, boxes, **kw),
        lambda **kw: loc.max_box_acc_v2(saliency, boxes, **kw),
        lambda **kw: loc.acc2(saliency, boxes, **kw),
        lambda **kw: loc.energy_box(saliency, **kw),
        lambda **kw: loc.energy_box_iou(saliency, boxes, **kw),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="box_convention must be one of 'continuous', 'pixel'"):
            call(box_convention="inclusive")
