"""Study tables: literal cases worked by hand."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from xaikit.data.annotations import Annotations
from xaikit.explain import Explanation
from xaikit.metrics import tables


def _box_table():
    return pd.DataFrame(
        {
            "clip": [0, 0, 1],
            "frame": [0, 1, 1],
            "x0": [2.0, 3.0, 0.0],
            "y0": [1.0, 1.0, 0.0],
            "x1": [6.0, 7.0, 4.0],
            "y1": [4.0, 4.0, 2.0],
        }
    )


def test_clip_boxes_are_inclusive_per_clip_and_frame():
    boxes = tables.clip_boxes(_box_table(), clips=2, frames=2)
    assert [len(clip) for clip in boxes] == [2, 2]
    assert boxes[0][0].tolist() == [[2.0, 1.0, 5.0, 3.0]]  # pixels 2..5 and 1..3
    assert boxes[1][0].shape == (0, 4)  # clip 1 has no box in frame 0
    assert boxes[1][1].tolist() == [[0.0, 0.0, 3.0, 1.0]]


def test_clip_boxes_needs_the_columns():
    with pytest.raises(ValueError, match="lacks column"):
        tables.clip_boxes(pd.DataFrame({"clip": [0]}))


def test_image_boxes_keep_the_labelled_class():
    annotations = Annotations(
        images=pd.DataFrame({"image": ["a", "b"], "width": [9, 9], "height": [9, 9]}),
        boxes=pd.DataFrame(
            {
                "image": ["a", "a", "b"],
                "label": ["dot", "bar", "bar"],
                "x0": [0.0, 4.0, 1.0],
                "y0": [0.0, 4.0, 1.0],
                "x1": [2.0, 8.0, 3.0],
                "y1": [2.0, 5.0, 3.0],
            }
        ),
        classes=["dot", "bar"],
    )
    assert [len(b) for b in tables.image_boxes(annotations)] == [2, 1]
    assert [b.tolist() for b in tables.image_boxes(annotations, classes=[0, 0])] == [
        [[0.0, 0.0, 1.0, 1.0]],
        [],
    ]
    with pytest.raises(ValueError, match="one class per image"):
        tables.image_boxes(annotations, classes=[0])


def test_layer_maps_adds_sums_of_layers():
    explanation = Explanation(
        "3dcam",
        maps={"a": torch.tensor([[[0.0, 0.5]]]), "b": torch.tensor([[[0.5, 1.5]]])},
        raw={},
        layers=["a", "b"],
    )
    maps = tables.layer_maps({"3dcam": explanation}, sums=[["a", "b"]])
    assert list(maps) == [("3dcam", "a"), ("3dcam", "b"), ("3dcam", "a+b")]
    # sum (0.5, 2.0), min-max -> (0, 1)
    assert maps["3dcam", "a+b"].tolist() == [[[0.0, 1.0]]]


def _two_maps():
    saliency = np.zeros((2, 10, 10))
    saliency[:, 2:5, 2:5] = 1.0  # the map's box is (2, 2, 4, 4) inclusive
    boxes = [np.array([[2, 2, 4, 4]]), np.array([[2, 2, 9, 9]])]  # IoU 1 and 9/64
    return saliency, boxes


def test_localization_scores_hand_worked():
    saliency, boxes = _two_maps()
    scores = tables.localization_scores(
        {("cam", "conv"): saliency},
        boxes,
        correct=[False, True],
        overlap_ious=[0.1, 0.5],
        box_ious=[0.1, 0.5],
        energies=[1.0],
        cam_thresholds=[0.5],
    )
    assert list(scores.columns) == tables.SCORE_COLUMNS
    got = {
        (m, t if t == t else None): v for m, t, v in scores[["metric", "threshold", "value"]].values
    }
    assert got == {
        ("hit point", None): 1.0,  # the first maximum (2, 2) is in both boxes
        ("overlap", 0.1): 1.0,  # IoU 1 and 0.14 both exceed 0.1
        ("overlap", 0.5): 0.5,
        ("Acc2", 0.1): 0.5,  # only the second prediction is right
        ("Acc2", 0.5): 0.0,  # ... and its IoU is below 0.5
        ("MaxBoxAcc", 0.1): 1.0,
        ("MaxBoxAcc", 0.5): 0.5,
        ("energy IoU", 1.0): pytest.approx((1 + 9 / 64) / 2),
    }


def test_localization_scores_on_clips_count_frames():
    clip = np.zeros((1, 2, 6, 6))
    clip[0, 0, 1, 1] = 1.0  # frame 0 points into its box, frame 1 (all zero) at (0, 0): a miss
    boxes = [[np.array([[1, 1, 2, 2]]), np.array([[3, 3, 5, 5]])]]
    scores = tables.localization_scores({"m": clip}, boxes, metrics=["hit point"])
    assert scores[["method", "layer", "value"]].values.tolist() == [["m", "", 0.5]]


def test_localization_scores_errors():
    saliency, boxes = _two_maps()
    with pytest.raises(ValueError, match="unknown metric"):
        tables.localization_scores({"m": saliency}, boxes, metrics=["IoU"])
    with pytest.raises(ValueError, match="Acc2 needs correct"):
        tables.localization_scores({"m": saliency}, boxes, metrics=["Acc2"])
    with pytest.raises(ValueError, match="at least one set"):
        tables.localization_scores({}, boxes)
    default = tables.localization_scores({"m": saliency}, boxes, cam_thresholds=[0.5])
    assert "Acc2" not in set(default["metric"])


def test_pivot_scores_paper_layout():
    scores = pd.DataFrame(
        [
            ("3dcam", "stem", "MaxBoxAcc", 0.1, 0.8),
            ("3dcam", "stem", "MaxBoxAcc", 0.5, 0.4),
            ("gradcam", "layer4", "MaxBoxAcc", 0.1, 0.6),
            ("gradcam", "layer4", "MaxBoxAcc", 0.5, 0.0),
            ("gradcam", "layer4", "hit point", np.nan, 0.25),
        ],
        columns=tables.SCORE_COLUMNS,
    )
    wide = tables.pivot_scores(scores, "MaxBoxAcc", average=True)
    assert list(wide.index) == [("3dcam", "stem"), ("gradcam", "layer4")]
    assert list(wide.columns) == [0.1, 0.5, "average"]
    np.testing.assert_allclose(wide.to_numpy(float), [[0.8, 0.4, 0.6], [0.6, 0.0, 0.3]])
    hit = tables.pivot_scores(scores, "hit point")
    assert list(hit.columns) == ["hit point"] and hit.values.tolist() == [[0.25]]
    with pytest.raises(ValueError, match="no scores for metric"):
        tables.pivot_scores(scores, "Acc2")


def test_compare_maps():
    a = {"m": np.array([[[0.0, 1.0], [0.0, 0.0]]])}
    b = {"m": np.array([[[1.0, 0.0], [0.0, 0.0]]])}
    same = tables.compare_maps(a, a)
    assert same.loc["m", "CC"] == pytest.approx(1.0) and same.loc["m", "mean |diff|"] == 0.0
    moved = tables.compare_maps(a, b)
    # z-scores (-0.5, 1.5, -0.5, -0.5)/std and (1.5, -0.5, ...): r = (-0.75 - 0.75 + 0.25 + 0.25)/3
    assert moved.loc["m", "CC"] == pytest.approx(-1 / 3)
    assert moved.loc["m", "mean |diff|"] == 0.5
    with pytest.raises(ValueError, match="same names"):
        tables.compare_maps(a, {"n": b["m"]})


class _Fixed(nn.Module):
    """Logits equal to the input's first three values."""

    def forward(self, x):
        return x.flatten(1)[:, :3]


def test_top_classes_ranks_and_probabilities():
    x = torch.log(torch.tensor([[0.2, 0.5, 0.3]]))
    top = tables.top_classes(_Fixed(), x, k=2, categories=["a", "b", "c"])
    assert top[["rank", "class", "name"]].values.tolist() == [[1, 1, "b"], [2, 2, "c"]]
    assert top["probability"].tolist() == pytest.approx([0.5, 0.3])
    with pytest.raises(ValueError, match="k must be"):
        tables.top_classes(_Fixed(), x, k=0)


def test_accuracy_uses_the_models_preprocessing(monkeypatch):
    from xaikit.models.registry import ModelInfo

    model = _Fixed()
    nn.Module.__setattr__(model, "p", nn.Parameter(torch.zeros(1)))  # gives it a device
    model.xaikit_info = ModelInfo(
        name="fixed",
        task="classification",
        preprocess=lambda items, device=None: (torch.as_tensor(items, dtype=torch.float32), None),
        categories=None,
        weights=None,
    )
    items = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    assert tables.accuracy(model, items, [0, 2, 0, 0], batch_size=3) == 0.75
    with pytest.raises(ValueError, match="one label per item"):
        tables.accuracy(model, items, [0])


# fixation_scores, human_references, metric_columns (the humans-vs-CNN study)


def test_fixation_scores_average_the_per_image_mae():
    human = np.array([[[1.0, 0.5], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]])
    # image 0: min-max map [[0, 0], [0, 1]], |diff| 1 + 0.5 + 0 + 1 = 2.5 over 4 pixels = 0.625;
    # image 1: the map is the human map itself, MAE 0
    maps = {("gradcam", "conv5"): np.array([[[0.0, 0.0], [0.0, 3.0]], [[0.0, 0.0], [0.0, 2.0]]])}
    scores = tables.fixation_scores(maps, human, human > 0.9, metrics=["MAE"])
    assert scores.columns.tolist() == tables.SCORE_COLUMNS
    assert scores[["method", "layer", "metric"]].values.tolist() == [["gradcam", "conv5", "MAE"]]
    assert np.isnan(scores["threshold"].iloc[0])
    assert scores["value"].iloc[0] == pytest.approx(0.3125)


def test_fixation_scores_nss_reads_the_mask():
    # map 4, 0, 0, 0: mean 1, sample std 2 (MATLAB's std); the one fixated pixel scores 3 / 2
    human = np.array([[[1.0, 0.0], [0.0, 0.0]]])
    maps = {"cam": np.array([[[4.0, 0.0], [0.0, 0.0]]])}
    scores = tables.fixation_scores(maps, human, human > 0, metrics=["NSS", "AUC-Judd"])
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
    values = tables.fixation_scores(maps, human, human > 0, metrics=["MAE"])["value"]
    assert values.iloc[0] == 0.0
    assert np.isnan(values.iloc[1])


def test_fixation_scores_reject_bad_input():
    human = np.zeros((1, 2, 2))
    with pytest.raises(ValueError, match="unknown metric"):
        tables.fixation_scores({"cam": human}, human, human > 0, metrics=["AUC"])
    with pytest.raises(ValueError, match="shape"):
        tables.fixation_scores({"cam": np.zeros((1, 3, 2))}, human, human > 0)
    with pytest.raises(ValueError, match="at least one"):
        tables.fixation_scores({}, human, human > 0)


def test_human_references_pool_subjects_per_image_in_the_given_order():
    fixations = pd.DataFrame(
        {
            "x": [0.5, 2.5, 1.2],
            "y": [0.5, 0.5, 0.9],
            "duration": [100.0, 300.0, 200.0],
            "subject": ["s01", "s02", "s01"],
            "image": ["a", "a", "b"],
        }
    )
    # kernel 1: no blur; image a: durations 100 and 300, divided by the maximum 300
    with pytest.warns(UserWarning, match="all zeros"):
        maps, masks = tables.human_references(fixations, ["b", "a", "c"], (3, 1), kernel=1)
    assert maps.tolist() == [[[0.0, 1.0, 0.0]], [[pytest.approx(1 / 3), 0.0, 1.0]], [[0.0] * 3]]
    assert masks.astype(int).tolist() == [[[0, 1, 0]], [[1, 0, 1]], [[0, 0, 0]]]
    with pytest.raises(ValueError, match="duration"):
        tables.human_references(fixations.drop(columns="duration"), ["a"], (3, 1))


def test_metric_columns_put_metrics_side_by_side():
    scores = pd.DataFrame(
        [
            ("cam", "conv5", "MAE", np.nan, 0.2),
            ("cam", "conv5", "CC", np.nan, 0.5),
            ("cam", "conv4", "MAE", np.nan, 0.3),
            ("cam", "conv4", "CC", np.nan, np.nan),
            ("cam", "conv5", "energy IoU", 0.9, 0.7),  # has a threshold: not a column
        ],
        columns=tables.SCORE_COLUMNS,
    )
    table = tables.metric_columns(scores)
    assert table.index.tolist() == [("cam", "conv5"), ("cam", "conv4")]
    assert table.columns.tolist() == ["MAE", "CC"]
    assert table["MAE"].tolist() == [0.2, 0.3]
    assert table["CC"].iloc[0] == 0.5 and np.isnan(table["CC"].iloc[1])
    assert tables.metric_columns(scores, ["CC"]).columns.tolist() == ["CC"]
    with pytest.raises(ValueError, match="NSS"):
        tables.metric_columns(scores, ["NSS"])


def test_metric_columns_keep_only_the_scored_method_layer_pairs():
    scores = pd.DataFrame(
        [
            ("cam", "conv5", "MAE", np.nan, 0.4),
            ("gradcam", "conv1", "MAE", np.nan, 0.1),
            ("gradcam", "conv5", "MAE", np.nan, 0.2),
        ],
        columns=tables.SCORE_COLUMNS,
    )
    table = tables.metric_columns(scores)
    assert table.index.tolist() == [("cam", "conv5"), ("gradcam", "conv1"), ("gradcam", "conv5")]
    assert table["MAE"].tolist() == [0.4, 0.1, 0.2]
