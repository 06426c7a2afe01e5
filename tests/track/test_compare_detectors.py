"""The mice paper's Full-versus-Tiny comparison (Tables 2-4, Fig. 5):
:func:`xaikit.track.evaluation.compare_detectors` on a short synthetic arena clip."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from xaikit.data.synthetic import arena
from xaikit.models.darknet import Darknet
from xaikit.models.zoo import detector
from xaikit.models.zoo.loading import load_demo
from xaikit.track.detection import detect_video
from xaikit.track.evaluation import compare_detectors, evaluate_detections, paper_table

FRAMES = 5


@pytest.fixture(scope="module")
def clip():
    return arena("open_field", frames=FRAMES, shape=(120, 160), seed=11)


class Oracle:
    """Returns each frame's true boxes (found by the frame's bytes), shifted by ``dx`` pixels;
    records how many frames each call got and sleeps ``pause`` seconds per call (``first``
    on the first call)."""

    def __init__(self, clip, dx=0.0, pause=0.0, first=None):
        boxes = clip.truth[["x0", "y0", "x1", "y1"]].to_numpy(np.float32)
        self.boxes = {
            frame.tobytes(): boxes[clip.truth.frame.to_numpy() == f]
            for f, frame in enumerate(clip.frames)
        }
        self.dx, self.pause, self.first, self.calls = dx, pause, first, []

    def detect(self, frames, conf_threshold, iou_threshold):
        pause = self.first if self.first is not None and not self.calls else self.pause
        self.calls.append(len(frames))
        time.sleep(pause)
        found = []
        for frame in frames:
            boxes = self.boxes[frame.tobytes()] + np.float32([self.dx, 0, self.dx, 0])
            rows = np.column_stack([boxes, np.full(len(boxes), 0.9), np.zeros(len(boxes))])
            found.append(torch.from_numpy(rows))
        return found


def test_one_row_per_detector_with_the_papers_columns(clip):
    width = float((clip.truth.x1 - clip.truth.x0).min())
    detectors = {"Exact": Oracle(clip), "Shifted": Oracle(clip, dx=width, pause=0.02)}
    table = compare_detectors(detectors, clip, clip.truth)
    assert table.index.tolist() == ["Exact", "Shifted"]
    assert table.columns.tolist() == [
        "precision", "recall", "f1", "ap", "ap_voc11", "average_iou", "time_per_frame_s",
        "time_std_s", "frames_per_second", "total_test_s", "frames", "parameters", "train_s",
    ]  # fmt: skip
    exact, shifted = table.loc["Exact"], table.loc["Shifted"]
    assert exact[["precision", "recall", "f1", "ap", "average_iou"]].tolist() == [1.0] * 5
    assert shifted[["precision", "recall", "ap"]].tolist() == [0.0] * 3  # IoU 0 with its mouse
    assert (table["frames"] == FRAMES).all()
    # One frame per call, every frame timed once (the warm-up call is not).
    assert detectors["Shifted"].calls == [1] * (1 + FRAMES)
    assert shifted["time_per_frame_s"] >= 0.02 > exact["time_per_frame_s"]
    np.testing.assert_allclose(table["total_test_s"], table["time_per_frame_s"] * FRAMES)
    np.testing.assert_allclose(table["frames_per_second"], FRAMES / table["total_test_s"])
    assert table[["parameters", "train_s"]].isna().all().all()  # no torch module, no card


def test_scores_are_evaluate_detections_of_a_one_frame_per_call_run(clip):
    model = Oracle(clip, dx=1.0)
    row = compare_detectors({"m": model}, clip, clip.truth, score_threshold=0.5).loc["m"]
    run = detect_video(Oracle(clip, dx=1.0), clip, batch_size=1, describe=False, progress=False)
    scores = evaluate_detections(run.table, clip.truth, score_threshold=0.5)
    expected = paper_table({"detection": scores, "timing": run.timing()}, digits=None).iloc[0]
    scored = ["precision", "recall", "f1", "ap", "ap_voc11", "average_iou"]
    assert row[scored].tolist() == expected[scored].tolist()
    assert 0 < row["average_iou"] < 1


def test_warm_up_calls_are_not_timed(clip):
    slow_start = compare_detectors({"m": Oracle(clip, first=0.3)}, clip, clip.truth)
    assert slow_start.loc["m", "total_test_s"] < 0.3
    cold = compare_detectors({"m": Oracle(clip, first=0.3)}, clip, clip.truth, warmup=0)
    assert cold.loc["m", "total_test_s"] >= 0.3


def test_darknet_rows_count_parameters_and_read_training_time_from_the_card(clip):
    tiny = load_demo("demo-mice", device="cpu")
    full = Darknet.from_cfg(detector.FULL_CFG, class_names=["mouse"]).eval()
    table = compare_detectors({"Full": full, "Tiny": tiny}, clip.frames[:2], clip.truth, fps=30)
    assert table["parameters"].tolist() == [1_091_822, 338_380]
    card = tiny.xaikit_info.card
    assert table.loc["Tiny", "train_s"] == card["training"]["seconds"]["DEFAULT"]
    assert np.isnan(table.loc["Full", "train_s"])  # built from the cfg: no card
    assert (table["time_per_frame_s"] > 0).all() and (table["frames"] == 2).all()


def test_bad_arguments_are_refused(clip):
    with pytest.raises(ValueError, match="detectors is empty"):
        compare_detectors({}, clip, clip.truth)
    with pytest.raises(ValueError, match="warmup must be an int >= 0"):
        compare_detectors({"m": Oracle(clip)}, clip, clip.truth, warmup=-1)
