"""Maps of a model for the frames of a video: computed in batches, kept at feature resolution.

Nothing here imports ipywidgets; the widgets read maps through :class:`MapStore`.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from xaikit.models.geometry import InputMapping
from xaikit.models.layers import LayerInfo
from xaikit.models.layers import layers as layer_catalogue
from xaikit.models.preprocessing import ResizePreprocess


def check_methods(methods: str | Sequence[str]) -> list[str]:
    """Method names as a list, checked against ``xaikit.explain.METHODS``.

    Raises:
        ValueError: empty list or an unknown name (the message lists the valid ones).

    Examples:
        >>> check_methods("gradcam")
        ['gradcam']
        >>> check_methods(["gradcam", "nope"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: unknown method 'nope'; valid methods: ['3dcam', ...]
    """
    from xaikit.explain import METHODS

    names = [methods] if isinstance(methods, str) else list(methods)
    if not names:
        raise ValueError(f"methods is empty; choose from {sorted(METHODS)}")
    for name in names:
        if name not in METHODS:
            raise ValueError(f"unknown method {name!r}; valid methods: {sorted(METHODS)}")
    return list(dict.fromkeys(names))


class ClipPreprocess:
    """Clips ``(T, H, W, 3)`` ``uint8`` → ``(1, 3, T, H, W)`` float in [0, 1], native size.

    The default preprocessing of 3D models that carry none (``model.xaikit_info``).
    """

    def __call__(self, clip, device=None) -> tuple[torch.Tensor, list[InputMapping]]:
        array = np.asarray(clip)
        if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != np.uint8:
            raise ValueError(f"a clip must be (T, H, W, 3) uint8 RGB; got {array.shape}")
        x = torch.from_numpy(array).permute(3, 0, 1, 2)[None].float().div(255.0)
        return x.to(device or "cpu"), [InputMapping.identity(array.shape[1:3])]


def resolve_preprocess(model, preprocess, frame_size: tuple[int, int], video: bool = False):
    """The preprocessing to use: ``preprocess`` if given, else the model's own
    (``model.xaikit_info.preprocess``), else frames scaled to [0, 1] at their native size."""
    if preprocess is not None:
        if not callable(preprocess):
            raise ValueError("preprocess must be callable: frames, device -> (input, mappings)")
        return preprocess
    info = getattr(model, "xaikit_info", None)
    if info is not None and getattr(info, "preprocess", None) is not None:
        return info.preprocess
    return ClipPreprocess() if video else ResizePreprocess(frame_size)


def feature_layers(model, example_input: torch.Tensor) -> dict[str, LayerInfo]:
    """The model's layers whose output is a feature map larger than 1x1, by name, in order."""
    return {
        info.name: info
        for info in layer_catalogue(model, example_input)
        if info.is_feature_map and any(size > 1 for size in info.shape[1:])
    }


def pick_layers(model, catalogue: dict[str, LayerInfo], layers) -> list[str]:
    """Requested layer names, checked; by default the model card's layers or the deepest one.

    Raises:
        ValueError: a name that is not a feature-map layer (the message lists the valid ones).
    """
    if layers is None:
        info = getattr(model, "xaikit_info", None)
        layers = getattr(info, "layers", None) or [list(catalogue)[-1]]
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError(f"layers is empty; layers with a feature map: {list(catalogue)}")
    for name in names:
        if name not in catalogue:
            raise ValueError(
                f"unknown layer {name!r}; layers with a feature map: {list(catalogue)}"
            )
    return list(dict.fromkeys(names))


def frame_maps(maps: torch.Tensor, raw_size, mapping: InputMapping) -> np.ndarray:
    """Maps at input resolution → frame coordinates at feature resolution, ``float16``.

    Args:
        maps: ``(B, H_in, W_in)`` maps in [0, 1].
        raw_size: ``(h, w)`` of the feature map behind them.
        mapping: the frame → input mapping of the preprocessing.

    Returns:
        ``(B, h', w')`` with ``h' = h * H_frame / H_in`` (likewise ``w'``), at least 1 and at
        most the frame size: the map covers the frame (crop and padding undone) at about one
        value per feature cell.
    """
    on_frame = mapping.map_to_frame(maps.detach().float().cpu()).numpy()
    (frame_h, frame_w), (input_h, input_w) = mapping.frame_size, mapping.input_size
    height = int(np.clip(round(raw_size[0] * frame_h / input_h), 1, frame_h))
    width = int(np.clip(round(raw_size[1] * frame_w / input_w), 1, frame_w))
    small = [
        cv2.resize(single, (width, height), interpolation=cv2.INTER_AREA) for single in on_frame
    ]
    return np.stack(small).reshape(len(on_frame), height, width).astype(np.float16)


def sample_map(heatmap: np.ndarray, x: float, y: float, size: tuple[int, int]) -> float:
    """Bilinear value of a map (any resolution) at pixel ``(x, y)`` of a picture of ``size``.

    Args:
        heatmap: ``(h, w)`` map.
        x, y: pixel coordinates in the picture (0 = left / top edge).
        size: ``(H, W)`` of the picture the map is drawn on.

    Examples:
        >>> import numpy as np
        >>> sample_map(np.array([[0.0, 1.0]]), x=2.0, y=0.0, size=(2, 4))
        0.75
    """
    h, w = heatmap.shape
    height, width = size
    u = float(np.clip((x + 0.5) * w / width - 0.5, 0, w - 1))
    v = float(np.clip((y + 0.5) * h / height - 0.5, 0, h - 1))
    u0, v0 = int(u), int(v)
    u1, v1 = min(u0 + 1, w - 1), min(v0 + 1, h - 1)
    du, dv = u - u0, v - v0
    values = heatmap.astype(np.float64)
    top = values[v0, u0] * (1 - du) + values[v0, u1] * du
    bottom = values[v1, u0] * (1 - du) + values[v1, u1] * du
    return float(top * (1 - dv) + bottom * dv)


class MapStore:
    """Maps of every method and layer for the frames of a video, computed on first use.

    A request for frame ``i`` computes the whole batch of ``batch_size`` frames around it with
    one :func:`xaikit.explain` call (all methods and layers at once), and keeps the maps at
    feature resolution in frame coordinates (:func:`frame_maps`): 1 KiB or so per map.

    Args:
        model: the CNN (eval mode).
        frames: a :class:`~xaikit.widgets._frames.FrameSource`.
        methods: method names (see ``xaikit.explain.METHODS``).
        layers: layer names; ``None`` takes the model card's layers or the deepest feature map.
        preprocess: frames, device -> (input, mappings); see :func:`resolve_preprocess`.
        target: the explained target, as :func:`xaikit.explain` takes it (one for every frame).
        batch_size: frames per explain call.
        device: where to compute (``None``: the model's device).
    """

    def __init__(
        self,
        model,
        frames,
        methods,
        layers=None,
        preprocess=None,
        target=None,
        batch_size: int = 8,
        device=None,
    ):
        from xaikit.explain import METHODS

        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
        self.model, self.frames, self.target = model, frames, target
        self.batch_size, self.device = batch_size, device
        self.methods = check_methods(methods)
        self.preprocess = resolve_preprocess(model, preprocess, frames.native_size)
        example, _ = self.preprocess(frames.native(0)[None], device="cpu")
        self.catalogue = feature_layers(model, example.to(_device_of(model)))
        self.layers = pick_layers(model, self.catalogue, layers)
        self._uses_layers = {name: METHODS[name].uses_layers for name in self.methods}
        self._maps: dict[tuple[str, str], dict[int, np.ndarray]] = {}
        self._done: set[int] = set()

    def key(self, method: str, layer: str) -> tuple[str, str]:
        """The stored key of (method, layer): pixel methods ignore the layer (key ``"input"``)."""
        if method not in self._uses_layers:
            raise ValueError(f"unknown method {method!r}; this store has {self.methods}")
        if not self._uses_layers[method]:
            return method, "input"
        if layer not in self.layers:
            raise ValueError(f"unknown layer {layer!r}; this store has {self.layers}")
        return method, layer

    def has(self, index: int) -> bool:
        """Whether the maps of frame ``index`` are computed."""
        return index // self.batch_size in self._done

    def get(self, index: int, method: str, layer: str) -> np.ndarray:
        """Map of frame ``index`` in [0, 1], ``(h, w)`` ``float16`` in frame coordinates."""
        key = self.key(method, layer)
        self.frames._index(index)
        if not self.has(index):
            self._compute(index // self.batch_size)
        return self._maps[key][index]

    def compute_all(self, progress=None) -> None:
        """Compute every batch; ``progress(done, total)`` is called after each."""
        batches = range((len(self.frames) + self.batch_size - 1) // self.batch_size)
        for batch in batches:
            if batch not in self._done:
                self._compute(batch)
            if progress is not None:
                progress(batch + 1, len(batches))

    def _compute(self, batch: int) -> None:
        from xaikit.explain import explain

        start = batch * self.batch_size
        stop = min(start + self.batch_size, len(self.frames))
        natives = np.stack([self.frames.native(index) for index in range(start, stop)])
        x, mappings = self.preprocess(natives, device=self.device or _device_of(self.model))
        results = explain(
            self.model,
            x,
            method=self.methods,
            layers=self.layers,
            target=self.target,
            device=self.device,
            progress=False,
            batch_size=self.batch_size,
        )
        for method, explanation in results.items():
            for layer, maps in explanation.maps.items():
                raw_size = tuple(explanation.raw[layer].shape[-2:])
                small = np.concatenate(
                    [
                        frame_maps(maps[row : row + 1], raw_size, mapping)
                        for row, mapping in enumerate(mappings)
                    ]
                )
                store = self._maps.setdefault((method, layer), {})
                for row, index in enumerate(range(start, stop)):
                    store[index] = small[row]
        self._done.add(batch)


def _device_of(model) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def image_maps(
    model, image, methods, layers=None, target=None, preprocess=None, device=None, video=False
):
    """Every method x layer map of one image (or clip), on the image's pixel grid.

    Args:
        model: the CNN.
        image: ``(H, W, 3)`` ``uint8`` image, or a ``(T, H, W, 3)`` clip with ``video=True``.
        methods, layers, target, preprocess, device: as for :class:`MapStore`.
        video: whether ``image`` is a clip for a 3D model.

    Returns:
        ``(catalogue, layers, maps)``: the feature-map layers by name, the layer names used and
        ``{(method, key): (H, W) or (T, H, W) float32 map in [0, 1]}``; ``key`` is a layer
        name, ``"input"`` for pixel methods or ``"a+b"`` for Sum-3DCAM.
    """
    from xaikit.explain import explain

    array = np.asarray(image)
    shape = "(T, H, W, 3)" if video else "(H, W, 3)"
    if array.ndim != (4 if video else 3) or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise ValueError(f"image must be {shape} uint8 RGB; got {array.shape} {array.dtype}")
    names = check_methods(methods)
    preprocess = resolve_preprocess(model, preprocess, array.shape[-3:-1], video=video)
    x, mappings = preprocess(array if video else array[None], device=device or _device_of(model))
    catalogue = feature_layers(model, x[:1])
    chosen = pick_layers(model, catalogue, layers)
    results = explain(model, x[:1], method=names, layers=chosen, target=target, progress=False)
    maps = {}
    for method, explanation in results.items():
        for key, value in explanation.maps.items():
            on_frame = mappings[0].map_to_frame(value[0].detach().float().cpu())
            maps[(method, key)] = on_frame.numpy().astype(np.float32)
    return catalogue, chosen, maps


def is_detector(model) -> bool:
    """Whether ``model`` is a Darknet-style detector whose detections get their own maps
    (``detect``, ``preprocess`` and ``decode``, as :class:`~xaikit.models.Darknet` has)."""
    return all(callable(getattr(model, name, None)) for name in ("detect", "preprocess", "decode"))


class DetectionMapStore:
    """Per-detection maps of a detector over a video, with :class:`MapStore`'s interface.

    Each (method, layer) has its own :class:`~xaikit.track.DetectionCAMCache` (maps at feature
    resolution, persisted on disk, ``batch_size`` frames per cache file), created on first use;
    a frame's map is every detection's own map inside its box
    (:meth:`~xaikit.track.DetectionCAMCache.frame_map`), 0 elsewhere, in frame pixels.

    Args:
        model: a Darknet-style detector (see :func:`is_detector`).
        frames: a :class:`~xaikit.widgets._frames.FrameSource`.
        video: the video as the user gave it (the cache keys on its content).
        detections: table ``frame, x0, y0, x1, y1`` (native frame pixels), optional ``track``.
        methods: method names that read a layer (per-detection maps are read at a layer).
        layers: layer names; ``None`` takes the model card's layers, else the cache's default
            (the 3x3 conv two layers before the first ``[yolo]`` head).
        cache_dir: folder of the on-disk cache (``None``: ``~/.cache/xaikit/cams``).
        batch_size: frames per cache file (computed together).
        device: where to compute (``None``: the model's device).
        fps: frame rate of an array of frames.

    Raises:
        ValueError: an unknown method or layer, or a method that reads no layer.
    """

    def __init__(
        self,
        model,
        frames,
        video,
        detections,
        methods,
        layers=None,
        cache_dir=None,
        batch_size: int = 8,
        device=None,
        fps: float | None = None,
    ):
        from xaikit.explain import METHODS
        from xaikit.track import DetectionCAMCache

        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
        self.methods = check_methods(methods)
        pixel = [name for name in self.methods if not METHODS[name].uses_layers]
        if pixel:
            raise ValueError(
                f"per-detection maps are read at a layer; {pixel} read none. Choose methods "
                f"that use layers: {sorted(n for n, m in METHODS.items() if m.uses_layers)}"
            )
        self.frames, self.detections = frames, detections
        self._make = lambda method, layer: DetectionCAMCache(
            video, model, detections, method, layer, cache_dir=cache_dir, device=device,
            chunk=batch_size, fps=frames.fps if fps is None else fps,
        )  # fmt: skip
        example, _ = model.preprocess([frames.native(0)], device=_device_of(model))
        self.catalogue = feature_layers(model, example)
        self._caches: dict[tuple[str, str], DetectionCAMCache] = {}
        if layers is None and not getattr(getattr(model, "xaikit_info", None), "layers", None):
            first = self._make(self.methods[0], None)
            layers = [first.layer]
            self._caches[(self.methods[0], first.layer)] = first
        self.layers = pick_layers(model, self.catalogue, layers)

    def key(self, method: str, layer: str) -> tuple[str, str]:
        """``(method, layer)``, checked."""
        if method not in self.methods:
            raise ValueError(f"unknown method {method!r}; this store has {self.methods}")
        if layer not in self.layers:
            raise ValueError(f"unknown layer {layer!r}; this store has {self.layers}")
        return method, layer

    def cache(self, method: str, layer: str):
        """The :class:`~xaikit.track.DetectionCAMCache` of (method, layer)."""
        key = self.key(method, layer)
        if key not in self._caches:
            self._caches[key] = self._make(*key)
        return self._caches[key]

    def get(self, index: int, method: str, layer: str) -> np.ndarray:
        """Map of frame ``index`` in [0, 1], ``(H, W)`` ``float32`` in native frame pixels."""
        self.frames._index(index)
        return self.cache(method, layer).frame_map(index)

    def compute_all(self, progress=None) -> None:
        """Compute every chunk of every (method, layer); ``progress(done, total)`` after each."""
        caches = [self.cache(method, layer) for method in self.methods for layer in self.layers]
        total = sum(cache.chunks for cache in caches)
        done = 0
        for cache in caches:
            for index in range(cache.chunks):
                cache.compute(frames=[index * cache.chunk], progress=False)
                done += 1
                if progress is not None:
                    progress(done, total)
