"""The frame index of a video: every frame's presentation timestamp, and where to seek for it.

The index is built once by demuxing the video stream (no decoding), then cached in a small
``.npz`` file beside the video, or in the user cache folder when that folder is read-only. The
cache is keyed by the video's size and modification time, so an edited video is re-indexed; an
unreadable or damaged cache counts as absent and is rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from xaikit.data.errors import VideoError

# Bump when the layout or the meaning of the cached arrays changes: old caches are then rebuilt.
INDEX_FORMAT = 2


@dataclass(frozen=True)
class FrameIndex:
    """Timestamps of the frames of one video stream, in presentation order.

    Attributes:
        pts: (N,) int64 presentation timestamps in ``time_base`` units, strictly increasing.
        keyframes: (K,) int64 frame numbers (positions in ``pts``) of the keyframes, increasing.
        seek_pts: (K,) int64 timestamp to hand to the demuxer to land on each keyframe: its pts.
            (Seeking to its dts, smaller with B-frames, makes mp4 land a keyframe early; a
            demuxer that lands late is caught by the reader, which then steps back.)
        time_base: Seconds per timestamp unit.
        stream_index: Index of the video stream among the container's video streams.
    """

    pts: np.ndarray
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


def build_index(container, path: str | os.PathLike) -> FrameIndex:
    """Demux the first video stream of an open PyAV container and return its :class:`FrameIndex`.

    Packets are read without decoding. When a file stores no packet timestamps (some raw or
    old streams), every frame is decoded once instead and the decoded timestamps are used.

    Raises:
        VideoError: the stream holds no frame, its timestamps repeat, or it cannot be read.
    """
    stream = container.streams.video[0]
    pts, dts, key = [], [], []
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the empty packet that flushes the demuxer
                continue
            if packet.pts is None:
                return _index_by_decoding(container, path)
            pts.append(packet.pts)
            dts.append(packet.pts if packet.dts is None else packet.dts)
            key.append(packet.is_keyframe)
    except Exception as error:  # PyAV raises several error types for damaged data
        raise VideoError(path, f"the video stream cannot be read ({error})") from error
    return _make_index(path, pts, dts, key, stream.time_base)


def _index_by_decoding(container, path) -> FrameIndex:
    stream = container.streams.video[0]
    container.seek(0)
    pts, key = [], []
    try:
        for frame in container.decode(stream):
            if frame.pts is None:
                raise VideoError(
                    path, "its frames carry no timestamps; re-encode it (e.g. with write_video)"
                )
            pts.append(frame.pts)
            key.append(frame.key_frame)
    except VideoError:
        raise
    except Exception as error:
        raise VideoError(path, f"the video stream cannot be decoded ({error})") from error
    return _make_index(path, pts, pts, key, stream.time_base)


def _make_index(path, pts, dts, key, time_base) -> FrameIndex:
    if not pts:
        raise VideoError(path, "the video stream contains no frames")
    if time_base is None:
        raise VideoError(path, "the video stream has no time base, so frames cannot be located")
    pts = np.asarray(pts, dtype=np.int64)
    dts = np.asarray(dts, dtype=np.int64)
    key = np.asarray(key, dtype=bool)
    order = np.argsort(pts, kind="stable")
    pts, dts, key = pts[order], dts[order], key[order]
    if np.any(np.diff(pts) == 0):
        repeated = int(np.count_nonzero(np.diff(pts) == 0))
        raise VideoError(path, f"{repeated} frame timestamp(s) repeat, so frames are ambiguous")
    if not key[0]:
        # Decoding must start somewhere: the first frame is always a valid starting point.
        key[0] = True
    keyframes = np.flatnonzero(key).astype(np.int64)
    seek_pts = pts[keyframes]
    return FrameIndex(pts, keyframes, seek_pts, Fraction(time_base))


def cache_paths(video: Path, cache_dir: str | os.PathLike | None) -> list[Path]:
    """Candidate cache files for ``video``, best first."""
    video = video.resolve()
    if cache_dir is not None:
        return [Path(cache_dir) / _hashed_name(video)]
    return [
        video.parent / f".{video.name}.xaikit-index.npz",
        user_cache_dir() / _hashed_name(video),
    ]


def user_cache_dir() -> Path:
    """The per-user cache folder for video indexes (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.environ.get("LOCALAPPDATA")
    root = Path(base) if base else Path.home() / ".cache"
    return root / "xaikit" / "video-index"


def _hashed_name(video: Path) -> str:
    digest = hashlib.sha1(str(video).encode()).hexdigest()[:16]
    return f"{video.name}.{digest}.xaikit-index.npz"


def _file_key(video: Path) -> np.ndarray:
    stat = video.stat()
    return np.array([INDEX_FORMAT, stat.st_size, stat.st_mtime_ns], dtype=np.int64)


def load_cached(video: Path, candidates: list[Path]) -> FrameIndex | None:
    """The cached index of ``video`` from the first candidate that holds a valid one, else None."""
    key = _file_key(video)
    for candidate in candidates:
        try:
            with np.load(candidate, allow_pickle=False) as stored:
                if not np.array_equal(stored["key"], key):
                    continue
                pts, keyframes, seek_pts = stored["pts"], stored["keyframes"], stored["seek_pts"]
                num, den, stream_index = (int(v) for v in stored["time_base_stream"])
        except Exception:  # absent, unreadable, truncated or foreign: rebuild
            continue
        if _consistent(pts, keyframes, seek_pts) and den > 0:
            return FrameIndex(pts, keyframes, seek_pts, Fraction(num, den), stream_index)
    return None


def _consistent(pts, keyframes, seek_pts) -> bool:
    return (
        pts.ndim == 1
        and len(pts) > 0
        and pts.dtype == np.int64
        and bool(np.all(np.diff(pts) > 0))
        and keyframes.shape == seek_pts.shape
        and len(keyframes) > 0
        and keyframes[0] == 0
        and bool(np.all(np.diff(keyframes) > 0))
        and int(keyframes[-1]) < len(pts)
    )


def save_cached(video: Path, index: FrameIndex, candidates: list[Path]) -> Path | None:
    """Write ``index`` atomically to the first writable candidate; return it (None if none is)."""
    arrays = {
        "key": _file_key(video),
        "pts": index.pts,
        "keyframes": index.keyframes,
        "seek_pts": index.seek_pts,
        "time_base_stream": np.array(
            [index.time_base.numerator, index.time_base.denominator, index.stream_index],
            dtype=np.int64,
        ),
    }
    for candidate in candidates:
        temporary = None
        try:
            candidate.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(
                dir=candidate.parent, prefix=candidate.name, suffix=".tmp"
            )
            with os.fdopen(descriptor, "wb") as handle:
                np.savez(handle, **arrays)
            os.chmod(temporary, 0o644)  # mkstemp's 0o600 would hide the cache from co-workers
            os.replace(temporary, candidate)
            return candidate
        except OSError:
            if temporary is not None and os.path.exists(temporary):
                os.unlink(temporary)
    return None
