"""Publication figures: overlay grids, threshold curves and tables, saved as PNG, PDF and SVG.

Every function returns a :class:`~xaikit.viz.figures.SavableFigure`: it shows inline in a
notebook, renders in a static page and a test, and :func:`save_figure` writes it in several
formats at once.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from xaikit._arrays import to_numpy
from xaikit.viz.boxes import identity_color
from xaikit.viz.figures import SavableFigure, figure_grid
from xaikit.viz.overlay import overlay

#: Formats :func:`save_figure` writes by default.
PUBLICATION_FORMATS = ("png", "pdf", "svg")
#: ``gid`` of the row names :func:`overlay_grid` writes (read back by :func:`grid_labels`).
ROW_LABEL = "xaikit-row-label"

__all__ = [
    "PUBLICATION_FORMATS",
    "grid_labels",
    "method_layer_grid",
    "overlay_grid",
    "save_figure",
    "table_figure",
    "threshold_plot",
    "time_strip",
]


def save_figure(
    figure, folder, name: str, formats: Sequence[str] = PUBLICATION_FORMATS, dpi: int = 200
) -> list[Path]:
    """Save a matplotlib Figure as ``folder/name.<format>`` for every format.

    Args:
        figure: a ``matplotlib.figure.Figure`` (any xaikit figure).
        folder: output folder; created if missing.
        name: file name without suffix (no path separators).
        formats: suffixes matplotlib can write, e.g. ``("png", "pdf", "svg")``.
        dpi: resolution of raster formats (PNG, JPEG).

    Returns:
        The written paths, in the order of ``formats``.

    Raises:
        ValueError: an empty or path-like ``name``, no formats, or a format matplotlib
            cannot write.

    Examples:
        >>> import tempfile, numpy as np
        >>> from xaikit.viz import figure_grid
        >>> paths = save_figure(figure_grid([np.eye(4)]), tempfile.mkdtemp(), "eye")
        >>> [path.name for path in paths]
        ['eye.png', 'eye.pdf', 'eye.svg']
    """
    if not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"name must be a plain file name without folders; got {name!r}")
    if not formats:
        raise ValueError("give at least one format, e.g. ('png', 'pdf', 'svg')")
    supported = figure.canvas.get_supported_filetypes()
    unknown = [f for f in formats if f not in supported]
    if unknown:
        raise ValueError(f"cannot write format(s) {unknown}; matplotlib writes {sorted(supported)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix in formats:
        path = folder / f"{name}.{suffix}"
        figure.savefig(path, format=suffix, dpi=dpi, bbox_inches="tight")
        paths.append(path)
    return paths


def overlay_grid(
    frames,
    maps: Mapping[str, Mapping[str, object]],
    *,
    alpha: float = 0.5,
    cmap: str = "jet",
    panel_size: float = 1.8,
):
    """A grid of maps blended over frames: one row per outer key, one column per inner key.

    The method x layer grid (rows methods, columns layers, one frame) and the time strip
    (rows methods or classes, columns frames of a clip) are both this figure.

    Args:
        frames: one ``(H, W, 3)`` uint8 frame under every panel, or ``{column: frame}`` with a
            frame per column (e.g. the frames of a clip).
        maps: ``{row: {column: (h, w) map}}``; maps of any resolution are resized to the frame
            (see :func:`xaikit.viz.overlay`). Every row must have the same columns.
        alpha: opacity of the maps.
        cmap: matplotlib colormap.
        panel_size: width of one panel in inches.

    Returns:
        :class:`~xaikit.viz.figures.SavableFigure`: column names head the top row, row names
        stand to the left of each row (both wrapped to the panel width), so long method and
        layer names never run into each other.

    Raises:
        ValueError: no maps, rows with different columns, or a column without a frame.

    Examples:
        >>> import numpy as np
        >>> frame = np.zeros((8, 8, 3), np.uint8)
        >>> grid = overlay_grid(frame, {"gradcam": {"conv4": np.eye(4), "conv5": np.eye(2)},
        ...                             "3dcam": {"conv4": np.eye(4), "conv5": np.eye(2)}})
        >>> len(grid.axes), grid.axes[1].get_title(), grid.axes[2].get_title()
        (4, 'conv5', '')
        >>> grid_labels(grid)
        ['gradcam', '3dcam']
    """
    if not maps:
        raise ValueError("overlay_grid needs at least one row of maps")
    rows = list(maps)
    columns = list(maps[rows[0]])
    for row in rows:
        if list(maps[row]) != columns:
            raise ValueError(
                f"every row needs the columns {columns}; row {row!r} has {list(maps[row])}"
            )
    if isinstance(frames, Mapping):
        missing = [column for column in columns if column not in frames]
        if missing:
            raise ValueError(f"no frame for column(s) {missing}")
        frame_of = {column: frames[column] for column in columns}
    else:
        frame_of = dict.fromkeys(columns, frames)
    panels = [
        overlay(frame_of[column], maps[row][column], alpha=alpha, cmap=cmap)
        for row in rows
        for column in columns
    ]
    figure = figure_grid(panels, ncols=len(columns), panel_size=panel_size)
    width = max(8, round(panel_size * 11))  # characters of 9-point text in one panel
    for index, column in enumerate(columns):
        figure.axes[index].set_title(textwrap.fill(str(column), width), fontsize=9)
    for index, row in enumerate(rows):
        first = figure.axes[index * len(columns)]
        first.text(
            -0.04,
            0.5,
            textwrap.fill(str(row), width),
            transform=first.transAxes,
            rotation=90,
            ha="right",
            va="center",
            fontsize=9,
            gid=ROW_LABEL,
            label=row,
        )
    figure.tight_layout()
    return figure


def grid_labels(figure) -> list[str]:
    """The row names of an :func:`overlay_grid` figure, top to bottom.

    Examples:
        >>> import numpy as np
        >>> frame = np.zeros((8, 8, 3), np.uint8)
        >>> grid_labels(overlay_grid(frame, {"a": {"x": np.eye(2)}, "b": {"x": np.eye(2)}}))
        ['a', 'b']
    """
    return [
        text.get_label()
        for axis in figure.axes
        for text in axis.texts
        if text.get_gid() == ROW_LABEL
    ]


def _single_map(values, item: int, frame: int | None) -> np.ndarray:
    """Map ``item`` (and ``frame`` of a clip) of a ``(B, H, W)`` / ``(B, T, H, W)`` stack."""
    array = to_numpy(values)[item]
    if array.ndim == 3:
        if frame is None:
            raise ValueError("these maps are clips (B, T, H, W); pass frame= to pick one")
        array = array[frame]
    return array


def method_layer_grid(
    frame,
    explanations,
    *,
    item: int = 0,
    frame_index: int | None = None,
    layers: Sequence[str] | None = None,
    names: Mapping[str, str] | None = None,
    **options,
):
    """The method x layer grid of one image (or one frame of a clip): rows methods, columns
    layers, each map over the frame.

    Args:
        frame: ``(H, W, 3)`` uint8 picture the maps explain.
        explanations: ``{method: Explanation}`` from :func:`xaikit.explain` (or one
            :class:`~xaikit.explain.Explanation`).
        item: which sample of the batch.
        frame_index: which frame, for clip maps ``(B, T, H, W)``.
        layers: the columns (default: the first explanation's layers).
        names: display name per method (default: the method names).
        **options: ``alpha``, ``cmap``, ``panel_size`` of :func:`overlay_grid`.

    Returns:
        :class:`~xaikit.viz.figures.SavableFigure`.

    Examples:
        >>> import numpy as np, torch
        >>> from xaikit.explain import Explanation
        >>> e = Explanation("gradcam", maps={"conv5": torch.rand(1, 4, 4)}, raw={},
        ...                 layers=["conv5"])
        >>> fig = method_layer_grid(np.zeros((8, 8, 3), np.uint8), e, names={"gradcam": "Grad"})
        >>> [axis.get_title() for axis in fig.axes], grid_labels(fig)
        (['conv5'], ['Grad'])
    """
    if not isinstance(explanations, Mapping):
        explanations = {explanations.method: explanations}
    if not explanations:
        raise ValueError("method_layer_grid needs at least one explanation")
    layers = list(layers or next(iter(explanations.values())).layers)
    names = names or {}
    maps = {
        names.get(method, method): {
            layer: _single_map(explanation.maps[layer], item, frame_index) for layer in layers
        }
        for method, explanation in explanations.items()
    }
    return overlay_grid(frame, maps, **options)


def time_strip(clip, maps: Mapping[str, object], frames: Sequence[int] | None = None, **options):
    """Maps of a clip over time: one row per map, one column per frame.

    Args:
        clip: ``(T, H, W, 3)`` uint8 frames.
        maps: ``{row: (T, h, w) map}`` (e.g. one clip of an ``Explanation.maps`` entry).
        frames: frame numbers to show (default: all, at most 8 evenly spaced).
        **options: ``alpha``, ``cmap``, ``panel_size`` of :func:`overlay_grid`.

    Returns:
        :class:`~xaikit.viz.figures.SavableFigure`, columns headed ``"t=<frame>"``.

    Examples:
        >>> import numpy as np
        >>> clip = np.zeros((4, 8, 8, 3), np.uint8)
        >>> fig = time_strip(clip, {"3dcam": np.random.rand(4, 8, 8)}, frames=[0, 3])
        >>> [axis.get_title() for axis in fig.axes], grid_labels(fig)
        (['t=0', 't=3'], ['3dcam'])
    """
    clip = to_numpy(clip)
    if clip.ndim != 4 or clip.shape[-1] != 3:
        raise ValueError(f"clip must be (T, H, W, 3); got shape {clip.shape}")
    count = len(clip)
    if frames is None:
        frames = np.unique(np.linspace(0, count - 1, min(count, 8)).round().astype(int)).tolist()
    if any(not 0 <= f < count for f in frames):
        raise ValueError(f"frames must lie in [0, {count}); got {list(frames)}")
    columns = {f"t={f}": clip[f] for f in frames}
    rows = {}
    for row, values in maps.items():
        array = to_numpy(values)
        if array.ndim != 3 or len(array) != count:
            raise ValueError(f"map {row!r} must be (T={count}, h, w); got shape {array.shape}")
        rows[row] = {f"t={f}": array[f] for f in frames}
    return overlay_grid(columns, rows, **options)


def threshold_plot(
    table,
    *,
    ylabel: str | None = None,
    xlabel: str | None = None,
    figsize: tuple[float, float] = (5.0, 3.2),
):
    """Score against threshold, one line per row of a wide table (e.g. MaxBoxAcc vs IoU).

    Args:
        table: pandas DataFrame, rows the curves (index entries, tuples joined with " · "),
            columns numeric thresholds; other columns (``"average"``) are left out.
        ylabel: y-axis label (default: the columns' name).
        xlabel: x-axis label (default: ``"threshold"``).
        figsize: matplotlib's figure size, ``(width, height)`` in inches.

    Returns:
        :class:`~xaikit.viz.figures.SavableFigure`.

    Examples:
        >>> import pandas as pd
        >>> table = pd.DataFrame({0.1: [0.9, 0.8], 0.5: [0.4, 0.2], "average": [0.65, 0.5]},
        ...                      index=[("3dcam", "stem"), ("gradcam", "layer4")])
        >>> fig = threshold_plot(table, ylabel="MaxBoxAcc")
        >>> [line.get_label() for line in fig.axes[0].lines], fig.axes[0].lines[1].get_ydata()
        (['3dcam · stem', 'gradcam · layer4'], array([0.8, 0.2]))
    """
    numeric = [c for c in table.columns if isinstance(c, (int, float, np.number))]
    if not numeric or len(table) == 0:
        raise ValueError("threshold_plot needs rows and at least one numeric threshold column")
    figure = SavableFigure(figsize=figsize)
    axis = figure.subplots()
    for index, (key, row) in enumerate(table[numeric].iterrows()):
        label = " · ".join(str(k) for k in key if str(k)) if isinstance(key, tuple) else str(key)
        colour = np.array(identity_color(index)) / 255.0
        axis.plot(numeric, row.to_numpy(float), marker="o", ms=3, label=label, color=colour)
    axis.set_xlabel(xlabel or "threshold")
    axis.set_ylabel(ylabel or str(table.columns.name or "score"))
    axis.set_ylim(0, 1.02)
    axis.spines[["top", "right"]].set_visible(False)
    axis.legend(fontsize=7, frameon=False)
    figure.tight_layout()
    return figure


def table_figure(table, *, title: str | None = None, digits: int = 3, figsize=None):
    """A DataFrame drawn as a table figure, for exporting a paper table as PNG, PDF or SVG.

    Args:
        table: pandas DataFrame; its index (tuples joined with " · ") labels the rows.
        title: caption above the table.
        digits: decimals of float cells (NaN shows as "–").
        figsize: matplotlib's figure size, ``(width, height)`` in inches (default from the
            table's shape).

    Returns:
        :class:`~xaikit.viz.figures.SavableFigure`.

    Examples:
        >>> import pandas as pd
        >>> fig = table_figure(pd.DataFrame({"IoU 0.5": [0.12345]}, index=["gradcam"]))
        >>> cells = fig.axes[0].tables[0].get_celld()
        >>> cells[1, 0].get_text().get_text(), cells[1, -1].get_text().get_text()
        ('0.123', 'gradcam')
    """
    if len(table) == 0 or len(table.columns) == 0:
        raise ValueError("table_figure needs a table with rows and columns")

    def cell(value) -> str:
        if isinstance(value, (float, np.floating)):
            return "–" if np.isnan(value) else f"{value:.{digits}f}"
        return str(value)

    text = [[cell(v) for v in row] for row in to_numpy(table.to_numpy(object))]
    rows = [
        " · ".join(str(k) for k in key if str(k)) if isinstance(key, tuple) else str(key)
        for key in table.index
    ]
    columns = [str(c) for c in table.columns]
    default = (1.2 + 0.9 * len(columns) + 0.07 * max(map(len, rows)), 0.5 + 0.25 * len(rows))
    figure = SavableFigure(figsize=figsize or default)
    axis = figure.subplots()
    axis.set_axis_off()
    drawn = axis.table(cellText=text, rowLabels=rows, colLabels=columns, loc="center")
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(8)
    if title:
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure
