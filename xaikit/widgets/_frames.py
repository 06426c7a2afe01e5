"""Frames of a video, whatever it came as, decoded once and kept at display size."""

from __future__ import annotations

import os

import cv2
import numpy as np


class FrameSource:
    """Random access to the frames of a video at their native and at display size.

    Args:
        video: a file path (read with :func:`xaikit.data.open_video`), a reader with
            ``len``, ``[i]`` and ``fps`` (a :class:`~xaikit.data.VideoReader`), an object with
            ``.frames`` ``(T, H, W, 3)`` and ``.fps`` (a synthetic
            :class:`~xaikit.data.synthetic.ArenaClip`), or a ``(T, H, W, 3)`` ``uint8`` array.
        width: display width in pixels (the height keeps the aspect ratio); ``None`` keeps the
            native size.
        fps: frame rate for arrays, which carry none; ignored when the video has one.

    Examples:
        >>> import numpy as np
        >>> source = FrameSource(np.zeros((3, 20, 40, 3), np.uint8), width=20, fps=10)
        >>> len(source), source.display(2).shape, source.scale, source.time(2)
        (3, (10, 20, 3), 0.5, 0.2)
    """

    def __init__(self, video, width: int | None = None, fps: float | None = None):
        self._reader, own_fps, self._times = _open(video)
        self.fps = float(own_fps or fps or 25.0)
        if len(self._reader) == 0:
            raise ValueError("the video has no frames")
        first = self._check(np.asarray(self._reader[0]), 0)
        self.native_size = first.shape[:2]
        height, native_width = self.native_size
        if width is not None and (not isinstance(width, (int, np.integer)) or width < 16):
            raise ValueError(f"width must be an int >= 16 or None; got {width!r}")
        self.scale = 1.0 if width is None else width / native_width
        self.size = (max(1, round(height * self.scale)), max(1, round(native_width * self.scale)))
        self._display: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._reader)

    @staticmethod
    def _check(frame: np.ndarray, index: int) -> np.ndarray:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"frame {index} must be (H, W, 3) uint8 RGB; got {frame.shape} {frame.dtype}"
            )
        return frame

    def _index(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} is out of range: the video has {len(self)} frames")
        return int(index)

    def native(self, index: int) -> np.ndarray:
        """Frame ``index`` at its native size, ``(H, W, 3)`` ``uint8`` RGB."""
        index = self._index(index)
        return self._check(np.asarray(self._reader[index]), index)

    def display(self, index: int) -> np.ndarray:
        """Frame ``index`` at display size, decoded once and kept."""
        index = self._index(index)
        frame = self._display.get(index)
        if frame is None:
            frame = self.native(index)
            if self.scale != 1.0:
                height, width = self.size
                frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            self._display[index] = frame
        return frame

    def time(self, index: int) -> float:
        """Time of frame ``index`` in seconds (the video's timestamps when it has them)."""
        index = self._index(index)
        if self._times is not None:
            return float(self._times[index])
        return index / self.fps


def _open(video):
    if isinstance(video, (str, os.PathLike)):
        from xaikit.data import open_video

        reader = open_video(video)
        return reader, reader.fps, np.asarray(reader.timestamps)
    if isinstance(video, np.ndarray):
        if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8:
            raise ValueError(
                f"a video array must be (T, H, W, 3) uint8 RGB; got {video.shape} {video.dtype}"
            )
        return video, None, None
    frames = getattr(video, "frames", None)
    if isinstance(frames, np.ndarray):
        return _open(frames)[0], getattr(video, "fps", None), None
    if hasattr(video, "__getitem__") and hasattr(video, "__len__"):
        times = getattr(video, "timestamps", None)
        return video, getattr(video, "fps", None), None if times is None else np.asarray(times)
    raise TypeError(
        "video must be a file path, a reader (len, [i], fps), an object with .frames and .fps, "
        f"or a (T, H, W, 3) uint8 array; got {type(video).__name__}"
    )
