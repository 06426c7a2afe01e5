"""The frame index of a video: which stamp each frame carries, its time, and where to seek for it.

Frame ``i`` is the ``i``-th frame a plain sequential decode of the stream gives (PyAV's
``container.decode``): presentation order. The decoder hands every frame the stamp (pts, else dts)
of the packet that carried it, so that stamp names the frame wherever decoding starts. What the
index must learn is the order in which those stamps come out of the decoder, and one rule decides
how, for every container:

* if the stored stamps go backwards somewhere in decode (packet) order, the container stores
  presentation stamps (mp4, mov, mkv, webm with B-frames), and sorting them gives the order;
* if they never go backwards and the stream cannot reorder frames (a codec that never does:
  VP8, VP9, AV1, MJPEG, ...; or a stream whose headers declare no B-frames, FFmpeg's
  ``has_b_frames``, as most lab cameras write H.264), decode order is presentation order;
* otherwise (stamps that only count packets, as AVI stores them, with a codec that may reorder,
  such as H.264 with B-frames), or when the demuxer flags a packet as corrupt (a cut file), the
  stamps prove nothing, and the stream is decoded once to see which frames come out in which
  order.

A packet the decoder rejects (the cut last packet of a truncated file) gives no frame, while
indexing as while reading, as in the ``ffmpeg`` tool; every frame that decodes is reachable.

The index is built once and cached in a small ``.npz`` file beside the video, or in the user
cache folder when that folder is read-only. The cache is keyed by the video's size and
modification time, taken before indexing and checked after it, so an edited or growing video is
re-indexed; an unreadable or damaged cache counts as absent and is rebuilt.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from xaikit._atomic import atomic_path
from xaikit.data.errors import VideoError

# Bump when the layout or the meaning of the cached arrays changes: old caches are then rebuilt.
INDEX_FORMAT = 3


@dataclass(frozen=True)
class FrameIndex:
    """The frames of one video stream, numbered in presentation order.

    Attributes:
        pts: (N,) int64 presentation timestamps in ``time_base`` units, strictly increasing: the
            stored stamps of the frames, sorted (where a container stores decode stamps only,
            such as AVI, frame ``i`` gets the ``i``-th smallest).
        tags: (N,) int64 stamp the decoder gives frame ``i`` (that of the packet carrying it),
            unique; equal to ``pts`` where the container stores presentation stamps.
        keyframes: (K,) int64 numbers of the frames carried by keyframe packets (not flagged
            corrupt), increasing, starting with 0 (decoding can always start at the beginning).
        seek_pts: (K,) int64 stamp of each keyframe packet, handed to the demuxer to seek there.
        time_base: Seconds per stamp unit.
        stream_index: Index of the video stream among the container's video streams.

    Examples:
        >>> index = FrameIndex(
        ...     pts=np.array([1, 2, 3, 4]), tags=np.array([1, 3, 4, 2]),
        ...     keyframes=np.array([0]), seek_pts=np.array([1]), time_base=Fraction(1, 25))
        >>> index.number_of(2), index.number_of(3), index.number_of(9)
        (3, 1, None)
    """

    pts: np.ndarray
    tags: np.ndarray
    keyframes: np.ndarray
    seek_pts: np.ndarray
    time_base: Fraction
    stream_index: int = 0

    def __len__(self) -> int:
        return len(self.pts)

    def keyframe_at_or_before(self, frame: int) -> int:
        """Position in ``keyframes`` of the last keyframe whose frame number is <= ``frame``."""
        position = int(np.searchsorted(self.keyframes, frame, side="right")) - 1
        return max(position, 0)

    def is_keyframe(self, frame: int) -> bool:
        """Whether frame number ``frame`` is carried by a keyframe packet."""
        position = int(np.searchsorted(self.keyframes, frame))
        return position < len(self.keyframes) and int(self.keyframes[position]) == frame

    @functools.cached_property
    def _tag_order(self) -> np.ndarray:
        return np.argsort(self.tags, kind="stable")

    def number_of(self, tag: int | None) -> int | None:
        """The number of the frame the decoder stamps ``tag``; None for a stamp not in the index."""
        if tag is None:
            return None
        order = self._tag_order
        position = int(np.searchsorted(self.tags, tag, sorter=order))
        if position < len(order) and int(self.tags[order[position]]) == tag:
            return int(order[position])
        return None


def packet_tag(packet) -> int | None:
    """The stamp that names a packet and the frame it carries: its pts, else its dts."""
    return packet.pts if packet.pts is not None else packet.dts


def decode_packet(packet) -> list:
    """The frames decoding ``packet`` gives, each stamped with :func:`packet_tag` of the packet
    that carried it; none for a packet the decoder rejects as invalid data (a cut packet)."""
    import av

    if packet.size:
        packet.pts = packet_tag(packet)
    try:
        return packet.decode()
    except av.error.InvalidDataError:
        return []


def build_index(path: str | os.PathLike) -> FrameIndex:
    """Index the first video stream of ``path`` (see the module docstring for the rule).

    Raises:
        VideoError: the stream holds no frame, its packets carry no stamps, two frames carry
            the same stamp, or it cannot be read.

    Examples:
        >>> import tempfile
        >>> from xaikit.data.video import write_video
        >>> path = tempfile.mkdtemp() + "/b.avi"  # H.264 with B-frames: AVI stamps count packets
        >>> frames = np.zeros((6, 16, 16, 3), np.uint8)
        >>> write_video(path, frames, fps=25)
        >>> index = build_index(path)
        >>> len(index), bool(np.all(np.diff(index.pts) > 0)), int(index.keyframes[0])
        (6, True, 0)
    """
    tags, key, time_base, reorders, corrupt = _demux(path)
    if not tags:
        raise VideoError(path, "the video stream contains no frames")
    if time_base is None:
        raise VideoError(path, "the video stream has no time base, so frames cannot be located")
    tags = np.asarray(tags, dtype=np.int64)
    key = np.asarray(key, dtype=bool)
    if not corrupt and (not reorders or np.any(np.diff(tags) < 0)):
        order = np.argsort(tags, kind="stable")
        presented, keyed = tags[order], key[order]
    else:
        presented = _decoded_order(path)
        keyed = key[_positions(path, tags, presented)]
    return _make_index(path, presented, keyed, time_base)


def _open_stream(path):
    import av

    container = av.open(str(path))
    stream = container.streams.video[0]
    return container, stream


def _demux(path) -> tuple[list[int], list[bool], Fraction | None, bool, bool]:
    """Stamps and keyframe flags of the video packets in decode order, the time base, whether
    the codec may reorder frames, and whether the demuxer flagged a packet corrupt."""
    tags, key, corrupt = [], [], False
    try:
        container, stream = _open_stream(path)
        with container:
            context = stream.codec_context
            reorders = bool(getattr(context.codec, "reorder", True)) and bool(
                getattr(context, "has_b_frames", True)
            )
            for packet in container.demux(stream):
                corrupt = corrupt or packet.is_corrupt
                if packet.size == 0:  # the empty packet that flushes the demuxer
                    continue
                tag = packet_tag(packet)
                if tag is None:
                    raise VideoError(
                        path, "its packets carry no timestamps; re-encode it (e.g. write_video)"
                    )
                tags.append(tag)
                # A cut keyframe is no place to start: its damage would depend on where
                # decoding began (concealment draws on the frames before).
                key.append(packet.is_keyframe and not packet.is_corrupt)
            time_base = stream.time_base
    except VideoError:
        raise
    except Exception as error:  # PyAV raises several error types for damaged data
        raise VideoError(path, f"the video stream cannot be read ({error})") from error
    return tags, key, time_base, reorders, corrupt


def _decoded_order(path) -> np.ndarray:
    """The stamps of the frames of a sequential decode, in the order the decoder gives them."""
    stamps = []
    try:
        container, stream = _open_stream(path)
        with container:
            for packet in container.demux(stream):
                for frame in decode_packet(packet):
                    if frame.pts is None:
                        raise VideoError(path, "the decoder gives frames without timestamps")
                    stamps.append(frame.pts)
    except VideoError:
        raise
    except Exception as error:
        raise VideoError(path, f"the video stream cannot be decoded ({error})") from error
    if not stamps:
        raise VideoError(path, "the video stream contains no frame that decodes")
    return np.asarray(stamps, dtype=np.int64)


def _positions(path, tags: np.ndarray, stamps: np.ndarray) -> np.ndarray:
    """Where each decoded frame's stamp lies among the packet stamps ``tags``."""
    order = np.argsort(tags, kind="stable")
    positions = order[np.minimum(np.searchsorted(tags, stamps, sorter=order), len(tags) - 1)]
    unknown = tags[positions] != stamps
    if np.any(unknown):
        raise VideoError(
            path,
            f"the decoder gives {int(np.count_nonzero(unknown))} frame(s) a timestamp that no "
            "packet carries, so frames cannot be located",
        )
    return positions


def _make_index(path, tags: np.ndarray, key: np.ndarray, time_base) -> FrameIndex:
    """Index from the stamps ``tags`` of the frames in presentation order and their key flags."""
    pts = np.sort(tags)
    if np.any(np.diff(pts) == 0):
        repeated = int(np.count_nonzero(np.diff(pts) == 0))
        raise VideoError(path, f"{repeated} frame timestamp(s) repeat, so frames are ambiguous")
    key = key.copy()
    key[0] = True  # decoding can always start at the beginning (the reader rewinds for it)
    keyframes = np.flatnonzero(key).astype(np.int64)
    return FrameIndex(pts, tags, keyframes, tags[keyframes], Fraction(time_base))


#: The ending of every cached index file.
INDEX_ENDING = ".xaikit-index.npz"


def cache_paths(video: Path, cache_dir: str | os.PathLike | None) -> list[Path]:
    """Candidate cache files for ``video``, best first."""
    video = video.resolve()
    if cache_dir is not None:
        return [Path(cache_dir) / _hashed_name(video)]
    return [
        video.parent / f".{video.name}{INDEX_ENDING}",
        user_cache_dir() / _hashed_name(video),
    ]


def user_cache_dir() -> Path:
    """The per-user cache folder for video indexes (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.environ.get("LOCALAPPDATA")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "xaikit" / "video-index"


def _hashed_name(video: Path) -> str:
    digest = hashlib.sha1(str(video).encode()).hexdigest()[:16]
    return f"{video.name}.{digest}{INDEX_ENDING}"


def file_key(video: Path) -> np.ndarray:
    """What the cache of ``video`` is keyed by: index format, size and modification time."""
    stat = os.stat(video)
    return np.array([INDEX_FORMAT, stat.st_size, stat.st_mtime_ns], dtype=np.int64)


def load_or_build(video: Path, candidates: list[Path]) -> tuple[FrameIndex, np.ndarray]:
    """The index of ``video`` and the :func:`file_key` it holds for: from the first valid
    cache in ``candidates``, else built and cached in the first writable one (``candidates=[]``
    caches nothing).

    The file's key is taken before indexing and checked after: an index built while the file
    changed is thrown away and built again once; if the file changes again it is refused.

    Raises:
        VideoError: as :func:`build_index`, or the file keeps changing (still being written).
    """
    for _ in range(2):
        key = file_key(video)
        index = load_cached(candidates, key)
        if index is not None:
            return index, key
        index = build_index(video)
        if np.array_equal(file_key(video), key):
            save_cached(index, candidates, key)
            return index, key
    raise changed_error(video)


def changed_error(video) -> VideoError:
    """The error for a file that changes while it is opened."""
    return VideoError(
        video,
        "the file changed while it was being indexed (its size or modification time moved): "
        "it is still being written; open it again when it is complete",
    )


def load_cached(candidates: list[Path], key: np.ndarray) -> FrameIndex | None:
    """The index stored under ``key`` (see :func:`file_key`) in the first candidate that holds a
    valid one, else None."""
    for candidate in candidates:
        try:
            with np.load(candidate, allow_pickle=False) as stored:
                if not np.array_equal(stored["key"], key):
                    continue
                arrays = [stored[name] for name in ("pts", "tags", "keyframes", "seek_pts")]
                num, den, stream_index = (int(v) for v in stored["time_base_stream"])
        except Exception:  # absent, unreadable, truncated or foreign: rebuild
            continue
        if _consistent(*arrays) and den > 0:
            return FrameIndex(*arrays, Fraction(num, den), stream_index)
    return None


def _consistent(pts, tags, keyframes, seek_pts) -> bool:
    return (
        pts.ndim == 1
        and len(pts) > 0
        and pts.dtype == tags.dtype == keyframes.dtype == seek_pts.dtype == np.int64
        and bool(np.all(np.diff(pts) > 0))
        and tags.shape == pts.shape
        and bool(np.array_equal(np.sort(tags), pts))
        and keyframes.shape == seek_pts.shape
        and len(keyframes) > 0
        and keyframes[0] == 0
        and bool(np.all(np.diff(keyframes) > 0))
        and int(keyframes[-1]) < len(pts)
        and bool(np.array_equal(tags[keyframes], seek_pts))
    )


def save_cached(index: FrameIndex, candidates: list[Path], key: np.ndarray) -> Path | None:
    """Write ``index`` under ``key`` (taken before indexing) atomically to the first writable
    candidate; return it (None if none is)."""
    arrays = {
        "key": key,
        "pts": index.pts,
        "tags": index.tags,
        "keyframes": index.keyframes,
        "seek_pts": index.seek_pts,
        "time_base_stream": np.array(
            [index.time_base.numerator, index.time_base.denominator, index.stream_index],
            dtype=np.int64,
        ),
    }
    for candidate in candidates:
        try:
            with atomic_path(candidate) as temporary:
                with open(temporary, "wb") as handle:
                    np.savez(handle, **arrays)
            return candidate
        except OSError:
            continue
    return None
