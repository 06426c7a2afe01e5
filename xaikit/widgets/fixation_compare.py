"""FixationCompare: where humans looked beside where the CNN attends, with the paper's scores."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import pandas as pd

from xaikit.metrics.registry import higher_is_better
from xaikit.viz.charts import metric_bars
from xaikit.viz.compose import blend_map, side_by_side
from xaikit.viz.encode import encode_jpeg, figure_bytes
from xaikit.viz.figures import figure_grid
from xaikit.widgets._base import Panel, guarded
from xaikit.widgets._controls import cmap_picker, layer_options, opacity_slider
from xaikit.widgets._scores import arrow, map_scores, references
from xaikit.widgets.compare_grid import _human_reference, explain_image


class FixationCompare(Panel):
    """The human fixation map beside the map of a chosen method and layer, with per-image
    metrics and the per-method, per-layer bar chart of the humans-vs-CNN paper.

    The human map is :func:`xaikit.data.fixation_map` (duration-weighted, Gaussian-blurred,
    in [0, 1]) feeds the metrics that read a fixation density (MAE, CC, SIM, KLD, ...), the
    fixated pixels (:func:`xaikit.data.fixations.fixation_mask`) those that read fixations
    (NSS, AUC-Judd, ...): every registered metric (:data:`xaikit.metrics.METRICS`) these two
    allow. Every map is scored once; picking a method, layer or chart metric only redraws.

    Args:
        image: ``(H, W, 3)`` ``uint8`` RGB image.
        fixations: fixations on it (a table with ``x, y, duration`` or an ``(N, 2|3)`` array).
        model: the CNN.
        methods: method names (see ``xaikit.explain.METHODS``).
        layers: layer names; ``None`` takes the model card's layers or the deepest feature map.
        human_map: a ready ``(H, W)`` human map in [0, 1] instead of the one built from
            ``fixations``.
        target, preprocess, device: as for :func:`xaikit.explain`.
        alpha, cmap: initial opacity and colormap.

    Attributes:
        scores: DataFrame ``method, layer``, then one column per metric.

    Examples:
        >>> import numpy as np
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
        ...                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> image = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
        >>> compare = FixationCompare(image, np.array([[8.0, 8.0, 200.0]]), net, layers=["1"])
        >>> list(compare.scores.columns)[:2], {"MAE", "NSS"} <= set(compare.scores.columns)
        (['method', 'layer'], True)
        >>> compare.close()
    """

    def __init__(
        self,
        image,
        fixations,
        model,
        methods=("gradcam",),
        layers=None,
        *,
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
        self.human_map, self.fixation_mask = _human_reference(
            self.image_array, fixations, human_map
        )
        given = references(human_map=self.human_map, fixation_mask=self.fixation_mask)
        rows = [
            {"method": method, "layer": key, **map_scores(heatmap, given)}
            for (method, key), heatmap in self.maps.items()
        ]
        self.scores = pd.DataFrame(rows)
        self.metric_names = [c for c in self.scores.columns if c not in ("method", "layer")]
        self._charts: dict[str, bytes] = {}
        super().__init__()  # widgets only from here on, so a bad argument leaks none

        own = self._own
        methods = list(dict.fromkeys(method for method, _ in self.maps))
        self.method = own(W.Dropdown(options=methods, description="method"))
        keys = list(dict.fromkeys(key for _, key in self.maps))
        self.layer = own(
            W.Dropdown(
                options=layer_options(self.catalogue, keys),
                description="layer",
                layout=W.Layout(width="420px"),
            )
        )
        self.alpha = own(opacity_slider(alpha))
        self.cmap = own(cmap_picker(cmap))
        self.chart_metric = own(W.Dropdown(options=self.metric_names, description="chart"))
        height, width = self.image_array.shape[:2]
        self.picture = own(W.Image(format="jpeg"))
        self.metrics = own(W.HTML())
        self.chart = own(W.Image(format="png"))
        for widget in (self.method, self.layer, self.alpha, self.cmap):
            widget.observe(lambda change: self.render(), names="value")
        self.chart_metric.observe(lambda change: self.render_chart(), names="value")
        self.box = own(
            W.VBox(
                [
                    own(W.HBox([self.method, self.layer])),
                    own(W.HBox([self.alpha, self.cmap])),
                    self.picture,
                    self.metrics,
                    self.chart_metric,
                    self.chart,
                    self.error,
                ]
            )
        )
        self.box.add_class("xaikit-fixation-compare")
        self.render()
        self.render_chart()

    def current(self) -> tuple[str, str]:
        """The chosen ``(method, layer)``; pixel methods read the key ``"input"``."""
        method, layer = self.method.value, self.layer.value
        if (method, layer) not in self.maps:
            keys = [key for m, key in self.maps if m == method]
            if keys == ["input"]:
                return method, "input"
            raise ValueError(f"no map for {method} · {layer}; this method has {keys}")
        return method, layer

    def current_scores(self) -> dict[str, float]:
        """Scores of the chosen map: ``{"MAE": ..., "CC": ..., ...}``."""
        method, layer = self.current()
        row = self.scores[(self.scores.method == method) & (self.scores.layer == layer)]
        return {name: float(row[name].iloc[0]) for name in self.metric_names}

    def panels(self) -> list[np.ndarray]:
        """``[human map over the image, chosen CNN map over the image]``, ``(H, W, 3)`` each."""
        alpha, cmap = self.alpha.value, self.cmap.value
        return [
            blend_map(
                self.image_array, self.human_map / max(self.human_map.max(), 1e-12), alpha, cmap
            ),
            blend_map(self.image_array, self.maps[self.current()], alpha, cmap),
        ]

    @guarded
    def render(self) -> None:
        """Redraw the two maps and the metrics of the chosen method and layer."""
        self.picture.value = encode_jpeg(side_by_side(self.panels()))
        cells = "".join(
            f"<td style='padding:0 8px'>{html.escape(name)} {arrow(name)}"
            f"<br><b>{value:.3f}</b></td>"
            for name, value in self.current_scores().items()
        )
        method, layer = self.current()
        self.metrics.value = (
            f"<b>human fixations</b> vs <b>{html.escape(method)} · {html.escape(layer)}</b>"
            f"<table><tr>{cells}</tr></table>"
        )

    def chart_figure(self, metric: str | None = None):
        """The per-method, per-layer bar chart of ``metric`` (default: the chart picker's)."""
        metric = metric or self.chart_metric.value
        return metric_bars(self.scores, metric, lower_is_better=not higher_is_better(metric))

    @guarded
    def render_chart(self) -> None:
        """Redraw the bar chart for the chart picker's metric (each metric drawn once)."""
        metric = self.chart_metric.value
        if metric not in self._charts:
            self._charts[metric] = figure_bytes(self.chart_figure(metric), "png")
        self.chart.value = self._charts[metric]

    def figure(self):
        """Human map and chosen CNN map side by side, titled with the scores."""
        method, layer = self.current()
        items = [f"{name} {value:.2f}" for name, value in self.current_scores().items()]
        lines = ["  ".join(items[start : start + 3]) for start in range(0, len(items), 3)]
        titles = ["human fixations", "\n".join([f"{method} · {layer}", *lines])]
        return figure_grid(self.panels(), titles, panel_size=4.0)
