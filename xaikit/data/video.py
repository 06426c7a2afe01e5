"""Frame-exact video reading and simple mp4 writing.

``reader[i]`` returns frame ``i`` in presentation order whatever the access order, also for
variable-frame-rate files and H.264 with B-frames, where seeking by frame count (OpenCV's
``CAP_PROP_POS_FRAMES``) can return a neighbouring frame. The reader builds a timestamp index
once (see :mod:`xaikit.data._video_index`), seeks by timestamp to the keyframe at or before the
wanted frame and decodes forward to it. Reading forward never seeks.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from xaikit._arrays import check_frames
from xaikit.data import _video_index
from xaikit.data.errors import VideoError, check_readable_file

__all__ = ["VideoReader", "open_video", "write_video"]


def open_video(
    path: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    use_cache: bool = True,
    frame_cache: int = 16,
) -> VideoReader:
    """Open a video for frame-exact random access.

    Args:
        path: A video file PyAV/FFmpeg can demux (mp4, mkv, avi, mov, webm, ...).
        cache_dir: Where to keep the timestamp index. ``None`` puts it beside the video as
            ``.<name>.xaikit-index.npz`` or, when that folder is read-only, in the user cache
            folder (``$XDG_CACHE_HOME/xaikit/video-index``, else ``~/.cache/xaikit/video-index``).
        use_cache: ``False`` builds the index in memory only and writes nothing.
        frame_cache: How many decoded frames to keep (least recently used are dropped).

    Returns:
        A :class:`VideoReader`.

    Raises:
        VideoError: the file is missing, empty, not a video, has no video stream, uses a codec
            this FFmpeg cannot decode, or its first frame cannot be decoded.

    Examples:
        >>> import tempfile, numpy as np
        >>> frames = np.zeros((5, 32, 48, 3), np.uint8)
        >>> path = tempfile.mkdtemp() + "/clip.mp4"
        >>> write_video(path, frames, fps=10)
        >>> reader = open_video(path)
        >>> len(reader), reader.shape, (reader.height, reader.width), reader.fps
        (5, (5, 32, 48, 3), (32, 48), 10.0)
        >>> reader[-1].shape, reader[1:4].shape, reader.clip(0, 2, stride=2).shape
        ((32, 48, 3), (3, 32, 48, 3), (2, 32, 48, 3))
    """
    return VideoReader(path, cache_dir=cache_dir, use_cache=use_cache, frame_cache=frame_cache)


class VideoReader:
    """Frame-exact access to the first video stream of a file (see :func:`open_video`).

    Conventions:
        * Frames are numbered 0..N-1 in presentation (display) order; ``N`` counts the frames
          actually stored in the stream, not the container's header.
        * ``reader[i]`` is an (H, W, 3) uint8 RGB array, a fresh copy the caller may modify;
          ``reader[a:b:c]`` and ``reader[[i, j, ...]]`` are (T, H, W, 3) arrays.
        * ``shape`` is ``(T, H, W, 3)``, the shape of ``reader[:]``, with ``height`` H and
          ``width`` W in pixels (numpy's order, as everywhere in xaikit).
        * ``timestamps`` are presentation times in seconds exactly as stored (the first frame's
          time may be non-zero); ``fps`` is the mean rate ``(N - 1) / (t[-1] - t[0])``.

    A reader is not safe to share between threads; give each thread or worker its own. It
    pickles (for DataLoader workers) by path and reopens the file on first use.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        cache_dir: str | os.PathLike | None = None,
        use_cache: bool = True,
        frame_cache: int = 16,
    ):
        if int(frame_cache) < 1:
            raise ValueError(f"frame_cache must be at least 1; got {frame_cache!r}")
        self.path = Path(path)
        self._cache_dir = cache_dir
        self._use_cache = use_cache
        self._capacity = int(frame_cache)
        self._container = None
        self._open()
        self._index = self._load_index()
        self._timestamps = self._index.pts * float(self._index.time_base)
        self._timestamps.flags.writeable = False
        self[0]  # a file whose first frame does not decode fails here, not at first use

    # ----------------------------------------------------------------- opening and indexing

    def _open(self) -> None:
        import av

        check_readable_file(self.path, VideoError)
        try:
            container = av.open(str(self.path))
        except Exception as error:  # FFmpeg reports corrupt and unknown formats alike
            raise VideoError(
                self.path, f"cannot be opened as a video: corrupt or unsupported format ({error})"
            ) from error
        if not container.streams.video:
            container.close()
            raise VideoError(self.path, "the file contains no video stream")
        stream = container.streams.video[0]
        if stream.codec_context is None:
            container.close()
            raise VideoError(self.path, f"no decoder for the video codec {stream.codec.name!r}")
        stream.thread_type = "AUTO"
        context = stream.codec_context
        self._height, self._width = int(context.height), int(context.width)
        self._container = container
        self._stream = stream
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._decoder: Iterator | None = None
        self._next_frame: int | None = None  # the frame the running decoder yields next

    def _load_index(self) -> _video_index.FrameIndex:
        if not self._use_cache:
            return _video_index.build_index(self._container, self.path)
        candidates = _video_index.cache_paths(self.path, self._cache_dir)
        index = _video_index.load_cached(self.path, candidates)
        if index is None:
            index = _video_index.build_index(self._container, self.path)
            _video_index.save_cached(self.path, index, candidates)
        return index

    def close(self) -> None:
        """Release the file; a later access reopens it."""
        if self._container is not None:
            self._container.close()
        self._container = None
        self._decoder = None
        self._next_frame = None
        self._frames.clear()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.update(_container=None, _stream=None, _decoder=None, _next_frame=None)
        state["_frames"] = OrderedDict()
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._open()

    # -------------------------------------------------------------------------- metadata

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"VideoReader({str(self.path)!r}, shape={self.shape}, fps={self.fps:.3f})"

    @property
    def height(self) -> int:
        """Frame height H in pixels."""
        return self._height

    @property
    def width(self) -> int:
        """Frame width W in pixels."""
        return self._width

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(T, H, W, 3)``: frames, height, width and RGB channels, as ``reader[:].shape``."""
        return (len(self), self.height, self.width, 3)

    @property
    def timestamps(self) -> np.ndarray:
        """(N,) float64 presentation time of each frame in seconds, as stored (read-only)."""
        return self._timestamps

    @property
    def pts(self) -> np.ndarray:
        """(N,) int64 presentation timestamps in units of :attr:`time_base`."""
        return self._index.pts.copy()

    @property
    def time_base(self) -> Fraction:
        """Seconds per :attr:`pts` unit."""
        return self._index.time_base

    @property
    def keyframes(self) -> np.ndarray:
        """(K,) int64 numbers of the keyframes (where decoding can start)."""
        return self._index.keyframes.copy()

    @property
    def fps(self) -> float:
        """Mean frame rate ``(N - 1) / (t[-1] - t[0])``; the stream's nominal rate if N = 1."""
        span = float(self._timestamps[-1] - self._timestamps[0])
        if len(self) > 1 and span > 0:
            return (len(self) - 1) / span
        rate = self._stream.average_rate or self._stream.guessed_rate
        return float(rate) if rate else 0.0

    @property
    def duration(self) -> float:
        """Seconds from the first frame's start to the last frame's end: ``N / fps``."""
        return len(self) / self.fps if self.fps > 0 else 0.0

    def frame_at(self, seconds: float) -> int:
        """Number of the frame on screen at ``seconds`` (a time on the :attr:`timestamps` clock).

        Raises:
            ValueError: ``seconds`` is before the first frame or is not finite.
        """
        if not np.isfinite(seconds) or seconds < self._timestamps[0]:
            raise ValueError(
                f"seconds must be a finite time >= {self._timestamps[0]:.6f} (the first frame); "
                f"got {seconds!r}"
            )
        return int(np.searchsorted(self._timestamps, seconds, side="right")) - 1

    # ---------------------------------------------------------------------------- access

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            return self._stack(range(*key.indices(len(self))))
        if isinstance(key, (int, np.integer)):
            return self._frame(self._frame_number(key)).copy()
        if isinstance(key, (list, tuple, np.ndarray)):
            return self._stack([self._frame_number(k) for k in np.asarray(key).ravel()])
        raise TypeError(
            f"index a VideoReader with an int, a slice or a sequence of ints; got {type(key)}"
        )

    def __iter__(self) -> Iterator[np.ndarray]:
        for number in range(len(self)):
            yield self[number]

    def clip(self, start: int, length: int, stride: int = 1) -> np.ndarray:
        """Frames ``start, start + stride, ...`` (``length`` of them) as a (T, H, W, 3) array.

        Args:
            start: First frame number (negative counts from the end).
            length: Number of frames T, at least 1.
            stride: Step between frames, at least 1.

        Raises:
            ValueError: ``length`` or ``stride`` is below 1, or the clip runs past the last frame.
            IndexError: ``start`` is out of range.
        """
        for name, value in (("length", length), ("stride", stride)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an int >= 1; got {value!r}")
        first = self._frame_number(start)
        last = first + (length - 1) * stride
        if last >= len(self):
            raise ValueError(
                f"a clip of {length} frames from frame {first} with stride {stride} ends at frame "
                f"{last}, but {self.path.name} has {len(self)} frames (0..{len(self) - 1})"
            )
        return self._stack(range(first, last + 1, stride))

    def _frame_number(self, key) -> int:
        if not isinstance(key, (int, np.integer)) or isinstance(key, bool):
            raise TypeError(f"frame numbers must be ints; got {key!r}")
        number = int(key) + (len(self) if key < 0 else 0)
        if not 0 <= number < len(self):
            raise IndexError(
                f"frame {int(key)} is out of range: {self.path.name} has {len(self)} frames"
            )
        return number

    def _stack(self, numbers) -> np.ndarray:
        frames = [self._frame(number) for number in numbers]
        if not frames:
            return np.empty((0, self.height, self.width, 3), np.uint8)
        return np.stack(frames)

    def _frame(self, number: int) -> np.ndarray:
        """Frame ``number`` from the LRU or the decoder; the array is shared, do not modify it."""
        if number in self._frames:
            self._frames.move_to_end(number)
            return self._frames[number]
        if self._container is None:
            self._open()
        if not self._can_decode_forward_to(number):
            self._seek_before(number)
        frame = self._decode_forward_to(number)
        self._frames[number] = frame
        if len(self._frames) > self._capacity:
            self._frames.popitem(last=False)
        return frame

    def _can_decode_forward_to(self, number: int) -> bool:
        # Forward decoding beats a seek unless a keyframe lies between here and the target.
        if self._decoder is None or self._next_frame is None or self._next_frame > number:
            return False
        keyframe = self._index.keyframes[self._index.keyframe_at_or_before(number)]
        return keyframe <= self._next_frame

    def _seek_before(self, number: int) -> None:
        """Position the decoder on a keyframe at or before frame ``number``."""
        index = self._index
        target = index.pts[number]
        position = index.keyframe_at_or_before(number)
        while True:
            self._container.seek(
                int(index.seek_pts[position]), stream=self._stream, backward=True, any_frame=False
            )
            self._decoder = self._container.decode(self._stream)
            first = self._next_decoded()
            # A demuxer may land after the target (seeking by decode time, a wrong keyframe
            # flag): step back one keyframe and try again.
            if first is not None and first.pts is not None and first.pts <= target:
                self._pending = first
                self._next_frame = int(np.searchsorted(index.pts, first.pts))
                return
            if position == 0:
                raise VideoError(
                    self.path, f"frame {number} cannot be reached: seeking lands after it"
                )
            position -= 1

    def _next_decoded(self):
        try:
            return next(self._decoder)
        except StopIteration:
            return None
        except Exception as error:
            self._decoder = None
            raise VideoError(self.path, f"decoding failed ({error})") from error

    def _decode_forward_to(self, number: int) -> np.ndarray:
        target = self._index.pts[number]
        while True:
            frame = self._pending if self._pending is not None else self._next_decoded()
            self._pending = None
            if frame is None or frame.pts is None or frame.pts > target:
                self._decoder = None
                self._next_frame = None
                problem = "the stream ended" if frame is None else "the decoder skipped it"
                raise VideoError(
                    self.path, f"frame {number} (pts {target}) cannot be decoded: {problem}"
                )
            if frame.pts == target:
                self._next_frame = number + 1
                return frame.to_ndarray(format="rgb24")

    _pending = None  # a frame decoded while checking a seek, not yet consumed


def write_video(
    path: str | os.PathLike,
    frames: np.ndarray | Iterable[np.ndarray],
    fps: float,
    *,
    codec: str = "libx264",
    crf: int = 18,
    keyframe_interval: int | None = None,
) -> None:
    """Write RGB frames to a video file (H.264 in mp4 by default) at a constant frame rate.

    The file is written under a temporary name in the same folder and moved into place when
    complete, so an error never leaves a half-written file or destroys an existing one.

    Args:
        path: Output file; its suffix picks the container (``.mp4``, ``.mkv``, ``.avi``, ...).
            An existing file is replaced.
        frames: A (T, H, W, 3) uint8 RGB array or an iterable of (H, W, 3) uint8 RGB arrays,
            all of the same size.
        fps: Frames per second (> 0); e.g. 29.97 is stored as 30000/1001.
        codec: An FFmpeg encoder name; ``libx264`` writes yuv420p (the pixel format browsers
            play) when width and height are even, and yuv444p when either is odd.
        crf: libx264 quality, 0 (lossless luma) to 51; ignored by other codecs.
        keyframe_interval: frames between keyframes; by default one per second of video, so
            that seeking (scrubbing an overlay video) decodes at most about one second.

    Raises:
        ValueError: ``fps`` is not positive, there are no frames, or a frame is not (H, W, 3)
            uint8 or differs in size from the first.
        VideoError: the container or the codec is not available, or the folder does not exist.

    Examples:
        >>> import tempfile, numpy as np
        >>> path = tempfile.mkdtemp() + "/ramp.mp4"
        >>> write_video(path, np.full((3, 16, 16, 3), 128, np.uint8), fps=25)
        >>> len(open_video(path))
        3
    """
    import av

    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number; got {fps!r}")
    rate = _frame_rate(fps)
    path = Path(path)
    if not path.parent.is_dir():
        raise VideoError(path, f"the folder {str(path.parent)!r} does not exist")
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise ValueError("write_video needs at least one frame; got none")
    first = _checked_frame(first, None, 0)
    height, width = first.shape[:2]
    if keyframe_interval is None:
        keyframe_interval = max(1, round(float(rate)))
    if keyframe_interval < 1:
        raise ValueError(f"keyframe_interval must be at least 1; got {keyframe_interval}")
    partial = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        container = av.open(str(partial), mode="w")
    except Exception as error:
        raise VideoError(path, f"cannot write this container format ({error})") from error
    try:
        try:
            stream = container.add_stream(codec, rate=rate)
        except Exception as error:
            raise VideoError(path, f"the encoder {codec!r} is not available ({error})") from error
        stream.width, stream.height = width, height
        stream.codec_context.gop_size = int(keyframe_interval)
        even = width % 2 == 0 and height % 2 == 0
        stream.pix_fmt = "yuv420p" if even or codec != "libx264" else "yuv444p"
        if codec == "libx264":
            stream.options = {"crf": str(int(crf)), "preset": "veryfast"}
        for number, array in enumerate(_chain(first, iterator)):
            array = _checked_frame(array, (height, width), number)
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts = number
            frame.time_base = 1 / rate
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    except BaseException:
        container.close()
        partial.unlink(missing_ok=True)
        raise
    container.close()
    os.replace(partial, path)


def _frame_rate(fps: float) -> Fraction:
    """``fps`` as a fraction, snapping NTSC rates (29.97 -> 30000/1001, 23.976 -> 24000/1001)."""
    ntsc = Fraction(round(fps * 1.001) * 1000, 1001)
    if abs(float(ntsc) - fps) < 1e-4 * fps:
        return ntsc
    return Fraction(fps).limit_denominator(1000)


def _chain(first, rest):
    yield first
    yield from rest


def _checked_frame(array, shape, number: int) -> np.ndarray:
    array = check_frames(array, f"frame {number}", single=True)
    if shape is not None and array.shape[:2] != shape:
        raise ValueError(
            f"frame {number} has (height, width) {array.shape[:2]} but the first frame has "
            f"{shape}; all frames must have the same size"
        )
    return np.ascontiguousarray(array)
