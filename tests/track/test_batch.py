"""Batches that never lose work: inputs, one folder per input, manifests, failures, interrupts.

The process here writes one small file per input, so that these tests run no model; the CLI
tests run the real pipeline through the same machinery.
"""

import json
import os

import pandas as pd
import pytest

from xaikit.track.batch import (
    FAILURES,
    MANIFEST,
    BatchInterrupted,
    NotWritableError,
    check_writable,
    find_videos,
    fingerprint,
    is_complete,
    output_folder,
    read_manifest,
    run_batch,
)


class Recorder:
    """A process that writes ``result.txt`` (and, when asked, ``extra.txt``) per input,
    counting its calls; inputs named in ``fail`` raise, the one named ``interrupt`` raises
    ``KeyboardInterrupt`` after writing."""

    def __init__(self, fail=(), interrupt=None, extra=False):
        self.calls, self.fail, self.interrupt, self.extra = [], set(fail), interrupt, extra

    def __call__(self, video, folder):
        self.calls.append(video.name)
        files = {"result": folder / "result.txt"}
        files["result"].write_text(video.read_text())
        if self.extra:
            files["extra"] = folder / "extra.txt"
            files["extra"].write_text("extra")
        if video.name in self.fail:
            raise OSError(f"cannot decode {video.name}")
        if video.name == self.interrupt:
            raise KeyboardInterrupt
        return files


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("a.mp4", "b.mov", "b.mp4", "c.avi"):
        (folder / name).write_text(f"content of {name}")
    return folder


def test_hidden_partial_and_non_video_files_are_never_inputs(inputs):
    (inputs / "._a.mp4").write_bytes(b"\x00\x05\x16\x07AppleDouble")
    (inputs / ".hidden.mp4").write_text("x")
    (inputs / ".a.mp4.k2j4abcd.partial").write_text("x")
    (inputs / "notes.txt").write_text("x")
    (inputs / "UPPER.MP4").write_text("x")
    (inputs / "folder.mp4").mkdir()  # an output folder of an earlier run into the same place
    names = [path.name for path in find_videos(inputs)]
    assert names == ["UPPER.MP4", "a.mp4", "b.mov", "b.mp4", "c.avi"]


def test_find_videos_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such video or folder"):
        find_videos(tmp_path / "missing.mp4")
    (tmp_path / "._only.mp4").write_text("x")
    with pytest.raises(FileNotFoundError, match=f"no video .* in {tmp_path}"):
        find_videos(tmp_path)
    partial = tmp_path / ".a.mp4.abcdefgh.partial"
    partial.write_text("x")
    with pytest.raises(ValueError, match="unfinished write"):
        find_videos(partial)


def test_inputs_with_one_stem_get_their_own_folders(inputs, tmp_path):
    folders = {output_folder(tmp_path / "out", video) for video in find_videos(inputs)}
    assert len(folders) == 4
    assert output_folder("out", inputs / "b.mov") != output_folder("out", inputs / "b.mp4")


def test_inputs_with_one_file_name_are_refused_before_any_work(inputs, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.mp4").write_text("another a")
    process = Recorder()
    with pytest.raises(ValueError, match="share the file name 'a.mp4'"):
        run_batch([inputs / "a.mp4", other / "a.mp4"], tmp_path / "out", process, {})
    assert process.calls == []


def test_the_inputs_own_folder_as_output_is_refused_and_a_file_in_the_way_kept(inputs, tmp_path):
    process = Recorder()
    with pytest.raises(ValueError, match="would be the video itself"):
        run_batch(find_videos(inputs), inputs, process, {})
    assert process.calls == [] and (inputs / "a.mp4").read_text() == "content of a.mp4"
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.mp4").write_text("the user's file")
    report = run_batch([inputs / "a.mp4", inputs / "c.avi"], out, process, {})
    assert report.failed == [
        (inputs / "a.mp4", f"FileExistsError: {out / 'a.mp4'} is a file, not an output folder; "
                           "it is left as it is")
    ]  # fmt: skip
    assert (out / "a.mp4").read_text() == "the user's file" and report.done == [inputs / "c.avi"]


def test_an_unwritable_output_is_refused_before_any_work(inputs, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(NotWritableError, match=f"cannot write in the output folder {blocker}"):
        check_writable(blocker / "out")
    process = Recorder()
    with pytest.raises(NotWritableError):
        run_batch(find_videos(inputs), blocker, process, {})
    assert process.calls == []


def test_each_folder_holds_its_files_and_a_manifest_written_last(inputs, tmp_path):
    out = tmp_path / "out"
    report = run_batch(find_videos(inputs), out, Recorder(), {"overlay": True})
    assert report.ok and len(report.done) == 4
    folder = out / "b.mov"
    assert (folder / "result.txt").read_text() == "content of b.mov"
    manifest = read_manifest(folder)
    source = fingerprint(inputs / "b.mov")
    assert manifest["input"] == source and manifest["options"] == {"overlay": True}
    assert manifest["files"] == {"result": {"file": "result.txt", "size": len("content of b.mov")}}
    names = sorted(path.name for path in out.iterdir())  # no temporary folder left
    assert names == ["a.mp4", "b.mov", "b.mp4", "c.avi", FAILURES]
    assert pd.read_csv(out / FAILURES).empty


def test_a_rerun_skips_complete_results_and_force_redoes_them(inputs, tmp_path):
    out, videos = tmp_path / "out", find_videos(inputs)
    run_batch(videos, out, Recorder(), {"k": 1})
    again = Recorder()
    report = run_batch(videos, out, again, {"k": 1})
    assert again.calls == [] and report.skipped == videos and report.ok
    forced = Recorder()
    assert run_batch(videos, out, forced, {"k": 1}, force=True).done == videos
    assert forced.calls == [video.name for video in videos]


def test_changed_content_changed_options_or_a_damaged_folder_is_redone(inputs, tmp_path):
    out, videos = tmp_path / "out", find_videos(inputs)
    run_batch(videos, out, Recorder(), {"k": 1})
    (inputs / "a.mp4").write_text("new content, same name")
    (out / "b.mov" / "result.txt").write_text("truncated")  # size differs from the manifest
    (out / "b.mp4" / MANIFEST).write_text('{"manifest": 1, "inp')  # cut short
    later = Recorder()
    run_batch(videos, out, later, {"k": 1})
    assert later.calls == ["a.mp4", "b.mov", "b.mp4"]
    assert (out / "a.mp4" / "result.txt").read_text() == "new content, same name"
    other = Recorder()
    run_batch(videos, out, other, lambda video: {"k": 2})
    assert other.calls == [video.name for video in videos]


def test_a_touched_or_copied_input_with_the_same_content_is_still_complete(inputs, tmp_path):
    out, video = tmp_path / "out", inputs / "a.mp4"
    run_batch([video], out, Recorder(), {})
    os.utime(video, ns=(0, 10**18))
    assert is_complete(out / "a.mp4", fingerprint(video), {})
    assert not is_complete(out / "a.mp4", fingerprint(video), {"k": 1})


def test_results_with_other_options_leave_no_stale_file(inputs, tmp_path):
    out, videos = tmp_path / "out", [inputs / "a.mp4"]
    run_batch(videos, out, Recorder(extra=True), {"extra": True})
    assert (out / "a.mp4" / "extra.txt").is_file()
    run_batch(videos, out, Recorder(), {"extra": False})
    assert sorted(path.name for path in (out / "a.mp4").iterdir()) == [MANIFEST, "result.txt"]


def test_a_failed_input_is_reported_and_keeps_its_previous_results(inputs, tmp_path):
    out, videos = tmp_path / "out", find_videos(inputs)
    run_batch(videos, out, Recorder(), {"k": 1})
    events = []
    report = run_batch(
        videos, out, Recorder(fail={"b.mov"}), {"k": 2}, on_input=lambda *e: events.append(e)
    )
    assert [video.name for video in report.done] == ["a.mp4", "b.mp4", "c.avi"]
    assert report.failed == [(inputs / "b.mov", "OSError: cannot decode b.mov")]
    assert not report.ok
    assert ("b.mov", "failed") in [(video.name, event) for video, event, _ in events]
    failures = pd.read_csv(out / FAILURES)
    assert failures.to_dict("records") == [
        {"input": str(inputs / "b.mov"), "reason": "OSError: cannot decode b.mov"}
    ]
    assert read_manifest(out / "b.mov")["options"] == {"k": 1}  # the earlier results, whole
    assert not [path for path in out.iterdir() if path.name.startswith(".")]


def test_an_interrupt_reports_what_finished_and_a_rerun_does_the_rest(inputs, tmp_path):
    out, videos = tmp_path / "out", find_videos(inputs)
    with pytest.raises(BatchInterrupted) as caught:
        run_batch(videos, out, Recorder(interrupt="b.mp4"), {})
    report = caught.value.report
    assert [video.name for video in report.done] == ["a.mp4", "b.mov"]
    assert [video.name for video in report.unfinished] == ["b.mp4", "c.avi"]
    assert isinstance(caught.value, KeyboardInterrupt)
    assert not (out / "b.mp4").exists()  # the half-written folder was discarded
    assert not [path for path in out.iterdir() if path.name.startswith(".")]
    rest = Recorder()
    assert run_batch(videos, out, rest, {}).ok and rest.calls == ["b.mp4", "c.avi"]


def test_temporary_folders_of_a_killed_run_are_removed_on_the_rerun(inputs, tmp_path):
    out = tmp_path / "out"
    killed = out / ".a.mp4.ab12_xyz.partial"
    killed.mkdir(parents=True)
    (killed / "result.txt").write_text("half")
    neighbour = out / ".a.mp4.x.mp4.ab12_xyz.partial"  # another input's: not touched
    neighbour.mkdir()
    run_batch([inputs / "a.mp4"], out, Recorder(), {})
    assert not killed.exists() and neighbour.exists()
    assert json.loads((out / "a.mp4" / MANIFEST).read_text())["files"]["result"]
