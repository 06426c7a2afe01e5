"""VideoExplorer: scrub a video with its detections, track trails and the maps of a model."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from xaikit.explain import frames
from xaikit.viz.compose import compose_frame
from xaikit.viz.encode import encode_jpeg
from xaikit.viz.figures import figure_grid
from xaikit.widgets._base import Panel, close_widget, guarded
from xaikit.widgets._cache import BytesCache
from xaikit.widgets._controls import cmap_picker, frame_controls, layer_options, opacity_slider
from xaikit.widgets._frames import FrameSource
from xaikit.widgets._tables import FrameTable

try:  # click-to-probe and arrow keys on the picture; without it the slider still steps
    from ipyevents import Event
except ImportError:  # pragma: no cover - depends on the environment
    Event = None

VIEWER_CLASS = "xaikit-viewer"


def detected_boxes(model, video, score_threshold: float, fps: float, device=None):
    """The detector's boxes over the video scoring above ``score_threshold``, as a table."""
    from xaikit.track import detect_video

    run = detect_video(model, video, fps=fps, device=device, describe=False, progress=False)
    return run.table[run.table["score"] > score_threshold].reset_index(drop=True)


def is_detector(model) -> bool:
    """Whether ``model`` is a Darknet-style detector whose detections get their own maps
    (``detect`` and ``box_scores``, as :class:`~xaikit.models.Darknet` has)."""
    return all(callable(getattr(model, name, None)) for name in ("detect", "box_scores"))


def sample_map(heatmap: np.ndarray, x: float, y: float, shape: tuple[int, int]) -> float:
    """Bilinear value of a map (any resolution) at pixel ``(x, y)`` of a picture of ``shape``.

    Args:
        heatmap: ``(h, w)`` map.
        x, y: pixel coordinates in the picture (0 = left / top edge).
        shape: ``(H, W)`` of the picture the map is drawn on.

    Examples:
        >>> sample_map(np.array([[0.0, 1.0]]), x=2.0, y=0.0, shape=(2, 4))
        0.75
    """
    h, w = heatmap.shape
    height, width = shape
    u = float(np.clip((x + 0.5) * w / width - 0.5, 0, w - 1))
    v = float(np.clip((y + 0.5) * h / height - 0.5, 0, h - 1))
    u0, v0 = int(u), int(v)
    u1, v1 = min(u0 + 1, w - 1), min(v0 + 1, h - 1)
    du, dv = u - u0, v - v0
    values = heatmap.astype(np.float64)
    top = values[v0, u0] * (1 - du) + values[v0, u1] * du
    bottom = values[v1, u0] * (1 - du) + values[v1, u1] * du
    return float(top * (1 - dv) + bottom * dv)


class VideoExplorer(Panel):
    """Scrub a video frame by frame with overlays: heatmap, detection boxes, track trails.

    The Play button drives the frame slider in the browser (``jslink``); the kernel renders the
    frame the slider shows: the cached frame, the cached map of the chosen method and layer
    blended in (:func:`xaikit.viz.compose.blend_map`), boxes and trails drawn, JPEG-encoded
    once per setting and kept in a byte cache. Maps come from :func:`xaikit.explain.frames`:
    computed in batches of frames on first use (or all at once with "compute all maps"),
    kept at feature resolution, in memory or in ``cache``. "smooth
    playback" pre-encodes every frame and flips through them in the browser (a ``Stack`` of
    images linked to Play), which plays at 25 fps or more whatever the kernel does.

    With a detector (a Darknet model such as ``xk.models.load("demo-mice")``), every detection
    gets its own map: the heatmap shows each detection's map inside its box (kept on disk in
    ``cache``, so reopening the notebook does not recompute them), for the chosen method and
    layer. The detections are
    ``detections``, else ``tracks``, else the detector's own (:func:`~xaikit.track.detect_video`,
    those scoring above ``score_threshold``).

    A click on the picture reads the values of every method and layer at that point; the left
    and right arrow keys step frames while the pointer is over the picture (both need the
    ``ipyevents`` package; without it, the slider's own arrow keys still step).

    Args:
        video: file path, :class:`~xaikit.data.VideoReader`, synthetic ``ArenaClip`` or
            ``(T, H, W, 3)`` ``uint8`` array.
        model: a CNN to explain, a Darknet-style detector (per-detection maps), or ``None``
            for a plain viewer without heatmaps.
        methods: method names (see ``xaikit.explain.METHODS``).
        layers: layer names; ``None`` takes the model card's layers or the deepest feature map.
        detections: DataFrame ``frame, x0, y0, x1, y1`` (frame pixels), optional
            ``track``, ``label``, ``score``; drawn as boxes coloured by
            identity.
        tracks: DataFrame ``frame, track, x0, y0, x1, y1``, such as
            :func:`xaikit.track.track` gives; drawn as trails of box centres (and as boxes
            when ``detections`` is not given).
        preprocess: ``frames, device -> (input, mappings)``; default: the model's
            (``model.xaikit_info``) or frames scaled to [0, 1] at native size.
        target: explained target for every frame (``None``: the predicted class); not used
            with a detector, whose targets are its detections.
        width: display width in pixels (``None``: native size).
        fps: frame rate for arrays (files and clips carry their own).
        batch_size: frames per explain call.
        trail: trail length in frames.
        alpha, cmap: initial heatmap opacity and colormap.
        device: where to compute the maps.
        score_threshold: with a detector and no table, the detections shown and explained
            must score above it.
        cache: where the maps are kept (see :func:`xaikit.explain.frames`): ``None`` in
            memory, a folder on disk; default: in memory for a classifier, on disk in
            ``~/.cache/xaikit/maps`` for a detector's per-detection maps.

    Examples:
        >>> import numpy as np
        >>> explorer = VideoExplorer(np.zeros((5, 32, 48, 3), np.uint8), fps=10)
        >>> explorer.slider.value = 3
        >>> explorer.info.value
        'frame 3 / 4 · 0.30 s'
        >>> explorer.image.value[:2] == b"\\xff\\xd8"
        True
        >>> explorer.close()
    """

    def __init__(
        self,
        video,
        model=None,
        methods=("gradcam",),
        layers=None,
        *,
        detections=None,
        tracks=None,
        preprocess=None,
        target=None,
        width: int | None = None,
        fps: float | None = None,
        batch_size: int = 8,
        trail: int = 30,
        alpha: float = 0.5,
        cmap: str = "jet",
        device=None,
        max_flipbook_frames: int = 1500,
        score_threshold: float = 0.25,
        cache="default",
    ):
        self.frames = FrameSource(video, width=width, fps=fps)
        self.maps = None
        self.detections = None if detections is None else FrameTable(detections, "detections")
        self.tracks = None if tracks is None else FrameTable(tracks, "tracks", require_tracks=True)
        if model is not None:
            target_table = None
            if is_detector(model):
                explained = detections if detections is not None else tracks
                if explained is None:
                    explained = detected_boxes(
                        model, video, score_threshold, self.frames.fps, device
                    )
                    self.detections = FrameTable(explained, "detections")
                target_table = FrameTable(explained).cam_table()
            self.maps = frames(
                model,
                video,
                methods,
                layers,
                target if target_table is None else target_table,
                preprocess=preprocess,
                batch_size=batch_size,
                cache=(target_table is not None) if cache == "default" else cache,
                device=device,
            )
        if not isinstance(trail, int) or trail < 2:
            raise ValueError(f"trail must be an int >= 2 frames; got {trail!r}")
        self.trail = trail
        self.max_flipbook_frames = max_flipbook_frames
        self._bytes = BytesCache()
        super().__init__()  # widgets only from here on, so a bad argument leaks none
        self._build(alpha, cmap)
        self.render()

    # ------------------------------------------------------------------ layout

    def _build(self, alpha: float, cmap: str) -> None:
        own = self._own
        count = len(self.frames)
        self.play, self.slider, self._link = (
            own(w) for w in frame_controls(count, self.frames.fps)
        )
        self.info = own(W.Label())
        self.info.add_class("xaikit-frame-info")
        height, width = self.frames.shape
        self.image = own(
            W.Image(format="jpeg", layout=W.Layout(width=f"{width}px", height=f"{height}px"))
        )
        self.view = own(W.Box([self.image]))
        has_maps = self.maps is not None
        methods = self.maps.methods if has_maps else []
        layers = layer_options(self.maps.catalogue, self.maps.layers) if has_maps else []
        self.method = own(
            W.Dropdown(options=methods, description="method", layout=W.Layout(width="230px"))
        )
        self.layer = own(
            W.Dropdown(options=layers, description="layer", layout=W.Layout(width="420px"))
        )
        self.alpha = own(opacity_slider(alpha))
        self.cmap = own(cmap_picker(cmap))
        self.show_map = own(
            W.Checkbox(value=has_maps, description="heatmap", disabled=not has_maps)
        )
        has_boxes = self.detections is not None or self.tracks is not None
        self.show_boxes = own(
            W.Checkbox(value=has_boxes, description="boxes", disabled=not has_boxes)
        )
        self.show_trails = own(
            W.Checkbox(
                value=self.tracks is not None, description="trails", disabled=self.tracks is None
            )
        )
        self.smooth = own(W.ToggleButton(description="smooth playback", icon="film"))
        self.compute_button = own(W.Button(description="compute all maps", disabled=not has_maps))
        self.progress = own(W.FloatProgress(min=0, max=1, layout=W.Layout(width="160px")))
        self.probe_label = own(W.HTML())
        self._flipbook: list[W.Widget] = []

        for widget in (self.slider, self.method, self.layer, self.alpha, self.cmap):
            widget.observe(self._on_change, names="value")
        for widget in (self.show_map, self.show_boxes, self.show_trails):
            widget.observe(self._on_change, names="value")
        self.smooth.observe(self._on_smooth, names="value")
        self.compute_button.on_click(lambda _: self.precompute())
        self._events = None
        if Event is not None:
            self._events = own(
                Event(
                    source=self.image,
                    watched_events=["click", "keydown"],
                    prevent_default_action=True,
                    xy_coordinate_system="data",
                )
            )
            self._events.on_dom_event(self.handle_event)

        rows = [
            W.HBox([self.play, self.slider, self.info]),
            self.view,
            W.HBox([self.method, self.layer]),
            W.HBox([self.alpha, self.cmap]),
            W.HBox([self.show_map, self.show_boxes, self.show_trails]),
            W.HBox([self.smooth, self.compute_button, self.progress]),
            self.probe_label,
            self.error,
        ]
        self.box = own(W.VBox([own(row) if isinstance(row, W.HBox) else row for row in rows]))
        self.box.add_class(VIEWER_CLASS)

    # ------------------------------------------------------------------ rendering

    def _settings(self) -> tuple:
        map_on = self.maps is not None and self.show_map.value
        return (
            (self.method.value, self.layer.value, round(self.alpha.value, 3), self.cmap.value)
            if map_on
            else None,
            self.show_boxes.value,
            self.show_trails.value,
        )

    def picture(self, index: int | None = None) -> np.ndarray:
        """The frame as displayed with the current overlays, ``(H, W, 3)`` ``uint8`` RGB.

        Args:
            index: frame number; ``None`` is the slider's frame.
        """
        index = self.slider.value if index is None else int(index)
        frame = self.frames.display(index)
        heatmap_settings, show_boxes, show_trails = self._settings()
        heatmap, alpha, cmap = None, 0.5, "jet"
        if heatmap_settings is not None:
            method, layer, alpha, cmap = heatmap_settings
            heatmap = self.maps.get(index, method, layer)
        boxes = labels = identities = None
        table = self.detections if self.detections is not None else self.tracks
        scale = self.frames.scale
        if show_boxes and table is not None:
            boxes, labels, identities = table.boxes(index)
            boxes = boxes * scale
        trails = None
        if show_trails and self.tracks is not None:
            trails = {k: v * scale for k, v in self.tracks.trails(index, self.trail).items()}
        return compose_frame(
            frame,
            heatmap,
            alpha=alpha,
            cmap=cmap,
            boxes=boxes,
            labels=labels,
            identities=identities,
            trails=trails,
        )

    def encoded(self, index: int | None = None) -> bytes:
        """JPEG bytes of :meth:`picture`, from the byte cache when this setting was seen."""
        index = self.slider.value if index is None else int(index)
        key = (index, *self._settings())
        data = self._bytes.get(key)
        if data is None:
            data = encode_jpeg(self.picture(index))
            self._bytes.put(key, data)
        return data

    @guarded
    def render(self) -> None:
        """Put the current frame in the picture and its number and time in the label."""
        index = self.slider.value
        self.info.value = (
            f"frame {index} / {len(self.frames) - 1} · {self.frames.time(index):.2f} s"
        )
        if self.smooth.value:
            return  # the browser flips through the pre-encoded frames
        self.image.value = self.encoded(index)

    @guarded
    def _on_change(self, change) -> None:
        if self.smooth.value and change["owner"] is not self.slider:
            self._rebuild_flipbook()
        self.render()

    # ------------------------------------------------------------------ actions

    @guarded
    def precompute(self) -> None:
        """Compute the maps of every frame now, showing progress."""
        if self.maps is None:
            raise ValueError("this explorer has no model; pass model= to compute maps")
        self.progress.value = 0.0

        def advance(done: int, total: int) -> None:
            self.progress.value = done / total

        self.maps.compute(progress=advance)

    def step(self, delta: int) -> None:
        """Move ``delta`` frames, staying inside the video."""
        self.slider.value = int(np.clip(self.slider.value + delta, 0, len(self.frames) - 1))

    @guarded
    def probe(self, x: float, y: float) -> dict[str, float]:
        """Values of every method and layer at display pixel ``(x, y)`` of the current frame.

        The values are shown under the picture and returned as ``{"method · layer": value}``.
        """
        if self.maps is None:
            raise ValueError("this explorer has no model, so there is no map to read")
        height, width = self.frames.shape
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f"({x}, {y}) lies outside the {width}x{height} picture")
        index = self.slider.value
        values = {}
        for method in self.maps.methods:
            for layer in dict.fromkeys(self.maps.key(method, name) for name in self.maps.layers):
                heatmap = self.maps.get(index, method, layer)
                values[f"{method} · {layer}"] = sample_map(heatmap, x, y, (height, width))
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{value:.3f}</td></tr>"
            for name, value in values.items()
        )
        self.probe_label.value = (
            f"<b>maps at x={x:.0f}, y={y:.0f} (frame {index})</b><table>{rows}</table>"
        )
        return values

    def handle_event(self, event: dict) -> None:
        """Browser events on the picture: a click probes the maps, arrow keys step frames."""
        if event.get("type") == "click" and self.maps is not None:
            self.probe(event["dataX"], event["dataY"])
        elif event.get("type") == "keydown":
            delta = {"ArrowRight": 1, "ArrowLeft": -1}.get(event.get("key"), 0)
            if delta:
                self.step(delta)

    # ------------------------------------------------------------------ smooth playback

    @guarded
    def _on_smooth(self, change) -> None:
        if change["new"]:
            self._rebuild_flipbook()
        else:
            self._drop_flipbook()
            self.view.children = [self.image]
        self.render()

    def _rebuild_flipbook(self) -> None:
        count = len(self.frames)
        if count > self.max_flipbook_frames:
            self.smooth.value = False
            raise ValueError(
                f"smooth playback holds every frame in the browser; {count} frames exceed "
                f"max_flipbook_frames={self.max_flipbook_frames} (pass a larger value or width=)"
            )
        if self.maps is not None and self.show_map.value:
            self.precompute()
        self._drop_flipbook()
        height, width = self.frames.shape
        layout = W.Layout(width=f"{width}px", height=f"{height}px")
        pages = [
            W.Image(value=self.encoded(index), format="jpeg", layout=layout)
            for index in range(count)
        ]
        stack = W.Stack(pages, selected_index=self.slider.value)
        stack.add_class("xaikit-flipbook")
        link = W.jslink((self.play, "value"), (stack, "selected_index"))
        self._flipbook = [*pages, stack, link]
        self.view.children = [stack]

    def _drop_flipbook(self) -> None:
        for widget in reversed(self._flipbook):
            close_widget(widget)
        self._flipbook = []

    # ------------------------------------------------------------------ output

    def figure(self):
        """The current frame with its overlays as a savable matplotlib Figure."""
        index = self.slider.value
        title = f"frame {index} · {self.frames.time(index):.2f} s"
        heatmap_settings = self._settings()[0]
        if heatmap_settings is not None:
            title += f" · {heatmap_settings[0]} · {heatmap_settings[1]}"
        height, width = self.frames.shape
        return figure_grid([self.picture()], titles=[title], panel_size=min(8.0, width / 80))

    def close(self) -> None:
        """Close every widget (the flipbook's too) and drop the cached pictures."""
        self._drop_flipbook()
        self._bytes.clear()
        super().close()
