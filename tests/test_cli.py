import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import xaikit.cli
import xaikit.track.pipeline
from tests.track.conftest import write_tiny_darknet
from xaikit.cli import main
from xaikit.data import open_video, write_video
from xaikit.data.synthetic import arena


@pytest.fixture(scope="module")
def tiny_darknet_files(tmp_path_factory):
    return write_tiny_darknet(tmp_path_factory.mktemp("darknet"))


@pytest.fixture(scope="module")
def saved_clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    clip = arena("resident_intruder", frames=12, shape=(120, 160), seed=1)
    clip.save(folder, "pair", formats=())
    return folder


def test_track_one_video_writes_tables_overlay_and_metrics(
    saved_clip, tiny_darknet_files, tmp_path, capsys
):
    cfg, weights = tiny_darknet_files
    zones = tmp_path / "zones.json"
    zones.write_text(json.dumps([{"name": "left", "kind": "rectangle", "x0": 0, "y0": 0,
                                  "x1": 80, "y1": 120}]))  # fmt: skip
    out = tmp_path / "out" / "pair.mp4"
    status = main([
        "track", str(saved_clip / "pair.mp4"), "--cfg", str(cfg), "--weights", str(weights),
        "--out", str(out.parent), "--truth", str(saved_clip / "pair.csv"), "--animals", "2",
        "--zones", str(zones), "--device", "cpu", "--high-score", "0.2",
    ])  # fmt: skip
    assert status == 0
    names = {path.name for path in out.iterdir()}
    assert names == {"detections.csv", "tracks.csv", "summary.csv", "metrics.json", "overlay.mp4",
                     "manifest.json"}  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {"detections", "tracks", "summary", "metrics", "overlay"}
    assert manifest["options"]["zones"][0]["name"] == "left" and manifest["options"]["overlay"]
    assert open_video(out / "overlay.mp4").shape == (12, 120, 160, 3)  # drawn by xaikit.viz
    tracks = pd.read_csv(out / "tracks.csv")
    # Random weights: junk boxes, but at most the 2 animals asked for.
    assert tracks["track"].nunique() in (1, 2) and set(tracks["frame"]) <= set(range(12))
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"timing", "detection", "tracking", "frames"} <= set(metrics)
    assert metrics["frames"] == 12 and "mota" in metrics["tracking"]
    summary = pd.read_csv(out / "summary.csv")
    assert "left_time_s" in summary.columns
    assert "pair.mp4: 12 frames" in capsys.readouterr().out


def test_track_a_folder_writes_one_subfolder_per_video(saved_clip, tiny_darknet_files, tmp_path):
    cfg, weights = tiny_darknet_files
    status = main([
        "track", str(saved_clip), "--cfg", str(cfg), "--weights", str(weights),
        "--out", str(tmp_path), "--truth", str(saved_clip), "--animals", "2", "--no-overlay",
        "--no-appearance", "--no-smooth",
    ])  # fmt: skip
    assert status == 0
    assert (tmp_path / "pair.mp4" / "tracks.csv").is_file()
    assert not (tmp_path / "pair.mp4" / "overlay.mp4").exists()
    assert "tracking" in json.loads((tmp_path / "pair.mp4" / "metrics.json").read_text())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing.mp4", "--model", "demo-mice"], "no such video"),
        (["{clip}", "--cfg", "{cfg}"], "--cfg needs --weights"),
        (["{clip}", "--cfg", "{cfg}", "--weights", "{weights}", "--format", "parquet"], "pyarrow"),
    ],
)
def test_errors_exit_with_status_1_and_a_message(
    arguments, message, saved_clip, tiny_darknet_files, tmp_path, capsys, monkeypatch
):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a)
    )
    cfg, weights = tiny_darknet_files
    values = {"clip": saved_clip / "pair.mp4", "cfg": cfg, "weights": weights}
    filled = [part.format(**values) for part in arguments]
    assert main(["track", *filled, "--out", str(tmp_path)]) == 1
    assert message in capsys.readouterr().err


@pytest.fixture(scope="module")
def clashing_videos(tmp_path_factory):
    """``session1.mov`` and ``session1.mp4`` (two clips with one stem), read-only source."""
    folder = tmp_path_factory.mktemp("clash")
    for seed, name in ((1, "session1.mov"), (2, "session1.mp4")):
        clip = arena("resident_intruder", frames=6, shape=(72, 96), seed=seed)
        write_video(folder / name, clip.frames, fps=clip.fps)
    return folder


@pytest.fixture
def videos(clashing_videos, tmp_path):
    """A fresh copy of :func:`clashing_videos` to add files to."""
    return shutil.copytree(clashing_videos, tmp_path / "videos")


@pytest.fixture
def detector_calls(monkeypatch):
    """The videos the detector ran over, in order (the real detector runs)."""
    calls, real = [], xaikit.track.pipeline.detect_video

    def counting(model, video, **options):
        calls.append(video.path.name)
        return real(model, video, **options)

    monkeypatch.setattr(xaikit.track.pipeline, "detect_video", counting)
    return calls


def track_folder(videos, out, tiny_darknet_files, *extra):
    cfg, weights = tiny_darknet_files
    return main(["track", str(videos), "--cfg", str(cfg), "--weights", str(weights), "--out",
                 str(out), "--device", "cpu", *extra])  # fmt: skip


def test_a_folder_with_a_broken_file_a_hidden_file_and_a_name_clash(
    videos, tiny_darknet_files, tmp_path, capsys, detector_calls
):
    (videos / "broken.mp4").write_bytes(b"this is no video" * 64)
    (videos / "._session1.mp4").write_bytes(b"\x00\x05\x16\x07" + bytes(200))  # macOS metadata
    out = tmp_path / "out"
    assert track_folder(videos, out, tiny_darknet_files, "--no-overlay") == 1
    assert detector_calls == ["session1.mov", "session1.mp4"]
    for name in ("session1.mov", "session1.mp4"):
        manifest = json.loads((out / name / "manifest.json").read_text())
        assert manifest["input"]["path"] == str((videos / name).resolve())
        assert (out / name / "tracks.csv").is_file() and not (out / name / "overlay.mp4").exists()
    assert sorted(path.name for path in out.iterdir()) == [
        "failures.csv", "session1.mov", "session1.mp4"
    ]  # fmt: skip
    failures = pd.read_csv(out / "failures.csv")
    assert failures["input"].tolist() == [str(videos / "broken.mp4")]
    assert "cannot be opened as a video" in failures["reason"][0]
    captured = capsys.readouterr()
    assert "3 video(s): 2 done, 0 skipped (complete), 1 failed" in captured.out
    assert "broken.mp4: failed: VideoError" in captured.err and "Traceback" not in captured.err
    assert "._session1" not in captured.out + captured.err


def test_a_rerun_skips_finished_videos_force_redoes_and_other_options_replace(
    videos, tiny_darknet_files, tmp_path, capsys, detector_calls
):
    out = tmp_path / "out"
    assert track_folder(videos, out, tiny_darknet_files) == 0
    assert (out / "session1.mp4" / "overlay.mp4").is_file()
    assert pd.read_csv(out / "failures.csv").empty
    assert track_folder(videos, out, tiny_darknet_files) == 0
    assert len(detector_calls) == 2  # nothing redone
    assert "session1.mp4: complete results in" in capsys.readouterr().out
    assert track_folder(videos, out, tiny_darknet_files, "--force") == 0
    assert len(detector_calls) == 4
    assert track_folder(videos, out, tiny_darknet_files, "--no-overlay") == 0
    assert len(detector_calls) == 6  # other options: redone, and the old overlay is gone
    assert not (out / "session1.mp4" / "overlay.mp4").exists()
    assert (
        "overlay" not in json.loads((out / "session1.mp4" / "manifest.json").read_text())["files"]
    )


def test_an_unwritable_out_fails_before_any_compute(
    videos, tiny_darknet_files, tmp_path, capsys, monkeypatch, detector_calls
):
    def no_model(arguments):
        raise AssertionError("the model was loaded before the output folder was checked")

    monkeypatch.setattr(xaikit.cli, "_load_model", no_model)
    blocker = tmp_path / "results"
    blocker.write_text("a file where the output folder should be")
    assert track_folder(videos, blocker / "out", tiny_darknet_files) == 2
    error = capsys.readouterr().err
    assert error.strip().splitlines() == [
        f"xaikit track: error: cannot write in the output folder {blocker / 'out'}: Not a directory"
    ]  # fmt: skip
    assert detector_calls == []


def test_ctrl_c_reports_what_finished_exits_130_and_a_rerun_finishes_the_rest(
    videos, tiny_darknet_files, tmp_path, capsys, monkeypatch, detector_calls
):
    real, seen = xaikit.track.pipeline.track, []

    def interrupted_on_the_second_video(*arguments, **options):
        seen.append(1)
        if len(seen) == 2:
            raise KeyboardInterrupt
        return real(*arguments, **options)

    monkeypatch.setattr(xaikit.track.pipeline, "track", interrupted_on_the_second_video)
    out = tmp_path / "out"
    assert track_folder(videos, out, tiny_darknet_files) == 130
    error = capsys.readouterr().err
    assert "interrupted. Finished: session1.mov. Not finished: session1.mp4." in error
    assert "Traceback" not in error
    assert (out / "session1.mov" / "manifest.json").is_file()
    assert sorted(path.name for path in out.iterdir()) == ["failures.csv", "session1.mov"]
    monkeypatch.setattr(xaikit.track.pipeline, "track", real)
    assert track_folder(videos, out, tiny_darknet_files) == 0
    assert detector_calls == ["session1.mov", "session1.mp4", "session1.mp4"]
    assert (out / "session1.mp4" / "manifest.json").is_file()


def test_a_zones_file_that_is_not_json_is_named_in_the_error(
    saved_clip, tiny_darknet_files, tmp_path, capsys
):
    zones = tmp_path / "zones.csv"
    zones.write_text("name,kind,x0\nleft,rectangle,0\n")
    status = track_folder(saved_clip / "pair.mp4", tmp_path / "out", tiny_darknet_files,
                          "--zones", str(zones))  # fmt: skip
    assert status == 1
    error = capsys.readouterr().err
    assert f"{zones} is not a JSON zones file" in error and "expected a JSON list" in error
    assert not (tmp_path / "out").exists()  # refused before the output folder was made


def test_a_command_is_required_and_python_m_works():
    with pytest.raises(SystemExit):
        main([])
    done = subprocess.run(
        [sys.executable, "-m", "xaikit", "track", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "--weights" in done.stdout
    assert "OUT/session1.mp4/" in done.stdout and "--force redoes it" in done.stdout
