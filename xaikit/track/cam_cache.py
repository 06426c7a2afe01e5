"""Per-detection CAMs over a whole video, cached on disk for scrubbing.

Every detection (row of a detection or track table) gets its own map from
``xaikit.explain(model, x, method, layers=[layer], target=DetectionBox(...))``, stored at
feature resolution (``Explanation.raw``) as float32.

Layout: ``cache_dir / <key> / chunk_<c>.npz``, one file per ``chunk`` frames, where ``key`` is
a SHA-256 of the video content (the SHA-256 of the file's bytes for a path or
:class:`~xaikit.data.VideoReader`; of the frames' bytes and shape for an array or an
:class:`~xaikit.data.synthetic.ArenaClip`), the model (SHA-256 of its state dict: names,
dtypes, shapes and bytes), the method, the layer and the target (the table's frame, track and
box values). A chunk file holds ``rows`` (table positions), ``maps`` ``(n, h, w)`` and
``digest``, the SHA-256 of both; it is written to a temporary file and moved into place with
``os.replace`` (atomic), and a file that fails to load or to match its digest is recomputed,
never trusted. In memory only the ``memory_chunks`` most recently used chunks are kept (LRU),
so memory does not grow with the video's length.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from xaikit.track._tables import BOX, check_table
from xaikit.track.detection import frame_source

__all__ = [
    "DetectionCAMCache",
    "darknet_decode",
    "explain_detections",
    "place_maps",
    "to_frame",
]

_VERSION = 1


def darknet_decode(model):
    """A ``DetectionBox`` ``decode=`` for a Darknet model: raw heads → (boxes, class scores).

    Boxes ``(B, N, 4)`` in input pixels; scores ``(B, N, K)`` = objectness x p(class).
    """

    def decode(outputs):
        predictions = model.decode(outputs)
        return predictions[..., :4], predictions[..., 4:5] * predictions[..., 5:]

    return decode


def explain_detections(model, frame, boxes, method: str, layer: str, device=None) -> torch.Tensor:
    """Feature-resolution maps ``(n, h, w)`` of ``n`` boxes (frame pixels) of one frame.

    One ``xaikit.explain`` call with a ``DetectionBox`` target: one map per box.
    """
    import xaikit

    x, mappings = model.preprocess([np.asarray(frame)], device=device)
    inputs = mappings[0].boxes_to_input(torch.as_tensor(boxes, dtype=torch.float32))
    target = xaikit.explain.targets.DetectionBox(inputs, decode=darknet_decode(model))
    expl = xaikit.explain(
        model, x, method=method, layers=[layer], target=target, device=device, progress=False
    )
    return expl.raw[layer].detach().float().cpu()


def to_frame(raw, size, box=None) -> np.ndarray:
    """A feature-resolution map → a map over the frame (or inside ``box``) in [0, 1].

    The map is upsampled bilinearly to the frame (Darknet's stretch preprocessing maps the
    input onto the whole frame), negative values are zeroed (as CAMs are) and the result is
    min-max normalised (a constant map gives zeros).

    Args:
        raw: ``(h, w)`` map at feature resolution.
        size: ``(width, height)`` of the frame.
        box: ``x0, y0, x1, y1`` in frame pixels: return only the crop inside it.

    Returns:
        ``(height, width)`` float32 map, or the ``(y1 - y0, x1 - x0)`` crop (rounded outwards).

    Examples:
        >>> import numpy as np
        >>> to_frame(np.array([[0.0, 1.0], [0.0, 1.0]]), (4, 2)).round(2).tolist()
        [[0.0, 0.25, 0.75, 1.0], [0.0, 0.25, 0.75, 1.0]]
        >>> to_frame(np.array([[0.0, 1.0]]), (4, 2), box=(2, 0, 4, 1)).shape
        (1, 2)
    """
    raw = torch.as_tensor(np.asarray(raw, dtype=np.float32))
    if raw.ndim != 2:
        raise ValueError(f"raw must be an (h, w) map; got shape {tuple(raw.shape)}")
    width, height = size
    up = F.interpolate(raw[None, None], size=(height, width), mode="bilinear", align_corners=False)
    up = up[0, 0].clamp_min(0)
    span = up.max() - up.min()
    up = (up - up.min()) / span if span > 0 else torch.zeros_like(up)
    out = up.numpy()
    if box is None:
        return out
    x0, y0 = (int(np.floor(max(v, 0))) for v in box[:2])
    x1, y1 = int(np.ceil(min(box[2], width))), int(np.ceil(min(box[3], height)))
    return out[y0:y1, x0:x1]


def place_maps(entries, size) -> np.ndarray:
    """Per-detection maps → one map over the frame: each detection's map inside its own box.

    Each map is brought to the frame by :func:`to_frame` (upsampled, negatives zeroed, min-max
    normalised over the frame) and only its crop inside the detection's box is kept; where
    boxes overlap the larger value wins; outside every box the map is 0. So a detection whose
    evidence lies outside its box shows a dim box.

    Args:
        entries: ``(track, box (4,), map (h, w))`` per detection, as
            :meth:`DetectionCAMCache.maps` gives them (``track`` is ignored).
        size: ``(width, height)`` of the frame.

    Returns:
        ``(height, width)`` float32 map in [0, 1].

    Examples:
        >>> import numpy as np
        >>> heat = place_maps([(0, np.array([2, 0, 4, 1]), np.array([[0.0, 1.0]]))], (4, 2))
        >>> heat.round(2).tolist()
        [[0.0, 0.0, 0.75, 1.0], [0.0, 0.0, 0.0, 0.0]]
    """
    width, height = size
    heat = np.zeros((height, width), np.float32)
    for _, box, raw in entries:
        crop = to_frame(raw, size, box)
        x0, y0 = (int(np.floor(max(v, 0))) for v in box[:2])
        window = heat[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]]
        np.maximum(window, crop, out=window)
    return heat


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def _video_hash(video) -> str:
    from xaikit.data import VideoReader

    if isinstance(video, (str, os.PathLike)):
        return _sha256_file(Path(video))
    if isinstance(video, VideoReader):
        return _sha256_file(video.path)
    frames = np.ascontiguousarray(getattr(video, "frames", video))
    digest = hashlib.sha256(str(frames.shape).encode())
    digest.update(frames.data)
    return digest.hexdigest()


def _model_hash(model) -> str:
    digest = hashlib.sha256()
    for name, value in model.state_dict().items():
        tensor = value.detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class DetectionCAMCache:
    """Per-detection CAMs of a whole video, computed once and kept on disk.

    Args:
        video: a path, a :class:`~xaikit.data.VideoReader`, an ``ArenaClip`` or a
            ``(T, H, W, 3)`` uint8 array (its frames are read in chunks).
        model: a Darknet-style detector (``preprocess``, ``decode``; stretch preprocessing,
            not letterbox), e.g. ``xk.models.load("demo-mice")``.
        detections: table with ``frame, x0, y0, x1, y1`` (frame pixels) and optionally
            ``track`` (a track table): one map per row.
        method: any ``xaikit.explain`` method name.
        layer: layer name; ``None`` takes the 3x3 conv two layers before the first
            (stride-32) ``[yolo]`` head.
        cache_dir: folder of the cache; ``None`` uses ``~/.cache/xaikit/cams``.
        device: where to compute; ``None`` uses the model's device.
        chunk: frames per cache file.
        memory_chunks: chunks kept in memory (least recently used dropped).
        fps: frame rate of an array of frames.

    Attributes:
        key: the SHA-256 naming this cache's folder.
        folder: ``cache_dir / key``.

    Raises:
        ValueError: a model without ``preprocess``/``decode`` or letterboxed, a bad table, a
            frame number outside the video, ``chunk`` or ``memory_chunks`` below 1.

    Examples:
        >>> import tempfile, numpy as np, pandas as pd, torch
        >>> from xaikit.models import Darknet
        >>> cfg = chr(10).join(["[net]", "width=32", "height=32", "channels=3",
        ...     "[convolutional]", "filters=8", "size=3", "stride=2", "pad=1", "activation=leaky",
        ...     "[convolutional]", "filters=18", "size=1", "stride=1", "activation=linear",
        ...     "[yolo]", "mask=0,1,2", "anchors=10,14, 23,27, 37,58", "classes=1", "num=3"])
        >>> _ = torch.manual_seed(0)
        >>> model = Darknet.from_cfg(cfg)
        >>> video = np.random.default_rng(0).integers(0, 255, (3, 48, 64, 3), dtype=np.uint8)
        >>> boxes = pd.DataFrame({"frame": [0, 0, 2], "track": [0, 1, 0], "x0": [4, 30, 6],
        ...                       "y0": [4, 10, 8], "x1": [24, 60, 26], "y1": [30, 40, 30]})
        >>> cache = DetectionCAMCache(video, model, boxes, layer="module_list.0", fps=30,
        ...                           cache_dir=tempfile.mkdtemp(), chunk=2)
        >>> cache.compute(progress=False)
        2
        >>> [(track, tuple(raw.shape)) for track, box, raw in cache.maps(0)]
        [(0, (16, 16)), (1, (16, 16))]
        >>> cache.maps(1)
        []
    """

    def __init__(
        self,
        video,
        model,
        detections: pd.DataFrame,
        method: str = "gradcam",
        layer: str | None = None,
        cache_dir: str | os.PathLike | None = None,
        device=None,
        chunk: int = 64,
        memory_chunks: int = 4,
        fps: float | None = None,
    ):
        if not (hasattr(model, "preprocess") and hasattr(model, "decode")):
            raise ValueError(
                "model must be a Darknet-style detector with preprocess() and decode(); got "
                f"{type(model).__name__}"
            )
        if getattr(model, "letterbox", False):
            raise ValueError("letterboxed models are not supported (maps are stretched)")
        for name, value in (("chunk", chunk), ("memory_chunks", memory_chunks)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an int >= 1; got {value!r}")
        table = check_table(detections, ("frame", *BOX), "detections")
        self.frames, _, _, self.size = frame_source(video, fps)
        if len(table) and table["frame"].max() >= len(self.frames):
            raise ValueError(
                f"detections refer to frame {table['frame'].max()} but the video has "
                f"{len(self.frames)} frames"
            )
        self.model, self.method, self.device = model, method, device
        self.layer = layer or f"module_list.{int(model.head_layer_names[0].split('.')[1]) - 2}"
        self.chunk, self.memory_chunks = int(chunk), int(memory_chunks)
        self._frame = table["frame"].to_numpy(np.int64)
        self._boxes = table[BOX].to_numpy(np.float64)
        self._track = table["track"].to_numpy(np.int64) if "track" in table else None
        target = np.column_stack(
            [self._frame, self._boxes] + ([self._track] if self._track is not None else [])
        )
        parts = {
            "version": _VERSION,
            "video": _video_hash(video),
            "model": _model_hash(model),
            "method": method,
            "layer": self.layer,
            "chunk": self.chunk,  # chunk files of another chunk size hold other frames
            "target": hashlib.sha256(np.ascontiguousarray(target, np.float64).data).hexdigest(),
        }
        self.key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
        root = Path(cache_dir) if cache_dir is not None else Path.home() / ".cache/xaikit/cams"
        self.folder = root / self.key
        self._memory: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    @property
    def chunks(self) -> int:
        """Number of chunks of the video."""
        return -(-len(self.frames) // self.chunk)

    def compute(self, frames=None, progress: bool = True) -> int:
        """Compute and store the chunks holding ``frames`` (``None``: all) not yet on disk.

        Returns:
            The number of chunks computed (0 when everything was cached and intact).
        """
        from tqdm.auto import tqdm

        wanted = range(self.chunks) if frames is None else sorted({f // self.chunk for f in frames})
        computed = 0
        for index in tqdm(wanted, desc="CAMs", unit="chunk", disable=not progress):
            if self._load(index) is None:
                self._store(index, self._explain(index))
                computed += 1
        return computed

    def maps(self, frame: int) -> list[tuple[int | None, np.ndarray, np.ndarray]]:
        """``(track id or None, box (4,), map (h, w) at feature resolution)`` per detection.

        Computes (and stores) the frame's chunk when missing or damaged.
        """
        if not 0 <= frame < len(self.frames):
            raise ValueError(f"frame must lie in [0, {len(self.frames) - 1}]; got {frame}")
        index = frame // self.chunk
        found = self._memory.get(index) or self._load(index)
        if found is None:
            found = self._store(index, self._explain(index))
        self._remember(index, found)
        rows, maps = found
        picked = np.flatnonzero(self._frame[rows] == frame)
        return [
            (
                None if self._track is None else int(self._track[rows[i]]),
                self._boxes[rows[i]],
                maps[i],
            )
            for i in picked
        ]

    def frame_map(self, frame: int) -> np.ndarray:
        """``(height, width)`` map of frame ``frame`` in [0, 1]: each detection's own map inside
        its box (:func:`place_maps`), 0 elsewhere."""
        return place_maps(self.maps(frame), self.size)

    def _remember(self, index: int, found) -> None:
        self._memory[index] = found
        self._memory.move_to_end(index)
        while len(self._memory) > self.memory_chunks:
            self._memory.popitem(last=False)

    def _explain(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        first = index * self.chunk
        rows = np.flatnonzero((self._frame >= first) & (self._frame < first + self.chunk))
        maps = []
        for frame in np.unique(self._frame[rows]):
            picked = rows[self._frame[rows] == frame]
            raw = explain_detections(
                self.model, self.frames[int(frame)], self._boxes[picked], self.method,
                self.layer, self.device,
            )  # fmt: skip
            maps.append(raw.numpy().astype(np.float32))
        # The table is sorted by frame, so ``rows`` is in the order of the maps.
        return rows, (np.concatenate(maps) if maps else np.zeros((0, 1, 1), np.float32))

    def _path(self, index: int) -> Path:
        return self.folder / f"chunk_{index:06d}.npz"

    @staticmethod
    def _digest(rows: np.ndarray, maps: np.ndarray) -> str:
        digest = hashlib.sha256(np.ascontiguousarray(rows, np.int64).data)
        digest.update(str(maps.shape).encode())
        digest.update(np.ascontiguousarray(maps, np.float32).data)
        return digest.hexdigest()

    def _load(self, index: int):
        path = self._path(index)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                rows, maps, digest = stored["rows"], stored["maps"], str(stored["digest"])
        except Exception:  # noqa: BLE001 - any unreadable file is recomputed, never trusted
            return None
        return (rows, maps) if digest == self._digest(rows, maps) else None

    def _store(self, index: int, found) -> tuple[np.ndarray, np.ndarray]:
        rows, maps = found
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, rows=rows, maps=maps, digest=np.array(self._digest(rows, maps)))
            os.replace(temporary, self._path(index))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return rows, maps
