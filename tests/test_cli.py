import json
import subprocess
import sys

import pandas as pd
import pytest

from tests.track.conftest import write_tiny_darknet
from xaikit.cli import main
from xaikit.data import open_video
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
    out = tmp_path / "out"
    status = main([
        "track", str(saved_clip / "pair.mp4"), "--cfg", str(cfg), "--weights", str(weights),
        "--out", str(out), "--truth", str(saved_clip / "pair.csv"), "--animals", "2",
        "--zones", str(zones), "--device", "cpu", "--high-score", "0.2",
    ])  # fmt: skip
    assert status == 0
    names = {path.name for path in out.iterdir()}
    assert names == {"detections.csv", "tracks.csv", "summary.csv", "metrics.json", "overlay.mp4"}
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
    assert (tmp_path / "pair" / "tracks.csv").is_file()
    assert not (tmp_path / "pair" / "overlay.mp4").exists()
    assert "tracking" in json.loads((tmp_path / "pair" / "metrics.json").read_text())


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


def test_a_command_is_required_and_python_m_works():
    with pytest.raises(SystemExit):
        main([])
    done = subprocess.run(
        [sys.executable, "-m", "xaikit", "track", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "--weights" in done.stdout
