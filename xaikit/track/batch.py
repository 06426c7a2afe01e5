"""Batches of videos that never lose work: :func:`run_batch`, what ``xaikit track DIR`` runs.

Rules:

- **Inputs** (:func:`find_videos`): the files of a folder with a video ending, sorted by name;
  hidden files (``.name``, macOS ``._name.mp4``) and unfinished writes (``.partial``) never are.
- **One folder per input** (:func:`output_folder`): ``OUT/<file name>/``, the whole name with
  its ending (``session1.mp4`` and ``session1.mov`` go to ``OUT/session1.mp4/`` and
  ``OUT/session1.mov/``), so two inputs of one folder never share an output folder.
- **Atomic folders**: each input's files are written into a hidden ``.partial`` sibling folder
  that replaces ``OUT/<file name>/`` whole (:func:`xaikit._atomic.atomic_folder`) once every
  file and, last, the manifest are written. A failed or killed input leaves the previous folder
  as it was, and a rerun never finds half a folder (it removes the temporary folders that
  killed runs left); a replaced folder keeps no stale file (no old ``overlay.mp4`` after
  ``--no-overlay``). One batch at a time writes into an output folder.
- **Manifest** (``manifest.json``, :func:`write_manifest`): the input's size, mtime and
  SHA-256, the options that change the results and the files written, with their sizes. A rerun
  skips an input whose manifest matches its content (size and SHA-256), its options, and whose
  files are all there with their sizes (:func:`is_complete`); ``force=True`` redoes it.
- **Failures** are isolated: an input that raises is reported (file, reason) and the batch goes
  on; ``failures.csv`` in ``OUT`` lists the failures of the last run (header only when none).
- **Interrupts**: a ``KeyboardInterrupt`` (Ctrl-C) stops the batch after the input in progress
  is discarded; :class:`BatchInterrupted` carries the report of what finished.
- **Many machines** (``client=``, a ``dask.distributed.Client``): one task per input, run by
  the cluster's workers under the same rules (each writes its own folder atomically, so no two
  workers write one file); the batch's process decides what is complete, collects failures and
  writes ``failures.csv``, and the report lists inputs in their order, as a sequential run does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from xaikit._atomic import PARTIAL, atomic_folder, is_partial, write_text
from xaikit.track.export import save_table

__all__ = [
    "FAILURES",
    "MANIFEST",
    "VIDEO_SUFFIXES",
    "BatchInterrupted",
    "BatchReport",
    "NotWritableError",
    "check_writable",
    "find_videos",
    "fingerprint",
    "is_complete",
    "is_hidden",
    "output_folder",
    "read_manifest",
    "run_batch",
    "write_failures",
    "write_manifest",
]

#: Endings of the files a folder input takes as videos.
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
#: The manifest of each input's output folder, written last.
MANIFEST = "manifest.json"
#: The failures of the last run, in the batch's output folder.
FAILURES = "failures.csv"
_MANIFEST_VERSION = 1
_CHUNK = 1 << 20


class NotWritableError(OSError):
    """The output folder cannot be created or written."""


@dataclass
class BatchReport:
    """What a batch did, input by input.

    Attributes:
        done: inputs processed and written in this run.
        skipped: inputs whose complete results were already there.
        failed: ``(input, reason)`` of the inputs that raised.
        unfinished: inputs not processed because the batch was interrupted (the one in
            progress first).
        folders: input → its output folder.
    """

    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    unfinished: list[Path] = field(default_factory=list)
    folders: dict[Path, Path] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every input is done or skipped."""
        return not self.failed and not self.unfinished


class BatchInterrupted(KeyboardInterrupt):
    """A batch stopped by ``KeyboardInterrupt``; ``.report`` says what finished."""

    def __init__(self, report: BatchReport):
        super().__init__(f"interrupted; {len(report.unfinished)} input(s) not finished")
        self.report = report


def is_hidden(path: str | os.PathLike) -> bool:
    """Whether a file is hidden (``.name``, which includes macOS ``._name`` files).

    Examples:
        >>> is_hidden("videos/._session1.mp4"), is_hidden("videos/session1.mp4")
        (True, False)
    """
    return Path(path).name.startswith(".")


def find_videos(path: str | os.PathLike, suffixes: Iterable[str] = VIDEO_SUFFIXES) -> list[Path]:
    """The videos to process: ``path`` itself, or the videos of the folder ``path``.

    In a folder, the files (not folders) whose ending is one of ``suffixes`` (any case), sorted
    by name; hidden files and ``.partial`` files are left out.

    Raises:
        FileNotFoundError: no such file or folder, or a folder without a video.
        ValueError: ``path`` is an unfinished write (a ``.partial`` file).
    """
    path = Path(path)
    suffixes = tuple(suffix.lower() for suffix in suffixes)
    if path.is_dir():
        found = sorted(
            entry
            for entry in path.iterdir()
            if entry.suffix.lower() in suffixes
            and entry.is_file()
            and not is_hidden(entry)
            and not is_partial(entry)
        )
        if not found:
            raise FileNotFoundError(
                f"no video ({', '.join(suffixes)}; hidden files left out) in {path}"
            )
        return found
    if not path.is_file():
        raise FileNotFoundError(f"no such video or folder: {path}")
    if is_partial(path):
        raise ValueError(f"{path} is an unfinished write ({PARTIAL}), not a video")
    return [path]


def output_folder(out: str | os.PathLike, video: str | os.PathLike) -> Path:
    """The output folder of one input: ``out / <file name with its ending>``.

    Examples:
        >>> output_folder("results", "videos/session1.mov").as_posix()
        'results/session1.mov'
    """
    return Path(out) / Path(video).name


def check_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check that a file can be written in it.

    Raises:
        NotWritableError: with the folder and the system's reason.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=folder, prefix=".xaikit-write-check.", suffix=PARTIAL)
        os.close(handle)
        os.unlink(name)
    except OSError as error:
        reason = error.strerror or str(error)
        raise NotWritableError(f"cannot write in the output folder {folder}: {reason}") from None
    return folder


def fingerprint(path: str | os.PathLike) -> dict:
    """``{"path", "size", "mtime_ns", "sha256"}`` of a file, as stored in the manifest."""
    path = Path(path)
    status = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return {
        "path": str(path.resolve()),
        "size": status.st_size,
        "mtime_ns": status.st_mtime_ns,
        "sha256": digest.hexdigest(),
    }


def _plain(options: dict) -> dict:
    """``options`` as JSON gives them back (tuples become lists), so that they compare."""
    return json.loads(json.dumps(options, sort_keys=True))


def write_manifest(folder: Path, source: dict, options: dict, files: dict[str, Path]) -> Path:
    """Write ``folder/manifest.json`` (atomically): the input's :func:`fingerprint`, the
    options and each file written (``name → {"file", "size"}``, relative to ``folder``)."""
    from xaikit import __version__

    listed = {}
    for name, path in files.items():
        if not Path(path).is_relative_to(folder):
            raise ValueError(f"the file {name!r} ({path}) was written outside its folder {folder}")
        relative = Path(path).relative_to(folder)
        listed[name] = {"file": relative.as_posix(), "size": (folder / relative).stat().st_size}
    manifest = {
        "manifest": _MANIFEST_VERSION,
        "xaikit": __version__,
        "input": source,
        "options": _plain(options),
        "files": listed,
    }
    return write_text(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """The manifest of an output folder; ``None`` when there is none or it is unreadable."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _files_intact(folder: Path, files) -> bool:
    if not isinstance(files, dict):
        return False
    for entry in files.values():
        try:
            if (folder / entry["file"]).stat().st_size != entry["size"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return True


def is_complete(folder: str | os.PathLike, source: dict, options: dict) -> bool:
    """Whether ``folder`` holds the complete results of the input ``source`` (its
    :func:`fingerprint`) under ``options``: its manifest has the same input size and SHA-256
    (a copied or touched file with the same content counts as the same input), the same
    options, and every file it lists is there with its size."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None or manifest.get("manifest") != _MANIFEST_VERSION:
        return False
    recorded = manifest.get("input") or {}
    return (
        recorded.get("size") == source["size"]
        and recorded.get("sha256") == source["sha256"]
        and manifest.get("options") == _plain(options)
        and _files_intact(folder, manifest.get("files"))
    )


#: ``process(video, folder) -> {name: path}`` writes one input's files into ``folder``.
Process = Callable[[Path, Path], dict]


def _remove_stale_partials(folder: Path) -> None:
    """Remove the temporary folders that killed runs left for ``folder`` (those
    :func:`~xaikit._atomic.atomic_folder` names ``.<name>.<8 random characters>.partial``)."""
    pattern = re.compile(re.escape(f".{folder.name}.") + r"[a-z0-9_]{8}" + re.escape(PARTIAL))
    if folder.parent.is_dir():
        for entry in folder.parent.iterdir():
            if pattern.fullmatch(entry.name) and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)


def _process_one(video: Path, folder: Path, process: Process, options: dict, force: bool) -> bool:
    """Process one input into ``folder`` unless its results are complete; whether it ran."""
    source = fingerprint(video)
    if folder.exists() and not folder.is_dir():
        raise FileExistsError(f"{folder} is a file, not an output folder; it is left as it is")
    if not force and is_complete(folder, source, options):
        return False
    _remove_stale_partials(folder)
    with atomic_folder(folder) as temporary:
        files = process(video, temporary)
        write_manifest(temporary, source, options, files)
    return True


def _outcome(video: Path, folder: Path, process: Process, options, force: bool):
    """:func:`_process_one` with ``options`` (or ``options(video)``): whether it ran, or the
    exception it raised, returned so that a worker's failure is reported like a local one."""
    try:
        chosen = options(video) if callable(options) else options
        return _process_one(video, folder, process, chosen, force)
    except Exception as error:  # noqa: BLE001 - one input's failure is reported
        return error


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def write_failures(out: str | os.PathLike, failed: list[tuple[Path, str]]) -> Path:
    """Write ``out/failures.csv`` (columns ``input, reason``; header only when none failed)."""
    table = pd.DataFrame(
        {"input": [str(video) for video, _ in failed], "reason": [reason for _, reason in failed]},
        columns=["input", "reason"],
    )
    return save_table(table, Path(out) / FAILURES)


def run_batch(
    videos: Iterable[str | os.PathLike],
    out: str | os.PathLike,
    process: Process,
    options: dict | Callable[[Path], dict],
    *,
    force: bool = False,
    on_input: Callable[[Path, str, object], None] | None = None,
    client=None,
) -> BatchReport:
    """Run ``process`` on each input on its own, into ``output_folder(out, video)``.

    An input is skipped when its folder holds complete results for the same content and
    options (:func:`is_complete`), unless ``force``. Otherwise ``process(video, folder)``
    writes its files into a temporary folder and returns ``{name: path}`` of the files it
    wrote; the manifest is added and the folder swapped in whole. An exception fails that
    input only; ``out/failures.csv`` lists the failures at the end.

    Args:
        videos: the inputs (e.g. :func:`find_videos`); their file names must differ.
        out: the batch's output folder (checked writable first).
        process: ``process(video, folder) -> {name: path}``.
        options: what changes the results (stored in each manifest and compared on a
            rerun), or a function of the input giving them.
        force: redo inputs whose results are complete.
        on_input: called as ``on_input(video, event, detail)`` with ``event`` one of
            ``"done"`` (detail: the folder), ``"skipped"`` (the folder) and ``"failed"``
            (the reason), in the batch's process, as each input finishes.
        client: a ``dask.distributed.Client``: the inputs run as tasks on its workers
            (``process`` is sent to each worker once, so it must pickle), with one progress
            bar over all of them; ``None`` runs them here, one after another. The results are
            the same either way.

    Returns:
        A :class:`BatchReport`.

    Raises:
        NotWritableError: ``out`` cannot be written (before any input is processed).
        ValueError: two inputs with the same file name, or ``out`` the inputs' own folder
            (an output folder would be the input).
        BatchInterrupted: on ``KeyboardInterrupt``; its ``report`` lists the unfinished
            inputs (the one in progress is discarded, its previous folder kept).
    """
    videos = [Path(video) for video in videos]
    _check_outputs(videos, Path(out))
    check_writable(out)
    report = BatchReport(folders={video: output_folder(out, video) for video in videos})
    notify = on_input or (lambda video, event, detail: None)
    try:
        if client is None:
            _run_here(videos, report, process, options, force, notify)
        else:
            _run_on_cluster(client, videos, report, process, options, force, notify)
        report.unfinished = []
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            write_failures(out, report.failed)
        raise BatchInterrupted(report) from None
    write_failures(out, report.failed)
    return report


def _record(report: BatchReport, video: Path, outcome, notify) -> None:
    """Enter one input's outcome (whether it ran, or the exception it raised) in ``report``."""
    if isinstance(outcome, BaseException):
        report.failed.append((video, _reason(outcome)))
        notify(video, "failed", report.failed[-1][1])
        return
    (report.done if outcome else report.skipped).append(video)
    notify(video, "done" if outcome else "skipped", report.folders[video])


def _run_here(videos, report, process, options, force, notify) -> None:
    for index, video in enumerate(videos):
        report.unfinished = videos[index:]
        outcome = _outcome(video, report.folders[video], process, options, force)
        _record(report, video, outcome, notify)


def _run_on_cluster(client, videos, report, process, options, force, notify) -> None:
    """One task per input on ``client``'s workers; outcomes are entered as they finish and
    the report's lists are put back in input order at the end."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    shared = client.scatter(process, broadcast=True)  # sent to each worker once
    tasks = {}
    for video in videos:
        try:
            chosen = options(video) if callable(options) else options
        except Exception as error:  # noqa: BLE001 - one input's failure is reported
            _record(report, video, error, notify)
            continue
        task = client.submit(_outcome, video, report.folders[video], shared, chosen, force,
                             key=f"xaikit-track-{video.name}-{id(report)}", pure=False)  # fmt: skip
        tasks[task] = video
    report.unfinished = list(tasks.values())
    try:
        with tqdm(total=len(videos), initial=len(videos) - len(tasks), unit="video") as bar:
            for task in as_completed(tasks):
                video = tasks[task]
                _record(report, video, task.result(), notify)
                report.unfinished.remove(video)
                bar.update()
    except KeyboardInterrupt:
        client.cancel(list(tasks))
        raise
    order = {video: index for index, video in enumerate(videos)}
    for entries in (report.done, report.skipped, report.failed):
        entries.sort(key=lambda entry: order[entry[0] if isinstance(entry, tuple) else entry])


def _check_outputs(videos: list[Path], out: Path) -> None:
    """Refuse inputs whose output folders would coincide, or be an input itself."""
    seen: dict[str, Path] = {}
    for video in videos:
        if video.name in seen:
            raise ValueError(
                f"two inputs share the file name {video.name!r} ({seen[video.name]} and "
                f"{video}); their results would share an output folder"
            )
        seen[video.name] = video
        if output_folder(out, video).resolve() == video.resolve():
            raise ValueError(
                f"the output folder of {video} would be the video itself; give an output "
                f"folder other than the videos' folder {video.parent}"
            )
