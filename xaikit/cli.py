"""The ``xaikit`` command line: ``xaikit <command> ...`` (also ``python -m xaikit``).

Commands:
    train-detector: train a Darknet YOLO detector on labelled frames (YOLO, COCO, VOC,
        DeepLabCut, SLEAP or a box CSV), fine-tuning demo-mice or any Darknet model; write
        OUT/model.cfg, model.weights, model.names and card.json (see
        ``xaikit train-detector --help``).
    track: detect and track animals in a video or a folder of videos; write the per-frame
        and per-animal tables, an overlay video and, with ground truth, the metrics, into
        one folder per video (``OUT/<video file name>/``). Failures are isolated and
        reported, reruns skip finished videos (see ``xaikit track --help``).

Examples:
    >>> parser = build_parser()
    >>> arguments = parser.parse_args(["track", "clip.mp4", "--model", "demo-mice", "--out", "o"])
    >>> arguments.command, arguments.animals, arguments.format
    ('track', None, 'csv')
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

#: Exit statuses of ``xaikit track``.
EXIT_OK, EXIT_FAILED, EXIT_NOT_WRITABLE, EXIT_INTERRUPTED = 0, 1, 2, 130

TRACK_EPILOG = """\
outputs: each video's results go to OUT/<video file name>/ (the whole name, with its ending:
session1.mp4 and session1.mov go to OUT/session1.mp4/ and OUT/session1.mov/), written into a
hidden .partial folder that replaces it whole once complete, with manifest.json last.

reruns: a video whose folder holds complete results (manifest.json with the same video
content, size and SHA-256, and the same result options, and all its files) is skipped;
--force redoes it. Results of an earlier run with other options are redone and replaced whole
(no stale file is kept, e.g. overlay.mp4 after --no-overlay).

failures: a video that cannot be processed is reported and the others go on; OUT/failures.csv
lists the failures of the last run. Hidden files (.name, ._name.mp4) are never inputs.
Ctrl-C stops after saying which videos finished; rerun the command to finish the rest.

many videos: --workers N runs them in N processes of a Dask LocalCluster on this machine;
--scheduler ADDRESS sends them to a running Dask cluster (every worker must see the videos and
OUT). Same rules and the same tables as a run in one process. --segment-frames N also splits
each long video into segments of N frames detected as tasks of their own; the tracker then runs
once over the joined detections, so identities continue across segment borders.

exit status: 0 all done, 1 some video failed (or bad arguments), 2 OUT cannot be written,
130 interrupted.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one subparser per command."""
    parser = argparse.ArgumentParser(prog="xaikit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train_detector(commands)
    _add_track(commands)
    return parser


TRAIN_EPILOG = """\
example (a DeepLabCut project; keypoints become one box per animal):
  xaikit train-detector --labels myproject/labeled-data/session1/CollectedData_me.csv \\
      --out models/my-mice
  xaikit track session2.mp4 --model models/my-mice --out results

outputs: OUT/model.cfg, OUT/model.weights (Darknet format: OpenCV DNN and Darknet read them),
OUT/model.names and OUT/card.json (data, label conversion, recipe, validation AP of every
epoch, times). The best epoch on the held-out frames is kept. OUT is written whole at the end;
an existing OUT must be a folder this command wrote. Ctrl-C after an epoch keeps the best epoch
so far (exit status 130).
"""


def _input_size(text: str) -> tuple[int, int]:
    """``"320x256"`` (width x height, as Darknet's cfg gives them) -> ``(256, 320)``."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT such as 320x256; got {text!r}"
        ) from None
    return height, width


def _add_train_detector(commands) -> None:
    # No xaikit import here: building the parser stays instant (pandas and OpenCV load later).
    train = commands.add_parser(
        "train-detector",
        help="train a detector on your labelled frames",
        description="Train a Darknet YOLO detector on labelled frames; write a model folder.",
        epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument(
        "--images", type=Path,
        help="the folder of the labelled images, or the video of the labelled frames "
        "(default: where the labels say)",
    )  # fmt: skip
    train.add_argument("--labels", type=Path, required=True, help="the label file or folder")
    train.add_argument(
        "--format", help="yolo, coco, voc, deeplabcut, sleap or csv (default: by the file)"
    )
    train.add_argument("--out", type=Path, required=True, help="the model folder to write")
    start = train.add_mutually_exclusive_group()
    start.add_argument(
        "--from", dest="start", default="demo-mice",
        help="demo-mice (default), a model folder this command wrote, or 'scratch'",
    )  # fmt: skip
    start.add_argument("--cfg", type=Path, help="a Darknet .cfg to train (with --weights)")
    train.add_argument("--weights", type=Path, help="the .weights of --cfg (omit: from scratch)")
    train.add_argument("--input", type=_input_size, help="model input WIDTHxHEIGHT, e.g. 320x256")
    train.add_argument("--epochs", type=int, help="passes over the frames (default: by size)")
    train.add_argument("--val", type=float, default=0.2, help="share held out (0.2)")
    train.add_argument("--seed", type=int, default=0, help="seed of split and training (0)")
    train.add_argument(
        "--negatives", type=Path, action="append", default=[],
        help="a video of the empty arena (repeatable)",
    )  # fmt: skip
    train.add_argument(
        "--margin", type=float,
        help="keypoint labels: box widening, share of the extent's longer side (0.25)",
    )  # fmt: skip
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    train.set_defaults(run=_run_train_detector)


def _run_train_detector(arguments) -> int:
    import dataclasses

    from xaikit.data.keypoints import MARGIN
    from xaikit.track.training import FILES, Recipe, train_detector

    if arguments.weights is not None and arguments.cfg is None:
        raise ValueError("--weights goes with --cfg")
    recipe = dataclasses.replace(Recipe(), epochs=arguments.epochs, batch_size=arguments.batch_size)
    trained = train_detector(
        arguments.images,
        arguments.labels,
        arguments.out,
        format=arguments.format,
        start=None if arguments.start == "scratch" else arguments.start,
        cfg=arguments.cfg,
        weights=arguments.weights,
        input_size=arguments.input,
        val=arguments.val,
        seed=arguments.seed,
        negatives=arguments.negatives,
        margin=MARGIN if arguments.margin is None else arguments.margin,
        recipe=recipe,
        device=arguments.device,
    )
    validation, timing = trained.card["validation"], trained.card["training"]
    if validation["ap50"] is None:
        scored = "no frame held out (--val 0), the last epoch kept"
    else:
        scored = (
            f"validation AP@0.5 {validation['ap50']:.3f}, right box count on "
            f"{validation['frames_right']:.0%} of {trained.card['data']['val_frames']} "
            "held-out frames"
        )
    print(
        f"best epoch {trained.best_epoch} of {timing['epochs_done']}: {scored}; "
        f"{timing['seconds']:.0f} s"
    )
    print(f"wrote {trained.folder}/ ({', '.join(FILES)})")
    if trained.interrupted:
        print("interrupted: the best epoch so far was kept", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK


def _add_track(commands) -> None:
    track = commands.add_parser(
        "track",
        help="detect and track animals in videos",
        description="Detect and track animals; write tables, an overlay video and metrics.",
        epilog=TRACK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    track.add_argument("video", type=Path, help="a video file or a folder of videos")
    track.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output folder; each video's results go to OUT/<video file name>/",
    )
    source = track.add_mutually_exclusive_group(required=True)
    source.add_argument("--cfg", type=Path, help="Darknet .cfg (with --weights)")
    source.add_argument(
        "--model",
        help="a model name known to xaikit.models.load (demo-mice), or a folder written by "
        "xaikit train-detector",
    )
    track.add_argument("--weights", type=Path, help="Darknet .weights for --cfg")
    track.add_argument(
        "--truth",
        type=Path,
        help="ground-truth CSV (frame, track, x0, y0, x1, y1) for one video, or a folder "
        "holding <video name without ending>.csv per video",
    )
    track.add_argument("--animals", type=int, help="number of animals, if known")
    track.add_argument(
        "--high-score", type=float, default=0.5, help="score that starts a track (0.5)"
    )
    track.add_argument(
        "--low-score", type=float, default=0.1, help="least score that continues one (0.1)"
    )
    track.add_argument("--zones", type=Path, help="JSON list of zones (see xaikit.track.Zone)")
    track.add_argument("--cm-per-pixel", type=float, help="calibration scale")
    track.add_argument("--format", choices=("csv", "parquet"), default="csv")
    track.add_argument("--batch-size", type=int, default=8)
    track.add_argument("--max-gap", type=int, default=10, help="longest gap filled (frames)")
    track.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: best available)")
    track.add_argument("--no-overlay", action="store_true", help="skip the overlay video")
    track.add_argument(
        "--no-smooth", action="store_true", help="keep the detector's boxes (no RTS smoothing)"
    )
    track.add_argument(
        "--no-appearance",
        action="store_true",
        help="track on boxes alone, without the colour of each animal",
    )
    track.add_argument(
        "--force", action="store_true", help="redo videos whose complete results exist"
    )
    track.add_argument(
        "--segment-frames",
        type=int,
        help="detect each video in segments of N frames, one Dask task per segment with "
        "--workers / --scheduler; tracks continue across segment borders (the results do not "
        "change)",
    )
    cluster = track.add_mutually_exclusive_group()
    cluster.add_argument(
        "--workers",
        type=int,
        help="process the videos in N worker processes on this machine (a Dask LocalCluster)",
    )
    cluster.add_argument(
        "--scheduler",
        help="send the videos to an existing Dask cluster at this address (tcp://host:8786)",
    )
    track.set_defaults(run=_run_track)


def _truth_path(video: Path, truth: Path | None) -> Path | None:
    """The ground-truth file of ``video``: ``truth`` itself, or ``truth/<stem>.csv``."""
    if truth is None:
        return None
    if truth.is_dir():
        candidate = truth / f"{video.stem}.csv"
        return candidate if candidate.is_file() else None
    return truth


def _check_truth(truth: Path | None, single: bool) -> None:
    if truth is None or truth.is_dir():
        return
    if not truth.is_file():
        raise FileNotFoundError(f"no such ground-truth file or folder: {truth}")
    if not single:
        raise ValueError("--truth must be a folder of <video name>.csv files for a folder")


def _load_model(arguments):
    import xaikit as xk

    if arguments.model is not None and Path(arguments.model).is_dir():
        return xk.models.load_darknet(arguments.model, device=arguments.device)
    if arguments.model is not None:
        return xk.models.load(arguments.model, device=arguments.device)
    if arguments.weights is None:
        raise ValueError("--cfg needs --weights (the Darknet .weights file)")
    return xk.models.load_darknet(arguments.cfg, arguments.weights, device=arguments.device)


def _detector_identity(arguments) -> dict:
    """What names the detector in the manifest: the model name, or the files' SHA-256."""
    from xaikit.track.batch import fingerprint

    if arguments.model is not None and Path(arguments.model).is_dir():
        folder = Path(arguments.model)
        return {f"model/{name}": fingerprint(folder / name)["sha256"]
                for name in ("model.cfg", "model.weights")}  # fmt: skip
    if arguments.model is not None:
        return {"model": arguments.model}
    return {name: fingerprint(getattr(arguments, name))["sha256"] for name in ("cfg", "weights")}


class _TrackJob:
    """``xaikit track``'s work on one video, for :func:`xaikit.track.batch.run_batch`: the
    options that change its results, and ``job(video, folder)`` writing its files."""

    def __init__(self, arguments, model, zones):
        self.arguments, self.model, self.zones = arguments, model, zones
        self.common = {
            "detector": _detector_identity(arguments),
            "animals": arguments.animals,
            "high_score": arguments.high_score,
            "low_score": arguments.low_score,
            "zones": [asdict(zone) for zone in zones],
            "cm_per_pixel": arguments.cm_per_pixel,
            "format": arguments.format,
            "max_gap": arguments.max_gap,
            "smooth": not arguments.no_smooth,
            "appearance": not arguments.no_appearance,
            "overlay": not arguments.no_overlay,
        }

    def options(self, video: Path) -> dict:
        """The options of ``video``'s results: the common ones and its ground truth's hash."""
        from xaikit.track.batch import fingerprint

        truth = _truth_path(video, self.arguments.truth)
        return {**self.common, "truth": None if truth is None else fingerprint(truth)["sha256"]}

    def __call__(self, video: Path, folder: Path) -> dict[str, Path]:
        import pandas as pd

        from xaikit.data import open_video
        from xaikit.track import analyse_video
        from xaikit.viz import write_overlay

        arguments = self.arguments
        truth = _truth_path(video, arguments.truth)
        reader = open_video(video)
        result = analyse_video(
            self.model,
            reader,
            folder,
            truth=None if truth is None else pd.read_csv(truth),
            animals=arguments.animals,
            tracker={"high_score": arguments.high_score, "low_score": arguments.low_score},
            zones=self.zones,
            scale=arguments.cm_per_pixel,
            max_gap=arguments.max_gap,
            smooth=not arguments.no_smooth,
            table_format=arguments.format,
            batch_size=arguments.batch_size,
            device=arguments.device,
            appearance=not arguments.no_appearance,
            segment_frames=arguments.segment_frames,
        )
        if not arguments.no_overlay:
            result.files["overlay"] = folder / "overlay.mp4"
            write_overlay(result.files["overlay"], reader, result.tracks)
        return result.files


def _result_line(video: Path, folder: Path) -> str:
    """One line on a finished video, read from the files it wrote (the work may have run on
    another machine)."""
    import pandas as pd

    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    tracks = next(folder.glob("tracks.*"))
    table = pd.read_parquet(tracks) if tracks.suffix == ".parquet" else pd.read_csv(tracks)
    line = (
        f"{video.name}: {metrics['frames']} frames, {table['track'].nunique()} animal(s), "
        f"{metrics['timing']['frames_per_second']:.1f} frames/s detection"
    )
    if "tracking" in metrics:
        scores = {**metrics["detection"], **metrics["tracking"]}
        line += "".join(f", {key} {scores[key]:.3f}" for key in ("ap", "f1", "mota", "idf1"))
    return line


def _reporter():
    """Print each video's outcome as it comes: results on stdout, failures on stderr."""

    def report(video: Path, event: str, detail) -> None:
        if event == "done":
            print(f"{_result_line(video, detail)} -> {detail}")
        elif event == "skipped":
            print(f"{video.name}: complete results in {detail}, skipped (--force redoes it)")
        else:
            print(f"xaikit track: {video}: failed: {detail}", file=sys.stderr)

    return report


def _print_summary(report, out: Path) -> None:
    from xaikit.track.batch import FAILURES

    total = len(report.folders)
    print(
        f"{total} video(s): {len(report.done)} done, {len(report.skipped)} skipped (complete), "
        f"{len(report.failed)} failed"
        + (f", {len(report.unfinished)} not finished" if report.unfinished else "")
    )
    if report.failed:
        print(f"xaikit track: {len(report.failed)} video(s) failed (in {out / FAILURES}):",
              file=sys.stderr)  # fmt: skip
        for video, reason in report.failed:
            print(f"  {video}: {reason}", file=sys.stderr)


def _print_interrupted(report) -> None:
    finished = [video.name for video in (*report.done, *report.skipped)]
    print(
        "xaikit track: interrupted. Finished: "
        + (", ".join(finished) or "none")
        + ". Not finished: "
        + ", ".join(video.name for video in report.unfinished)
        + ". Rerun the same command to finish them.",
        file=sys.stderr,
    )


def _run_track(arguments) -> int:
    from xaikit.track.batch import BatchInterrupted, check_writable, find_videos, run_batch
    from xaikit.track.export import check_format
    from xaikit.track.zones import read_zones

    check_format(arguments.format)
    videos = find_videos(arguments.video)
    _check_truth(arguments.truth, single=arguments.video.is_file())
    zones = [] if arguments.zones is None else read_zones(arguments.zones)
    check_writable(arguments.out)
    job = _TrackJob(arguments, _load_model(arguments), zones)
    client, cluster = _dask_client(arguments)
    try:
        report = run_batch(
            videos,
            arguments.out,
            job,
            job.options,
            force=arguments.force,
            on_input=_reporter(),
            client=client,
        )
    except BatchInterrupted as interrupt:
        _print_summary(interrupt.report, arguments.out)
        _print_interrupted(interrupt.report)
        return EXIT_INTERRUPTED
    finally:
        if client is not None:
            client.close()
        if cluster is not None:  # the LocalCluster this command started
            cluster.close()
    _print_summary(report, arguments.out)
    return EXIT_OK if report.ok else EXIT_FAILED


def _dask_client(arguments):
    """``(client, cluster)`` for ``--workers N`` (a LocalCluster of N processes here, which
    the caller closes) or ``--scheduler ADDRESS`` (an existing cluster; ``cluster`` is
    ``None``); ``(None, None)`` for a run in this process."""
    if arguments.workers is None and arguments.scheduler is None:
        return None, None
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise ImportError(
            "--workers and --scheduler need Dask: pip install 'xaikit[dask]' (dask.distributed)"
        ) from error
    cluster = None
    if arguments.scheduler is not None:
        client = Client(arguments.scheduler)
    else:
        if arguments.workers < 1:
            raise ValueError(f"--workers must be at least 1; got {arguments.workers}")
        cluster = LocalCluster(
            n_workers=arguments.workers, threads_per_worker=1, processes=True,
            dashboard_address=":0",
        )  # fmt: skip
        client = Client(cluster)
    print(f"Dask: {len(client.scheduler_info()['workers'])} worker(s); dashboard "
          f"{client.dashboard_link}")  # fmt: skip
    return client, cluster


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status: 0 success, 1 an error in the input (or
    a video that failed), 2 an output folder that cannot be written, 130 interrupted."""
    from xaikit.track.batch import NotWritableError

    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        return arguments.run(arguments)
    except NotWritableError as error:
        print(f"xaikit {arguments.command}: error: {error}", file=sys.stderr)
        return EXIT_NOT_WRITABLE
    except (FileNotFoundError, ValueError, ImportError, RuntimeError) as error:
        print(f"xaikit {arguments.command}: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"xaikit {arguments.command}: interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
