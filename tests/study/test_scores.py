"""Study score tables: literal cases worked by hand, and the registry's box metrics on the
synthetic data's own boxes."""

import numpy as np
import pandas as pd
import pytest
import torch

from xaikit.data import synthetic
from xaikit.explain import Explanation
from xaikit.metrics import saliency as sal
from xaikit.metrics.registry import METRICS
from xaikit.study import (
    SCORE_COLUMNS,
    clip_boxes,
    compare_maps,
    fixation_scores,
    image_boxes,
    layer_maps,
    localization_scores,
)


def test_layer_maps_adds_sums_of_layers():
    explanation = Explanation(
        "3dcam",
        maps={"a": torch.tensor([[[0.0, 0.5]]]), "b": torch.tensor([[[0.5, 1.5]]])},
        raw={},
        layers=["a", "b"],
    )
    maps = layer_maps({"3dcam": explanation}, sums=[["a", "b"]])
    assert list(maps) == [("3dcam", "a"), ("3dcam", "b"), ("3dcam", "a+b")]
    # sum (0.5, 2.0), min-max -> (0, 1)
    assert maps["3dcam", "a+b"].tolist() == [[[0.0, 1.0]]]


def _two_maps():
    saliency = np.zeros((2, 10, 10))
    saliency[:, 2:5, 2:5] = 1.0  # pixels 2..4: the box (2, 2, 5, 5)
    boxes = [np.array([[2, 2, 5, 5]]), np.array([[2, 2, 10, 10]])]  # IoU 1 and 9/64
    return saliency, boxes


def _values(scores: pd.DataFrame) -> dict:
    return {
        (m, None if np.isnan(t) else t): v
        for m, t, v in scores[["metric", "threshold", "value"]].values
    }


def test_localization_scores_hand_worked():
    saliency, boxes = _two_maps()
    ious = [0.1, 0.5]
    scores = localization_scores(
        {("cam", "conv"): saliency},
        boxes,
        correct=[False, True],
        thresholds={
            "overlap": ious,
            "Acc2": ious,
            "MaxBoxAcc": ious,
            "MaxBoxAcc per sample": ious,
            "energy IoU": [1.0],
        },
        cam_thresholds=[0.5],
    )
    assert list(scores.columns) == SCORE_COLUMNS
    assert set(scores[["method", "layer"]].itertuples(index=False)) == {("cam", "conv")}
    assert _values(scores) == {
        ("hit point", None): 1.0,  # the region (2, 2, 5, 5) meets both boxes
        ("peak in box", None): 1.0,  # the first maximum (2, 2) is in both boxes
        ("MaxBoxAcc per sample", 0.1): 1.0,  # one map threshold: as the set-wide rule
        ("MaxBoxAcc per sample", 0.5): 0.5,
        ("overlap", 0.1): 1.0,  # IoU 1 and 0.14 both exceed 0.1
        ("overlap", 0.5): 0.5,
        ("Acc2", 0.1): 0.5,  # only the second prediction is right
        ("Acc2", 0.5): 0.0,  # ... and its IoU is below 0.5
        ("MaxBoxAcc", 0.1): 1.0,
        ("MaxBoxAcc", 0.5): 0.5,
        ("MaxBoxAccV2", None): 0.5,  # IoU 1 passes 0.3, 0.5 and 0.7; 9/64 none
        ("energy IoU", 1.0): pytest.approx((1 + 9 / 64) / 2),
    }


def test_localization_scores_read_pixel_boxes_when_told():
    saliency, boxes = _two_maps()
    pixel = [b - np.array([0, 0, 1, 1]) for b in boxes]
    options = {"metrics": ["hit point", "energy IoU"]}
    continuous = localization_scores({"m": saliency}, boxes, **options)
    inclusive = localization_scores({"m": saliency}, pixel, box_convention="pixel", **options)
    pd.testing.assert_frame_equal(continuous, inclusive)
    shifted = localization_scores({"m": saliency}, pixel, **options)  # read as continuous
    assert not np.allclose(shifted["value"], continuous["value"])


def test_localization_scores_on_clips_count_frames():
    clip = np.zeros((1, 2, 6, 6))
    clip[0, 0, 1, 1] = 1.0  # frame 0 points into its box, frame 1 (all zero) at (0, 0): a miss
    boxes = [[np.array([[1, 1, 2, 2]]), np.array([[3, 3, 6, 6]])]]
    scores = localization_scores({"m": clip}, boxes, metrics=["hit point"])
    assert scores[["method", "layer", "value"]].values.tolist() == [["m", "", 0.5]]
    # one flag per clip counts for each of its frames
    flags = localization_scores(
        {"m": clip}, boxes, correct=[True], metrics=["Acc2"], thresholds={"Acc2": [0.0]}
    )
    assert flags["value"].tolist() == [0.5]


def test_localization_scores_errors():
    saliency, boxes = _two_maps()
    with pytest.raises(ValueError, match="unknown metric"):
        localization_scores({"m": saliency}, boxes, metrics=["IoU"])
    with pytest.raises(ValueError, match="Acc2 needs correct"):
        localization_scores({"m": saliency}, boxes, metrics=["Acc2"])
    with pytest.raises(ValueError, match="at least one set"):
        localization_scores({}, boxes)
    with pytest.raises(ValueError, match="thresholds for unknown metric"):
        localization_scores({"m": saliency}, boxes, thresholds={"MaxBoxAc": [0.5]})
    with pytest.raises(ValueError, match="hit point has no thresholds"):
        localization_scores({"m": saliency}, boxes, thresholds={"hit point": [0.5]})
    with pytest.raises(ValueError, match="box_convention must be one of"):
        localization_scores({"m": saliency}, boxes, metrics=["hit point"], box_convention="voc")
    default = localization_scores({"m": saliency}, boxes, cam_thresholds=[0.5])
    assert "Acc2" not in set(default["metric"])
    box_metrics = {name for name, entry in METRICS.items() if entry.reads == ("boxes",)}
    assert set(default["metric"]) == box_metrics


def _perfect(boxes: np.ndarray, shape) -> np.ndarray:
    """1 on the pixels of the boxes (continuous, integer), 0 elsewhere."""
    perfect = np.zeros(shape)
    for x0, y0, x1, y1 in boxes.astype(int):
        perfect[y0:y1, x0:x1] = 1.0
    return perfect


def test_perfect_maps_score_one_on_the_synthetic_datas_own_boxes():
    shapes = synthetic.shapes(4, (64, 64), objects=(1, 1), seed=3)
    boxes = image_boxes(shapes.annotations)
    images = np.stack([_perfect(b, (64, 64)) for b in boxes])
    actions = synthetic.actions(2, 3, (48, 48), seed=5)
    per_clip = clip_boxes(actions.boxes)
    clips = np.stack([[_perfect(b, (48, 48)) for b in clip] for clip in per_clip])
    for maps, truth in ((images, boxes), (clips, per_clip)):
        scores = localization_scores({"perfect": maps}, truth, correct=[True] * len(maps))
        assert set(scores["metric"]) == {
            name for name, entry in METRICS.items() if "boxes" in entry.reads
        }
        assert scores["value"].tolist() == pytest.approx([1.0] * len(scores))


# fixation_scores (the humans-vs-CNN study)


def test_fixation_scores_average_the_per_image_mae():
    human = np.array([[[1.0, 0.5], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]])
    # image 0: min-max map [[0, 0], [0, 1]], |diff| 1 + 0.5 + 0 + 1 = 2.5 over 4 pixels = 0.625;
    # image 1: the map is the human map itself, MAE 0
    maps = {("gradcam", "conv5"): np.array([[[0.0, 0.0], [0.0, 3.0]], [[0.0, 0.0], [0.0, 2.0]]])}
    scores = fixation_scores(maps, human, human > 0.9, metrics=["MAE"])
    assert scores.columns.tolist() == SCORE_COLUMNS
    assert scores[["method", "layer", "metric"]].values.tolist() == [["gradcam", "conv5", "MAE"]]
    assert np.isnan(scores["threshold"].iloc[0])
    assert scores["value"].iloc[0] == pytest.approx(0.3125)


def test_fixation_scores_nss_reads_the_mask():
    # map 4, 0, 0, 0: mean 1, sample std 2 (MATLAB's std); the one fixated pixel scores 3 / 2
    human = np.array([[[1.0, 0.0], [0.0, 0.0]]])
    maps = {"cam": np.array([[[4.0, 0.0], [0.0, 0.0]]])}
    scores = fixation_scores(maps, human, human > 0, metrics=["NSS", "AUC-Judd"])
    assert scores[["method", "layer", "metric"]].values.tolist() == [
        ["cam", "", "NSS"],
        ["cam", "", "AUC-Judd"],
    ]
    assert scores["value"].tolist() == pytest.approx([1.5, 1.0])


def test_fixation_scores_leave_constant_maps_out_of_the_mean():
    human = np.array([[[1.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [0.0, 0.0]]])
    good = np.array([[1.0, 0.0], [0.0, 0.0]])  # MAE 0
    flat = np.zeros((2, 2))  # no min-max normalisation: NaN
    maps = {"mixed": np.stack([good, flat]), "flat": np.stack([flat, flat])}
    values = fixation_scores(maps, human, human > 0, metrics=["MAE"])["value"]
    assert values.iloc[0] == 0.0
    assert np.isnan(values.iloc[1])


def test_fixation_scores_default_to_the_papers_metrics_and_take_other_fixations(rng):
    human = rng.random((3, 6, 6))
    masks = human > 0.8
    others = np.roll(masks, 1, axis=0)  # each image's "other" fixations: another image's
    maps = {"m": rng.random((3, 6, 6))}
    default = fixation_scores(maps, human, masks)
    assert default["metric"].tolist() == ["MAE", "CC", "SIM", "NSS", "AUC-Judd"]
    shuffled = fixation_scores(maps, human, masks, other_fixations=others, metrics=["sAUC"])
    expected = np.mean(sal.auc_shuffled(maps["m"], masks, others))
    assert shuffled["value"].tolist() == pytest.approx([expected])
    every = fixation_scores(maps, human, masks, metrics=None)
    allowed = {"density", "fixations"}
    assert set(every["metric"]) == {
        name for name, entry in METRICS.items() if set(entry.reads) <= allowed
    }
    assert "sAUC" not in set(every["metric"])


def test_fixation_scores_reject_bad_input():
    human = np.zeros((1, 2, 2))
    with pytest.raises(ValueError, match="unknown metric"):
        fixation_scores({"cam": human}, human, human > 0, metrics=["AUC"])
    with pytest.raises(ValueError, match="sAUC needs other_fixations"):
        fixation_scores({"cam": human}, human, human > 0, metrics=["sAUC"])
    with pytest.raises(ValueError, match=r"have shape \(1, 3, 2\)"):
        fixation_scores({"cam": np.zeros((1, 3, 2))}, human, human > 0)
    with pytest.raises(ValueError, match="at least one"):
        fixation_scores({}, human, human > 0)


def test_compare_maps():
    a = {"m": np.array([[[0.0, 1.0], [0.0, 0.0]]])}
    b = {"m": np.array([[[1.0, 0.0], [0.0, 0.0]]])}
    same = compare_maps(a, a)
    assert same.loc["m", "CC"] == pytest.approx(1.0) and same.loc["m", "mean |diff|"] == 0.0
    moved = compare_maps(a, b)
    # z-scores (-0.5, 1.5, -0.5, -0.5)/std and (1.5, -0.5, ...): r = (-0.75 - 0.75 + 0.25 + 0.25)/3
    assert moved.loc["m", "CC"] == pytest.approx(-1 / 3)
    assert moved.loc["m", "mean |diff|"] == 0.5
    with pytest.raises(ValueError, match="same names"):
        compare_maps(a, {"n": b["m"]})
