"""VideoExplorer: scrub a video with its detections, track trails and the maps of a model."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import ipywidgets as W
import numpy as np

from xaikit.explain import frames
from xaikit.viz.compose import compose_frame
from xaikit.viz.encode import encode_jpeg
from xaikit.viz.figures import figure_grid
from xaikit.widgets._background import ChunkWorker, LatestOnly, lower_priority
from xaikit.widgets._base import PICTURE_CLASS, Panel, close_widget, guarded, logger
from xaikit.widgets._cache import BytesCache
from xaikit.widgets._controls import (
    cmap_picker,
    colorbar_html,
    frame_controls,
    layer_options,
    opacity_slider,
    wrap_row,
)
from xaikit.widgets._frames import FrameSource
from xaikit.widgets._tables import FrameTable
from xaikit.widgets._video_layout import (
    VIEWER_CLASS,
    controls_column,
    picture_column,
    picture_layout,
    root_box,
)
from xaikit.widgets._video_probe import detection_at, probe_html, sample_map

try:  # click-to-probe and arrow keys on the picture; without it the slider still steps
    from ipyevents import Event
except ImportError:  # pragma: no cover - depends on the environment
    Event = None

__all__ = ["VIEWER_CLASS", "VideoExplorer", "detected_boxes", "is_detector", "sample_map"]

STATUS_CLASS = "xaikit-status"
PROBE_CLASS = "xaikit-probe"

#: Seconds after Play stops during which a jump to the first frame is undone (ipywidgets' Stop
#: button pauses, then sets ``value = min``; the explorer keeps the frame the user stopped on).

#: Seconds the slider rests on a frame shown from the proxy before the video's own decode of it
#: replaces the proxy's JPEG (a decode from the keyframe, too slow to do on every step).
SETTLE_S = 0.25

#: Threads that encode the flipbook's frames, and frames per progress step.
ENCODER_THREADS = max(1, min(4, os.cpu_count() or 1))
ENCODE_BATCH = 16


def detected_boxes(model, video, score_threshold: float, fps: float, device=None):
    """The detector's boxes over the video scoring above ``score_threshold``, as a table."""
    from xaikit.track import detect_video

    run = detect_video(model, video, fps=fps, device=device, describe=False, progress=False)
    return run.table[run.table["score"] > score_threshold].reset_index(drop=True)


def is_detector(model) -> bool:
    """Whether ``model`` is a Darknet-style detector whose detections get their own maps
    (``detect`` and ``box_scores``, as :class:`~xaikit.models.Darknet` has)."""
    return all(callable(getattr(model, name, None)) for name in ("detect", "box_scores"))


def map_caption(per_detection: bool, in_boxes: bool) -> str:
    """What the colorbar's 0 and 1 mean for the explorer's maps (min-max normalised per
    explained sample, as :func:`xaikit.explain.frames` stores them).

    Examples:
        >>> map_caption(False, False)
        "map value: 0 = the frame's lowest, 1 = its highest (min-max per frame)"
    """
    if not per_detection:
        return "map value: 0 = the frame's lowest, 1 = its highest (min-max per frame)"
    where = ", shown inside its box" if in_boxes else ""
    return (
        "map value: 0 = lowest, 1 = highest of each detection's own map "
        f"(min-max per detection{where})"
    )


def _control_layout() -> W.Layout:
    return W.Layout(width="100%", max_width="440px", margin="2px 0")  # no side margin to overflow


class VideoExplorer(Panel):
    """Scrub a video frame by frame with overlays: heatmap, detection boxes, track trails.

    The frame always shows at once. A slider move only records the wanted frame; a render
    thread draws the newest wanted frame (frames it never reached are dropped, so during Play
    the picture skips ahead instead of falling behind) and sets the picture and the "frame N"
    label together, from the same index. Play's timer runs in the browser; the kernel
    observes it and moves the slider to each frame it shows, so slider, label and picture
    always name one frame (Stop keeps it). Maps come from :func:`xaikit.explain.frames`, computed
    by a background thread (the only one running the model), the chunk of the current frame
    first, then the chunks ahead of the play head; a frame whose map is not there yet shows
    without it, the status line says "computing maps k/N chunks", and the picture is redrawn
    when its map arrives. The map's opacity follows its value (``alpha`` x map), so where the
    map is 0 the frame shows unchanged; a colorbar under the picture states the normalisation.
    Pictures are JPEG-encoded once per setting and kept in a byte cache. A video file gets a
    seek-friendly proxy in the background (every frame a JPEG at display size,
    :mod:`xaikit.data.proxy`), so any jump shows within milliseconds; once the slider rests
    on a frame for a quarter of a second while paused, that frame is decoded from the video
    itself and redrawn, so a paused picture is never the proxy's JPEG.

    "smooth playback" pre-encodes every frame (in the background, after the maps) and flips
    through them in the browser (a ``Stack`` of images linked to Play), which plays at 25 fps
    or more whatever the kernel does.

    With a detector (a Darknet model such as ``xk.models.load("demo-mice")``), every detection
    gets its own map, kept on disk in ``cache`` (reopening the notebook does not recompute
    them); by default each is shown only inside its own box ("map inside boxes", see
    ``map_in_boxes``). The detections are ``detections``, else ``tracks``, else the detector's
    own (:func:`~xaikit.track.detect_video`, those scoring above ``score_threshold``).

    A click on the picture marks the point, reads the values of every method and layer there
    and names the detection under it; the readout follows the frame. The left and right arrow
    keys step frames while the pointer is over the picture (both need the ``ipyevents``
    package; without it, the slider's own arrow keys still step).

    Args:
        video: file path, :class:`~xaikit.data.VideoReader`, synthetic ``ArenaClip`` or
            ``(T, H, W, 3)`` ``uint8`` array.
        model: a CNN to explain, a Darknet-style detector (per-detection maps), or ``None``
            for a plain viewer without heatmaps.
        methods: method names (see ``xaikit.explain.METHODS``).
        layers: layer names; ``None`` takes the model card's layers or the deepest feature map.
        detections: DataFrame ``frame, x0, y0, x1, y1`` (frame pixels), optional
            ``track``, ``label``, ``score``; drawn as boxes coloured by identity.
        tracks: DataFrame ``frame, track, x0, y0, x1, y1``, such as
            :func:`xaikit.track.track` gives; drawn as trails of box centres (and as boxes
            when ``detections`` is not given).
        preprocess: ``frames, device -> (input, mappings)``; default: the model's
            (``model.xaikit_info``) or frames scaled to [0, 1] at native size.
        target: explained target for every frame (``None``: the predicted class); not used
            with a detector, whose targets are its detections.
        width: display width in pixels (``None``: native size).
        fps: frame rate for arrays (files and clips carry their own).
        batch_size: frames per explain call (one chunk of maps).
        trail: trail length in frames.
        alpha, cmap: initial heatmap opacity (where the map is 1) and colormap.
        device: where to compute the maps.
        max_flipbook_frames: the most frames smooth playback holds in the browser.
        score_threshold: with a detector and no table, the detections shown and explained
            must score above it.
        cache: where the maps are kept (see :func:`xaikit.explain.frames`): ``None`` in
            memory, a folder on disk; default: in memory for a classifier, on disk in
            ``~/.cache/xaikit/maps`` for a detector's per-detection maps.
        map_in_boxes: with per-detection maps, show each detection's map only inside its box
            (``False``: the largest of the detections' whole-frame maps everywhere); ``None``
            is ``True`` for a detector.

    Examples:
        >>> import numpy as np
        >>> explorer = VideoExplorer(np.zeros((5, 32, 48, 3), np.uint8), fps=10)
        >>> explorer.slider.value = 3
        >>> explorer.wait()
        True
        >>> explorer.info.value, explorer.shown
        ('frame 3 / 4 · 0.30 s', 3)
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
        map_in_boxes: bool | None = None,
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
        per_detection = self.maps is not None and self.maps.per_detection
        self._bytes = BytesCache()
        self._draw_lock = threading.RLock()
        self._render_error = False
        self._probe_point: tuple[float, float] | None = None
        self._moving_slider = False  # the renderer, not the user, is setting the slider
        self._flip_generation = 0
        self._flip_thread: threading.Thread | None = None
        self._flipbook: list[W.Widget] = []
        #: The frame whose picture was set last (``None`` before the first).
        self.shown: int | None = None
        super().__init__()  # widgets only from here on, so a bad argument leaks none
        self._build(alpha, cmap, per_detection if map_in_boxes is None else bool(map_in_boxes))
        self._renderer = LatestOnly(self._draw, on_error=self._render_failed, name="render")
        self._sharpener = LatestOnly(self._sharpen, on_error=self._render_failed, name="sharpen")
        self._worker = None
        if self.maps is not None:
            self._worker = ChunkWorker(
                self.maps, on_ready=self._on_chunk, on_error=self._chunk_failed, start=False
            )
        self.render()
        if self._worker is not None:
            self._worker.focus(0)
        self._prefetcher = threading.Thread(
            target=self._prefetch_frames, name="xaikit-frames", daemon=True
        )
        self._prefetcher.start()

    # ------------------------------------------------------------------ layout

    def _build(self, alpha: float, cmap: str, in_boxes: bool) -> None:
        own = self._own
        count = len(self.frames)
        self.play, self.slider, _ = frame_controls(count, self.frames.fps, link=False)
        own(self.play), own(self.slider)
        slider = self.slider.layout  # grows with the picture column, wraps when narrow
        slider.width, slider.flex, slider.min_width = None, "1 1 200px", "160px"
        self.info = own(W.Label(layout=W.Layout(min_width="150px")))
        self.info.add_class("xaikit-frame-info")
        height, width = self.frames.shape
        self.image = own(W.Image(format="jpeg", layout=picture_layout((height, width))))
        self.image.add_class(PICTURE_CLASS)
        self.view = own(W.Box([self.image], layout=W.Layout(max_width="100%")))
        has_maps = self.maps is not None
        per_detection = has_maps and self.maps.per_detection
        methods = self.maps.methods if has_maps else []
        layers = layer_options(self.maps.catalogue, self.maps.layers) if has_maps else []
        self.method = own(
            W.Dropdown(options=methods, description="method", layout=_control_layout())
        )
        self.layer = own(W.Dropdown(options=layers, description="layer", layout=_control_layout()))
        self.alpha = own(opacity_slider(alpha))
        self.cmap = own(cmap_picker(cmap))
        self.show_map = own(
            W.Checkbox(value=has_maps, description="heatmap", disabled=not has_maps, indent=False)
        )
        self.in_boxes = own(
            W.Checkbox(
                value=in_boxes and per_detection,
                description="map inside boxes",
                disabled=not per_detection,
                indent=False,
                tooltip="show each detection's own map only inside its box",
            )
        )
        has_boxes = self.detections is not None or self.tracks is not None
        self.show_boxes = own(
            W.Checkbox(value=has_boxes, description="boxes", disabled=not has_boxes, indent=False)
        )
        self.show_trails = own(
            W.Checkbox(
                value=self.tracks is not None,
                description="trails",
                disabled=self.tracks is None,
                indent=False,
            )
        )
        self.smooth = own(
            W.ToggleButton(
                description="smooth playback",
                icon="film",
                tooltip=(
                    "encode every frame once and let Play flip through them in the browser "
                    "(smooth at the video's frame rate; settings are fixed while it is on)"
                ),
                layout=W.Layout(width="auto", min_width="170px"),
            )
        )
        self.compute_button = own(
            W.Button(
                description="compute all maps",
                disabled=not has_maps,
                tooltip="compute the maps of every frame now (they also fill in as you play)",
                layout=W.Layout(width="auto", min_width="150px"),
            )
        )
        self.progress = own(W.FloatProgress(min=0, max=1, layout=W.Layout(width="160px")))
        self.progress_label = own(W.Label())
        self.progress_row = own(wrap_row([self.progress_label, self.progress]))
        self.progress_row.layout.display = "none"
        self.colorbar = own(W.HTML(layout=W.Layout(display=None if has_maps else "none")))
        self.status = own(W.Label(layout=W.Layout(display="none")))
        self.status.add_class(STATUS_CLASS)
        self.probe_label = own(W.HTML())
        self.probe_label.add_class(PROBE_CLASS)
        self._update_colorbar()

        self.slider.observe(self._on_frame, names="value")
        self.play.observe(self._on_play_value, names="value")
        for widget in (self.method, self.layer, self.alpha, self.cmap, self.in_boxes):
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

        transport = own(wrap_row([self.play, self.slider, self.info], width="100%"))
        picture = own(picture_column(width, [transport, self.view, self.colorbar, self.status]))
        toggles = [self.show_map, self.in_boxes, self.show_boxes, self.show_trails]
        rows = [
            [self.method],
            [self.layer],
            [self.alpha, self.cmap],
            toggles,
            [self.smooth, self.compute_button],
        ]
        controls = own(
            controls_column(
                [*(own(wrap_row(r)) for r in rows), self.progress_row, self.probe_label]
            )
        )
        self.box = own(root_box(picture, controls, self.error))
        own(self.box.children[0])  # the row holding picture and controls

    def _update_colorbar(self) -> None:
        on = self.maps is not None and self.show_map.value
        self.colorbar.layout.display = None if on else "none"
        if on:
            caption = map_caption(self.maps.per_detection, self.in_boxes.value)
            self.colorbar.value = colorbar_html(self.cmap.value, "0", "1", caption)

    # ------------------------------------------------------------------ pictures

    def _settings(self) -> tuple:
        map_on = self.maps is not None and self.show_map.value
        return (
            (self.method.value, self.layer.value, round(self.alpha.value, 3), self.cmap.value)
            if map_on
            else None,
            self.show_boxes.value,
            self.show_trails.value,
            self.in_boxes.value,
            self._probe_point,
        )

    def _heatmap(self, index: int, method: str, layer: str) -> np.ndarray:
        """The map of frame ``index`` as shown: per detection, inside the boxes or not."""
        if self.maps.per_detection and not self.in_boxes.value:
            entries = self.maps.detections(index, method, layer)
            if not entries:
                return np.zeros(self.maps.shape, np.float32)
            return np.maximum.reduce([heat for _, _, heat in entries])
        return self.maps.get(index, method, layer)

    def _compose(self, index: int, settings: tuple, with_map: bool) -> np.ndarray:
        heatmap_settings, show_boxes, show_trails, _, marker = settings
        frame = self.frames.display(index)
        heatmap, alpha, cmap = None, 0.5, "jet"
        if heatmap_settings is not None and with_map:
            method, layer, alpha, cmap = heatmap_settings
            heatmap = self._heatmap(index, method, layer)
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
            marker=marker,
        )

    def _map_ready(self, index: int) -> bool:
        return self._worker is not None and self._worker.ready(index)

    def _bytes_for(self, index: int, settings: tuple, with_map: bool) -> bytes:
        with_map = with_map and settings[0] is not None
        original = self.frames.is_original(index)
        key = (index, original, settings if with_map else (None, *settings[1:]))
        data = self._bytes.get(key)
        if data is None:
            data = encode_jpeg(self._compose(index, settings, with_map))
            self._bytes.put(key, data)
        return data

    def _ensure_map(self, index: int) -> None:
        """Wait for the maps of ``index`` when the heatmap is on (computed on the worker)."""
        if self._worker is not None and self.show_map.value:
            self._worker.ensure(index)

    def picture(self, index: int | None = None) -> np.ndarray:
        """The frame as displayed with the current overlays and its map (waiting for the map
        when it is still being computed), ``(H, W, 3)`` ``uint8`` RGB.

        Args:
            index: frame number; ``None`` is the slider's frame.
        """
        index = self.slider.value if index is None else int(index)
        self._ensure_map(index)
        return self._compose(index, self._settings(), with_map=True)

    def encoded(self, index: int | None = None) -> bytes:
        """JPEG bytes of :meth:`picture`, from the byte cache when this setting was seen."""
        index = self.slider.value if index is None else int(index)
        self._ensure_map(index)
        return self._bytes_for(index, self._settings(), with_map=True)

    def _label(self, index: int) -> str:
        return f"frame {index} / {len(self.frames) - 1} · {self.frames.time(index):.2f} s"

    def _draw(self, index: int) -> None:
        """Set the picture of frame ``index`` (with its map when stored, else without), its
        label, the status line and the readout, all from the same index."""
        with self._draw_lock:
            if self.closed:
                return
            self.shown = index
            if not self._flipbook:  # the flipbook shows the pictures itself
                settings = self._settings()
                self.image.value = self._bytes_for(index, settings, self._map_ready(index))
                if not self.play.playing and not self.frames.is_original(index):
                    self._sharpener.submit(index)
            self.info.value = self._label(index)
            if self.play.playing and self.slider.value != index:  # the slider follows Play
                self._moving_slider = True
                try:
                    self.slider.value = index
                finally:
                    self._moving_slider = False
            self._update_status()
            if self._probe_point is not None:
                self._update_probe(index)
        if self._render_error:
            self._render_error = False
            self._clear_error()

    def _sharpen(self, index: int) -> None:
        """Once the slider rests on ``index`` for :data:`SETTLE_S` while paused, decode the frame
        from the video itself and redraw it in place of the proxy's JPEG."""
        time.sleep(SETTLE_S)
        if self.closed or self.play.playing or self.slider.value != index:
            return
        self.frames.original(index)
        if self.slider.value == index:
            self._renderer.submit(index)

    def _render_failed(self, error: Exception) -> None:
        self._render_error = True
        self._show_error(error)

    @guarded
    def render(self) -> None:
        """Draw the slider's frame now, on the calling thread (the map if it is stored)."""
        self._draw(self.slider.value)

    def wait(self, timeout: float | None = 60.0, maps: bool = True) -> bool:
        """Wait until the background work is done: every map computed (unless ``maps`` is
        false), the flipbook (if asked) built and the newest wanted frame drawn. ``False`` on
        timeout.

        Notebook code rarely needs it; tests and scripts use it before reading the picture.
        """
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        if maps and self._worker is not None and not self._worker.wait(left()):
            return False
        thread = self._flip_thread
        if thread is not None:
            thread.join(left())
            if thread.is_alive():
                return False
        drawn = self._renderer.wait(left()) and self._sharpener.wait(left())
        return drawn and self._renderer.wait(left())

    def _prefetch_frames(self) -> None:
        """At low priority, after the first frame: give a video file its proxy (every frame a
        JPEG at display size, so any jump of the slider shows in a few ms); an array or reader
        is decoded in order into the frame cache instead (as much as it keeps)."""
        lower_priority()
        try:
            if not self.frames.build_proxy(stop=lambda: self.closed):
                count = min(len(self.frames), self.frames.capacity)
                self.frames.prefetch(range(count), stop=lambda: self.closed)
        except Exception:  # noqa: BLE001 - a frame the renderer will then report itself
            logger.exception("decoding ahead failed")

    # ------------------------------------------------------------------ callbacks

    def _on_frame(self, change) -> None:
        """Slider observer: record the wanted frame and wake the renderer (no drawing here,
        so a burst of slider moves never queues up in the kernel)."""
        if self._moving_slider:
            return
        index = int(change["new"])
        if not self.play.playing:
            self.play.value = index  # Play goes on from here
        self._want(index)

    def _want(self, index: int) -> None:
        if self._worker is not None:
            self._worker.focus(index)
        self._renderer.submit(index)

    @guarded
    def _on_change(self, change) -> None:
        if change["owner"] in (self.cmap, self.show_map, self.in_boxes):
            self._update_colorbar()
        if self.smooth.value:
            self._start_flipbook()
        self._renderer.submit(self.slider.value)

    def _on_chunk(self, chunk: int) -> None:
        """A chunk of maps is stored (worker thread): redraw if it holds the wanted frame and
        the picture or the readout shows its maps."""
        self._update_status()
        wanted = self.slider.value
        uses_maps = self.show_map.value or self._probe_point is not None
        if uses_maps and self._worker.chunk_of(wanted) == chunk:
            self._renderer.submit(wanted)

    def _chunk_failed(self, chunk: int, error: Exception) -> None:
        self._render_error = True
        self._show_error(error)
        self._update_status()

    def _update_status(self) -> None:
        """The status line: how far the maps are, and whether the shown frame lacks its map."""
        worker = self._worker
        if worker is None or worker.finished:
            text = ""
        else:
            text = f"computing maps {worker.done}/{worker.total} chunks"
            index = self.shown
            if self.show_map.value and index is not None and not worker.ready(index):
                text += f" · the map of frame {index} follows"
        self.status.value = text
        self.status.layout.display = None if text else "none"

    def _on_play_value(self, change) -> None:
        """Play observer: while playing, the timer's frame is wanted (the renderer moves the
        slider when it shows it). Not playing, a change is Stop's jump to the first frame
        (ipywidgets' Stop pauses, then sets ``min``), or the slider's echo: the shown frame
        stays, and Play is put back on it."""
        index = int(change["new"])
        if self.play.playing:
            self._want(index)
        elif index != self.slider.value:
            self.play.value = self.slider.value

    # ------------------------------------------------------------------ actions

    def _show_progress(self, label: str, done: int, total: int) -> None:
        self.progress_label.value = f"{label} {done}/{total}"
        self.progress.value = done / total if total else 1.0
        self.progress_row.layout.display = None

    def _hide_progress(self) -> None:
        self.progress_row.layout.display = "none"

    @guarded
    def precompute(self) -> None:
        """Compute the maps of every frame now, showing progress ("computing maps k/N");
        returns when they are all stored."""
        if self.maps is None:
            raise ValueError("this explorer has no model; pass model= to compute maps")
        self._worker.wait(progress=lambda done, total: self._show_progress(
            "computing maps", done, total
        ))  # fmt: skip
        self.progress.value = 1.0
        self._hide_progress()
        failed = self._worker.failures()
        if failed:
            raise next(iter(failed.values()))

    def step(self, delta: int) -> None:
        """Move ``delta`` frames, staying inside the video."""
        self.slider.value = int(np.clip(self.slider.value + delta, 0, len(self.frames) - 1))

    def _probe_values(self, index: int, x: float, y: float) -> dict[str, float]:
        values = {}
        for method in self.maps.methods:
            for layer in dict.fromkeys(self.maps.key(method, name) for name in self.maps.layers):
                heatmap = self._heatmap(index, method, layer)
                values[f"{method} · {layer}"] = sample_map(heatmap, x, y, self.frames.shape)
        return values

    def _detection_at(self, index: int, x: float, y: float) -> str | None:
        table = self.detections if self.detections is not None else self.tracks
        if table is None:
            return None
        scale = self.frames.scale
        return detection_at(table.table, index, x / scale, y / scale)

    def _update_probe(self, index: int) -> dict[str, float] | None:
        """Refresh the readout for the probed point at frame ``index``."""
        x, y = self._probe_point
        values = None
        if self.maps is not None and self._map_ready(index):
            values = self._probe_values(index, x, y)
        elif self.maps is None:
            values = {}
        self.probe_label.value = probe_html(index, x, y, values, self._detection_at(index, x, y))
        return values

    def _set_probe_point(self, x: float, y: float) -> int:
        """Check and keep the probed point; the frame it is read at (the slider's)."""
        if self.maps is None:
            raise ValueError("this explorer has no model, so there is no map to read")
        height, width = self.frames.shape
        if not (0 <= x < width and 0 <= y < height):
            raise ValueError(f"({x}, {y}) lies outside the {width}x{height} picture")
        self._probe_point = (float(x), float(y))
        return self.slider.value

    @guarded
    def probe(self, x: float, y: float) -> dict[str, float]:
        """Read every method's and layer's map at display pixel ``(x, y)`` of the current frame.

        The point is marked on the picture, and the readout under it (values and the
        detection under the point) follows the frame until the next click.

        Returns:
            ``{"method · layer": value}``, waiting for the frame's maps if needed.
        """
        index = self._set_probe_point(x, y)
        self._worker.ensure(index)
        with self._draw_lock:
            values = self._update_probe(index)
        self._renderer.submit(index)  # the marker
        return values

    @guarded
    def _click(self, x: float, y: float) -> None:
        """A click: like :meth:`probe`, without waiting; the values come with the maps."""
        index = self._set_probe_point(x, y)
        self._worker.focus(index)
        self._renderer.submit(index)

    def handle_event(self, event: dict) -> None:
        """Browser events on the picture: a click probes the maps (the readout fills in
        when the frame's maps are there), arrow keys step frames."""
        if event.get("type") == "click" and self.maps is not None:
            self._click(event["dataX"], event["dataY"])
        elif event.get("type") == "keydown":
            delta = {"ArrowRight": 1, "ArrowLeft": -1}.get(event.get("key"), 0)
            if delta:
                self.step(delta)

    # ------------------------------------------------------------------ smooth playback

    @guarded
    def _on_smooth(self, change) -> None:
        if change["new"]:
            self._start_flipbook()
        else:
            self._flip_generation += 1  # a build under way stops
            with self._draw_lock:
                self._drop_flipbook()
                self.view.children = [self.image]
            self._hide_progress()
            self._renderer.submit(self.slider.value)

    def _start_flipbook(self) -> None:
        """Encode every frame on a background thread, then show them as a flipbook."""
        count = len(self.frames)
        if count > self.max_flipbook_frames:
            self.smooth.value = False
            raise ValueError(
                f"smooth playback holds every frame in the browser; {count} frames exceed "
                f"max_flipbook_frames={self.max_flipbook_frames} (pass a larger value or width=)"
            )
        self._flip_generation += 1
        self._flip_thread = threading.Thread(
            target=self._build_flipbook, args=(self._flip_generation,), daemon=True
        )
        self._flip_thread.start()

    def _build_flipbook(self, generation: int) -> None:
        def current() -> bool:
            return generation == self._flip_generation and not self.closed

        try:
            settings = self._settings()
            if self._worker is not None and settings[0] is not None:
                while current() and not self._worker.wait(
                    0.2, progress=lambda done, total: self._show_progress(
                        "computing maps", done, total
                    ),
                ):  # fmt: skip
                    pass
            pages = self.encode_all(settings, stop=lambda: not current())
            if pages is None:
                return
            self._show_flipbook(pages, generation)
        except Exception as error:  # noqa: BLE001 - shown in the widget
            self._render_failed(error)
        finally:
            if generation == self._flip_generation:
                self._hide_progress()

    def encode_all(self, settings: tuple | None = None, stop=None) -> list[bytes] | None:
        """JPEG bytes of every frame with ``settings`` (default: the current ones), showing
        "encoding frames k/N"; ``None`` when ``stop()`` turned true on the way.

        Frames are composed and encoded by :data:`ENCODER_THREADS` threads (decoding, OpenCV,
        torch and JPEG release the GIL), in batches of :data:`ENCODE_BATCH` frames, so the bar
        moves about 20 times for 300 frames rather than 300.
        """
        settings = self._settings() if settings is None else settings
        count = len(self.frames)
        pages: list[bytes] = []
        with ThreadPoolExecutor(ENCODER_THREADS, thread_name_prefix="xaikit-encode") as pool:
            for start in range(0, count, ENCODE_BATCH):
                if stop is not None and stop():
                    return None
                batch = range(start, min(count, start + ENCODE_BATCH))
                pages.extend(pool.map(lambda i: self._bytes_for(i, settings, True), batch))
                self._show_progress("encoding frames", len(pages), count)
        return pages

    def _show_flipbook(self, pages: list[bytes], generation: int) -> None:
        height, width = self.frames.shape
        images = [
            W.Image(value=data, format="jpeg", layout=picture_layout((height, width)))
            for data in pages
        ]
        stack = W.Stack(images, selected_index=self.slider.value)
        stack.add_class("xaikit-flipbook")
        link = W.jslink((self.play, "value"), (stack, "selected_index"))
        made = [*images, stack, link]
        with self._draw_lock:
            if generation != self._flip_generation or self.closed:
                for widget in reversed(made):
                    close_widget(widget)
                return
            self._drop_flipbook()
            self._flipbook = made
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
        """Stop the background threads, close every widget (the flipbook's too) and drop the
        cached pictures."""
        self._flip_generation += 1
        self._renderer.close()
        self._sharpener.close()
        if self._worker is not None:
            self._worker.close()
        if self._flip_thread is not None:
            self._flip_thread.join(10.0)
        with self._draw_lock:
            self._drop_flipbook()
            self._bytes.clear()
            super().close()
        self._prefetcher.join(5.0)  # stops at the next frame: closed is true now
