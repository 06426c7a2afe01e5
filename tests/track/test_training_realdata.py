"""Acceptance of the train-then-track workflow on real footage (issue 17).

* DeepLabCut open field: trained from demo-mice on 80 % of the labelled frames (keypoint
  boxes), scored on the other 20 %; the same model on a real empty chamber finds (almost)
  nothing and tracks nothing.
* Two courting flies (SLEAP's proofread tracks): trained on frames 0-599 through the command
  line, tracked over frames 600-899 with ``--animals 2`` and scored against the proofread
  identities.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
import torch

import xaikit as xk
from tests.realdata import real_path
from xaikit.cli import main
from xaikit.models.training_frames import load_training_frames, video_negatives
from xaikit.track.training import BOX_THRESHOLD, evaluate

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def open_field(tmp_path_factory):
    """demo-mice fine-tuned on 80 % of the real open-field frames: ``(trained, held-out)``."""
    labels = xk.data.read_labels(
        real_path("mice", "dlc-openfield-m4s1", "CollectedData_Pranav.csv")
    )
    names = labels.images["image"].tolist()
    test = np.random.default_rng(17).choice(names, size=round(0.2 * len(names)), replace=False)
    began = time.perf_counter()
    trained = xk.track.train_detector(
        None,
        labels.subset(set(names) - set(test)),
        tmp_path_factory.mktemp("open-field") / "model",
        progress=False,
    )
    trained.seconds = time.perf_counter() - began
    return trained, labels.subset(test)


def test_open_field_held_out_frames(open_field):
    trained, test = open_field
    assert trained.seconds <= 600, f"training took {trained.seconds:.0f} s on this machine"
    model = xk.models.load_darknet(trained.folder, device="cpu")
    frames = load_training_frames(test, model, progress=False)
    scores = evaluate(model, frames)
    assert len(frames) == 23
    assert scores["ap50"] >= 0.95, scores
    assert scores["frames_right"] >= 0.95, scores  # exactly one box above 0.25 per frame
    card = json.loads((trained.folder / "card.json").read_text())
    assert card["start"]["model"] == "demo-mice" and card["data"]["train_frames"] > 0
    assert card["validation"]["best_epoch"] == trained.best_epoch


def test_open_field_model_sees_nothing_in_an_empty_chamber(open_field):
    trained, _ = open_field
    model = xk.models.load_darknet(trained.folder, device="cpu")
    video = real_path("mice", "empty-chamber", "Freezing_calibration.wmv")
    frames = video_negatives(video, model, count=10_000)
    assert len(frames) == 298
    with torch.no_grad():
        found = sum(
            int((d[:, 4] > BOX_THRESHOLD).sum())
            for start in range(0, len(frames), 32)
            for d in model.detect(frames.images[start : start + 32].float() / 255)
        )
    assert found <= 1, f"{found} false boxes in the empty chamber"
    result = xk.track.analyse_video(model, video, animals=1, progress=False)
    assert result.tracks.empty  # no animal, no track row (nothing interpolated or placed)


def test_two_flies_trained_on_the_first_600_frames_tracked_over_the_next_300(tmp_path):
    folder = real_path("flies", "sleap-courtship")
    proofread = pd.read_csv(folder / "tracks-frames-0-899.csv")
    boxes = proofread.rename(
        columns={"frame_idx": "frame", "bbox_x1": "x0", "bbox_y1": "y0", "bbox_x2": "x1",
                 "bbox_y2": "y1"}
    )[["frame", "track", "x0", "y0", "x1", "y1"]].assign(label="fly")  # fmt: skip
    boxes[boxes["frame"] < 600].to_csv(tmp_path / "flies.csv", index=False)
    video = folder / "clip.mp4"
    model = tmp_path / "model"
    labels = str(tmp_path / "flies.csv")
    status = main(["train-detector", "--images", str(video), "--labels", labels,
                   "--input", "320x320", "--out", str(model)])  # fmt: skip
    assert status == 0
    # frames 600-899 as their own video (lossless), with the proofread tracks from frame 0
    reader = xk.data.open_video(video)
    xk.data.write_video(tmp_path / "later.mp4", reader[600:900], reader.fps, crf=0)
    truth = boxes[boxes["frame"] >= 600].assign(frame=lambda t: t["frame"] - 600)
    truth.to_csv(tmp_path / "truth.csv", index=False)
    status = main(["track", str(tmp_path / "later.mp4"), "--model", str(model), "--animals", "2",
                   "--truth", str(tmp_path / "truth.csv"), "--out", str(tmp_path / "out"),
                   "--no-overlay"])  # fmt: skip
    assert status == 0
    metrics = json.loads((tmp_path / "out" / "later.mp4" / "metrics.json").read_text())
    tracking = metrics["tracking"]
    assert tracking["mota"] >= 0.95 and tracking["idf1"] >= 0.95, tracking
    assert tracking["id_switches"] == 0, tracking
