"""Frame-exact video reading and simple video writing.

``reader[i]`` returns frame ``i`` whatever the access order: the ``i``-th frame a plain
sequential decode of the file gives (presentation order), for every container FFmpeg reads,
with B-frames, variable frame rates, stamps that only count packets (AVI) and missing seek
indexes (a truncated file). Seeking by frame count (OpenCV's ``CAP_PROP_POS_FRAMES``) can return
a neighbouring frame instead. The reader builds a frame index once (see
:mod:`xaikit.data._video_index`): the stamp the decoder gives each frame, and the keyframes.
To reach a frame it seeks to the keyframe at or before it, checks from the first packet where
the demuxer really landed (stepping back a keyframe, down to reopening the file, when the
landing is not a keyframe at or before the frame), decodes forward and returns the frame that
carries the frame's own stamp; never the nearest one. Reading forward never seeks.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from xaikit._arrays import check_frames
from xaikit._atomic import atomic_path, is_partial
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
        VideoError: the file is missing, empty, an unfinished write (a temporary ``.partial``
            file), not a video, has no video stream, uses a codec this FFmpeg cannot decode,
            changes while it is indexed, or its first frame cannot be decoded.

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
        self._capacity = int(frame_cache)
        self._container = None
        if is_partial(self.path):
            raise VideoError(
                self.path,
                "this is an unfinished write (a temporary .partial file of a writer that was "
                "stopped or is still running), not a video; open the finished file instead",
            )
        self._open()
        candidates = _video_index.cache_paths(self.path, cache_dir) if use_cache else []
        self._index, key = _video_index.load_or_build(self.path, candidates)
        if not np.array_equal(self._opened_key, key):  # the index is of a newer file: reopen
            self.close()
            self._open()
            if not np.array_equal(self._opened_key, key):
                raise _video_index.changed_error(self.path)
        self._timestamps = self._index.pts * float(self._index.time_base)
        self._timestamps.flags.writeable = False
        self[0]  # a file whose first frame does not decode fails here, not at first use

    # ----------------------------------------------------------------- opening and indexing

    def _open(self) -> None:
        check_readable_file(self.path, VideoError)
        self._opened_key = _video_index.file_key(self.path)
        container, stream = self._open_container()
        context = stream.codec_context
        self._height, self._width = int(context.height), int(context.width)
        self._container = container
        self._stream = stream
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._decoder: Iterator | None = None
        self._next_frame: int | None = None  # the frame the running decoder yields next

    def _open_container(self):
        import av

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
        # PyAV's default (slice) threading, as in the index and a plain decode: frame threading
        # loses the frames in flight around a damaged packet, so a cut file would lose frames.
        return container, stream

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
        """Start the decoder at a keyframe at or before frame ``number``.

        The first packet after a seek says where the demuxer landed; a landing that is not a
        keyframe at or before the frame (a demuxer seeking by decode time, a file without a seek
        index) steps back one keyframe; below the first keyframe the file is reopened, since
        decoding from the start always works.
        """
        position = self._index.keyframe_at_or_before(number)
        while position >= 0:
            if self._try_seek(position, number):
                return
            position -= 1
        self._container.close()
        self._container, self._stream = self._open_container()
        self._start_decoder(self._container.demux(self._stream), 0)

    def _try_seek(self, position: int, number: int) -> bool:
        packets = None
        try:
            self._container.seek(
                int(self._index.seek_pts[position]), stream=self._stream, backward=True
            )
            packets = self._container.demux(self._stream)
            first = next((packet for packet in packets if packet.size), None)
        except Exception:  # some demuxers cannot seek at all without an index
            return False
        if first is None or not first.is_keyframe:
            return False
        landed = self._index.number_of(_video_index.packet_tag(first))
        if landed is None or landed > number or not self._index.is_keyframe(landed):
            return False
        self._start_decoder(_chain(first, packets), landed)
        return True

    def _start_decoder(self, packets, start: int) -> None:
        self._decoder = self._decode(packets, start)
        self._next_frame = start

    def _decode(self, packets, start: int) -> Iterator[tuple[int, object]]:
        """(number, frame) for the frames decoded from ``packets`` numbered ``start`` or more.

        Frames before ``start`` are leading pictures of an open group of pictures that refer to
        frames before the keyframe decoding started at: they may be broken and are dropped.
        """
        for packet in packets:
            for frame in _video_index.decode_packet(packet):
                number = self._index.number_of(frame.pts)
                if number is None:
                    raise VideoError(
                        self.path,
                        f"the decoder gives a frame stamped {frame.pts} that the index does not "
                        "know; the file changed after it was indexed",
                    )
                if number >= start:
                    yield number, frame

    def _decode_forward_to(self, number: int) -> np.ndarray:
        while True:
            try:
                decoded, frame = next(self._decoder)
            except StopIteration:
                decoded, frame = None, None
            except VideoError:
                self._decoder = self._next_frame = None
                raise
            except Exception as error:
                self._decoder = self._next_frame = None
                raise VideoError(self.path, f"decoding failed ({error})") from error
            if decoded is None or decoded > number:
                self._decoder = self._next_frame = None
                problem = "the stream ended" if decoded is None else "the decoder skipped it"
                raise VideoError(
                    self.path,
                    f"frame {number} (pts {self._index.tags[number]}) cannot be decoded: {problem}",
                )
            self._next_frame = decoded + 1
            if decoded == number:
                return frame.to_ndarray(format="rgb24")


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

    The file is written through :func:`xaikit._atomic.atomic_path`: under a hidden temporary
    name ending in ``.partial`` in the same folder, moved into place when complete. An error
    or a kill never leaves a half-written file under ``path`` nor destroys an existing one, and
    :func:`open_video` refuses the ``.partial`` file a kill leaves behind.

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
    container_format = _container_format(path)
    with atomic_path(path) as partial:  # a kill leaves a hidden .partial file, never `path`
        container = av.open(str(partial), mode="w", format=container_format)
        try:
            stream = _add_stream(container, path, codec, rate, (height, width), crf)
            stream.codec_context.gop_size = int(keyframe_interval)
            for number, array in enumerate(_chain(first, iterator)):
                array = _checked_frame(array, (height, width), number)
                frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                frame.pts = number
                frame.time_base = 1 / rate
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        finally:
            container.close()


def _container_format(path: Path) -> str:
    """The muxer FFmpeg picks for ``path``'s name. The temporary file's name ends in
    ``.partial``, so the format is chosen from the real name and passed explicitly."""
    import io

    import av

    probe = io.BytesIO()
    probe.name = path.name
    try:
        with av.open(probe, mode="w") as container:
            return container.format.name
    except Exception as error:
        raise VideoError(path, f"cannot write this container format ({error})") from error


def _add_stream(container, path: Path, codec: str, rate: Fraction, shape, crf: int):
    try:
        stream = container.add_stream(codec, rate=rate)
    except Exception as error:
        raise VideoError(path, f"the encoder {codec!r} is not available ({error})") from error
    height, width = shape
    stream.width, stream.height = width, height
    even = width % 2 == 0 and height % 2 == 0
    stream.pix_fmt = "yuv420p" if even or codec != "libx264" else "yuv444p"
    if codec == "libx264":
        stream.options = {"crf": str(int(crf)), "preset": "veryfast"}
    return stream


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
