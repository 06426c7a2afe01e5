"""FixationCompare: where humans looked beside where the CNN attends, with the paper's scores."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np
import pandas as pd

from xaikit.metrics.registry import higher_is_better
from xaikit.viz.charts import metric_bars
from xaikit.viz.compose import blend_map, side_by_side
from xaikit.viz.figures import figure_grid
from xaikit.widgets._base import guarded
from xaikit.widgets._controls import cmap_picker, colorbar_html, opacity_slider, wrap_row
from xaikit.widgets._image_panel import (
    PIXEL_KEY,
    ImagePanel,
    chart_png,
    clear_picture,
    explain_image,
    human_reference,
    key_options,
    method_keys,
    picture_widget,
    show_chart,
    zoom_for,
)
from xaikit.widgets._scores import arrow, map_scores, references

#: Caption of the colorbar under the two maps: how each map is brought to [0, 1].
NORMALISATION = "human map ÷ its max; CNN map as explained (0-1 per map)"


class FixationCompare(ImagePanel):
    """The human fixation map beside the map of a chosen method and layer, with per-image
    metrics and the per-method, per-layer bar chart of the humans-vs-CNN paper.

    The human map (:func:`xaikit.data.fixation_map`: duration-weighted, Gaussian-blurred, in
    [0, 1]) feeds the metrics that read a fixation density (MAE, CC, SIM, KLD, ...), the
    fixated pixels (:func:`xaikit.data.fixations.fixation_mask`) those that read fixations
    (NSS, AUC-Judd, ...): every registered metric (:data:`xaikit.metrics.METRICS`) these two
    allow. Every map is scored once; picking a method, layer or chart metric only redraws.

    The layer picker offers only the layers the chosen method has maps for (``input`` for a
    pixel method such as guided backprop). The two maps show at an integer zoom of the image's
    pixels (a 64 x 64 image at 3x), with a colorbar under them; the chart shows at the size it
    is drawn. A failed redraw clears the picture and shows its error beside the controls until
    a redraw succeeds.

    Args:
        image: ``(H, W, 3)`` ``uint8`` RGB image.
        fixations: fixations on it (a table with ``x, y, duration`` or an ``(N, 2|3)`` array).
        model: the CNN.
        methods: method names (see ``xaikit.explain.METHODS``).
        layers: layer names; ``None`` takes the model card's layers or the deepest feature map.
        human_map: a ready ``(H, W)`` human map in [0, 1] instead of the one built from
            ``fixations`` (e.g. one map of :func:`xaikit.study.human_references`).
        sigma, kernel: the recipe of the human map built from ``fixations``: the Gaussian of
            :func:`xaikit.data.fixation_map`. ``None`` takes that function's defaults (the
            kit's one default: the paper's 20 and 80 px, meant for images about 400 px wide);
            pass what your study passes, so the widget scores the study's map (notebook 02:
            ``sigma=SIGMA, kernel=KERNEL``).
        target, preprocess, device: as for :func:`xaikit.explain`.
        alpha, cmap: initial opacity and colormap.

    Attributes:
        scores: DataFrame ``method, layer``, then one column per metric.
        zoom: CSS px per image pixel of the picture.

    Examples:
        >>> import numpy as np
        >>> from torch import nn
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
        ...                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
        >>> image = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
        >>> compare = FixationCompare(image, np.array([[8.0, 8.0, 200.0]]), net, layers=["1"])
        >>> list(compare.scores.columns)[:2], {"MAE", "NSS"} <= set(compare.scores.columns)
        (['method', 'layer'], True)
        >>> compare.zoom, compare.picture.layout.width  # 68 px wide: shown at 5x
        (5, '340px')
        >>> compare.close()
    """

    #: The picture (two maps side by side) is shown about this wide, in CSS px.
    target_width = 400
    max_width = 900

    def __init__(
        self,
        image,
        fixations,
        model,
        methods=("gradcam",),
        layers=None,
        *,
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
        self.human_map, self.fixation_mask = human_reference(
            self.image_array, fixations, human_map, sigma, kernel
        )
        given = references(human_map=self.human_map, fixation_mask=self.fixation_mask)
        rows = [
            {"method": method, "layer": key, **map_scores(heatmap, given)}
            for (method, key), heatmap in self.maps.items()
        ]
        self.scores = pd.DataFrame(rows)
        self.metric_names = [c for c in self.scores.columns if c not in ("method", "layer")]
        self.method_keys = method_keys(self.maps)
        width = 2 * self.image_array.shape[1] + 4  # two maps and side_by_side's gap
        self.zoom = zoom_for(width, self.target_width)
        self._offering = False
        self._charts: dict[str, bytes] = {}
        super().__init__()  # widgets only from here on, so a bad argument leaks none
        self._build(alpha, cmap)
        self.render()
        self.render_chart()

    def _build(self, alpha: float, cmap: str) -> None:
        own = self._own
        methods = list(self.method_keys)
        self.method = own(W.Dropdown(options=methods, description="method"))
        self.layer = own(
            W.Dropdown(
                options=key_options(self.catalogue, self.method_keys[methods[0]]),
                description="layer",
                layout=W.Layout(width="420px"),
            )
        )
        self.alpha = own(opacity_slider(alpha))
        self.cmap = own(cmap_picker(cmap))
        self.chart_metric = own(W.Dropdown(options=self.metric_names, description="chart"))
        self.picture = own(picture_widget())
        self.metrics = own(W.HTML())
        self.colorbar = own(W.HTML())
        self.chart = own(W.Image(format="png"))  # not a map picture: no xaikit-picture
        self.method.observe(lambda change: self._method_changed(), names="value")
        self.layer.observe(lambda change: self._offering or self.render(), names="value")
        for widget in (self.alpha, self.cmap):
            widget.observe(lambda change: self.render(), names="value")
        self.chart_metric.observe(lambda change: self.render_chart(), names="value")
        controls = own(
            wrap_row([self.method, self.layer, self.alpha, self.cmap, self._error_label("map")])
        )
        maps = own(W.VBox([self.metrics, self.picture, self.colorbar]))
        chart_row = own(wrap_row([self.chart_metric, self._error_label("chart")]))
        chart = own(W.VBox([chart_row, self.chart]))
        body = own(wrap_row([maps, chart], align_items="flex-start", grid_gap="0 24px"))
        self.box = self._panel_root([controls, body, self.error], "xaikit-fixation-compare")

    @guarded(slot="map")
    def _method_changed(self) -> None:
        """Offer the layers the new method has maps for (keeping the layer if it has one),
        then redraw once."""
        keys = self.method_keys[self.method.value]
        keep = self.layer.value if self.layer.value in keys else keys[0]
        self._offering = True
        try:
            self.layer.options = key_options(self.catalogue, keys)
            self.layer.value = keep
        finally:
            self._offering = False
        self.render()

    def current(self) -> tuple[str, str]:
        """The chosen ``(method, layer)``; pixel methods read the key ``"input"``."""
        method, layer = self.method.value, self.layer.value
        if (method, layer) not in self.maps:
            keys = self.method_keys.get(method, [])
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

    def _heading(self) -> str:
        method, layer = self.method.value, self.layer.value
        return f"<b>human fixations</b> vs <b>{html.escape(f'{method} · {layer}')}</b>"

    @guarded(slot="map")
    def render(self) -> None:
        """Redraw the two maps, their colorbar and the metrics of the chosen method and layer;
        if that fails, the picture is cleared and the heading says so."""
        try:
            picture, scores = side_by_side(self.panels()), self.current_scores()
        except Exception:
            clear_picture(self.picture)
            self.metrics.value = f"{self._heading()}: <i>not drawn (error above)</i>"
            raise
        width = self._show(self.picture, picture)
        self.colorbar.value = colorbar_html(self.cmap.value, "0", "1", NORMALISATION)
        cells = "".join(
            f"<div style='padding:0 8px;text-align:center'>{html.escape(name)} {arrow(name)}"
            f"<br><b>{value:.3f}</b></div>"
            for name, value in scores.items()
        )
        wrap = f"display:flex;flex-wrap:wrap;max-width:{max(width, 360)}px;font-size:12px"
        self.metrics.value = f"{self._heading()}<div style='{wrap}'>{cells}</div>"

    def chart_figure(self, metric: str | None = None):
        """The per-method, per-layer bar chart of ``metric`` (default: the chart picker's),
        sized for the widget: wide enough for its bars and legend, at most 900 px at 100 dpi.
        Layers are named without the prefix all of them share (``conv5``, not
        ``features.conv5``)."""
        metric = metric or self.chart_metric.value
        table = self.scores.assign(layer=short_keys(self.scores["layer"]))
        bars = table["layer"].nunique()
        plot = max(3.0, 0.1 * len(self.method_keys) * bars + 1.0)  # inches of axes
        legend = 0.07 * max(len(str(name)) for name in table["layer"]) + 0.7
        return metric_bars(
            table,
            metric,
            lower_is_better=not higher_is_better(metric),
            figsize=(min(plot + legend, 9.0), 3.0),
        )

    @guarded(slot="chart")
    def render_chart(self) -> None:
        """Redraw the bar chart for the chart picker's metric at the size it is drawn (each
        metric drawn once); if that fails, the chart is cleared."""
        metric = self.chart_metric.value
        try:
            if metric not in self._charts:
                self._charts[metric] = chart_png(self.chart_figure(metric))
        except Exception:
            clear_picture(self.chart)
            raise
        show_chart(self.chart, self._charts[metric])

    def figure(self):
        """Human map and chosen CNN map side by side, titled with the scores."""
        method, layer = self.current()
        items = [f"{name} {value:.2f}" for name, value in self.current_scores().items()]
        lines = ["  ".join(items[start : start + 3]) for start in range(0, len(items), 3)]
        titles = ["human fixations", "\n".join([f"{method} · {layer}", *lines])]
        return figure_grid(self.panels(), titles, panel_size=4.0)


def short_keys(keys) -> list[str]:
    """Map keys without the dotted prefix every layer name in them shares, so a chart's legend
    stays short; each part of a layer sum (``"a+b"``) is shortened alike.

    Examples:
        >>> short_keys(["features.conv1", "features.conv5+features.conv4", "input"])
        ['conv1', 'conv5+conv4', 'input']
        >>> short_keys(["layer3", "layer4"])
        ['layer3', 'layer4']
    """
    keys = [str(key) for key in keys]
    names = {part for key in keys for part in key.split("+") if part != PIXEL_KEY}
    paths = [name.split(".") for name in names]
    shared = 0
    while (
        paths
        and all(len(path) > shared + 1 for path in paths)
        and (len({path[shared] for path in paths}) == 1)
    ):
        shared += 1
    prefix = "".join(part + "." for part in paths[0][:shared]) if shared else ""
    return [
        "+".join(part.removeprefix(prefix) for part in key.split("+")) if prefix else key
        for key in keys
    ]
