"""Any video the user has, as one random-access sequence of frames: :func:`open_frames`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xaikit._arrays import VideoShape, check_frames, to_numpy


@dataclass(frozen=True)
class Frames(VideoShape):
    """The frames of a video with their times.

    Attributes:
        frames: ``len`` and ``[i]`` give ``(H, W, 3)`` uint8 RGB frames (a
            :class:`~xaikit.data.VideoReader`, a ``(T, H, W, 3)`` array or another reader).
        times: ``(T,)`` seconds from the first frame (the file's timestamps; ``frame / fps``
            for an array; NaN for an array without a frame rate).
        fps: frames per second, ``None`` for an array given without one.
        shape: ``(T, H, W, 3)``.
    """

    frames: object
    times: np.ndarray
    fps: float | None
    shape: tuple[int, int, int, int]

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: int) -> np.ndarray:
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} is out of range: the video has {len(self)} frames")
        return np.asarray(self.frames[int(index)])

    def require_fps(self) -> float:
        """The frame rate; raises ``ValueError`` for an array given without one."""
        if self.fps is None:
            raise ValueError("an array of frames needs fps > 0; pass fps=")
        return self.fps


def open_frames(video, fps: float | None = None) -> Frames:
    """A video path, a :class:`~xaikit.data.VideoReader`, an object with ``.frames`` and
    ``.fps`` (an :class:`~xaikit.data.synthetic.ArenaClip`), another reader (``len``, ``[i]``,
    optional ``fps`` and ``timestamps``) or a ``(T, H, W, 3)`` uint8 array (or tensor), as
    :class:`Frames`: the one way xaikit opens whatever video it is given.

    Args:
        video: the video.
        fps: the frame rate of an array or a reader without one (a file has its own; an
            ``ArenaClip``'s is replaced by it when given).

    Raises:
        ValueError: no frame, frames that are not ``(H, W, 3)`` uint8, or ``fps <= 0``.
        TypeError: anything else.

    Examples:
        >>> frames = open_frames(np.zeros((3, 4, 6, 3), np.uint8), fps=10)
        >>> len(frames), frames.shape, frames.times.tolist(), frames[2].shape
        (3, (3, 4, 6, 3), [0.0, 0.1, 0.2], (4, 6, 3))
    """
    from xaikit.data.video import VideoReader, open_video

    if fps is not None and not fps > 0:
        raise ValueError(f"fps must be > 0; got {fps!r}")
    if isinstance(video, (str, os.PathLike)):
        video = open_video(Path(video))
    if isinstance(video, VideoReader):
        times = np.asarray(video.timestamps, dtype=np.float64)
        return Frames(video, times - times[0], float(video.fps), video.shape)
    if not isinstance(video, np.ndarray) and hasattr(video, "frames"):  # an ArenaClip
        fps, video = getattr(video, "fps", None) if fps is None else fps, video.frames
    if hasattr(video, "detach"):
        video = to_numpy(video).astype(np.uint8)
    if isinstance(video, np.ndarray):
        frames = check_frames(video, "video")
        return Frames(frames, _times(len(frames), fps), fps and float(fps), frames.shape)
    if hasattr(video, "__getitem__") and hasattr(video, "__len__") and len(video):
        fps = getattr(video, "fps", None) or fps
        first = check_frames(video[0], "frame 0", single=True)
        stamps = getattr(video, "timestamps", None)
        times = _times(len(video), fps) if stamps is None else np.asarray(stamps, np.float64)
        return Frames(video, times, fps and float(fps), (len(video), *first.shape))
    raise TypeError(
        "video must be a path, a VideoReader, an object with .frames and .fps, a reader "
        f"(len, [i]) or a (T, H, W, 3) uint8 array; got {type(video).__name__}"
    )


def _times(count: int, fps: float | None) -> np.ndarray:
    return np.arange(count) / float(fps) if fps else np.full(count, np.nan)
