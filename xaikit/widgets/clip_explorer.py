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
from xaikit.viz.compose import blend_map
from xaikit.viz.encode import encode_jpeg
from xaikit.viz.figures import figure_grid
from xaikit.widgets._base import Panel, guarded
from xaikit.widgets._controls import cmap_picker, frame_controls, opacity_slider


class ClipExplorer(Panel):
    """Scrub the frames of a clip; see the top-k classes and, for the chosen one, per-layer
    3DCAM, Sum-3DCAM over the layers and the counterfactual 3DCAM (what speaks against it).

    Maps come from :func:`xaikit.explain.frames`, computed once per chosen class (one pass for
    3DCAM of every layer with their sum, one for the counterfactual target) and kept;
    scrubbing and switching maps only redraws.

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
        >>> explorer.close()
    """

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
        device=None,
    ):
        self.clip = check_frames(clip, "clip")
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
        super().__init__()  # widgets only from here on, so a bad argument leaks none
        self._build(alpha, cmap, fps)
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

    def _build(self, alpha: float, cmap: str, fps: float) -> None:
        own = self._own
        self.play, self.slider, self._link = (own(w) for w in frame_controls(len(self.clip), fps))
        self.target = own(
            W.Dropdown(
                options=[
                    (f"{rank}. {self.class_name(i)} ({p:.2f})", i)
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
        self.alpha = own(opacity_slider(alpha))
        self.cmap = own(cmap_picker(cmap))
        height, width = self.clip.shape[1:3]
        self.image = own(W.Image(format="jpeg", layout=W.Layout(width=f"{max(width, 224)}px")))
        self.info = own(W.Label())
        rows = "".join(
            f"<tr><td>{rank}.</td><td>{html.escape(self.class_name(i))}</td><td>{p:.3f}</td></tr>"
            for rank, (i, p) in enumerate(self.top, 1)
        )
        self.top_k = own(W.HTML(f"<b>top-{len(self.top)} classes</b><table>{rows}</table>"))
        for widget in (self.slider, self.target, self.map_choice, self.alpha, self.cmap):
            widget.observe(lambda change: self.render(), names="value")
        self.box = own(
            W.VBox(
                [
                    own(W.HBox([self.play, self.slider, self.info])),
                    own(W.HBox([self.image, self.top_k])),
                    own(W.HBox([self.target, self.map_choice])),
                    own(W.HBox([self.alpha, self.cmap])),
                    self.error,
                ]
            )
        )
        self.box.add_class("xaikit-clip-explorer")

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
        """The chosen map at clip frame ``frame`` (default: the slider's), ``(H, W)``."""
        frame = self.slider.value if frame is None else int(frame)
        which, layer = self.map_choice.value
        return self.maps_for(self.target.value)[which].get(frame, "3dcam", layer)

    def picture(self, frame: int | None = None) -> np.ndarray:
        """Clip frame ``frame`` with the chosen map blended in, ``(H, W, 3)`` ``uint8``."""
        frame = self.slider.value if frame is None else int(frame)
        return blend_map(self.clip[frame], self.heatmap(frame), self.alpha.value, self.cmap.value)

    @guarded
    def render(self) -> None:
        """Show the slider's frame with the chosen map."""
        frame = self.slider.value
        self.info.value = f"frame {frame} / {len(self.clip) - 1}"
        self.image.value = encode_jpeg(self.picture(frame))

    def figure(self):
        """The current frame with its map, titled with the class and the map."""
        label = self.map_choice.label
        title = f"{self.class_name(self.target.value)} · {label} · frame {self.slider.value}"
        return figure_grid([self.picture()], [title], panel_size=4.0)
