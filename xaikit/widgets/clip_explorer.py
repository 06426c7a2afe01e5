"""ClipExplorer: the frames of a clip with the 3DCAM maps of a 3D CNN, per class and layer."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import torch

from xaikit._arrays import check_frames
from xaikit._runtime import model_device
from xaikit.explain import FrameMaps, frames
from xaikit.explain.targets import Counterfactual
from xaikit.viz.boxes import draw_boxes
from xaikit.viz.compose import blend_map
from xaikit.viz.figures import figure_grid, no_signal
from xaikit.widgets._base import guarded
from xaikit.widgets._controls import (
    cmap_picker,
    colorbar_html,
    frame_controls,
    opacity_slider,
    wrap_row,
)
from xaikit.widgets._image_panel import (
    ImagePanel,
    clear_picture,
    picture_widget,
    zoom_for,
)

#: The map scales offered: ``(label, value)``; the value picks the maximum a map is divided by.
SCALES = (("per frame", "frame"), ("per clip", "clip"))
#: Colour index (:func:`xaikit.viz.boxes.identity_color`) of the actor's box.
BOX_COLOUR = 2
#: Colorbar caption of each scale.
SCALE_CAPTIONS = {
    "frame": "3DCAM value, scaled per frame (top colour: this frame's max)",
    "clip": "3DCAM value, scaled per clip (top colour: the clip's max)",
}


def probability(value: float) -> str:
    """A class probability as the class menu and the top-k table write it: 3 decimals.

    Examples:
        >>> probability(0.0049), probability(0.98765)
        ('0.005', '0.988')
    """
    return f"{value:.3f}"


def clip_boxes(boxes, frames: int) -> list[np.ndarray] | None:
    """Per-frame boxes as a list of ``frames`` arrays ``(K, 4)`` ``x0, y0, x1, y1``.

    Args:
        boxes: ``None``; one ``(4,)`` box or ``(K, 4)`` boxes per frame (``K`` may be 0), e.g.
            one clip of :func:`xaikit.study.clip_boxes`; or a ``(T, 4)`` array, one box a frame.
        frames: the clip's length T.

    Examples:
        >>> [b.tolist() for b in clip_boxes([[1, 2, 3, 4], []], 2)]
        [[[1.0, 2.0, 3.0, 4.0]], []]
    """
    if boxes is None:
        return None
    if len(boxes) != frames:
        raise ValueError(f"boxes needs one entry per frame ({frames}); got {len(boxes)}")
    per_frame = []
    for index, entry in enumerate(boxes):
        array = np.asarray(entry, np.float64)
        if array.size % 4 or (array.ndim == 2 and array.shape[1] != 4) or array.ndim > 2:
            raise ValueError(
                f"boxes[{index}] must be (4,) or (K, 4) x0, y0, x1, y1; got shape {array.shape}"
            )
        per_frame.append(array.reshape(-1, 4))
    return per_frame


class ClipExplorer(ImagePanel):
    """Scrub the frames of a clip; see the top-k classes and, for the chosen one, per-layer
    3DCAM, Sum-3DCAM over the layers and the counterfactual 3DCAM (what speaks against it).

    Maps come from :func:`xaikit.explain.frames`, computed once per chosen class (one pass for
    3DCAM of every layer with their sum, one for the counterfactual target) and kept;
    scrubbing and switching maps only redraws.

    3DCAM is the product of two max-normalised terms, so its values stay well below 1 (the
    stem's maximum over a clip may be 0.5, a quiet frame's 0.1): drawn as they are, the maps
    are faint. The scale picker divides each map by its maximum, per frame (the default, as
    the static figures scale each panel) or per clip (frames compare: a quiet frame stays
    quiet); the colorbar under the picture states the scale and the value of its top colour.
    The picture shows at an integer zoom of the clip's pixels, with the actor's box when
    ``boxes`` are given.

    Args:
        clip: ``(T, H, W, 3)`` ``uint8`` RGB frames.
        model: a 3D CNN taking ``(B, C, T, H, W)``.
        layers: layer names; ``None`` takes the model card's layers or the deepest feature map.
        k: how many top classes to offer.
        categories: class names (default: the model card's, else the class index).
        preprocess: ``clip, device -> (input, mappings)``; default: the model's, else the clip
            scaled to [0, 1] at native size.
        fps: playback rate.
        alpha, cmap: initial opacity and colormap.
        scale: ``"frame"`` or ``"clip"``: the maximum each map is divided by (see above).
        boxes: the actor's box per frame, drawn over the picture: one ``(4,)`` box or
            ``(K, 4)`` boxes ``x0, y0, x1, y1`` in continuous frame pixels per frame (the
            layout of one clip of :func:`xaikit.study.clip_boxes`, as notebook 03 builds the
            boxes it scores MaxBoxAcc against), or ``None``.
        device: where to compute.

    Examples:
        >>> import numpy as np
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.ReLU(),
        ...                     nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 3))
        >>> clip = np.random.default_rng(0).integers(0, 255, (4, 16, 16, 3), dtype=np.uint8)
        >>> explorer = ClipExplorer(clip, net, layers=["1"], k=2)
        >>> len(explorer.target.options), [label for label, _ in explorer.map_choice.options]
        (2, ['3DCAM · 1', 'counterfactual 3DCAM · 1'])
        >>> explorer.scale.label, explorer.zoom  # a 16 px clip shows at 8x, the most
        ('per frame', 8)
        >>> explorer.close()
    """

    #: The picture is shown about this wide, in CSS px (an integer zoom of the clip's pixels).
    target_width = 256

    def __init__(
        self,
        clip,
        model,
        layers=None,
        *,
        k: int = 5,
        categories=None,
        preprocess=None,
        fps: float = 8.0,
        alpha: float = 0.5,
        cmap: str = "jet",
        scale: str = "frame",
        boxes=None,
        device=None,
    ):
        self.clip = check_frames(clip, "clip")
        if scale not in SCALE_CAPTIONS:
            raise ValueError(f"scale must be one of {list(SCALE_CAPTIONS)}; got {scale!r}")
        self.boxes = clip_boxes(boxes, len(self.clip))
        self.zoom = zoom_for(self.clip.shape[2], self.target_width)
        self.model, self.device = model, device
        self.preprocess = preprocess
        first = self._maps_of(None, layers)
        self.x = first.preprocess(self.clip, device=device or model_device(model))[0]
        if not first.video_model or self.x.ndim != 5:
            raise ValueError(
                f"ClipExplorer needs a 3D model input (B, C, T, H, W); got {tuple(self.x.shape)}"
            )
        self.catalogue, self.layers = first.catalogue, first.layers
        info = getattr(model, "xaikit_info", None)
        self.categories = categories or getattr(info, "categories", None)
        self.top = self._top_classes(k)
        self._maps: dict[int, dict[str, FrameMaps]] = {}
        self._clip_peaks: dict[tuple, float] = {}
        super().__init__()  # widgets only from here on, so a bad argument leaks none
        self._build(alpha, cmap, fps, scale)
        self.render()

    def _maps_of(self, target, layers=None) -> FrameMaps:
        return frames(
            self.model, self.clip, "3dcam", layers, target, preprocess=self.preprocess,
            batch_size=len(self.clip), device=self.device,
            sums=[layers] if layers is not None and len(layers) > 1 else (),
        )  # fmt: skip

    def _top_classes(self, k: int) -> list[tuple[int, float]]:
        with torch.no_grad():
            probabilities = self.model(self.x[:1]).float().softmax(dim=1)[0]
        if not isinstance(k, int) or not 1 <= k:
            raise ValueError(f"k must be a positive int; got {k!r}")
        values, indices = probabilities.topk(min(k, probabilities.numel()))
        return [(int(i), float(v)) for i, v in zip(indices, values, strict=True)]

    def class_name(self, index: int) -> str:
        """Readable name of class ``index``."""
        if self.categories is not None and index < len(self.categories):
            return str(self.categories[index])
        return f"class {index}"

    def _build(self, alpha: float, cmap: str, fps: float, scale: str) -> None:
        own = self._own
        self.play, self.slider, self._link = (own(w) for w in frame_controls(len(self.clip), fps))
        self.target = own(
            W.Dropdown(
                options=[
                    (f"{rank}. {self.class_name(i)} ({probability(p)})", i)
                    for rank, (i, p) in enumerate(self.top, 1)
                ],
                description="class",
                layout=W.Layout(width="320px"),
            )
        )
        choices = [(f"3DCAM · {layer}", ("class", layer)) for layer in self.layers]
        if len(self.layers) > 1:
            choices.append(("Sum-3DCAM · all layers", ("class", "+".join(self.layers))))
        choices += [
            (f"counterfactual 3DCAM · {layer}", ("counterfactual", layer)) for layer in self.layers
        ]
        self.map_choice = own(
            W.Dropdown(options=choices, description="map", layout=W.Layout(width="420px"))
        )
        self.scale = own(
            W.Dropdown(
                options=SCALES, value=scale, description="scale", layout=W.Layout(width="200px")
            )
        )
        self.alpha = own(opacity_slider(alpha))
        self.cmap = own(cmap_picker(cmap))
        self.image = own(picture_widget())
        self.info = own(W.Label())
        self.colorbar = own(W.HTML())
        rows = "".join(
            f"<tr><td>{rank}.</td><td>{html.escape(self.class_name(i))}</td>"
            f"<td>{probability(p)}</td></tr>"
            for rank, (i, p) in enumerate(self.top, 1)
        )
        self.top_k = own(W.HTML(f"<b>top-{len(self.top)} classes</b><table>{rows}</table>"))
        for widget in (self.slider, self.target, self.map_choice, self.scale, self.alpha):
            widget.observe(lambda change: self.render(), names="value")
        self.cmap.observe(lambda change: self.render(), names="value")
        picture = own(W.VBox([self.image, self.colorbar]))
        self.box = self._panel_root(
            [
                own(wrap_row([self.play, self.slider, self.info])),
                own(wrap_row([picture, self.top_k], align_items="flex-start", grid_gap="16px")),
                own(wrap_row([self.target, self.map_choice, self._error_label("map")])),
                own(wrap_row([self.scale, self.alpha, self.cmap])),
                self.error,
            ],
            "xaikit-clip-explorer",
        )

    def maps_for(self, class_index: int) -> dict[str, FrameMaps]:
        """``{"class": ..., "counterfactual": ...}``: the :class:`~xaikit.explain.FrameMaps`
        of 3DCAM (with Sum-3DCAM over the layers) for ``class_index`` and against it."""
        if class_index not in self._maps:
            index = int(class_index)
            self._maps[class_index] = {
                "class": self._maps_of(index, self.layers),
                "counterfactual": self._maps_of(Counterfactual(index), self.layers),
            }
        return self._maps[class_index]

    def heatmap(self, frame: int | None = None) -> np.ndarray:
        """The chosen map at clip frame ``frame`` (default: the slider's) as explained,
        ``(H, W)`` in [0, 1] (3DCAM's own values, before the picker's scale)."""
        frame = self.slider.value if frame is None else int(frame)
        which, layer = self.map_choice.value
        return self.maps_for(self.target.value)[which].get(frame, "3dcam", layer)

    def peak(self, frame: int | None = None) -> float:
        """The value the top colour stands for: the chosen map's maximum over frame ``frame``
        (scale ``"frame"``) or over the whole clip (``"clip"``)."""
        frame = self.slider.value if frame is None else int(frame)
        if self.scale.value == "frame":
            return float(self.heatmap(frame).max())
        key = (self.target.value, *self.map_choice.value)
        if key not in self._clip_peaks:
            self._clip_peaks[key] = max(float(self.heatmap(t).max()) for t in range(len(self.clip)))
        return self._clip_peaks[key]

    def scaled_map(self, frame: int | None = None) -> np.ndarray:
        """The chosen map at frame ``frame`` divided by :meth:`peak` (all zero where the peak
        is 0), ``(H, W)`` in [0, 1]: what the picture shows."""
        heatmap, peak = self.heatmap(frame), self.peak(frame)
        return heatmap / peak if peak > 0 else np.zeros_like(heatmap)

    def picture(self, frame: int | None = None) -> np.ndarray:
        """Clip frame ``frame`` with the chosen map (scaled) blended in and the actor's boxes
        drawn (:data:`BOX_COLOUR`, 1 px wide per 160 px of frame width), ``(H, W, 3)``
        ``uint8``."""
        frame = self.slider.value if frame is None else int(frame)
        picture = blend_map(
            self.clip[frame], self.scaled_map(frame), self.alpha.value, self.cmap.value
        )
        if self.boxes is None or not len(self.boxes[frame]):
            return picture
        thickness = max(1, self.clip.shape[2] // 160)
        boxes = self.boxes[frame]
        return draw_boxes(picture, boxes, identities=[BOX_COLOUR] * len(boxes), thickness=thickness)

    @guarded(slot="map")
    def render(self) -> None:
        """Show the slider's frame with the chosen map, its colorbar and the frame label; if
        that fails, the picture is cleared and the label says so."""
        frame = self.slider.value
        label = f"frame {frame} / {len(self.clip) - 1}"
        try:
            picture, peak = self.picture(frame), self.peak(frame)
            reason = no_signal(self.heatmap(frame))
        except Exception:
            clear_picture(self.image)
            self.info.value = f"{label} · not drawn (error below)"
            raise
        self.info.value = label if reason is None else f"{label} · no signal: {reason}"
        self._show(self.image, picture)
        caption = SCALE_CAPTIONS[self.scale.value]
        self.colorbar.value = colorbar_html(self.cmap.value, "0", f"{peak:.3g}", caption)

    def figure(self):
        """The current frame with its map, titled with the class, the map and the scale."""
        label, scale = self.map_choice.label, self.scale.label
        title = f"{self.class_name(self.target.value)} · {label} · frame {self.slider.value}"
        return figure_grid([self.picture()], [f"{title}\n3DCAM scaled {scale}"], panel_size=4.0)
