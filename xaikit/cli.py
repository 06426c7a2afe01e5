"""The ``xaikit`` command line: ``xaikit <command> ...`` (also ``python -m xaikit``).

Commands:
    track: detect and track animals in a video or a folder of videos; write the per-frame
        and per-animal tables, an overlay video and, with ground truth, the metrics.

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
from pathlib import Path

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one subparser per command."""
    parser = argparse.ArgumentParser(prog="xaikit", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_track(commands)
    return parser


def _add_track(commands) -> None:
    track = commands.add_parser(
        "track",
        help="detect and track animals in videos",
        description="Detect and track animals; write tables, an overlay video and metrics.",
    )
    track.add_argument("video", type=Path, help="a video file or a folder of videos")
    track.add_argument("--out", type=Path, required=True, help="output folder")
    source = track.add_mutually_exclusive_group(required=True)
    source.add_argument("--cfg", type=Path, help="Darknet .cfg (with --weights)")
    source.add_argument("--model", help="a model name known to xaikit.models.load (demo-mice)")
    track.add_argument("--weights", type=Path, help="Darknet .weights for --cfg")
    track.add_argument(
        "--truth",
        type=Path,
        help="ground-truth CSV (frame, track, x0, y0, x1, y1) for one video, or a folder "
        "holding <video name>.csv per video",
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
    track.set_defaults(run=_run_track)


def _videos(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
        if not found:
            raise FileNotFoundError(f"no video ({', '.join(VIDEO_SUFFIXES)}) in {path}")
        return found
    if not path.is_file():
        raise FileNotFoundError(f"no such video or folder: {path}")
    return [path]


def _truth_for(video: Path, truth: Path | None, single: bool):
    import pandas as pd

    if truth is None:
        return None
    if truth.is_dir():
        candidate = truth / f"{video.stem}.csv"
        return pd.read_csv(candidate) if candidate.is_file() else None
    if not truth.is_file():
        raise FileNotFoundError(f"no such ground-truth file or folder: {truth}")
    if not single:
        raise ValueError("--truth must be a folder of <video name>.csv files for a folder")
    return pd.read_csv(truth)


def _load_model(arguments):
    import xaikit as xk

    if arguments.model is not None:
        return xk.models.load(arguments.model, device=arguments.device)
    if arguments.weights is None:
        raise ValueError("--cfg needs --weights (the Darknet .weights file)")
    return xk.models.load_darknet(arguments.cfg, arguments.weights, device=arguments.device)


def _run_track(arguments) -> int:
    from tqdm.auto import tqdm

    from xaikit.data import open_video
    from xaikit.track import Zone, analyse_video
    from xaikit.track.export import check_format
    from xaikit.viz import write_overlay

    check_format(arguments.format)
    videos = _videos(arguments.video)
    zones = []
    if arguments.zones is not None:
        zones = [Zone.from_dict(spec) for spec in json.loads(arguments.zones.read_text())]
    model = _load_model(arguments)
    single = len(videos) == 1 and arguments.video.is_file()
    for video in tqdm(videos, desc="videos", unit="video", disable=single):
        out = arguments.out if single else arguments.out / video.stem
        reader = open_video(video)
        result = analyse_video(
            model,
            reader,
            out,
            truth=_truth_for(video, arguments.truth, single),
            animals=arguments.animals,
            tracker={"high_score": arguments.high_score, "low_score": arguments.low_score},
            zones=zones,
            scale=arguments.cm_per_pixel,
            max_gap=arguments.max_gap,
            smooth=not arguments.no_smooth,
            table_format=arguments.format,
            batch_size=arguments.batch_size,
            device=arguments.device,
            appearance=not arguments.no_appearance,
        )
        if not arguments.no_overlay:
            result.files["overlay"] = out / "overlay.mp4"
            write_overlay(result.files["overlay"], reader, result.tracks)
        line = (
            f"{video.name}: {result.metrics['frames']} frames, "
            f"{result.tracks['track'].nunique()} animal(s), "
            f"{result.metrics['timing']['frames_per_second']:.1f} frames/s detection"
        )
        if "tracking" in result.metrics:
            scores = {**result.metrics["detection"], **result.metrics["tracking"]}
            line += ", ".join(
                ["", *(f"{key} {scores[key]:.3f}" for key in ("ap", "f1", "mota", "idf1"))]
            )
        print(f"{line} -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (0 success, 1 an error in the input)."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        return arguments.run(arguments)
    except (FileNotFoundError, ValueError, ImportError, RuntimeError) as error:
        print(f"xaikit {arguments.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
