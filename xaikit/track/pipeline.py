"""One video end to end: detect, track, clean, summarise, evaluate and write the tables."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from xaikit._atomic import write_text
from xaikit.track.association import track
from xaikit.track.behaviour import summary
from xaikit.track.detection import VideoDetections, detect_video
from xaikit.track.evaluation import evaluate_detections, evaluate_tracks
from xaikit.track.export import check_format, save_table
from xaikit.track.occlusion import fill_hidden
from xaikit.track.segments import detect_in_segments
from xaikit.track.smoothing import filter_velocity_spikes, interpolate_gaps, smooth_tracks

__all__ = ["TrackingResult", "analyse_video"]

_NO_SUMMARY = pd.DataFrame({"track": pd.Series(dtype="int64")})


@dataclass
class TrackingResult:
    """Everything :func:`analyse_video` computed.

    Attributes:
        detections: the detector's run (:class:`~xaikit.track.detection.VideoDetections`).
        tracks: per-frame table after spike filtering, gap filling and smoothing.
        summary: per-animal table (:func:`~xaikit.track.behaviour.summary`); empty when
            nothing was tracked.
        metrics: ``{"timing": ..., "detection": ..., "tracking": ...}`` (the last two only
            with ground truth).
        files: name → path of every file written.
    """

    detections: VideoDetections
    tracks: pd.DataFrame
    summary: pd.DataFrame
    metrics: dict
    files: dict[str, Path] = field(default_factory=dict)


def analyse_video(
    model,
    video,
    out: str | os.PathLike | None = None,
    *,
    truth: pd.DataFrame | None = None,
    animals: int | None = None,
    tracker: dict | None = None,
    zones=(),
    scale: float | None = None,
    max_gap: int = 10,
    smooth: bool = True,
    table_format: str = "csv",
    batch_size: int = 8,
    fps: float | None = None,
    device=None,
    appearance: bool = True,
    progress: bool = True,
    segment_frames: int | None = None,
) -> TrackingResult:
    """Detect, track (:func:`~xaikit.track.association.track`), drop velocity spikes, fill
    gaps of at most ``max_gap`` frames, summarise and, with ``truth``, evaluate one video.

    With ``animals`` known, an animal missing for longer (or up to the start or the end of the
    video) while under another one gets that animal's box (:func:`~xaikit.track.fill_hidden`).
    Then each track's boxes are smoothed over the whole track
    (:func:`~xaikit.track.smooth_tracks`), which keeps detector jitter out of distances and
    speeds.

    Files written into ``out`` (when given), each atomically: ``detections``, ``tracks`` and
    ``summary`` tables (``.csv`` or ``.parquet``) and ``metrics.json``. Tracking draws nothing:
    the overlay video is :func:`xaikit.viz.write_overlay` of the tracks (what ``xaikit track``
    writes as ``overlay.mp4``). For a set of files that must change together, write into
    :func:`xaikit._atomic.atomic_folder` (as :func:`xaikit.track.batch.run_batch` does).

    Args:
        model: a detector with ``detect`` (see :func:`~xaikit.track.detection.detect_video`).
        video: a path, a VideoReader, an ArenaClip or a ``(T, H, W, 3)`` uint8 array.
        out: output folder (created); ``None`` writes nothing.
        truth: ground truth (``frame, track, x0, y0, x1, y1``) to score against.
        animals: number of animals, if known (at most this many identities; hidden animals
            are placed under the one on top).
        tracker: more keyword arguments of :func:`~xaikit.track.association.track`
            (``high_score``, ``low_score``, ``max_missed``...).
        zones: :class:`~xaikit.track.zones.Zone` objects for the summary.
        scale: centimetres per pixel.
        max_gap: longest gap interpolated, in frames.
        smooth: smooth the boxes (``False`` keeps the detector's boxes).
        table_format: ``"csv"`` or ``"parquet"``.
        batch_size: frames per forward pass.
        fps: frame rate of an array of frames.
        device: ``None`` picks CUDA, then MPS, then CPU.
        appearance: let the tracker tell animals apart by colour too (descriptors computed
            from the frames during detection); ``False`` tracks on boxes alone.
        progress: show progress bars.
        segment_frames: detect the video in segments of this many frames
            (:func:`~xaikit.track.segments.detect_in_segments`: inside a Dask task, one task
            per segment on its cluster); tracking still runs once over the whole video, so
            the results are the same.

    Returns:
        A :class:`TrackingResult`.
    """
    check_format(table_format)
    options = dict(batch_size=batch_size, fps=fps, device=device, describe=appearance,
                   progress=progress)  # fmt: skip
    if segment_frames is None:
        run = detect_video(model, video, **options)
    else:
        run = detect_in_segments(model, video, segment_frames, **options)
    linked = track(run.table, appearance=run.appearance, animals=animals, **(tracker or {}))
    tracks = interpolate_gaps(filter_velocity_spikes(linked), max_gap)
    if animals is not None:
        tracks = fill_hidden(tracks, len(run.times))
    if smooth:
        tracks = smooth_tracks(tracks)
    table = summary(tracks, zones=zones, scale=scale) if len(tracks) else _NO_SUMMARY
    metrics: dict = {"timing": run.timing(), "frames": len(run.times), "fps": run.fps}
    if truth is not None:
        metrics["detection"] = evaluate_detections(run.table, truth)
        metrics["tracking"] = evaluate_tracks(tracks, truth)
    result = TrackingResult(run, tracks, table, metrics)
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in (("detections", run.table), ("tracks", tracks), ("summary", table)):
            result.files[name] = save_table(frame, folder / f"{name}.{table_format}")
        text = json.dumps(metrics, indent=2, default=float)
        result.files["metrics"] = write_text(folder / "metrics.json", text)
    return result
