"""Training a detector on labelled frames (:func:`xaikit.track.train_detector`), on tiny
synthetic frames: what it writes and reads back, how it splits, starts, stops and refuses.
Real footage is in ``test_training_realdata.py``."""

from __future__ import annotations

import json
import warnings

import cv2
import numpy as np
import pandas as pd
import pytest
import torch

import xaikit as xk
from xaikit.cli import main
from xaikit.data.errors import DataFileError
from xaikit.models.darknet_cfg import parse_cfg
from xaikit.models.training_frames import TrainingFrames, background_frames
from xaikit.track import training
from xaikit.track.training import Recipe, split, train_detector

pytestmark = pytest.mark.filterwarnings("ignore:.*was made for 320x256")

QUICK = Recipe(epochs=2, batch_size=4)
INPUT = (64, 96)  # a multiple of demo-mice's stride 32


def draw_frames(folder, count=10, size=(96, 128), seed=0):
    """Frames of a dark 'animal' on a light floor, and their box CSV (``image`` column)."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(count):
        frame = np.full((*size, 3), 200, np.uint8)
        x0, y0 = int(rng.integers(0, size[1] - 40)), int(rng.integers(0, size[0] - 30))
        cv2.ellipse(frame, (x0 + 20, y0 + 12), (18, 10), 0, 0, 360, (30, 30, 30), -1)
        name = f"frame{index:03d}.png"
        cv2.imwrite(str(folder / name), frame)
        rows.append({"image": name, "x0": x0 + 1, "y0": y0 + 1, "x1": x0 + 39, "y1": y0 + 23})
    pd.DataFrame(rows).to_csv(folder / "boxes.csv", index=False)
    return folder / "boxes.csv"


@pytest.fixture
def labelled(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    return draw_frames(images)


def quick(labels, out, images=None, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the input size differs from demo-mice's
        return train_detector(
            images, labels, out, input_size=INPUT, recipe=QUICK, progress=False, device="cpu",
            **options,
        )  # fmt: skip


def test_writes_a_darknet_folder_that_loads_back(labelled, tmp_path):
    trained = quick(labelled, tmp_path / "model")
    folder = tmp_path / "model"
    assert sorted(p.name for p in folder.iterdir()) == sorted(training.FILES)
    card = json.loads((folder / "card.json").read_text())
    assert card["classes"] == ["animal"] and card["input_size"] == list(INPUT)
    assert card["data"]["format"] == "csv" and "as labelled" in card["data"]["conversion"]
    assert card["data"]["train_frames"] + card["data"]["val_frames"] == 10
    assert len(card["validation"]["epochs"]) == 2 == len(trained.history)
    assert card["validation"]["best_epoch"] == trained.best_epoch
    assert card["weights_sha256"] == xk.models.zoo.cards.sha256(folder / "model.weights")
    net, _ = parse_cfg(folder / "model.cfg")
    assert (net.get_int("height"), net.get_int("width")) == INPUT
    loaded = xk.models.load_darknet(folder, device="cpu")
    assert loaded.class_names == ["animal"] and loaded.input_size == INPUT
    x = torch.rand(1, 3, *INPUT)
    with torch.no_grad():
        for mine, theirs in zip(loaded(x), trained.model.cpu()(x), strict=True):
            torch.testing.assert_close(mine, theirs, atol=1e-4, rtol=1e-4)


def test_opencv_reads_the_folder(labelled, tmp_path):
    trained = quick(labelled, tmp_path / "model")
    net = cv2.dnn.readNetFromDarknet(
        str(trained.folder / "model.cfg"), str(trained.folder / "model.weights")
    )
    x = np.random.default_rng(0).random((1, 3, *INPUT), dtype=np.float32)
    net.setInput(x)
    theirs = net.forward(net.getUnconnectedOutLayersNames())
    with torch.no_grad():
        mine = trained.model.decode(trained.model.cpu()(torch.from_numpy(x)))[0]
    # OpenCV's rows: cx, cy, w, h (relative), objectness, class scores; same cells, same order
    opencv = np.concatenate([t.reshape(-1, t.shape[-1]) for t in theirs])
    np.testing.assert_allclose(opencv[:, 4], mine[:, 4].numpy(), atol=1e-4)


def test_the_same_seed_trains_the_same_weights(labelled, tmp_path):
    quick(labelled, tmp_path / "a", seed=3)
    quick(labelled, tmp_path / "b", seed=3)
    quick(labelled, tmp_path / "c", seed=4)
    weights = [(tmp_path / n / "model.weights").read_bytes() for n in "abc"]
    assert weights[0] == weights[1] != weights[2]


def test_the_split_holds_out_whole_stretches_of_each_recording():
    frames = TrainingFrames(
        torch.zeros(40, 3, 4, 4, dtype=torch.uint8), [torch.zeros(0, 4)] * 40,
        [torch.zeros(0, dtype=torch.int64)] * 40, [f"{i}" for i in range(40)],
        ["a"] * 20 + ["b"] * 20, list(range(20)) * 2,
    )  # fmt: skip
    train, held = split(frames, 0.2, seed=1)
    assert len(held) == 8 and len(train) == 32
    assert held.groups.count("a") == held.groups.count("b") == 4  # each recording held out
    for group in "ab":
        order = sorted(o for g, o in zip(held.groups, held.order, strict=True) if g == group)
        assert order[1] - order[0] == 1 and order[3] - order[2] == 1  # stretches of 2
    assert split(frames, 0.2, seed=1)[1].names == held.names
    assert len(split(frames, 0.0, seed=1)[1]) == 0


def test_painted_negatives_show_no_animal():
    images = torch.full((6, 3, 32, 32), 200, dtype=torch.uint8)
    boxes = []
    for i in range(6):
        x = 4 * i
        images[i, :, 10:16, x : x + 6] = 0
        boxes.append(torch.tensor([[float(x), 10.0, x + 6.0, 16.0]]))
    frames = TrainingFrames(images, boxes, [torch.zeros(1, dtype=torch.int64)] * 6,
                            [str(i) for i in range(6)], ["v"] * 6, list(range(6)))  # fmt: skip
    painted = background_frames(frames, 0.5, torch.Generator().manual_seed(0))
    assert len(painted) == 3 and painted.negatives == 3
    assert (painted.images == 200).all()  # every animal covered by empty floor
    assert background_frames(frames, 0.0, torch.Generator()).images.shape[0] == 0


def test_heads_follow_the_classes_and_the_backbone_is_kept(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    labels = draw_frames(images)
    table = pd.read_csv(labels)
    table["label"] = ["mouse", "rat"] * 5
    table.to_csv(labels, index=False)
    trained = quick(labels, tmp_path / "model")
    assert trained.model.class_names == ["mouse", "rat"]
    assert [head.classes for head in trained.model.heads] == [2, 2]
    kept, total = (int(n) for n in trained.card["start"]["layers_kept"].split()[::2])
    assert total - kept == 4  # the two head convolutions' weights and biases are new


def test_interrupted_after_an_epoch_keeps_the_best_so_far(labelled, tmp_path, monkeypatch):
    calls = {"n": 0}
    real = training.augment

    def stop_in_the_second_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 4:  # 8 frames + 2 painted at batch 4: 3 steps per epoch
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "augment", stop_in_the_second_epoch)
    with pytest.warns(UserWarning, match="interrupted after epoch 1 of 2"):
        trained = train_detector(None, labelled, tmp_path / "model", input_size=INPUT,
                                 recipe=QUICK, progress=False, device="cpu")  # fmt: skip
    assert trained.interrupted and trained.best_epoch == 1
    card = json.loads((tmp_path / "model" / "card.json").read_text())
    assert card["training"]["interrupted"] and card["training"]["epochs_done"] == 1


def test_interrupted_before_an_epoch_writes_nothing(labelled, tmp_path, monkeypatch):
    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "augment", stop)
    with pytest.raises(KeyboardInterrupt):
        quick(labelled, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_bad_input_is_refused_clearly(labelled, tmp_path):
    (labelled.parent / "frame003.png").unlink()
    with pytest.raises(DataFileError, match="frame003.png is missing"):
        quick(labelled, tmp_path / "model")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"input_size": (60, 96)}, "multiples of 32"),
        ({"val": 1.0}, "val must be in"),
        ({"start": "nowhere"}, "start must be 'demo-mice'"),
    ],
)
def test_bad_options_are_refused(labelled, tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        train_detector(None, labelled, tmp_path / "m", **{"recipe": QUICK, "progress": False,
                                                          **options})  # fmt: skip


def test_an_out_folder_of_other_files_is_never_replaced(labelled, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(ValueError, match="not a trained-detector folder"):
        quick(labelled, tmp_path / "mine")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_another_input_size_is_a_counted_warning(labelled, tmp_path):
    with pytest.warns(UserWarning, match="made for 320x256"):
        train_detector(None, labelled, tmp_path / "m", input_size=INPUT, recipe=QUICK,
                       progress=False, device="cpu")  # fmt: skip


def test_boxes_outside_their_image_are_cut_and_counted(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    draw_frames(images)
    (images / "frame000.txt").write_text("0 0.95 0.5 0.3 0.2\n")  # reaches past the right edge
    (images / "classes.txt").write_text("animal\n")
    for stale in images.glob("*.csv"):
        stale.unlink()
    for index in range(1, 10):
        (images / f"frame{index:03d}.txt").write_text("0 0.5 0.5 0.3 0.2\n")
    with pytest.warns(UserWarning, match="1 box\\(es\\) reached outside their image"):
        train_detector(images, images, tmp_path / "m", format="yolo", input_size=INPUT,
                       recipe=QUICK, progress=False, device="cpu", val=0.0)  # fmt: skip


def test_a_single_labelled_frame_needs_val_zero(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    labels = draw_frames(images, count=1)
    with pytest.raises(ValueError, match="pass val=0"):
        quick(labels, tmp_path / "m")
    trained = quick(labels, tmp_path / "m", val=0.0)
    assert trained.card["validation"]["ap50"] is None and trained.best_epoch == 2
    assert json.loads((tmp_path / "m" / "card.json").read_text())["validation"]["ap50"] is None


def test_frames_from_a_video_and_a_video_of_the_empty_arena(tmp_path):
    frames = np.full((12, 96, 128, 3), 200, np.uint8)
    rows = []
    for index in range(12):
        x = 5 + 6 * index
        frames[index, 30:50, x : x + 36] = 30
        rows.append({"frame": index, "x0": x, "y0": 30, "x1": x + 36, "y1": 50, "track": 1})
    xk.data.write_video(tmp_path / "clip.mp4", frames, 25)
    xk.data.write_video(tmp_path / "empty.mp4", np.full((20, 96, 128, 3), 200, np.uint8), 25)
    pd.DataFrame(rows).to_csv(tmp_path / "boxes.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trained = train_detector(
            tmp_path / "clip.mp4", tmp_path / "boxes.csv", tmp_path / "m", input_size=INPUT,
            recipe=QUICK, progress=False, device="cpu", negatives=tmp_path / "empty.mp4",
        )  # fmt: skip
    negatives = trained.card["data"]["negatives"]
    assert negatives["video_frames"] == 20 and negatives["videos"] == [str(tmp_path / "empty.mp4")]
    assert trained.card["data"]["val_names"][0].startswith("clip.mp4:")
    short = pd.DataFrame(rows + [{**rows[0], "frame": 40}])
    short.to_csv(tmp_path / "past.csv", index=False)
    with pytest.raises(DataFileError, match="past the end"):
        quick(tmp_path / "past.csv", tmp_path / "m2", images=tmp_path / "clip.mp4")


def test_the_command_line_trains_then_tracks(labelled, tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status = main(["train-detector", "--labels", str(labelled), "--out",
                       str(tmp_path / "model"), "--input", "96x64", "--epochs", "1",
                       "--batch-size", "4", "--device", "cpu"])  # fmt: skip
    assert status == 0
    said = capsys.readouterr().out
    assert "best epoch 1 of 1" in said and "model.weights" in said
    frames = np.stack(
        [cv2.imread(str(p))[..., ::-1] for p in sorted(labelled.parent.glob("*.png"))]
    )
    xk.data.write_video(tmp_path / "clip.mp4", frames, 10)
    status = main(["track", str(tmp_path / "clip.mp4"), "--model", str(tmp_path / "model"),
                   "--out", str(tmp_path / "out"), "--no-overlay", "--device", "cpu"])  # fmt: skip
    assert status == 0
    manifest = json.loads((tmp_path / "out" / "clip.mp4" / "manifest.json").read_text())
    assert "model/model.weights" in json.dumps(manifest)


def test_the_command_line_refuses_a_bad_input_size(labelled, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train-detector", "--labels", str(labelled), "--out", str(tmp_path / "m"),
              "--input", "96by64"])  # fmt: skip
    assert "WIDTHxHEIGHT" in capsys.readouterr().err


def test_the_command_line_without_a_validation_split(labelled, tmp_path, capsys):
    status = main(["train-detector", "--labels", str(labelled), "--out", str(tmp_path / "m"),
                   "--input", "96x64", "--epochs", "1", "--val", "0"])  # fmt: skip
    assert status == 0
    assert "no frame held out (--val 0), the last epoch kept" in capsys.readouterr().out


def test_the_command_line_help_and_an_unknown_format(labelled, tmp_path, capsys):
    from xaikit.cli import build_parser
    from xaikit.data.keypoints import MARGIN

    commands = build_parser()._subparsers._group_actions[0].choices
    assert f"({MARGIN})" in commands["train-detector"].format_help()
    status = main(["train-detector", "--labels", str(labelled), "--out", str(tmp_path / "m"),
                   "--format", "xls"])  # fmt: skip
    assert status == 1 and "format must be one of" in capsys.readouterr().err
