"""CompareGrid: every method x layer map of one image, each scored against a reference."""

from __future__ import annotations

import ipywidgets as W
import numpy as np
import pandas as pd

from xaikit._arrays import check_frames
from xaikit.explain import frames
from xaikit.viz.compose import blend_map, compose_frame
from xaikit.viz.encode import figure_bytes
from xaikit.viz.figures import figure_grid
from xaikit.widgets._base import Panel, guarded
from xaikit.widgets._controls import cmap_picker, opacity_slider
from xaikit.widgets._scores import arrow, map_scores, references


class CompareGrid(Panel):
    """The method x layer grid of maps on one image or frame, each panel titled with its score.

    Rows are methods, columns layers (pixel methods, which have no layer, fill the first
    column). The reference is object boxes, human fixations or both; every map is scored once
    with every registered metric they allow (:data:`xaikit.metrics.METRICS`: hit point,
    energy IoU, MaxBoxAcc, ... against boxes; AUC-Judd, NSS, CC, MAE, ... against fixations),
    one column per metric and threshold. The metric picker re-titles the panels and
    :attr:`scores` holds every score as a table.

    Args:
        image: ``(H, W, 3)`` ``uint8`` RGB image or video frame.
        model: the CNN.
        methods: method names (see ``xaikit.explain.METHODS``).
        layers: layer names; ``None`` takes the model card's layers or the deepest feature map.
        boxes: reference object boxes ``(K, 4)`` ``x0, y0, x1, y1`` in continuous image pixels
            (pixel i covers [i, i + 1), as :mod:`xaikit.data` writes them), or ``None``.
        fixations: reference fixations (a table with ``x, y, duration`` or an ``(N, 2|3)``
            array, see :func:`xaikit.data.fixation_map`), or ``None``.
        human_map: a ready ``(H, W)`` human fixation map in [0, 1] instead of (or besides)
            ``fixations``.
        target, preprocess, device: as for :func:`xaikit.explain` / ``VideoExplorer``.
        alpha, cmap: initial opacity and colormap.

    Examples:
        >>> import numpy as np, torch
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
        ...                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> grid = CompareGrid(np.zeros((16, 16, 3), np.uint8), net, ["gradcam", "layercam"],
        ...                    layers=["0", "1"], boxes=[[2, 2, 10, 10]])
        >>> grid.scores[["method", "layer"]].values.tolist()
        [['gradcam', '0'], ['gradcam', '1'], ['layercam', '0'], ['layercam', '1']]
        >>> "hit point" in grid.metric.options
        True
        >>> grid.close()
    """

    def __init__(
        self,
        image,
        model,
        methods=("gradcam",),
        layers=None,
        *,
        boxes=None,
        fixations=None,
        human_map=None,
        target=None,
        preprocess=None,
        device=None,
        alpha: float = 0.5,
        cmap: str = "jet",
    ):
        self.image_array, self.catalogue, self.layers, self.maps = explain_image(
            image, model, methods, layers, target, preprocess, device
        )
        self.methods = list(dict.fromkeys(method for method, _ in self.maps))
        self.boxes = None if boxes is None else np.asarray(boxes, np.float64).reshape(-1, 4)
        self.human_map, self.fixation_mask = _human_reference(
            self.image_array, fixations, human_map
        )
        self.scores = self._score_table()
        super().__init__()  # widgets only from here on, so a bad argument leaks none
        metrics = [c for c in self.scores.columns if c not in ("method", "layer")]
        own = self._own
        self.metric = own(W.Dropdown(options=metrics or ["none"], description="score"))
        self.alpha = own(opacity_slider(alpha))
        self.cmap = own(cmap_picker(cmap))
        self.picture = own(W.Image(format="png"))
        for widget in (self.metric, self.alpha, self.cmap):
            widget.observe(lambda change: self.render(), names="value")
        controls = own(W.HBox([self.metric, self.alpha, self.cmap]))
        self.box = own(W.VBox([controls, self.picture, self.error]))
        self.box.add_class("xaikit-compare-grid")
        self.render()

    def _score_table(self) -> pd.DataFrame:
        given = references(self.boxes, self.human_map, self.fixation_mask)
        rows = [
            {"method": method, "layer": key, **map_scores(heatmap, given)}
            for (method, key), heatmap in self.maps.items()
        ]
        return pd.DataFrame(rows)

    def panels(self) -> tuple[list[np.ndarray], list[str]]:
        """The grid's pictures and titles, row by row (methods) and column by column (layers)."""
        metric = self.metric.value if self.metric.value != "none" else None
        blank = np.full_like(self.image_array, 255)
        base = self.image_array
        if self.boxes is not None:
            base = compose_frame(base, boxes=self.boxes, identities=[7] * len(self.boxes))
        pictures, titles = [], []
        for method in self.methods:
            keys = [key for m, key in self.maps if m == method]
            for column in range(max(len(self.layers), len(keys))):
                if column >= len(keys):
                    pictures.append(blank)
                    titles.append("")
                    continue
                key = keys[column]
                pictures.append(
                    blend_map(base, self.maps[(method, key)], self.alpha.value, self.cmap.value)
                )
                title = f"{method} · {key}"
                if metric is not None:
                    row = self.scores[(self.scores.method == method) & (self.scores.layer == key)]
                    title += f"\n{metric} {arrow(metric)} {float(row[metric].iloc[0]):.3f}"
                titles.append(title)
        return pictures, titles

    def figure(self):
        """The grid as it is shown, a savable matplotlib Figure."""
        pictures, titles = self.panels()
        return figure_grid(pictures, titles, ncols=max(len(self.layers), 1))

    @guarded
    def render(self) -> None:
        """Redraw the grid with the current metric, opacity and colormap."""
        self.picture.value = figure_bytes(self.figure(), "png")


def explain_image(image, model, methods, layers, target, preprocess, device):
    """``(image, catalogue, layers, maps)``: the checked ``(H, W, 3)`` image, the model's
    feature-map layers, the layers explained and ``{(method, key): (H, W) map}`` of every method
    (:func:`xaikit.explain.frames`), as CompareGrid and FixationCompare explain an image."""
    image = check_frames(image, "image", single=True)
    maps = frames(model, image, methods, layers, target, preprocess=preprocess, device=device)
    return image, maps.catalogue, maps.layers, maps.all(0)


def _human_reference(image: np.ndarray, fixations, human_map):
    """``(human map or None, fixation mask or None)`` from fixations and / or a ready map."""
    from xaikit.data.fixations import fixation_map, fixation_mask

    mask = None
    if fixations is not None:
        mask = fixation_mask(fixations, image)
        if human_map is None:
            human_map = fixation_map(fixations, image)
    if human_map is not None:
        human_map = np.asarray(human_map, dtype=np.float64)
        if human_map.shape != image.shape[:2]:
            raise ValueError(
                f"human_map must have the image's shape {image.shape[:2]}; got {human_map.shape}"
            )
    return human_map, mask
