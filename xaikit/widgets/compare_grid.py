"""CompareGrid: every method x layer map of one image, each scored against a reference."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import pandas as pd

from xaikit.viz.compose import blend_map, compose_frame
from xaikit.viz.figures import figure_grid
from xaikit.widgets._base import guarded
from xaikit.widgets._controls import cmap_picker, colorbar_html, opacity_slider, wrap_row
from xaikit.widgets._image_panel import (
    ImagePanel,
    clear_picture,
    explain_image,
    human_reference,
    method_keys,
    picture_widget,
    zoom_for,
)
from xaikit.widgets._scores import arrow, map_scores, references

#: Caption of the colorbar under the grid: how each map is brought to [0, 1].
NORMALISATION = "map value, 0-1 per map (as explained)"


class CompareGrid(ImagePanel):
    """The method x layer grid of maps on one image or frame, each panel titled with its score.

    Rows are methods, columns layers (pixel methods, which have no layer, fill the first
    column). The reference is object boxes, human fixations or both; every map is scored once
    with every registered metric they allow (:data:`xaikit.metrics.METRICS`: hit point,
    energy IoU, MaxBoxAcc, ... against boxes; AUC-Judd, NSS, CC, MAE, ... against fixations),
    one column per metric and threshold. The metric picker re-titles the panels and
    :attr:`scores` holds every score as a table.

    Each panel is its own picture at an integer zoom of the image's pixels (small images
    enlarged with sharp pixels; the grid about 880 px wide at most, so it fits a 1366 px
    window), with a colorbar under the grid. A failed redraw clears the panels and shows its
    error beside the controls until a redraw succeeds.

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
        sigma, kernel: the recipe of the human map built from ``fixations`` (see
            :class:`~xaikit.widgets.FixationCompare`; ``None``: :func:`xaikit.data.fixation_map`'s
            defaults).
        alpha, cmap: initial opacity and colormap.

    Attributes:
        scores: DataFrame ``method, layer``, then one column per metric.
        pictures, titles: the panels' ``W.Image`` and ``W.HTML`` title, row by row.
        zoom: CSS px per image pixel of every panel.

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
        >>> grid.zoom, grid.pictures[0].layout.width  # two 16 px columns: each panel at 8x
        (8, '128px')
        >>> grid.close()
    """

    #: The grid is shown about this wide (and each panel about ``cell_width``), in CSS px.
    target_width = 880
    cell_width = 256

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
        sigma: float | None = None,
        kernel: int | None = None,
        target=None,
        preprocess=None,
        device=None,
        alpha: float = 0.5,
        cmap: str = "jet",
    ):
        self.image_array, self.catalogue, self.layers, self.maps = explain_image(
            image, model, methods, layers, target, preprocess, device
        )
        self.method_keys = method_keys(self.maps)
        self.methods = list(self.method_keys)
        self.boxes = None if boxes is None else np.asarray(boxes, np.float64).reshape(-1, 4)
        self.human_map, self.fixation_mask = human_reference(
            self.image_array, fixations, human_map, sigma, kernel
        )
        self.scores = self._score_table()
        self.ncols = max(len(self.layers), *(len(keys) for keys in self.method_keys.values()))
        width = self.image_array.shape[1]
        self.zoom = min(
            zoom_for(width, self.cell_width), zoom_for(width * self.ncols, self.target_width)
        )
        self.max_width = max(self.target_width // self.ncols, 96)
        super().__init__()  # widgets only from here on, so a bad argument leaks none
        self._build(alpha, cmap)
        self.render()

    def _build(self, alpha: float, cmap: str) -> None:
        own = self._own
        metrics = [c for c in self.scores.columns if c not in ("method", "layer")]
        self.metric = own(W.Dropdown(options=metrics or ["none"], description="score"))
        self.alpha = own(opacity_slider(alpha))
        self.cmap = own(cmap_picker(cmap))
        count = len(self.methods) * self.ncols
        self.pictures = [own(picture_widget()) for _ in range(count)]
        self.titles = [own(W.HTML(layout=W.Layout(margin="0"))) for _ in range(count)]
        cells = [
            own(W.VBox([title, picture], layout=W.Layout(align_items="flex-start")))
            for title, picture in zip(self.titles, self.pictures, strict=True)
        ]
        self.grid = own(
            W.GridBox(
                cells,
                layout=W.Layout(
                    grid_template_columns=f"repeat({self.ncols}, max-content)",
                    grid_gap="4px 8px",
                    overflow="auto",
                    max_width="100%",
                ),
            )
        )
        self.colorbar = own(W.HTML())
        for widget in (self.metric, self.alpha, self.cmap):
            widget.observe(lambda change: self.render(), names="value")
        controls = own(wrap_row([self.metric, self.alpha, self.cmap, self._error_label("grid")]))
        self.box = self._panel_root(
            [controls, self.grid, self.colorbar, self.error], "xaikit-compare-grid"
        )

    def _score_table(self) -> pd.DataFrame:
        given = references(self.boxes, self.human_map, self.fixation_mask)
        rows = [
            {"method": method, "layer": key, **map_scores(heatmap, given)}
            for (method, key), heatmap in self.maps.items()
        ]
        return pd.DataFrame(rows)

    def panels(self) -> tuple[list[np.ndarray], list[str]]:
        """The grid's pictures and titles, row by row (methods) and column by column (layers);
        the empty cells after a pixel method's one map are white with an empty title."""
        metric = self.metric.value if self.metric.value != "none" else None
        blank = np.full_like(self.image_array, 255)
        base = self.image_array
        if self.boxes is not None:
            base = compose_frame(base, boxes=self.boxes, identities=[7] * len(self.boxes))
        pictures, titles = [], []
        for method in self.methods:
            keys = self.method_keys[method]
            for column in range(self.ncols):
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
        return figure_grid(pictures, titles, ncols=self.ncols)

    @guarded(slot="grid")
    def render(self) -> None:
        """Redraw every panel and its title with the current metric, opacity and colormap;
        if that fails, the panels are cleared and the first title says so."""
        try:
            pictures, titles = self.panels()
        except Exception:
            for picture, title in zip(self.pictures, self.titles, strict=True):
                clear_picture(picture)
                title.value = ""
            self.titles[0].value = "<i>not drawn (error above)</i>"
            raise
        for widget, label, picture, title in zip(
            self.pictures, self.titles, pictures, titles, strict=True
        ):
            widget.layout.display = None if title else "none"  # no map: an empty cell
            label.value = _title_html(title)
            if title:
                self._show(widget, picture)
        self.colorbar.value = colorbar_html(self.cmap.value, "0", "1", NORMALISATION)


def _title_html(title: str) -> str:
    """A panel title as small HTML lines (``"\\n"`` separates them).

    Examples:
        >>> _title_html("gradcam · conv5\\nhit point ↑ 1.000")
        "<div style='font-size:12px;line-height:1.3'>gradcam · conv5<br>hit point ↑ 1.000</div>"
    """
    lines = "<br>".join(html.escape(line) for line in title.split("\n"))
    return f"<div style='font-size:12px;line-height:1.3'>{lines}</div>"
