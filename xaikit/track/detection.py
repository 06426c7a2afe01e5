"""Running a detector over every frame of a video, in batches, timing each frame."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xaikit._arrays import VideoShape, to_numpy
from xaikit._runtime import device as resolve_device
from xaikit.data.source import open_frames
from xaikit.track._tables import DETECTION_COLUMNS
from xaikit.track.appearance import DESCRIPTOR_SIZE, describe_frame

__all__ = ["VideoDetections", "detect_video", "join_detections"]


@dataclass
class VideoDetections(VideoShape):
    """A detector's output over a whole video.

    Attributes:
        table: one row per detection: ``frame, time, x0, y0, x1, y1, score, class`` (boxes in
            the frame's pixels; ``time`` in seconds from the first frame).
        times: ``(T,)`` time of every frame, in seconds from the first frame.
        inference_time: ``(T,)`` seconds of detector time per frame (each frame is charged its
            batch's time divided by the batch size; ``batch_size=1`` times single images, as
            the mice paper's Fig. 5).
        fps: frames per second of the video.
        shape: ``(T, H, W, 3)`` of the video, as :attr:`xaikit.data.VideoReader.shape`
            (:attr:`height` and :attr:`width` give H and W).
        appearance: ``(N, 128)`` colour descriptor of each row of ``table``
            (:func:`~xaikit.track.appearance.describe_detections`; the tracker's ``appearance``),
            or ``None`` when not computed.
        start: the video's frame number of the first frame (0 unless this is a segment of a
            longer video); ``table``'s ``frame`` and ``times`` are the video's own.
    """

    table: pd.DataFrame
    times: np.ndarray
    inference_time: np.ndarray
    fps: float
    shape: tuple[int, int, int, int]
    appearance: np.ndarray | None = None
    start: int = 0

    def __post_init__(self):
        shape = tuple(self.shape)
        if len(shape) != 4 or shape[-1] != 3 or shape[0] != len(self.times) or min(shape) < 1:
            raise ValueError(
                f"shape must be the video's (T, H, W, 3) with T = {len(self.times)} frames (one "
                f"per time); got {shape}"
            )
        self.shape = tuple(int(side) for side in shape)

    def timing(self) -> dict[str, float]:
        """Mean and standard deviation of the per-frame time (s) and the frames per second.

        Examples:
            >>> import numpy as np, pandas as pd
            >>> run = VideoDetections(pd.DataFrame(), np.arange(3) / 30,
            ...                       np.array([0.1, 0.2, 0.3]), 30.0, (3, 48, 64, 3))
            >>> {key: round(value, 4) for key, value in run.timing().items()}
            {'mean_s': 0.2, 'std_s': 0.0816, 'frames_per_second': 5.0, 'total_s': 0.6}
        """
        total = float(self.inference_time.sum())
        return {
            "mean_s": float(self.inference_time.mean()),
            "std_s": float(self.inference_time.std()),
            "frames_per_second": len(self.inference_time) / total if total > 0 else float("inf"),
            "total_s": total,
        }


def detect_video(
    model,
    video,
    *,
    batch_size: int = 8,
    conf_threshold: float = 0.05,
    iou_threshold: float = 0.45,
    fps: float | None = None,
    device=None,
    describe: bool = True,
    progress: bool = True,
    start: int = 0,
    stop: int | None = None,
) -> VideoDetections:
    """Detect objects in every frame of a video (or of its frames ``start`` to ``stop``),
    ``batch_size`` frames per forward pass.

    The threshold is low on purpose: the tracker uses low-score boxes to keep identities
    through occlusions (ByteTrack); filter ``table`` by ``score`` for other uses.

    Args:
        model: a detector with ``detect(frames, conf_threshold=, iou_threshold=)`` taking a
            list of ``(H, W, 3)`` uint8 RGB frames and returning per frame an ``(n, 6)`` tensor
            ``x0, y0, x1, y1, score, class`` in frame pixels, such as
            :class:`~xaikit.models.Darknet` (``xk.models.load("demo-mice")``,
            ``xk.models.load_darknet(cfg, weights)``). A torch module is moved to ``device``.
        video: a path, a :class:`~xaikit.data.VideoReader`, an
            :class:`~xaikit.data.synthetic.ArenaClip` or a ``(T, H, W, 3)`` uint8 array.
        batch_size: frames per forward pass.
        conf_threshold: detections must score above it.
        iou_threshold: NMS threshold.
        fps: frame rate of an array of frames (ignored otherwise).
        device: ``None`` picks CUDA, then MPS, then CPU (see :func:`xaikit.device`).
        describe: also compute each detection's colour descriptor while its frame is in
            memory (``appearance``; not counted in ``inference_time``).
        progress: show a ``tqdm`` progress bar.
        start, stop: detect frames ``start`` up to ``stop`` (excluded; ``None``: the last)
            only, one segment of the video (see :func:`join_detections`).

    Returns:
        A :class:`VideoDetections`.

    Raises:
        ValueError: a bad video, ``batch_size < 1``, a model without ``detect``, or an empty
            or out-of-range segment.

    Examples:
        >>> import numpy as np, torch
        >>> class Still:  # a stand-in detector: one fixed box per frame
        ...     def detect(self, frames, conf_threshold, iou_threshold):
        ...         return [torch.tensor([[2.0, 3.0, 12.0, 9.0, 0.5, 0.0]]) for _ in frames]
        >>> run = detect_video(Still(), np.zeros((5, 24, 32, 3), np.uint8), fps=10,
        ...                    batch_size=2, progress=False)
        >>> run.table[["frame", "time", "x0", "score"]].values.tolist()[-1]
        [4.0, 0.4, 2.0, 0.5]
        >>> len(run.inference_time), run.shape, (run.height, run.width)
        (5, (5, 24, 32, 3), (24, 32))
    """
    from tqdm.auto import tqdm

    if not hasattr(model, "detect"):
        raise ValueError(
            f"model must have a detect(frames, ...) method (a Darknet model); got "
            f"{type(model).__name__}"
        )
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1; got {batch_size!r}")
    source = open_frames(video, fps)
    stop = len(source) if stop is None else stop
    if not 0 <= start < stop <= len(source):
        raise ValueError(
            f"frames {start} to {stop} are not a segment of a video of {len(source)} frames"
        )
    frames, times, fps = source.frames, source.times[start:stop], source.require_fps()
    height, width = source.height, source.width
    target = resolve_device(device)
    if hasattr(model, "to"):
        model.to(target)
    rows, looks, inference = [], [], np.zeros(len(times))
    with tqdm(
        total=len(times), desc="detect", unit="frame", smoothing=0, disable=not progress
    ) as bar:
        for first in range(0, len(times), batch_size):
            last = start + min(first + batch_size, len(times))
            batch = [np.asarray(frame) for frame in frames[start + first : last]]
            began = time.perf_counter()
            found = model.detect(batch, conf_threshold=conf_threshold, iou_threshold=iou_threshold)
            found = [
                to_numpy(boxes).reshape(-1, 6).astype(np.float64) for boxes in found
            ]  # waits for the device
            inference[first : first + len(batch)] = (time.perf_counter() - began) / len(batch)
            for offset, boxes in enumerate(found):
                frame = first + offset
                rows.append(
                    np.column_stack(
                        [np.full((len(boxes), 2), (start + frame, times[frame])), boxes]
                    )
                )
                if describe:
                    looks.append(describe_frame(batch[offset], boxes[:, :4], boxes[:, 4]))
            bar.update(len(batch))
    data = np.concatenate(rows) if rows else np.zeros((0, 8))
    table = pd.DataFrame(data, columns=[*DETECTION_COLUMNS, "class"])
    table = table.astype({"frame": np.int64, "class": np.int64})
    appearance = np.concatenate([np.zeros((0, DESCRIPTOR_SIZE)), *looks]) if describe else None
    shape = (len(times), height, width, 3)
    return VideoDetections(table, times, inference, fps, shape, appearance, start)


def join_detections(parts: list[VideoDetections]) -> VideoDetections:
    """The detections of consecutive segments of one video as those of the whole.

    Args:
        parts: :func:`detect_video` runs of frames ``start`` to ``stop``, in order, each
            starting where the one before stopped.

    Returns:
        One :class:`VideoDetections` from the first part's ``start`` on: tables, times, timings
        and descriptors concatenated (equal to one run over the whole, timings aside).

    Raises:
        ValueError: no parts, parts of other sizes or frame rates, gaps or overlaps.

    Examples:
        >>> import numpy as np, torch
        >>> class Still:  # a stand-in detector: one fixed box per frame
        ...     def detect(self, frames, conf_threshold, iou_threshold):
        ...         return [torch.tensor([[2.0, 3.0, 12.0, 9.0, 0.5, 0.0]]) for _ in frames]
        >>> video = np.zeros((5, 24, 32, 3), np.uint8)
        >>> parts = [detect_video(Still(), video, fps=10, start=a, stop=b, progress=False)
        ...          for a, b in ((0, 2), (2, 5))]
        >>> whole = join_detections(parts)
        >>> whole.table["frame"].tolist(), whole.shape
        ([0, 1, 2, 3, 4], (5, 24, 32, 3))
    """
    if not parts:
        raise ValueError("join_detections needs at least one segment")
    first = parts[0]
    expected = first.start
    for part in parts:
        if part.start != expected:
            raise ValueError(
                f"segments must follow each other: one starts at frame {part.start}, "
                f"expected {expected}"
            )
        if part.shape[1:] != first.shape[1:] or part.fps != first.fps:
            raise ValueError("segments of one video must share their frame size and rate")
        expected += len(part.times)
    looks = [part.appearance for part in parts]
    return VideoDetections(
        pd.concat([part.table for part in parts], ignore_index=True),
        np.concatenate([part.times for part in parts]),
        np.concatenate([part.inference_time for part in parts]),
        first.fps,
        (expected - first.start, *first.shape[1:]),
        None if any(look is None for look in looks) else np.concatenate(looks),
        first.start,
    )
