"""The disk store behind :func:`xaikit.explain.frames`: content-keyed, atomic, checksummed.

Layout: ``folder / <key> / chunk_<c>.npz``, where ``key`` is a SHA-256 of everything the maps
depend on (:func:`content_hash` of the video, :func:`model_hash` of the model, the method, the
layers, the target, the preprocessing and the chunk size). A chunk file holds named arrays and
``digest``, the SHA-256 of all of them; it is written by :func:`xaikit._atomic.atomic_file`
(temporary file, fsync, rename: a killed write leaves the old file or none), and a file that fails
to load or to match its digest is reported missing, so it is recomputed, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from xaikit._atomic import atomic_file

#: Bump when the stored layout or the maps' meaning changes: old folders are then ignored.
FORMAT_VERSION = 3  # 3: 3DCAM follows Eq. 2 for an all-negative beta; exact Hessian-CIAM HVP

#: Where ``cache=True`` keeps the maps.
DEFAULT_FOLDER = Path.home() / ".cache" / "xaikit" / "maps"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_hash(video) -> str:
    """SHA-256 naming a video's content: of the file's bytes for a path or a
    :class:`~xaikit.data.VideoReader`, of the frames' shape and bytes for an array or an
    object with ``.frames`` (an ``ArenaClip``).

    Examples:
        >>> frames = np.zeros((2, 4, 4, 3), np.uint8)
        >>> content_hash(frames) == content_hash(frames.copy()), len(content_hash(frames))
        (True, 64)
    """
    from xaikit.data import VideoReader

    if isinstance(video, (str, os.PathLike)):
        return _sha256_file(Path(video))
    if isinstance(video, VideoReader):
        return _sha256_file(video.path)
    frames = np.ascontiguousarray(getattr(video, "frames", video))
    digest = hashlib.sha256(str(frames.shape).encode())
    digest.update(frames.data)
    return digest.hexdigest()


def model_hash(model: torch.nn.Module) -> str:
    """SHA-256 of a model's state dict: names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for name, value in model.state_dict().items():
        tensor = value.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _digest(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype}:{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


class ChunkStore:
    """Named arrays per chunk, in ``folder / key``, written atomically and checksummed.

    Args:
        folder: the cache folder (``key`` folders go inside).
        parts: everything the stored arrays depend on (JSON-serialisable); its SHA-256 is the
            key, so a change of any part reads from another folder.

    Examples:
        >>> import tempfile
        >>> store = ChunkStore(tempfile.mkdtemp(), {"video": "abc", "method": "gradcam"})
        >>> store.load(0) is None
        True
        >>> store.save(0, {"rows": np.arange(3)})
        >>> store.load(0)["rows"].tolist()
        [0, 1, 2]
        >>> _ = store.path(0).write_bytes(b"damaged")
        >>> store.load(0) is None
        True
    """

    def __init__(self, folder: str | os.PathLike, parts: dict):
        payload = json.dumps({"version": FORMAT_VERSION, **parts}, sort_keys=True)
        self.key = hashlib.sha256(payload.encode()).hexdigest()
        self.folder = Path(folder) / self.key

    def path(self, index: int) -> Path:
        """The file of chunk ``index``."""
        return self.folder / f"chunk_{index:06d}.npz"

    def has(self, index: int) -> bool:
        """Whether chunk ``index`` has a file (not checked: :meth:`load` checks)."""
        return self.path(index).is_file()

    def load(self, index: int) -> dict[str, np.ndarray] | None:
        """The arrays of chunk ``index``, or ``None`` when missing, unreadable or damaged."""
        path = self.path(index)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files if name != "digest"}
                digest = str(stored["digest"])
        except Exception:  # noqa: BLE001 - any unreadable file is recomputed, never trusted
            return None
        return arrays if digest == _digest(arrays) else None

    def save(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        """Write chunk ``index`` atomically (see :func:`xaikit._atomic.atomic_file`)."""
        with atomic_file(self.path(index), "wb") as stream:
            np.savez(stream, digest=np.array(_digest(arrays)), **arrays)
