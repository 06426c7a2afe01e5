import numpy as np
import pandas as pd
import pytest
import torch

from tests.track.conftest import crossing
from xaikit.data import open_video, write_video
from xaikit.data.synthetic import arena
from xaikit.models import load_darknet
from xaikit.track import VideoDetections, analyse_video, detect_video
from xaikit.track.appearance import describe_detections


@pytest.fixture(scope="module")
def tiny_model(tiny_darknet_files):
    return load_darknet(*tiny_darknet_files, device="cpu")


def test_random_weight_darknet_over_a_clip(tiny_model):
    clip = arena("open_field", frames=6, shape=(120, 160), seed=2)
    run = detect_video(tiny_model, clip, batch_size=4, device="cpu", progress=False)
    table = run.table
    assert table.columns.tolist() == ["frame", "time", "x0", "y0", "x1", "y1", "score", "class"]
    assert set(table["frame"]) == set(range(6))
    assert (table["x0"] >= 0).all() and (table["x1"] <= 160).all() and (table["y1"] <= 120).all()
    assert (table["score"] > 0.05).all()
    np.testing.assert_allclose(run.times, np.arange(6) / clip.fps)
    assert run.inference_time.shape == (6,) and (run.inference_time > 0).all()
    # Frames of one batch share its time; batches are timed separately.
    assert run.inference_time[0] == run.inference_time[3] != run.inference_time[4]
    assert run.shape == clip.shape == (6, 120, 160, 3) and run.fps == clip.fps
    assert (run.height, run.width) == (120, 160)
    # Same boxes as detecting each frame on its own.
    single = tiny_model.detect([clip.frames[5]], conf_threshold=0.05)[0].numpy()
    np.testing.assert_allclose(
        table[table["frame"] == 5][["x0", "y0", "x1", "y1", "score"]], single[:, :5], rtol=1e-5
    )


def test_a_video_file_uses_its_timestamps(tmp_path, tiny_model):
    path = tmp_path / "clip.mp4"
    write_video(path, np.zeros((3, 64, 64, 3), np.uint8), fps=5)
    run = detect_video(tiny_model, path, device="cpu", progress=False)
    np.testing.assert_allclose(run.times, [0.0, 0.2, 0.4])
    reader_run = detect_video(tiny_model, open_video(path), batch_size=1, progress=False)
    assert reader_run.table.equals(run.table)
    assert next(tiny_model.parameters()).device.type in {"cpu", "cuda", "mps"}
    tiny_model.to("cpu")


def test_timing_summary(tiny_model):
    run = detect_video(tiny_model, np.zeros((4, 64, 64, 3), np.uint8), fps=4, batch_size=1,
                       device="cpu", progress=False)  # fmt: skip
    timing = run.timing()
    assert timing["mean_s"] == pytest.approx(run.inference_time.mean())
    assert timing["frames_per_second"] == pytest.approx(1 / timing["mean_s"])


class NoBoxes:
    def detect(self, frames, conf_threshold, iou_threshold):
        return [torch.zeros(0, 6) for _ in frames]


def test_video_detections_know_the_video_shape():
    times, spent = np.arange(3) / 30, np.full(3, 0.1)
    run = VideoDetections(pd.DataFrame(), times, spent, 30.0, (3, 48, 64, 3))
    assert (run.height, run.width) == (48, 64)
    for wrong in [(64, 48), (4, 48, 64, 3), (3, 48, 64)]:  # a (W, H) pair, T off, no channels
        with pytest.raises(ValueError, match=r"shape must be the video's \(T, H, W, 3\)"):
            VideoDetections(pd.DataFrame(), times, spent, 30.0, wrong)


def test_no_detections_give_an_empty_table():
    run = detect_video(NoBoxes(), np.zeros((2, 8, 8, 3), np.uint8), fps=1, progress=False)
    assert run.table.empty and list(run.table.columns)[-1] == "class"


@pytest.mark.parametrize(
    ("model", "video", "kwargs", "message"),
    [
        (object(), np.zeros((2, 8, 8, 3), np.uint8), {"fps": 1}, "detect"),
        (NoBoxes(), np.zeros((2, 8, 8), np.uint8), {"fps": 1}, r"\(T, H, W, 3\)"),
        (NoBoxes(), np.zeros((2, 8, 8, 3), np.float32), {"fps": 1}, "uint8"),
        (NoBoxes(), np.zeros((2, 8, 8, 3), np.uint8), {}, "fps"),
        (NoBoxes(), np.zeros((2, 8, 8, 3), np.uint8), {"fps": 1, "batch_size": 0}, "batch_size"),
    ],
)
def test_bad_input_is_refused(model, video, kwargs, message):
    with pytest.raises(ValueError, match=message):
        detect_video(model, video, progress=False, **kwargs)


def test_descriptors_are_computed_during_detection(tiny_model):
    clip = arena("resident_intruder", frames=4, shape=(120, 160), seed=3)
    run = detect_video(tiny_model, clip, batch_size=3, device="cpu", progress=False)
    assert run.appearance.shape == (len(run.table), 128)
    np.testing.assert_array_equal(run.appearance, describe_detections(clip.frames, run.table))
    skipped = detect_video(
        tiny_model, clip, batch_size=3, device="cpu", describe=False, progress=False
    )
    assert skipped.appearance is None and skipped.table.equals(run.table)


class Replay:
    """A stand-in detector giving back a detection table frame by frame."""

    def __init__(self, table):
        self.frames = {
            f: rows[["x0", "y0", "x1", "y1", "score"]] for f, rows in table.groupby("frame")
        }
        self.next = 0

    def detect(self, frames, conf_threshold, iou_threshold):
        found = []
        for _ in frames:
            rows = self.frames.get(self.next)
            boxes = (
                np.zeros((0, 6)) if rows is None else np.column_stack([rows, np.zeros(len(rows))])
            )
            found.append(torch.as_tensor(boxes))
            self.next += 1
        return found


def test_the_pipeline_tells_crossing_mice_apart_by_colour():
    # Arena seed 5, noise draw 1: boxes alone swap the two mice (IDF1 0.57).
    clip, runs = crossing(5)
    detections = runs[1][0]
    scores = {
        used: analyse_video(Replay(detections), clip, truth=clip.truth, animals=2,
                            appearance=used, progress=False).metrics["tracking"]["idf1"]
        for used in (False, True)
    }  # fmt: skip
    assert scores[False] < 0.9 and scores[True] > 0.99
