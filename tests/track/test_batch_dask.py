"""Batches on Dask: a LocalCluster of two worker processes (loopback only) gives, table for
table, what a run in one process gives, with the same failures, resume and --force."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from xaikit.cli import main
from xaikit.data import write_video
from xaikit.data.synthetic import arena
from xaikit.track.batch import run_batch

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
        host="127.0.0.1",
    ) as local:  # fmt: skip
        yield local


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster) as connected:
        yield connected


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Three short arena videos with two mice and one broken file."""
    folder = tmp_path_factory.mktemp("videos")
    for seed in range(3):
        clip = arena("resident_intruder", frames=10, shape=(240, 320), seed=seed)
        write_video(folder / f"session{seed}.mp4", clip.frames, fps=clip.fps)
    (folder / "broken.mp4").write_bytes(b"this is no video" * 64)
    return folder


def _track(videos, out, *extra):
    return main(["track", str(videos), "--model", "demo-mice", "--out", str(out), "--device",
                 "cpu", "--no-overlay", "--animals", "2", *extra])  # fmt: skip


def _tables(out: Path) -> dict:
    """Every result table and metric (timing left out) of a batch's output folder."""
    found = {}
    for path in sorted(out.glob("*/*.csv")) + [out / "failures.csv"]:
        found[str(path.relative_to(out))] = pd.read_csv(path)
    for path in sorted(out.glob("*/metrics.json")):
        metrics = json.loads(path.read_text())
        metrics.pop("timing")
        found[str(path.relative_to(out))] = metrics
    return found


def test_a_cluster_gives_the_tables_of_a_sequential_run(videos, cluster, tmp_path, capsys):
    assert _track(videos, tmp_path / "here") == 1  # the broken file fails
    assert _track(videos, tmp_path / "dask", "--scheduler", cluster.scheduler_address) == 1
    printed = capsys.readouterr()
    assert "Dask: 2 worker(s); dashboard http://127.0.0.1:" in printed.out
    assert "broken.mp4: failed: VideoError" in printed.err
    here, there = _tables(tmp_path / "here"), _tables(tmp_path / "dask")
    assert sorted(here) == sorted(there) and len(here) == 3 * 4 + 1
    for name, table in here.items():
        if isinstance(table, pd.DataFrame):
            pd.testing.assert_frame_equal(table, there[name], check_exact=True, obj=name)
        else:
            assert table == there[name], name
    assert here["session0.mp4/tracks.csv"]["track"].nunique() >= 1  # real tracks compared


def test_a_cluster_run_resumes_and_force_redoes(videos, cluster, tmp_path, capsys):
    address = ["--scheduler", cluster.scheduler_address]
    assert _track(videos, tmp_path, *address) == 1
    capsys.readouterr()
    assert _track(videos, tmp_path, *address) == 1
    assert "4 video(s): 0 done, 3 skipped (complete), 1 failed" in capsys.readouterr().out
    assert _track(videos, tmp_path, *address, "--force") == 1
    assert "4 video(s): 3 done, 0 skipped (complete), 1 failed" in capsys.readouterr().out


def test_workers_start_a_local_cluster_of_their_own(videos, tmp_path, capsys):
    single = videos / "session1.mp4"
    assert main(["track", str(single), "--model", "demo-mice", "--out", str(tmp_path),
                 "--device", "cpu", "--no-overlay", "--workers", "2"]) == 0  # fmt: skip
    assert "Dask: 2 worker(s)" in capsys.readouterr().out
    assert (tmp_path / "session1.mp4" / "manifest.json").is_file()


def _write_length(video: Path, folder: Path) -> dict:
    if video.stat().st_size < 10:
        raise ValueError("too short")
    path = folder / "length.txt"
    path.write_text(str(video.stat().st_size))
    return {"length": path}


def test_the_python_api_takes_a_client_and_reports_in_input_order(client, tmp_path):
    inputs = []
    for name, size in (("c.mp4", 30), ("a.mp4", 3), ("b.mp4", 20)):
        inputs.append(tmp_path / "in" / name)
        inputs[-1].parent.mkdir(exist_ok=True)
        inputs[-1].write_bytes(b"x" * size)
    events = []

    def note(video, event, detail):
        events.append((video.name, event))

    report = run_batch(inputs, tmp_path / "out", _write_length, {"v": 1}, client=client,
                       on_input=note)  # fmt: skip
    assert [video.name for video in report.done] == ["c.mp4", "b.mp4"]
    assert [(video.name, reason) for video, reason in report.failed] == [
        ("a.mp4", "ValueError: too short")
    ]
    assert sorted(events) == [("a.mp4", "failed"), ("b.mp4", "done"), ("c.mp4", "done")]
    assert (tmp_path / "out" / "c.mp4" / "length.txt").read_text() == "30"
    again = run_batch(inputs, tmp_path / "out", _write_length, {"v": 1}, client=client)
    assert [video.name for video in again.skipped] == ["c.mp4", "b.mp4"]


def test_segments_on_a_cluster_give_the_tables_of_a_sequential_run(videos, cluster, tmp_path):
    batches = ["--batch-size", "2"]  # segments of 4 frames: two whole batches each
    assert _track(videos, tmp_path / "here", *batches) == 1
    address = ["--scheduler", cluster.scheduler_address, "--segment-frames", "3"]  # up to 4
    assert _track(videos, tmp_path / "segments", *batches, *address) == 1
    here, there = _tables(tmp_path / "here"), _tables(tmp_path / "segments")
    assert sorted(here) == sorted(there)
    for name, table in here.items():
        if isinstance(table, pd.DataFrame):
            pd.testing.assert_frame_equal(table, there[name], check_exact=True, obj=name)
        else:
            assert table == there[name], name


def test_segments_run_as_tasks_of_their_own(videos, client):
    from xaikit.models import load
    from xaikit.track import detect_video
    from xaikit.track.segments import detect_in_segments

    model = load("demo-mice", device="cpu")
    video = videos / "session1.mp4"
    whole = detect_video(model, video, device="cpu", batch_size=1, progress=False)
    with distributed.get_task_stream(client) as stream:
        joined = detect_in_segments(model, video, 3, client=client, device="cpu", batch_size=1)
    tasks = [task for task in stream.data if task["key"].startswith("detect_video")]
    assert len(tasks) == 4  # frames 0-2, 3-5, 6-8 and 9
    pd.testing.assert_frame_equal(whole.table, joined.table, check_exact=True)
    assert (joined.times == whole.times).all() and (joined.appearance == whole.appearance).all()
    assert joined.shape == whole.shape and len(joined.inference_time) == 10
