"""A long video in fixed-length segments: detected in parallel, tracked as one.

Detection, the costly part, runs per segment (on a Dask cluster, one task each); the segments'
detections are joined in order and the tracker then runs once over the whole video, so an
identity continues across a segment border by the same association rule as within a segment,
and the results equal those of one sequential run, table for table.
"""

from __future__ import annotations

import os
from pathlib import Path

from xaikit.track.detection import VideoDetections, detect_video, join_detections

__all__ = ["detect_in_segments", "segment_ranges"]


def segment_ranges(frames: int, length: int) -> list[range]:
    """Consecutive frame ranges of at most ``length`` frames covering ``frames`` frames.

    Examples:
        >>> segment_ranges(10, 4)
        [range(0, 4), range(4, 8), range(8, 10)]
    """
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise ValueError(f"segment length must be an int >= 1 frame; got {length!r}")
    return [range(start, min(start + length, frames)) for start in range(0, frames, length)]


def detect_in_segments(
    model, video, segment_frames: int, *, client=None, **options
) -> VideoDetections:
    """:func:`~xaikit.track.detection.detect_video` of ``video`` in segments of
    ``segment_frames`` frames, joined (:func:`~xaikit.track.detection.join_detections`).

    Args:
        model: the detector.
        video: what :func:`detect_video` takes; a file (path or
            :class:`~xaikit.data.VideoReader`) when the segments run on a cluster, where each
            task opens it by its path.
        segment_frames: frames per segment, rounded up to a whole number of batches
            (``batch_size``, default 8), so that every frame is detected in the batch it has
            in one run (a batched forward's last bits can depend on the batch's size).
        client: a ``dask.distributed.Client``: one task per segment on its workers. ``None``:
            inside a Dask task (a video of ``xaikit track --workers``), the segments become
            tasks of that task's cluster; elsewhere they run here, one after another.
        **options: more keyword arguments of :func:`detect_video` (``batch_size``,
            ``device``, ``describe``...).

    Returns:
        The detections of the whole video, equal to one :func:`detect_video` run (timings
        aside).
    """
    from xaikit.data.source import open_frames

    batch = options.get("batch_size", 8)
    length = -(-segment_frames // batch) * batch if isinstance(segment_frames, int) else None
    ranges = segment_ranges(len(open_frames(video, options.get("fps"))), length or segment_frames)
    if client is None and _inside_dask_task():
        from distributed import worker_client

        with worker_client() as nested:  # leaves the worker's slot to the segments
            parts = _on_cluster(nested, model, video, ranges, options)
    elif client is not None:
        parts = _on_cluster(client, model, video, ranges, options)
    else:
        parts = [detect_video(model, video, start=r.start, stop=r.stop, **options) for r in ranges]
    return join_detections(parts)


def _on_cluster(client, model, video, ranges: list[range], options: dict) -> list:
    path = getattr(video, "path", video)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"segments on a cluster open the video by its path; got a {type(video).__name__}"
        )
    shared = client.scatter(model, broadcast=True)
    options = {**options, "progress": False}
    tasks = [
        client.submit(
            detect_video, shared, Path(path), start=r.start, stop=r.stop, pure=False, **options
        )  # fmt: skip
        for r in ranges
    ]
    return client.gather(tasks)


def _inside_dask_task() -> bool:
    try:
        from distributed import get_worker
    except ImportError:
        return False
    try:
        get_worker()
    except ValueError:
        return False
    return True
