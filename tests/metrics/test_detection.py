"""Detection metrics: pycocotools and torchmetrics on random detections, hand-worked VOC cases."""

import contextlib
import io

import numpy as np
import pytest
import torch

from xaikit.metrics import detection as det


def random_boxes(rng, count, size=100.0):
    corners = rng.uniform(0, size * 0.8, (count, 2))
    extents = rng.uniform(5, size * 0.3, (count, 2))
    return np.hstack([corners, corners + extents])


def random_dataset(rng, n_images=6, n_classes=3):
    """Ground truths and noisy detections (some jittered copies, some random) with classes."""
    truths, detections = [], []
    for _ in range(n_images):
        n_truths = rng.integers(0, 6)
        boxes = random_boxes(rng, n_truths)
        labels = rng.integers(0, n_classes, n_truths)
        truths.append(np.hstack([boxes, labels[:, None]]))
        copies = boxes + rng.normal(0, 4, boxes.shape)
        copies[:, 2:] = np.maximum(copies[:, 2:], copies[:, :2] + 1)
        noise = random_boxes(rng, rng.integers(0, 5))
        det_boxes = np.vstack([copies, copies[: n_truths // 2], noise])  # with duplicates
        det_labels = np.concatenate(
            [labels, labels[: n_truths // 2], rng.integers(0, n_classes, len(noise))]
        )
        scores = np.round(rng.uniform(0, 1, len(det_boxes)), 2)  # some ties
        detections.append(np.hstack([det_boxes, scores[:, None], det_labels[:, None]]))
    return detections, truths


def pycocotools_stats(detections, truths):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    images, annotations, results = [], [], []
    for image_id, (image_dets, image_truths) in enumerate(zip(detections, truths, strict=True)):
        images.append({"id": image_id, "width": 100, "height": 100})
        for x0, y0, x1, y1, label in image_truths:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": int(label),
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "iscrowd": 0,
                }
            )
        for x0, y0, x1, y1, score, label in image_dets:
            results.append(
                {
                    "image_id": image_id,
                    "category_id": int(label),
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "score": score,
                }
            )
    with contextlib.redirect_stdout(io.StringIO()):
        ground = COCO()
        ground.dataset = {
            "images": images,
            "annotations": annotations,
            "categories": [{"id": c} for c in range(3)],
        }
        ground.createIndex()
        evaluation = COCOeval(ground, ground.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return evaluation.stats


class TestIou:
    def test_conventions(self):
        # notes D.1: continuous 1/3, VOC +1 0.375; wsolevaluation IoU([1,2,5,6],[3,1,4,5]) = 8/27
        assert det.box_iou([0, 0, 10, 10], [5, 0, 15, 10])[0, 0] == pytest.approx(1 / 3)
        pixel = det.box_iou([0, 0, 10, 10], [5, 0, 15, 10], box_convention="pixel")
        assert pixel[0, 0] == pytest.approx(0.375)
        wsol = det.box_iou([1, 2, 5, 6], [3, 1, 4, 5], box_convention="pixel")
        assert wsol[0, 0] == pytest.approx(8 / 27)

    def test_matrix_shape_disjoint_and_degenerate(self):
        ious = det.box_iou(np.zeros((0, 4)), [[0, 0, 1, 1], [2, 2, 3, 3]])
        assert ious.shape == (0, 2)
        assert det.box_iou([0, 0, 1, 1], [2, 2, 3, 3])[0, 0] == 0.0
        assert det.box_iou([1, 1, 1, 1], [1, 1, 1, 1])[0, 0] == 0.0  # empty union
        assert det.box_iou([1, 1, 1, 1], [1, 1, 1, 1], box_convention="pixel")[0, 0] == 1.0

    def test_bad_boxes(self):
        with pytest.raises(ValueError, match="x1 >= x0"):
            det.box_iou([5, 0, 1, 1], [0, 0, 1, 1])
        with pytest.raises(ValueError, match=r"\(N, 4\)"):
            det.box_iou([0, 0, 1], [0, 0, 1, 1])
        with pytest.raises(ValueError, match="'continuous', 'pixel'"):
            det.box_iou([0, 0, 1, 1], [0, 0, 1, 1], box_convention="voc")


class TestAveragePrecision:
    truths = [np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]])]

    def test_voc11_float_grid(self):
        # 7 of 10 boxes found at precision 1: recall exactly 0.7 reaches the grid points
        # 0 ... 0.6000000000000001 but misses 0.7000000000000001, so AP = 7/11, not 8/11.
        truths = [np.array([[10 * i, 0, 10 * i + 5, 5] for i in range(10)], dtype=float)]
        detections = [np.array([[10 * i, 0, 10 * i + 5, 5, 0.9] for i in range(7)])]
        assert det.average_precision(detections, truths, method="voc11") == pytest.approx(7 / 11)
        assert det.average_precision(detections, truths, method="all") == pytest.approx(0.7)

    def test_duplicates_are_false_positives_and_voc_takes_no_second_choice(self):
        truths = [np.array([[0, 0, 10, 10], [0, 0, 10, 12]], dtype=float)]
        # both detections overlap the first box best; VOC: the second is a FP even though the
        # other box would match; COCO: it takes the still-unmatched second box.
        detections = [np.array([[0, 0, 10, 10, 0.9], [0, 0, 10, 10, 0.8]])]
        assert det.average_precision(detections, truths, method="all") == pytest.approx(0.5)
        assert det.average_precision(detections, truths, method="coco") == pytest.approx(
            1.0, abs=1e-9
        )

    def test_pixel_convention_changes_matches(self):
        truths = [np.array([[0, 0, 9, 9]], dtype=float)]
        detections = [np.array([[4, 0, 14, 9, 0.9]])]  # continuous 5*9/(90+90-45)=1/3; pixel 6/14
        assert det.average_precision(detections, truths, 0.4) == 0.0
        assert det.average_precision(detections, truths, 0.4, box_convention="pixel") == 1.0

    def test_no_truth_no_detection(self):
        assert np.isnan(det.average_precision([np.zeros((2, 5))], [np.zeros((0, 4))]))
        assert det.average_precision([np.zeros((0, 5))], self.truths) == 0.0

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_coco_matches_pycocotools(self, seed):
        detections, truths = random_dataset(np.random.default_rng(seed))
        stats = pycocotools_stats(detections, truths)
        assert det.coco_map(detections, truths) == pytest.approx(stats[0], abs=1e-12)
        ap50 = det.mean_average_precision(detections, truths, 0.5, method="coco")
        assert ap50 == pytest.approx(stats[1], abs=1e-12)
        ap75 = det.mean_average_precision(detections, truths, 0.75, method="coco")
        assert ap75 == pytest.approx(stats[2], abs=1e-12)

    def test_coco_matches_torchmetrics(self):
        from torchmetrics.detection import MeanAveragePrecision

        detections, truths = random_dataset(np.random.default_rng(5), n_images=4)
        metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox")
        metric.update(
            [
                {
                    "boxes": torch.tensor(d[:, :4]),
                    "scores": torch.tensor(d[:, 4]),
                    "labels": torch.tensor(d[:, 5]).long(),
                }
                for d in detections
            ],
            [
                {"boxes": torch.tensor(t[:, :4]), "labels": torch.tensor(t[:, 4]).long()}
                for t in truths
            ],
        )
        result = metric.compute()
        assert det.coco_map(detections, truths) == pytest.approx(float(result["map"]), abs=1e-6)
        ap50 = det.mean_average_precision(detections, truths, method="coco")
        assert ap50 == pytest.approx(float(result["map_50"]), abs=1e-6)

    def test_coco_keeps_top_detections_per_image(self):
        truths = [np.array([[0, 0, 10, 10]], dtype=float)]
        detections = [np.array([[50, 50, 60, 60, 0.9], [0, 0, 10, 10, 0.5]])]
        assert det.average_precision(detections, truths, method="coco", max_detections=1) == 0.0

    def test_input_errors(self):
        with pytest.raises(ValueError, match="'voc11', 'all', 'coco'"):
            det.average_precision([np.zeros((0, 5))], [np.zeros((0, 4))], method="voc07")
        with pytest.raises(ValueError, match="one array per image each; got 1 and 2"):
            det.average_precision([np.zeros((0, 5))], [np.zeros((0, 4))] * 2)
        with pytest.raises(ValueError, match="iou_threshold must lie in"):
            det.average_precision([np.zeros((0, 5))], [np.zeros((0, 4))], 1.5)
        with pytest.raises(ValueError, match="mean_average_precision"):
            det.average_precision([np.array([[0, 0, 1, 1, 0.5, 0]])], [np.array([[0, 0, 1, 1, 1]])])
        with pytest.raises(ValueError, match="no image"):
            det.coco_map([], [])


class TestThresholdMetrics:
    def test_hand_worked(self):
        truths = [np.array([[0, 0, 10, 10], [20, 20, 30, 30]]), np.array([[0, 0, 4, 4]])]
        detections = [
            np.array([[0, 0, 10, 8, 0.9], [0, 0, 10, 10, 0.8], [20, 20, 30, 30, 0.25]]),
            np.array([[0, 0, 4, 4, 0.3]]),
        ]
        # score > 0.25 keeps 3: TP (IoU 0.8), duplicate FP, TP (IoU 1); 3 boxes, 1 missed
        scores = det.precision_recall_f1(detections, truths)
        assert (scores["tp"], scores["fp"], scores["fn"]) == (2, 1, 1)
        assert scores["precision"] == pytest.approx(2 / 3)
        assert scores["recall"] == pytest.approx(2 / 3)
        assert scores["f1"] == pytest.approx(2 / 3)
        assert scores["average_iou"] == pytest.approx((0.8 + 1.0) / 3)
        assert det.average_iou(detections, truths) == pytest.approx(0.6)

    def test_nothing_detected(self):
        scores = det.precision_recall_f1([np.zeros((0, 5))], [np.array([[0, 0, 1, 1]])])
        assert scores["precision"] == scores["recall"] == scores["f1"] == 0.0
        assert scores["fn"] == 1

    def test_classes_do_not_match_each_other(self):
        truths = [np.array([[0, 0, 10, 10, 1]])]
        detections = [np.array([[0, 0, 10, 10, 0.9, 2]])]
        assert det.precision_recall_f1(detections, truths)["tp"] == 0


# ----------------------------------------------------------------------------------------------
# difficult boxes (VOC devkit rule), hand-worked

BOXES = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [40, 40, 50, 50]], float)


def test_a_detection_on_a_difficult_box_is_neither_hit_nor_miss():
    hidden = [np.array([False, True, False])]
    found = [np.array([[20, 20, 30, 30, 0.95],  # on the difficult box: dropped
                       [21, 20, 31, 30, 0.9],  # a duplicate on it: dropped too (VOC)
                       [0, 0, 10, 10, 0.8],  # TP
                       [60, 60, 70, 70, 0.7],  # FP
                       [20, 20, 25, 30, 0.6]])]  # IoU 0.5 with it: dropped  # fmt: skip
    counts = det.precision_recall_f1(found, [BOXES], score_threshold=0.0, difficult=hidden)
    assert (counts["tp"], counts["fp"], counts["fn"]) == (1, 1, 1)
    # ranked: TP (P 1, R 1/2), FP; the third box is never found: AP = 1/2
    assert det.average_precision(found, [BOXES], difficult=hidden) == 0.5
    without = det.average_precision(found, [BOXES])  # the difficult box counted as a target
    assert without != 0.5


def test_a_loose_detection_near_a_difficult_box_is_a_false_positive():
    hidden = [np.array([False, True, False])]
    found = [np.array([[0, 0, 10, 10, 0.9], [20, 20, 24, 30, 0.8]])]  # IoU 0.4 < 0.5
    counts = det.precision_recall_f1(found, [BOXES], score_threshold=0.0, difficult=hidden)
    assert (counts["tp"], counts["fp"], counts["fn"]) == (1, 1, 1)


def test_only_difficult_boxes_leave_nothing_to_find():
    hidden = [np.array([True, True, True])]
    found = [np.array([[0, 0, 10, 10, 0.9]])]
    assert np.isnan(det.average_precision(found, [BOXES], difficult=hidden))
    counts = det.precision_recall_f1(found, [BOXES], difficult=hidden)
    assert (counts["tp"], counts["fp"], counts["fn"], counts["recall"]) == (0, 0, 0, 0.0)


def test_difficult_flags_follow_their_boxes_into_classes():
    truths = [np.array([[0, 0, 10, 10, 0], [20, 20, 30, 30, 1], [40, 40, 50, 50, 1]], float)]
    found = [np.array([[0, 0, 10, 10, 0.9, 0], [40, 40, 50, 50, 0.8, 1]], float)]
    hidden = [np.array([False, True, False])]  # class 1's first box
    assert det.mean_average_precision(found, truths, difficult=hidden) == 1.0
    assert det.mean_average_precision(found, truths) == 0.75


def test_difficult_flags_are_checked():
    found = [np.array([[0, 0, 10, 10, 0.9]])]
    with pytest.raises(ValueError, match="one per ground-truth box"):
        det.average_precision(found, [BOXES], difficult=[np.array([True])])
    with pytest.raises(ValueError, match="one array per image"):
        det.average_precision(found, [BOXES], difficult=[])
    with pytest.raises(ValueError, match="COCO matching has no such rule"):
        det.average_precision(found, [BOXES], method="coco", difficult=[np.array([1, 0, 0])])
    none_hidden = [np.zeros(3, bool)]
    assert det.average_precision(
        found, [BOXES], method="coco", difficult=none_hidden
    ) == det.average_precision(found, [BOXES], method="coco")
