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
from xaikit.viz.figures import SavableFigure, figure_grid, legend_outside, no_signal
from xaikit.viz.overlay import overlay
from xaikit.viz.styles import colour, line_style, styled

#: Formats :func:`save_figure` writes by default.
PUBLICATION_FORMATS = ("png", "pdf", "svg")
#: ``gid`` of the row names :func:`overlay_grid` writes (read back by :func:`grid_labels`).
ROW_LABEL = "xaikit-row-label"
#: ``gid`` of the label of the plain frames' row.
PLAIN_LABEL = "xaikit-plain-label"
#: Title of the plain image's column and label of the plain frames' row.
PLAIN_COLUMN, PLAIN = "image", "frame"
#: What an overlay grid's colorbar says its colours mean.
MAP_LABEL = "map value, scaled to [0, 1] per map"

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


@styled
def overlay_grid(
    frames,
    maps: Mapping[str, Mapping[str, object]],
    *,
    alpha: float = 0.5,
    cmap: str = "jet",
    panel_size: float = 1.8,
    plain: bool = True,
    colorbar: bool = True,
    colorbar_label: str = MAP_LABEL,
):
    """A grid of maps blended over frames: one row per outer key, one column per inner key.

    The method x layer grid (rows methods, columns layers, one frame) and the time strip
    (rows methods or classes, columns frames of a clip) are both this figure. Each map's
    opacity follows its value (:func:`~xaikit.viz.overlay` with ``follow=True``), so low values
    leave the frame as it is; a map with no signal is labelled in its panel ("no signal: map
    is all zero").

    Args:
        frames: one ``(H, W, 3)`` uint8 frame under every panel, or ``{column: frame}`` with a
            frame per column (e.g. the frames of a clip).
        maps: ``{row: {column: (h, w) map}}``; maps of any resolution are resized to the frame
            (see :func:`xaikit.viz.overlay`). Every row must have the same columns.
        alpha: opacity of the maps at their maximum.
        cmap: matplotlib colormap.
        panel_size: width of one panel in inches.
        plain: show the frames alone too: a first column ``"image"`` beside each row for one
            frame, a first row ``"frame"`` for a frame per column.
        colorbar: add one colorbar, labelled ``colorbar_label``.
        colorbar_label: what the colours mean.

    Returns:
        :class:`~xaikit.viz.figures.SavableFigure`: column names head the top row, row names
        label the left of each row (both wrapped to the panel size; constrained layout keeps
        them inside the figure). ``fig.axes`` holds the panels row by row, then the colorbar.

    Raises:
        ValueError: no maps, rows with different columns, or a column without a frame.

    Examples:
        >>> import numpy as np
        >>> frame = np.zeros((8, 8, 3), np.uint8)
        >>> grid = overlay_grid(frame, {"gradcam": {"conv4": np.eye(4), "conv5": np.eye(2)},
        ...                             "3dcam": {"conv4": np.zeros((4, 4)), "conv5": np.eye(2)}})
        >>> [axis.get_title() for axis in grid.axes[:4]]
        ['image', 'conv4', 'conv5', '']
        >>> grid_labels(grid), grid.axes[4].texts[0].get_text()
        (['gradcam', '3dcam'], 'no signal:\\nmap is all zero')
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
    per_column = isinstance(frames, Mapping)
    if per_column:
        missing = [column for column in columns if column not in frames]
        if missing:
            raise ValueError(f"no frame for column(s) {missing}")
        frame_of = {column: frames[column] for column in columns}
    else:
        frame_of = dict.fromkeys(columns, frames)

    grid = [
        [(frame_of[column], maps[row][column]) for column in columns] for row in rows
    ]  # (frame, map or None) per panel
    headings, labels = [str(c) for c in columns], [str(r) for r in rows]
    if plain and per_column:
        grid.insert(0, [(frame_of[column], None) for column in columns])
        labels.insert(0, PLAIN)
    elif plain:
        grid = [[(frames, None), *cells] for cells in grid]
        headings.insert(0, PLAIN_COLUMN)
    panels, notes = [], []
    for cells in grid:
        for frame, heatmap in cells:
            if heatmap is None:
                panels.append(to_numpy(frame))
                notes.append(None)
                continue
            panels.append(overlay(frame, heatmap, alpha=alpha, cmap=cmap))
            reason = no_signal(heatmap)
            notes.append(f"no signal:\n{reason}" if reason else None)
    width = max(8, round(panel_size * 11))  # characters of 9-point text in one panel
    titles = [textwrap.fill(h, width) for h in headings]
    titles += [""] * (len(panels) - len(titles))
    figure = figure_grid(
        panels, titles, ncols=len(grid[0]), panel_size=panel_size, cmap=cmap,
        colorbar=colorbar, colorbar_label=colorbar_label, notes=notes,
    )  # fmt: skip
    for index, label in enumerate(labels):
        first = figure.axes[index * len(grid[0])]
        first.set_ylabel(textwrap.fill(label, width))
        first.yaxis.label.set_gid(PLAIN_LABEL if label == PLAIN and per_column else ROW_LABEL)
        first.yaxis.label.set_label(label)
    return figure


def grid_labels(figure) -> list[str]:
    """The row names of an :func:`overlay_grid` figure, top to bottom (the plain frames' row
    left out).

    Examples:
        >>> import numpy as np
        >>> frame = np.zeros((8, 8, 3), np.uint8)
        >>> grid_labels(overlay_grid(frame, {"a": {"x": np.eye(2)}, "b": {"x": np.eye(2)}}))
        ['a', 'b']
    """
    return [
        axis.yaxis.label.get_label()
        for axis in figure.axes
        if axis.yaxis.label.get_gid() == ROW_LABEL
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
        **options: ``alpha``, ``cmap``, ``panel_size``, ``plain``, ``colorbar`` and
            ``colorbar_label`` of :func:`overlay_grid`.

    Returns:
        :class:`~xaikit.viz.figures.SavableFigure`.

    Examples:
        >>> import numpy as np, torch
        >>> from xaikit.explain import Explanation
        >>> e = Explanation("gradcam", maps={"conv5": torch.rand(1, 4, 4)}, raw={},
        ...                 layers=["conv5"])
        >>> fig = method_layer_grid(np.zeros((8, 8, 3), np.uint8), e, names={"gradcam": "Grad"})
        >>> [axis.get_title() for axis in fig.axes[:2]], grid_labels(fig)
        (['image', 'conv5'], ['Grad'])
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
        **options: ``alpha``, ``cmap``, ``panel_size``, ``plain``, ``colorbar`` and
            ``colorbar_label`` of :func:`overlay_grid`.

    Returns:
        :class:`~xaikit.viz.figures.SavableFigure`, columns headed ``"t=<frame>"``.

    Examples:
        >>> import numpy as np
        >>> clip = np.zeros((4, 8, 8, 3), np.uint8)
        >>> fig = time_strip(clip, {"3dcam": np.random.rand(4, 8, 8)}, frames=[0, 3])
        >>> [axis.get_title() for axis in fig.axes[:2]], grid_labels(fig)  # frames, then maps
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


@styled
def threshold_plot(
    table,
    *,
    ylabel: str | None = None,
    xlabel: str | None = None,
    figsize: tuple[float, float] = (6.0, 3.2),
):
    """Score against threshold, one line per row of a wide table (e.g. MaxBoxAcc vs IoU).

    Rows indexed by pairs such as ``(method, layer)`` take their colour from the first entry
    and their line style and marker from the second, so 14 lines never share 7 colours; when
    every row has the same first entry, the second picks both. The legend (one section per
    factor, headed by the index's level names) stands to the right of the axes, off the lines.

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
        >>> [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
        ['3dcam', 'gradcam', 'stem', 'layer4']
    """
    numeric = [c for c in table.columns if isinstance(c, (int, float, np.number))]
    if not numeric or len(table) == 0:
        raise ValueError("threshold_plot needs rows and at least one numeric threshold column")
    keys = [key if isinstance(key, tuple) else (key,) for key in table.index]
    first = list(dict.fromkeys(str(key[0]) for key in keys))
    second = list(dict.fromkeys(" · ".join(map(str, key[1:])) for key in keys))
    by_second = len(first) == 1 and len(second) > 1

    figure = SavableFigure(figsize=figsize, layout="constrained")
    axis = figure.subplots()
    for key, (_, row) in zip(keys, table[numeric].iterrows(), strict=True):
        head, rest = str(key[0]), " · ".join(map(str, key[1:]))
        label = " · ".join(str(k) for k in key if str(k))
        hue = second.index(rest) if by_second else first.index(head)
        axis.plot(
            numeric, row.to_numpy(float), label=label, color=colour(hue),
            **line_style(second.index(rest)),
        )  # fmt: skip
    axis.set_xlabel(xlabel or "threshold")
    axis.set_ylabel(ylabel or str(table.columns.name or "score"))
    axis.set_ylim(0, 1.02)
    handles, labels = _factor_legend(table.index, first, second, by_second)
    legend = legend_outside(axis, handles, labels)
    for text in legend.get_texts():
        if text.get_text() in _headings(table.index, first, second, by_second):
            text.set_fontweight("bold")
    return figure


def _headings(index, first, second, by_second) -> list[str]:
    """Section headings of :func:`threshold_plot`'s legend: the index level names, when a
    legend has two sections and the levels are named."""
    names = [name for name in getattr(index, "names", []) if name]
    if by_second or len(second) <= 1 or len(names) < 2:
        return []
    return [str(names[0]), " · ".join(map(str, names[1:]))]


def _factor_legend(index, first, second, by_second):
    """Proxy handles: one per colour (first factor) and one per line style (second factor)."""
    from matplotlib.lines import Line2D

    headings = _headings(index, first, second, by_second)
    handles, labels = [], []
    if not by_second:
        if headings:
            handles.append(Line2D([], [], linestyle="none"))
            labels.append(headings[0])
        for number, name in enumerate(first):
            handles.append(Line2D([], [], color=colour(number), linestyle="-"))
            labels.append(name)
    if len(second) > 1 or by_second:
        if headings:
            handles.append(Line2D([], [], linestyle="none"))
            labels.append(headings[1])
        grey = (0.25, 0.25, 0.25)
        for number, name in enumerate(second):
            hue = colour(number) if by_second else grey
            handles.append(Line2D([], [], color=hue, **line_style(number)))
            labels.append(name or "(none)")
    return handles, labels


@styled
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
    figure = SavableFigure(figsize=figsize or default, layout="constrained")
    axis = figure.subplots()
    axis.set_axis_off()
    drawn = axis.table(cellText=text, rowLabels=rows, colLabels=columns, loc="center")
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(8)
    if title:
        axis.set_title(title)
    return figure
