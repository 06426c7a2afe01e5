"""A seek-friendly copy of a video for scrubbing: every frame a JPEG at display size.

Long-GOP video (a keyframe every 250 frames, what most lab cameras write) takes one decode of
up to 250 frames to show an arbitrary frame: a quarter of a second. :func:`build_proxy` decodes
the video once, in order, and writes each frame, resized to the display size, as its own JPEG
into one file, so that :class:`FrameProxy` shows any frame with one read and one JPEG decode
(a few milliseconds). The proxy is for the eyes only: analysis reads the original.

File: ``XKPROXY1``, the length of a JSON header, the header (format, the video's size and
modification time, frame count, height, width, JPEG quality), ``frames + 1`` little-endian
int64 offsets, then the JPEGs. It is written atomically, beside the video's frame index when
that folder is writable (``.<video name>.xaikit-proxy-<W>x<H>.bin``) else in the user cache,
and it is used only while the video's size and modification time are those it was built from.
"""

from __future__ import annotations

import json
import os
import struct
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from xaikit._atomic import atomic_path
from xaikit.data._video_index import INDEX_ENDING, cache_paths, file_key

__all__ = ["FrameProxy", "build_proxy", "open_proxy", "proxy_paths"]

_MAGIC = b"XKPROXY1"
_FORMAT = 1
#: The longest header a proxy may have (a reader never allocates more for it).
_MAX_HEADER = 1 << 16
#: Frames being encoded at once while the video decodes.
_IN_FLIGHT = 8


def proxy_paths(video: str | os.PathLike, shape: tuple[int, int]) -> list[Path]:
    """Where the proxy of ``video`` at ``shape`` = (height, width) may be, best first: the
    places of the video's frame index, under the proxy's own ending."""
    ending = f".xaikit-proxy-{shape[1]}x{shape[0]}.bin"
    return [
        path.with_name(path.name.replace(INDEX_ENDING, ending))
        for path in cache_paths(Path(video), None)
    ]


def _key(video: Path) -> dict:
    _, size, mtime_ns = (int(value) for value in file_key(video))
    return {"format": _FORMAT, "size": size, "mtime_ns": mtime_ns}


class FrameProxy:
    """The frames of a proxy file: ``proxy[i]`` is frame ``i``, ``(H, W, 3)`` uint8 RGB.

    Threads may share it: each read opens nothing and moves no shared position (``os.pread``).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._file = open(self.path, "rb")  # noqa: SIM115 - kept open for the proxy's life
        try:
            self.header, self._offsets = _read_head(self._file, self.path)
        except Exception:
            self._file.close()
            raise
        self.shape = (int(self.header["height"]), int(self.header["width"]))

    def __len__(self) -> int:
        return int(self.header["frames"])

    def __getitem__(self, index: int) -> np.ndarray:
        if not 0 <= index < len(self):
            raise IndexError(f"frame {index} is out of range: the proxy has {len(self)} frames")
        start, end = int(self._offsets[index]), int(self._offsets[index + 1])
        data = os.pread(self._file.fileno(), end - start, start)
        frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if frame is None or frame.shape[:2] != self.shape:
            raise ValueError(f"{self.path}: frame {index} is damaged; delete the file")
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._file.close()

    def fits(self, video: str | os.PathLike) -> bool:
        """Whether this proxy was built from ``video`` as it is now (size, modification time)."""
        key = _key(Path(video))
        return all(self.header.get(name) == value for name, value in key.items())


def _read_head(stream, path: Path) -> tuple[dict, np.ndarray]:
    magic = stream.read(len(_MAGIC) + 8)
    if len(magic) != len(_MAGIC) + 8 or magic[: len(_MAGIC)] != _MAGIC:
        raise ValueError(f"{path} is not an xaikit frame proxy")
    (length,) = struct.unpack("<q", magic[len(_MAGIC) :])
    if not 0 < length <= _MAX_HEADER:
        raise ValueError(f"{path}: a header of {length} bytes; the file is damaged")
    header = json.loads(stream.read(length))
    frames = int(header["frames"])
    offsets = np.frombuffer(stream.read(8 * (frames + 1)), "<i8")
    size = os.fstat(stream.fileno()).st_size
    if len(offsets) != frames + 1 or np.any(np.diff(offsets) <= 0) or offsets[-1] != size:
        raise ValueError(f"{path}: its frame offsets do not fit the file; it is damaged")
    return header, offsets


def open_proxy(video: str | os.PathLike, shape: tuple[int, int]) -> FrameProxy | None:
    """The proxy of ``video`` at ``shape``, if one was built from the video as it is now."""
    for path in proxy_paths(video, shape):
        if not path.is_file():
            continue
        try:
            proxy = FrameProxy(path)
        except (OSError, ValueError, KeyError):
            continue
        if proxy.fits(video) and proxy.shape == tuple(shape):
            return proxy
        proxy.close()
    return None


def build_proxy(
    video: str | os.PathLike,
    shape: tuple[int, int],
    *,
    quality: int = 90,
    stop: Callable[[], bool] | None = None,
    progress: bool = False,
) -> FrameProxy | None:
    """Decode ``video`` once, in order, into a proxy of ``shape`` = (height, width) frames.

    Returns the existing proxy when one fits the video. Written into the first writable of
    :func:`proxy_paths`, atomically: a build that fails or is stopped leaves no file.

    Args:
        video: A video file.
        shape: Display ``(height, width)``; frames are resized with area interpolation.
        quality: JPEG quality (90 keeps edges and barcodes sharp).
        stop: Called between frames; when it turns true the build stops (returns ``None``).
        progress: Show a progress bar.

    Raises:
        VideoError: the video cannot be decoded.
        OSError: no candidate folder is writable.

    Examples:
        >>> import tempfile, numpy as np
        >>> from xaikit.data import write_video
        >>> path = Path(tempfile.mkdtemp()) / "clip.mp4"
        >>> write_video(path, np.full((5, 48, 64, 3), 90, np.uint8), fps=25)
        >>> proxy = build_proxy(path, (24, 32))
        >>> len(proxy), proxy[4].shape, bool(abs(proxy[4].mean() - 90) < 3)  # lossy, close
        (5, (24, 32, 3), True)
    """
    from tqdm.auto import tqdm

    from xaikit.data.video import open_video

    existing = open_proxy(video, shape)
    if existing is not None:
        return existing
    height, width = shape
    key = _key(Path(video))
    path = _writable(proxy_paths(video, shape))
    options = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    with open_video(video) as reader:
        header = json.dumps({**key, "frames": len(reader), "height": height, "width": width,
                             "quality": quality}).encode()  # fmt: skip
        try:
            with atomic_path(path) as part, open(part, "wb") as stream:
                stream.write(_MAGIC + struct.pack("<q", len(header)) + header)
                table = stream.tell()
                offsets = np.zeros(len(reader) + 1, "<i8")
                stream.write(offsets.tobytes())
                frames = tqdm(reader, total=len(reader), unit="frame", disable=not progress)

                def encode(frame):
                    small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
                    _, data = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), options)
                    return data.tobytes()

                # OpenCV releases the GIL: frames are encoded on two threads while the next
                # ones decode, and written in order.
                with ThreadPoolExecutor(2, thread_name_prefix="xaikit-proxy") as pool:
                    pending: deque = deque()
                    for index, frame in enumerate(frames):
                        if stop is not None and stop():
                            raise _Stopped
                        pending.append((index, pool.submit(encode, frame)))
                        while pending and (len(pending) > _IN_FLIGHT or pending[0][1].done()):
                            _write_next(stream, pending, offsets)
                    while pending:
                        _write_next(stream, pending, offsets)
                offsets[-1] = stream.tell()
                stream.seek(table)
                stream.write(offsets.tobytes())
        except _Stopped:
            return None
    return FrameProxy(path)


def _write_next(stream, pending: deque, offsets: np.ndarray) -> None:
    index, encoded = pending.popleft()
    offsets[index] = stream.tell()
    stream.write(encoded.result())


def _writable(paths: list[Path]) -> Path:
    """The first of ``paths`` whose folder can be created and written."""
    for path in paths:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path.parent, os.W_OK):
            return path
    raise OSError(f"no folder to write a frame proxy in: {[str(p.parent) for p in paths]}")


class _Stopped(Exception):
    """A build stopped on request."""
