"""Frames of a video, whatever it came as, decoded once and kept at display size."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

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
        max_bytes: display-size frames kept decoded (least recently used dropped beyond it).

    Threads may share a source: decoding is serialised by a lock, and a
    :class:`~xaikit.data.VideoReader` given in is reopened, so the source never shares a
    decoder with the caller (who may read the original on another thread).

    Attributes:
        native_shape, shape: ``(height, width)`` of a frame at native and at display size.

    Examples:
        >>> import numpy as np
        >>> source = FrameSource(np.zeros((3, 20, 40, 3), np.uint8), width=20, fps=10)
        >>> len(source), source.display(2).shape, source.scale, source.time(2)
        (3, (10, 20, 3), 0.5, 0.2)
    """

    def __init__(
        self,
        video,
        width: int | None = None,
        fps: float | None = None,
        max_bytes: int = 512 * 2**20,
    ):
        from xaikit.data.video import VideoReader, open_video

        if isinstance(video, VideoReader):
            video = open_video(video.path)
        #: A file's path: :meth:`prefetch` decodes with a reader of its own, so that its
        #: reading in order and the jumps of :meth:`display` do not move each other's decoder.
        self._path = video.path if isinstance(video, VideoReader) else None
        if isinstance(video, (str, os.PathLike)):
            self._path = video
        self._source = open_frames(video, fps)
        self.fps = float(self._source.fps or 25.0)
        self.native_shape = (self._source.height, self._source.width)
        height, native_width = self.native_shape
        if width is not None and (not isinstance(width, (int, np.integer)) or width < 16):
            raise ValueError(f"width must be an int >= 16 or None; got {width!r}")
        self.scale = 1.0 if width is None else width / native_width
        self.shape = (max(1, round(height * self.scale)), max(1, round(native_width * self.scale)))
        self._display: OrderedDict[int, np.ndarray] = OrderedDict()
        self._kept = max(1, int(max_bytes) // (3 * self.shape[0] * self.shape[1]))
        self._lock = threading.Lock()
        #: The seek-friendly copy that :meth:`build_proxy` makes of a video file.
        self.proxy = None

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
        with self._lock:
            frame = self._source[index]
        return self._check(frame, index)

    def display(self, index: int) -> np.ndarray:
        """Frame ``index`` at display size: from the proxy once :meth:`build_proxy` made one (a
        JPEG, a few ms for any frame), unless the video's own decode of it is kept (see
        :meth:`original`); else decoded from the video and kept."""
        index = self._index(index)
        with self._lock:
            frame = self._display.get(index)
            if frame is not None:
                self._display.move_to_end(index)
                return frame
        proxy = self.proxy
        if proxy is None:
            return self.original(index)
        frame = proxy[index]
        frame.setflags(write=False)
        return frame

    def original(self, index: int) -> np.ndarray:
        """Frame ``index`` at display size from the video itself, never the proxy's JPEG:
        decoded (from its keyframe: up to a few hundred ms in a long-GOP file), resized and
        kept, so that :meth:`display` returns it from then on."""
        index = self._index(index)
        with self._lock:
            frame = self._display.get(index)
        return frame if frame is not None else self._keep(index, self.native(index))

    def is_original(self, index: int) -> bool:
        """Whether :meth:`display` gives the video's own decode of frame ``index`` (kept, or
        no proxy in use), not the proxy's JPEG."""
        return self.proxy is None or self.cached(index)

    def build_proxy(self, stop=None, progress: bool = False) -> bool:
        """Give a video file a proxy at display size (:func:`xaikit.data.proxy.build_proxy`):
        one decode in order, or none when a proxy of the file as it is exists. Until it is
        built, :meth:`display` decodes from the video. Whether a proxy is in use now (never
        for arrays and readers, which seek instantly or have no file).
        """
        if self._path is None:
            return False
        from xaikit.data.proxy import build_proxy

        proxy = build_proxy(self._path, self.shape, stop=stop, progress=progress)
        if proxy is not None and len(proxy) == len(self):
            self.proxy = proxy
        return self.proxy is not None

    def _keep(self, index: int, frame: np.ndarray) -> np.ndarray:
        """Resize a native frame to display size and keep it (the least recent dropped)."""
        if self.scale != 1.0:
            height, width = self.shape
            frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        frame.setflags(write=False)  # shared by every caller: overlays draw on copies
        with self._lock:
            self._display[index] = frame
            while len(self._display) > self._kept:
                self._display.popitem(last=False)
        return frame

    @property
    def capacity(self) -> int:
        """How many display-size frames the cache keeps."""
        return self._kept

    def cached(self, index: int) -> bool:
        """Whether frame ``index`` is decoded and kept at display size."""
        with self._lock:
            return int(index) in self._display

    def prefetch(self, indices, stop=None) -> int:
        """Decode ``indices`` in order into the cache (skipping the kept ones), until
        ``stop()`` turns true; decoding in order is what a video file does fastest (about
        2 ms a 640x480 frame against 20-30 ms for a jump). Returns the frames decoded.

        Examples:
            >>> source = FrameSource(np.zeros((4, 8, 8, 3), np.uint8))
            >>> source.prefetch(range(4)), source.cached(3)
            (4, True)
        """
        reader = self._source if self._path is None else open_frames(self._path)
        decoded = 0
        try:
            for index in indices:
                if stop is not None and stop():
                    break
                if self.cached(index):
                    continue
                if reader is self._source:
                    self.display(index)
                else:
                    self._keep(index, self._check(reader[self._index(index)], index))
                decoded += 1
        finally:
            if reader is not self._source and callable(getattr(reader.frames, "close", None)):
                reader.frames.close()
        return decoded

    def time(self, index: int) -> float:
        """Time of frame ``index`` in seconds (the video's timestamps when it has them)."""
        time = float(self._source.times[self._index(index)])
        return time if np.isfinite(time) else index / self.fps
