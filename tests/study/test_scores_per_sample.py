"""Per-sample score tables (for McNemar tests and paired bootstraps), PxAP from masks and the
95 %-energy cleaning in the study tables."""

import numpy as np
import pytest

from xaikit.metrics import localization as loc
from xaikit.metrics import saliency as sal
from xaikit.study import fixation_scores, localization_scores
from xaikit.study.scores import SAMPLE_SCORE_COLUMNS, SCORE_COLUMNS


def _maps_and_boxes():
    saliency = np.zeros((3, 10, 10))
    saliency[:, 2:5, 2:5] = 1.0  # pixels 2..4: the box (2, 2, 5, 5)
    boxes = [np.array([[2, 2, 5, 5]]), np.array([[2, 2, 10, 10]]), np.array([[6, 6, 9, 9]])]
    return saliency, boxes  # IoU 1, 9/64, 0


def _values(table, metric, threshold=None):
    rows = table[table["metric"] == metric]
    if threshold is not None:
        rows = rows[rows["threshold"] == threshold]
    return rows.sort_values("sample")["value"].tolist()


def test_per_sample_rows_of_the_box_metrics():
    saliency, boxes = _maps_and_boxes()
    ious = {"overlap": [0.0, 0.5], "Acc2": [0.0], "MaxBoxAcc per sample": [0.1]}
    table = localization_scores(
        {("cam", "conv"): saliency},
        boxes,
        correct=[True, False, True],
        metrics=["hit point", "peak in box", "overlap", "Acc2", "MaxBoxAcc per sample"],
        thresholds=ious,
        cam_thresholds=[0.5],
        per_sample=True,
    )
    assert list(table.columns) == SAMPLE_SCORE_COLUMNS
    assert _values(table, "hit point") == [1.0, 1.0, 0.0]
    assert _values(table, "peak in box") == [1.0, 1.0, 0.0]
    assert _values(table, "overlap", 0.0) == [1.0, 1.0, 0.0]
    assert _values(table, "overlap", 0.5) == [1.0, 0.0, 0.0]
    assert _values(table, "Acc2", 0.0) == [1.0, 0.0, 0.0]
    assert _values(table, "MaxBoxAcc per sample", 0.1) == [1.0, 1.0, 0.0]
    # the means are the default table's values
    means = localization_scores(
        {("cam", "conv"): saliency},
        boxes,
        correct=[True, False, True],
        metrics=["hit point", "overlap", "Acc2", "MaxBoxAcc per sample"],
        thresholds=ious,
        cam_thresholds=[0.5],
    )
    assert list(means.columns) == SCORE_COLUMNS
    for metric, threshold, value in means[["metric", "threshold", "value"]].values:
        per_sample = _values(table, metric, None if np.isnan(threshold) else threshold)
        assert np.mean(per_sample) == pytest.approx(value), (metric, threshold)


def test_per_sample_energy_iou_and_clips_average_their_frames():
    clip = np.zeros((2, 2, 6, 6))
    clip[:, 0, 1, 1] = 1.0  # frame 0 of each clip hits its box, frame 1 is all zero
    clip[1, 1, 4, 4] = 1.0  # ... except clip 1's frame 1, which hits too
    boxes = [[np.array([[1, 1, 2, 2]]), np.array([[4, 4, 5, 5]])] for _ in range(2)]
    table = localization_scores(
        {"m": clip}, boxes, metrics=["hit point", "energy IoU"], per_sample=True
    )
    assert _values(table, "hit point") == [0.5, 1.0]
    # energy IoU: the all-zero frame has no box (NaN) and is left out of its clip's mean
    assert _values(table, "energy IoU", 0.95) == [1.0, 1.0]
    assert sorted(set(table["sample"])) == [0, 1]


def test_set_level_metrics_have_no_per_sample_value():
    saliency, boxes = _maps_and_boxes()
    table = localization_scores({"m": saliency}, boxes, cam_thresholds=[0.5], per_sample=True)
    assert {"MaxBoxAcc", "MaxBoxAccV2"}.isdisjoint(table["metric"])
    assert {"hit point", "MaxBoxAcc per sample", "energy IoU"} <= set(table["metric"])
    with pytest.raises(ValueError, match="MaxBoxAcc score"):
        localization_scores({"m": saliency}, boxes, metrics=["MaxBoxAcc"], per_sample=True)
    masks = np.stack([loc.boxes_to_mask(b, (10, 10)) for b in boxes])
    with pytest.raises(ValueError, match="PxAP score"):
        localization_scores({"m": saliency}, boxes, masks=masks, metrics=["PxAP"], per_sample=True)


def test_pxap_from_masks_in_the_localization_table():
    saliency, boxes = _maps_and_boxes()
    masks = np.stack([loc.boxes_to_mask(b, (10, 10)) for b in boxes])
    table = localization_scores({"m": saliency}, boxes, masks=masks, metrics=["PxAP"])
    assert table["value"].tolist() == [loc.pxap(saliency, masks)]
    default = localization_scores({"m": saliency}, boxes, masks=masks, cam_thresholds=[0.5])
    assert "PxAP" in set(default["metric"])
    assert "PxAP" not in set(localization_scores({"m": saliency}, boxes)["metric"])


def test_fixation_scores_per_image_and_energy_cleaning(rng):
    human = rng.random((3, 8, 8))
    masks = human > 0.8
    maps = {"m": rng.random((3, 8, 8))}
    table = fixation_scores(maps, human, masks, metrics=["CC", "AUC-Judd"], per_sample=True)
    assert list(table.columns) == SAMPLE_SCORE_COLUMNS
    np.testing.assert_allclose(_values(table, "CC"), sal.cc(maps["m"], human))
    np.testing.assert_allclose(_values(table, "AUC-Judd"), sal.auc_judd(maps["m"], masks))
    cleaned = fixation_scores(maps, human, masks, metrics=["SIM"], energy=0.95)
    expected = np.mean(sal.sim(loc.energy_clean(maps["m"], 0.95), human))
    assert cleaned["value"].tolist() == pytest.approx([expected])
    plain = fixation_scores(maps, human, masks, metrics=["SIM"])
    assert plain["value"].iloc[0] != pytest.approx(expected)
    with pytest.raises(ValueError, match="non-negative"):
        fixation_scores({"m": -maps["m"]}, human, masks, energy=0.95)
