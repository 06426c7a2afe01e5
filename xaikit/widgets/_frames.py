"""Frames of a video, whatever it came as, decoded once and kept at display size."""

from __future__ import annotations

import cv2
import numpy as np

from xaikit._arrays import check_frames
from xaikit.data.source import open_frames


class FrameSource:
    """Random access to the frames of a video at their native and at display size.

    Args:
        video: anything :func:`xaikit.data.source.open_frames` opens: a file path, a
            :class:`~xaikit.data.VideoReader`, a synthetic ``ArenaClip``, a reader with ``len``
            and ``[i]``, or a ``(T, H, W, 3)`` ``uint8`` array.
        width: display width in pixels (the height keeps the aspect ratio); ``None`` keeps the
            native size.
        fps: frame rate of an array or a reader that carries none (25 if neither has one).

    Attributes:
        native_shape, shape: ``(height, width)`` of a frame at native and at display size.

    Examples:
        >>> import numpy as np
        >>> source = FrameSource(np.zeros((3, 20, 40, 3), np.uint8), width=20, fps=10)
        >>> len(source), source.display(2).shape, source.scale, source.time(2)
        (3, (10, 20, 3), 0.5, 0.2)
    """

    def __init__(self, video, width: int | None = None, fps: float | None = None):
        self._source = open_frames(video, fps)
        self.fps = float(self._source.fps or 25.0)
        self.native_shape = (self._source.height, self._source.width)
        height, native_width = self.native_shape
        if width is not None and (not isinstance(width, (int, np.integer)) or width < 16):
            raise ValueError(f"width must be an int >= 16 or None; got {width!r}")
        self.scale = 1.0 if width is None else width / native_width
        self.shape = (max(1, round(height * self.scale)), max(1, round(native_width * self.scale)))
        self._display: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._source)

    @staticmethod
    def _check(frame, index: int) -> np.ndarray:
        return check_frames(frame, f"frame {index}", single=True)

    def _index(self, index: int) -> int:
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} is out of range: the video has {len(self)} frames")
        return int(index)

    def native(self, index: int) -> np.ndarray:
        """Frame ``index`` at its native size, ``(H, W, 3)`` ``uint8`` RGB."""
        index = self._index(index)
        return self._check(self._source[index], index)

    def display(self, index: int) -> np.ndarray:
        """Frame ``index`` at display size, decoded once and kept."""
        index = self._index(index)
        frame = self._display.get(index)
        if frame is None:
            frame = self.native(index)
            if self.scale != 1.0:
                height, width = self.shape
                frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            self._display[index] = frame
        return frame

    def time(self, index: int) -> float:
        """Time of frame ``index`` in seconds (the video's timestamps when it has them)."""
        time = float(self._source.times[self._index(index)])
        return time if np.isfinite(time) else index / self.fps
