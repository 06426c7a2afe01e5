"""One service for explaining real frames: :func:`frames` gives maps in frame coordinates.

Frames go through the model's own preprocessing (resize, letterbox, crop, normalisation);
:func:`xaikit.explain` explains them in batches; each map is brought back onto the frame (the
preprocessing's crop and padding undone, :meth:`~xaikit.models.InputMapping.map_to_frame`) and
kept at about one value per feature cell, ``float16``, in memory or in a disk cache
(:class:`~xaikit.explain.cache.ChunkStore`). With a detection table as the target, every
detection gets its own map (one forward and one backward per batch of frames for all of them)
and a frame's map shows each detection's map inside its own box. Widgets, :mod:`xaikit.track`
and the notebooks read maps only through this service.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from xaikit._arrays import check_frames
from xaikit._runtime import model_device
from xaikit.explain import targets as targets_module
from xaikit.explain.cache import DEFAULT_FOLDER, ChunkStore, content_hash, model_hash
from xaikit.explain.registry import METHODS, check_methods
from xaikit.models.geometry import InputMapping
from xaikit.models.layers import LayerInfo, feature_map_layers
from xaikit.models.preprocessing import ResizePreprocess

__all__ = ["ClipPreprocess", "FrameMaps", "frames"]

BOX = ["x0", "y0", "x1", "y1"]


class ClipPreprocess:
    """Clips ``(T, H, W, 3)`` ``uint8`` → ``(1, 3, T, H, W)`` float in [0, 1], native size.

    The default preprocessing of 3D models that carry none (``model.xaikit_info``).

    Examples:
        >>> x, (mapping,) = ClipPreprocess()(np.zeros((4, 6, 8, 3), np.uint8))
        >>> tuple(x.shape), mapping.frame_size
        ((1, 3, 4, 6, 8), (6, 8))
    """

    def __call__(self, clip, device=None) -> tuple[torch.Tensor, list[InputMapping]]:
        array = check_frames(clip, "a clip")
        x = torch.from_numpy(array).permute(3, 0, 1, 2)[None].float().div(255.0)
        return x.to(device or "cpu"), [InputMapping.identity(array.shape[1:3])]


def is_video_model(model: nn.Module) -> bool:
    """Whether ``model`` reads clips: it has a ``Conv3d``."""
    return any(isinstance(module, nn.Conv3d) for module in model.modules())


def resolve_preprocess(model, preprocess, shape: tuple[int, int]) -> Callable:
    """The preprocessing to use: ``preprocess`` if given, else the model's own
    (``model.xaikit_info.preprocess``, or a Darknet model's ``preprocess``), else frames scaled
    to [0, 1] at their native ``shape`` ``(H, W)`` (whole clips for a 3D model)."""
    if preprocess is not None:
        if not callable(preprocess):
            raise ValueError("preprocess must be callable: frames, device -> (input, mappings)")
        return preprocess
    info = getattr(model, "xaikit_info", None)
    if getattr(info, "preprocess", None) is not None:
        return info.preprocess
    if callable(getattr(model, "preprocess", None)):
        return model.preprocess
    return ClipPreprocess() if is_video_model(model) else ResizePreprocess(shape)


def default_layers(model, catalogue: dict[str, LayerInfo]) -> list[str]:
    """The layers explained when none are asked for: the model card's, else the model's
    ``default_explain_layer`` (a Darknet detector: the deepest layer feeding every head), else
    the deepest feature map."""
    card = getattr(getattr(model, "xaikit_info", None), "layers", None)
    if card:
        return list(card)
    chosen = getattr(model, "default_explain_layer", None)  # a Darknet detector's
    if isinstance(chosen, str):
        return [chosen]
    if not catalogue:
        raise ValueError("the model has no layer with a feature-map output; pass layers=")
    return [list(catalogue)[-1]]


def check_layers(layers, catalogue: dict[str, LayerInfo]) -> list[str]:
    """Layer names as a list without repeats, each a feature-map layer of ``catalogue``."""
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError(f"layers is empty; layers with a feature map: {list(catalogue)}")
    for name in names:
        if name not in catalogue:
            raise ValueError(
                f"unknown layer {name!r}; layers with a feature map: {list(catalogue)}"
            )
    return list(dict.fromkeys(names))


#: Stored maps have this many values per feature cell along each axis (at most the input's).
OVERSAMPLING = 4


def stored_maps(maps: torch.Tensor, raw_shape) -> np.ndarray:
    """Maps at input resolution → the stored grid: ``OVERSAMPLING`` values per feature cell
    along each axis (area averages), at most the input size, ``float16``.

    Args:
        maps: ``(B, H_in, W_in)`` maps in [0, 1].
        raw_shape: ``(h, w)`` of the feature map behind them.

    Returns:
        ``(B, min(OVERSAMPLING h, H_in), min(OVERSAMPLING w, W_in))``.
    """
    values = maps.detach().float().cpu().numpy()
    height = min(OVERSAMPLING * int(raw_shape[0]), values.shape[1])
    width = min(OVERSAMPLING * int(raw_shape[1]), values.shape[2])
    small = [cv2.resize(one, (width, height), interpolation=cv2.INTER_AREA) for one in values]
    return np.stack(small).reshape(len(values), height, width).astype(np.float16)


def to_frame(stored: np.ndarray, mapping: InputMapping) -> np.ndarray:
    """A stored ``(h, w)`` map (input coordinates) → ``(H, W)`` float32 on the frame's pixels:
    bilinear to the input size (half-pixel centres, as the engine upsamples), then the
    preprocessing undone (:meth:`~xaikit.models.InputMapping.map_to_frame`)."""
    values = torch.from_numpy(np.asarray(stored, np.float32))[None, None]
    full = F.interpolate(values, size=tuple(mapping.input_size), mode="bilinear")
    return mapping.map_to_frame(full[0]).numpy()[0].astype(np.float32)


def place_maps(entries, shape: tuple[int, int]) -> np.ndarray:
    """Per-detection maps → one map over the frame: each detection's map inside its own box.

    Each map, already on the frame's pixels, is kept only inside the detection's box; where
    boxes overlap the larger value wins; outside every box the map is 0. So a detection whose
    evidence lies outside its box shows a dim box.

    Args:
        entries: ``(track, box (4,), map (H, W))`` per detection (``track`` is ignored); boxes
            are continuous ``x0, y0, x1, y1`` frame pixels (a box covers the pixels it
            overlaps).
        shape: ``(height, width)`` of the frame.

    Returns:
        ``(height, width)`` float32 map in [0, 1].

    Examples:
        >>> heat = place_maps([(0, np.array([2.0, 0.0, 4.0, 1.0]), np.ones((2, 4)))], (2, 4))
        >>> heat.tolist()
        [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
    """
    height, width = shape
    heat = np.zeros((height, width), np.float32)
    for _, box, values in entries:
        x0, x1 = int(np.floor(np.clip(box[0], 0, width))), int(np.ceil(np.clip(box[2], 0, width)))
        y0, y1 = int(np.floor(np.clip(box[1], 0, height))), int(np.ceil(np.clip(box[3], 0, height)))
        if x1 <= x0 or y1 <= y0:
            continue
        window = heat[y0:y1, x0:x1]
        np.maximum(window, values[y0:y1, x0:x1], out=window)
    return heat


def is_table(value) -> bool:
    """Whether ``value`` is a pandas DataFrame (a detection table), without importing pandas
    (a DataFrame can only exist once pandas is imported), which keeps ``import xaikit.explain``
    a second faster."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)


def _target_key(target):
    """A JSON-able description of a target for the disk cache key, ``None`` if it has none."""
    if target is None or isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        return None if target is None else int(target)
    if is_table(target):
        columns = [c for c in ("frame", *BOX, "track", "label") if c in target]
        values = np.ascontiguousarray(target[columns].to_numpy(np.float64))
        return {"detections": columns, "sha256": hashlib.sha256(values.data).hexdigest()}
    if isinstance(target, targets_module.TopK):
        return {"top": target.k}
    if isinstance(target, targets_module.Counterfactual):
        base = target.base
        if type(base) is targets_module.ClassTarget and not isinstance(base._classes, torch.Tensor):
            return {"counterfactual": base._classes}
        return None
    per_frame = _per_frame_classes(target)
    return None if per_frame is None else {"per_frame": per_frame}


def _per_frame_classes(target) -> list[int] | None:
    """One class per frame, when ``target`` is a sequence of ints; else ``None``."""
    if isinstance(target, (list, tuple, np.ndarray, torch.Tensor)):
        values = np.asarray(target)
        if values.ndim == 1 and len(values) and np.issubdtype(values.dtype, np.integer):
            return values.tolist()
    return None


class FrameMaps:
    """Maps of one model for the frames of a video, in frame coordinates, computed on first use.

    Made by :func:`frames`, which documents the arguments. A request for frame ``i`` computes
    the whole chunk of ``batch_size`` frames around it with one :func:`xaikit.explain` call for
    every method and layer not yet stored (from memory, else from the disk cache).

    Attributes:
        methods, layers: the explained method and layer names.
        catalogue: ``{name: LayerInfo}`` of the model's feature-map layers.
        shape: ``(height, width)`` of the frames.
        per_detection: whether every detection has its own map (a detection table target).
    """

    def __init__(
        self,
        model: nn.Module,
        video,
        method: str | Sequence[str] = "gradcam",
        layers: str | Sequence[str] | None = None,
        target=None,
        *,
        sums: Sequence[Sequence[str]] = (),
        preprocess=None,
        batch_size: int = 8,
        cache=None,
        device=None,
        memory_chunks: int = 64,
        **options,
    ):
        from xaikit.data.source import open_frames

        if not isinstance(model, nn.Module):
            raise ValueError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        for name, value in (("batch_size", batch_size), ("memory_chunks", memory_chunks)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")
        if isinstance(video, np.ndarray) and video.ndim == 3:
            video = check_frames(video, "image", single=True)[None]
        self.video = video
        self.source = open_frames(video)
        self.shape = (self.source.height, self.source.width)
        self.model, self.device, self.options = model, device, options
        self.batch_size, self.memory_chunks = int(batch_size), int(memory_chunks)
        self.methods = check_methods(method)
        self.preprocess = resolve_preprocess(model, preprocess, self.shape)
        self.video_model = is_video_model(model)
        example, mappings = self._input([0])
        self.mapping = mappings[0]
        self.catalogue = feature_map_layers(model, example[:1])
        wanted = default_layers(model, self.catalogue) if layers is None else layers
        self.layers = check_layers(wanted, self.catalogue)
        self.sums = [check_layers(group, dict.fromkeys(self.layers)) for group in sums]
        self.target = target
        self.per_detection = is_table(target)
        if not self.per_detection and callable(getattr(model, "box_scores", None)):
            raise ValueError(
                "a detector's maps are per detection: pass its detections as the target, a "
                "table frame, x0, y0, x1, y1 (e.g. xk.track.detect_video(model, video).table)"
            )
        self._per_frame = _per_frame_classes(target)
        if self.per_detection:
            self._detections(target)
        elif self._per_frame is not None:
            if self.video_model:
                raise ValueError(
                    "a 3D model explains whole clips: give one target, not one per frame"
                )
            if len(self._per_frame) != len(self.source):
                raise ValueError(
                    f"got {len(self._per_frame)} targets for a video of {len(self.source)} frames"
                )
        self._memory: OrderedDict[tuple[str, int], dict] = OrderedDict()
        # Threads may share the maps: _lock guards what is stored (held briefly), _model_lock
        # lets one thread at a time run the model (its hooks see one pass at a time).
        self._lock = threading.RLock()
        self._model_lock = threading.Lock()
        self._stores = self._open_stores(cache, example, mappings)

    # ------------------------------------------------------------------ set-up

    def _input(self, indices: Sequence[int]):
        frames = np.stack([self.source[i] for i in indices])
        device = self.device or model_device(self.model)
        return self.preprocess(frames, device=device)

    def _detections(self, table) -> None:
        if self.video_model:
            raise ValueError("per-detection maps need a 2D detector; this model reads clips")
        missing = [c for c in ("frame", *BOX) if c not in table]
        if missing:
            raise ValueError(
                f"the detection table lacks column(s) {missing}; it has {list(table.columns)}"
            )
        pixel = [name for name in self.methods if not METHODS[name].uses_layers]
        if pixel:
            layered = sorted(n for n, m in METHODS.items() if m.uses_layers)
            raise ValueError(
                f"per-detection maps are read at a layer; {pixel} read none. Choose from {layered}"
            )
        frame = table["frame"].to_numpy()
        if len(table) and (frame.min() < 0 or frame.max() >= len(self.source)):
            raise ValueError(
                f"detections refer to frames {int(frame.min())}..{int(frame.max())} but the video "
                f"has {len(self.source)} frames"
            )
        boxes = table[BOX].to_numpy(np.float64)
        if not np.isfinite(boxes).all() or (boxes[:, 2:] <= boxes[:, :2]).any():
            raise ValueError("detection boxes must be finite with x1 > x0 and y1 > y0")
        self._frame = frame.astype(np.int64)
        self._boxes = boxes
        self._track = table["track"].to_numpy(np.int64) if "track" in table else None
        self._labels = table["label"].to_numpy() if "label" in table else None

    def _open_stores(self, cache, example, mappings) -> dict[str, ChunkStore] | None:
        if cache is None or cache is False:
            return None
        folder = DEFAULT_FOLDER if cache is True else cache
        if not isinstance(folder, (str, os.PathLike)):
            raise ValueError(f"cache must be None, True or a folder; got {cache!r}")
        target_key = _target_key(self.target)
        if target_key is None and self.target is not None:
            raise ValueError(
                "a disk cache needs a target it can name (None, a class, one class per frame, "
                f"TopK, Counterfactual of a class, or a detection table); got {self.target!r}. "
                "Use cache=None to keep the maps in memory"
            )
        preprocessed = hashlib.sha256(example.detach().float().cpu().numpy().tobytes())
        preprocessed.update(repr(mappings[0]).encode())
        common = {
            "video": content_hash(self.video),
            "model": model_hash(self.model),
            "layers": self.layers,
            "sums": self.sums,
            "target": target_key,
            "preprocess": preprocessed.hexdigest(),
            "chunk": self.batch_size,
            "options": json.dumps(self.options, sort_keys=True, default=repr),
        }
        return {method: ChunkStore(folder, {**common, "method": method}) for method in self.methods}

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self.source)

    @property
    def chunks(self) -> int:
        """Number of chunks of ``batch_size`` frames."""
        return -(-len(self) // self.batch_size)

    def key(self, method: str, layer: str) -> str:
        """The stored key of ``(method, layer)``: ``"input"`` for methods that read no layer.

        Raises:
            ValueError: a method or layer this service does not explain.
        """
        if method not in self.methods:
            raise ValueError(f"unknown method {method!r}; these maps have {self.methods}")
        if not METHODS[method].uses_layers:
            return "input"
        if layer not in self.layers and not set(layer.split("+")) <= set(self.layers):
            raise ValueError(f"unknown layer {layer!r}; these maps have {self.layers}")
        return layer

    def has(self, frame: int) -> bool:
        """Whether every map of ``frame`` is stored (in memory or on disk)."""
        chunk = self._chunk_of(frame)
        return all(
            (method, chunk) in self._memory
            or (self._stores is not None and self._stores[method].has(chunk))
            for method in self.methods
        )

    def get(self, frame: int, method: str, layer: str) -> np.ndarray:
        """The map of ``frame``: ``(H, W)`` float32 in [0, 1] on the frame's pixels.

        With per-detection maps: each detection's own map inside its box, 0 elsewhere
        (:func:`place_maps`).
        """
        if self.per_detection:
            return place_maps(self.detections(frame, method, layer), self.shape)
        key = self.key(method, layer)
        chunk = self._chunk_of(frame)
        maps = self._entry(method, chunk)["maps"]
        if key not in maps:
            raise ValueError(f"no map {key!r} for {method}; it has {sorted(maps)}")
        return to_frame(maps[key][frame - chunk * self.batch_size], self.mapping)

    def all(self, frame: int) -> dict[tuple[str, str], np.ndarray]:
        """Every map of ``frame``, ``{(method, key): (H, W) float32}``: a key is a layer, a
        sum of layers (``"a+b"``) or ``"input"`` for the methods that read no layer.

        Examples:
            >>> from torch import nn
            >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
            ...                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
            >>> image = np.zeros((8, 8, 3), np.uint8)
            >>> maps = frames(net, image, ["gradcam", "guided_backprop"], "1")
            >>> sorted(maps.all(0)), maps.all(0)["gradcam", "1"].shape
            ([('gradcam', '1'), ('guided_backprop', 'input')], (8, 8))
        """
        if self.per_detection:
            return {
                (method, layer): self.get(frame, method, layer)
                for method in self.methods
                for layer in self.layers
            }
        chunk = self._chunk_of(frame)
        return {
            (method, key): to_frame(stored[frame - chunk * self.batch_size], self.mapping)
            for method in self.methods
            for key, stored in self._entry(method, chunk)["maps"].items()
        }

    def detections(self, frame: int, method: str, layer: str) -> list[tuple]:
        """``(track or None, box (4,), map (H, W) float32)`` per detection of ``frame``, in
        table order; each map covers the whole frame (before :func:`place_maps` crops it)."""
        if not self.per_detection:
            raise ValueError("these maps are per frame; pass a detection table as the target")
        key = self.key(method, layer)
        entry = self._entry(method, self._chunk_of(frame))
        rows = entry["rows"]
        picked = np.flatnonzero(self._frame[rows] == frame)
        maps = entry["maps"][key]
        return [
            (
                None if self._track is None else int(self._track[rows[i]]),
                self._boxes[rows[i]],
                to_frame(maps[i], self.mapping),
            )
            for i in picked
        ]

    def compute(self, frames=None, progress: bool | Callable = True) -> int:
        """Compute and store the chunks holding ``frames`` (``None``: all) not yet stored.

        Args:
            frames: frame indices, or ``None`` for the whole video.
            progress: a tqdm bar (``True``), none (``False``), or ``progress(done, total)``
                called after each chunk.

        Returns:
            The number of chunks computed.
        """
        from tqdm.auto import tqdm

        wanted = (
            range(self.chunks)
            if frames is None
            else sorted({self._chunk_of(int(f)) for f in np.atleast_1d(frames)})
        )
        computed = 0
        bar = tqdm(total=len(wanted), desc="maps", unit="chunk", disable=progress is not True)
        with bar:
            for done, chunk in enumerate(wanted, start=1):
                computed += self._fill(chunk)
                bar.update()
                if callable(progress):
                    progress(done, len(wanted))
        return computed

    # ------------------------------------------------------------------ storage

    def _chunk_of(self, frame: int) -> int:
        if not 0 <= frame < len(self):
            raise IndexError(f"frame {frame} is out of range: the video has {len(self)} frames")
        return int(frame) // self.batch_size

    def _remember(self, method: str, chunk: int, entry: dict) -> dict:
        with self._lock:
            self._memory[method, chunk] = entry
            self._memory.move_to_end((method, chunk))
            if self._stores is not None:
                while len(self._memory) > self.memory_chunks * len(self.methods):
                    self._memory.popitem(last=False)
        return entry

    def _stored(self, method: str, chunk: int) -> dict | None:
        with self._lock:
            entry = self._memory.get((method, chunk))
            if entry is not None:
                self._memory.move_to_end((method, chunk))
            elif self._stores is not None:
                arrays = self._stores[method].load(chunk)
                if arrays is not None:
                    keys = [str(key) for key in arrays["keys"]]
                    entry = {
                        "rows": arrays["rows"],
                        "maps": {key: arrays[f"map_{i}"] for i, key in enumerate(keys)},
                    }
                    self._remember(method, chunk, entry)
            return entry

    def _entry(self, method: str, chunk: int) -> dict:
        entry = self._stored(method, chunk)
        if entry is None:
            self._fill(chunk)
            entry = self._stored(method, chunk)
        return entry

    def _fill(self, chunk: int) -> bool:
        """Compute the methods of ``chunk`` not yet stored; whether anything was computed.
        One thread at a time: another thread asking for the same chunk waits, then reads it."""
        with self._model_lock:
            missing = [m for m in self.methods if self._stored(m, chunk) is None]
            if missing:
                self._compute(chunk, missing)
            return bool(missing)

    def _store(self, method: str, chunk: int, rows: np.ndarray, maps: dict) -> None:
        entry = self._remember(method, chunk, {"rows": rows, "maps": maps})
        if self._stores is not None:
            keys = list(entry["maps"])
            arrays = {f"map_{i}": entry["maps"][key] for i, key in enumerate(keys)}
            self._stores[method].save(chunk, {"rows": rows, "keys": np.array(keys), **arrays})

    # ------------------------------------------------------------------ computing

    def _chunk_target(self, start: int, stop: int, mappings):
        """The target of frames ``start..stop`` and the table rows explained, in sample order."""
        if self.per_detection:
            rows = [np.flatnonzero(self._frame == f) for f in range(start, stop)]
            boxes = [
                mapping.boxes_to_input(torch.as_tensor(self._boxes[r], dtype=torch.float32))
                for r, mapping in zip(rows, mappings, strict=True)
            ]
            labels = None
            if self._labels is not None and np.issubdtype(self._labels.dtype, np.integer):
                labels = [torch.as_tensor(self._labels[r]) for r in rows]
            order = np.concatenate(rows) if rows else np.zeros(0, np.int64)
            if not len(order):
                return None, order
            return targets_module.DetectionBox(boxes, labels, blind="warn"), order
        if self._per_frame is not None:
            return self._per_frame[start:stop], np.arange(start, stop)
        return self.target, np.arange(start, stop)

    def _compute(self, chunk: int, methods: list[str]) -> None:
        from xaikit.explain.engine import explain

        start = chunk * self.batch_size
        stop = min(start + self.batch_size, len(self))
        x, mappings = self._input(range(start, stop))
        target, rows = self._chunk_target(start, stop, mappings)
        if self.per_detection and not len(rows):
            for method in methods:
                empty = {k: np.zeros((0, 1, 1), np.float16) for k in self._empty_keys(method)}
                self._store(method, chunk, rows, empty)
            return
        results = explain(
            self.model,
            x,
            method=methods,
            layers=self.layers,
            target=target,
            device=self.device,
            progress=False,
            batch_size=self.batch_size,
            **self.options,
        )
        for method in methods:
            explanation = results[method]
            maps = {}
            for key, values in explanation.maps.items():
                raw_shape = tuple(explanation.raw[key].shape[-2:])
                if self.video_model:  # one clip: (1, T, H, W) -> one map per frame
                    if values.shape[1] != stop - start:
                        raise ValueError(
                            f"the preprocessing turned {stop - start} frames into a clip of "
                            f"{values.shape[1]}; frame maps need one input frame per frame"
                        )
                    values = values[0]
                maps[key] = stored_maps(values, raw_shape)
            for group in self.sums if METHODS[method].uses_layers else ():
                finest = max(tuple(explanation.raw[name].shape[-2:]) for name in group)
                values = explanation.combine(group, how="sum")
                maps["+".join(group)] = stored_maps(
                    values[0] if self.video_model else values, finest
                )
            self._store(method, chunk, rows, maps)

    def _empty_keys(self, method: str) -> list[str]:
        return list(self.layers) if METHODS[method].uses_layers else ["input"]

    def __repr__(self) -> str:
        kind = "per detection" if self.per_detection else "per frame"
        return (
            f"FrameMaps({len(self)} frames of {self.shape[0]}x{self.shape[1]}, {kind}, "
            f"methods={self.methods}, layers={self.layers})"
        )


def frames(model: nn.Module, video, *args, **kwargs) -> FrameMaps:
    """Explain the frames of a video (or one image) and get the maps on the frames' pixels.

    Nothing is computed until a map is asked for (:meth:`FrameMaps.get`) or
    :meth:`FrameMaps.compute` runs; then each chunk of ``batch_size`` frames costs one
    :func:`xaikit.explain` call for all methods and layers (one forward and one backward for
    the gradient methods). Maps are kept at ``OVERSAMPLING`` (4) values per feature cell along
    each axis, in input coordinates (:func:`stored_maps`, ``float16``: 512 bytes for a 4x4
    layer), and brought onto the frame on request (:func:`to_frame`); the result is within a
    few hundredths of :func:`xaikit.explain`'s map put on the frame directly.

    Args:
        model: the CNN, e.g. ``xk.models.load("demo-shapes")``; a 3D CNN explains each chunk
            of ``batch_size`` frames as one clip.
        video: a path, a :class:`~xaikit.data.VideoReader`, an ``ArenaClip``, a
            ``(T, H, W, 3)`` uint8 RGB array, or one ``(H, W, 3)`` image.
        method: a method name or names (``xaikit.explain.METHODS``).
        layers: layer names; ``None`` takes the model card's layers, a Darknet detector's
            layer before its first head, else the deepest feature map.
        target: for every frame: ``None`` (the predicted class), a class, one class per frame,
            a target object (``TopK``, ``Counterfactual``...) or a callable; or a detection
            table (``frame, x0, y0, x1, y1`` continuous frame pixels, optional ``track`` and
            integer ``label``): then every row gets its own map (``DetectionBox`` targets; a
            Darknet model decodes its own outputs).
        sums: groups of layers whose maps are also summed
            (:meth:`~xaikit.explain.Explanation.combine` with ``how="sum"``: Sum-3DCAM for
            ``"3dcam"``), read under the layer name ``"a+b"``.
        preprocess: ``frames, device -> (input, mappings)``; default the model's own
            (``model.xaikit_info``, a Darknet model's ``preprocess``), else frames in [0, 1]
            at native size.
        batch_size: frames per explain call and per cache file.
        cache: ``None`` keeps the maps in memory; a folder (or ``True`` for
            ``~/.cache/xaikit/maps``) also stores them on disk, keyed by the video's and the
            model's content, the method, layers, target, preprocessing and ``batch_size``,
            written atomically and checksummed (damaged files are recomputed).
        device: where to compute (``None``: the model's device).
        memory_chunks: with a disk cache, chunks kept in memory per method (LRU).
        **options: method options passed to :func:`xaikit.explain` (``n_masks``...).

    Returns:
        A :class:`FrameMaps`: ``.get(frame, method, layer)`` is an ``(H, W)`` float32 map in
        [0, 1]; ``.detections(...)`` gives the per-detection maps; ``.compute()`` fills the
        whole video (progress bar).

    Raises:
        ValueError: an unknown method or layer, a bad video or detection table, or a disk
            cache with a target it cannot name.

    Examples:
        >>> import xaikit as xk
        >>> model = xk.models.load("demo-shapes")
        >>> image = xk.data.synthetic.shapes(1, shape=(48, 64), seed=0).images[0]
        >>> maps = xk.explain.frames(model, image, ["gradcam", "layercam"], "features.conv5")
        >>> maps.get(0, "gradcam", "features.conv5").shape
        (48, 64)
        >>> maps.compute(progress=False), maps.has(0)
        (0, True)
    """
    return FrameMaps(model, video, *args, **kwargs)


frames.__signature__ = inspect.signature(FrameMaps).replace(return_annotation=FrameMaps)
