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

__all__ = ["VideoDetections", "detect_video"]


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
    """

    table: pd.DataFrame
    times: np.ndarray
    inference_time: np.ndarray
    fps: float
    shape: tuple[int, int, int, int]
    appearance: np.ndarray | None = None

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
) -> VideoDetections:
    """Detect objects in every frame of a video, ``batch_size`` frames per forward pass.

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

    Returns:
        A :class:`VideoDetections`.

    Raises:
        ValueError: a bad video, ``batch_size < 1``, or a model without ``detect``.

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
    frames, times, fps = source.frames, source.times, source.require_fps()
    target = resolve_device(device)
    if hasattr(model, "to"):
        model.to(target)
    rows, looks, inference = [], [], np.zeros(len(times))
    with tqdm(
        total=len(times), desc="detect", unit="frame", smoothing=0, disable=not progress
    ) as bar:
        for start in range(0, len(times), batch_size):
            batch = [np.asarray(frame) for frame in frames[start : start + batch_size]]
            began = time.perf_counter()
            found = model.detect(batch, conf_threshold=conf_threshold, iou_threshold=iou_threshold)
            found = [
                to_numpy(boxes).reshape(-1, 6).astype(np.float64) for boxes in found
            ]  # waits for the device
            inference[start : start + len(batch)] = (time.perf_counter() - began) / len(batch)
            for offset, boxes in enumerate(found):
                frame = start + offset
                rows.append(
                    np.column_stack([np.full((len(boxes), 2), (frame, times[frame])), boxes])
                )
                if describe:
                    looks.append(describe_frame(batch[offset], boxes[:, :4], boxes[:, 4]))
            bar.update(len(batch))
    data = np.concatenate(rows) if rows else np.zeros((0, 8))
    table = pd.DataFrame(data, columns=[*DETECTION_COLUMNS, "class"])
    table = table.astype({"frame": np.int64, "class": np.int64})
    appearance = np.concatenate([np.zeros((0, DESCRIPTOR_SIZE)), *looks]) if describe else None
    return VideoDetections(table, times, inference, fps, tuple(frames.shape), appearance)
