"""Bar charts of scores per method and per layer (the humans-vs-CNN paper's figure)."""

from __future__ import annotations

import numpy as np

from xaikit.viz.boxes import identity_color
from xaikit.viz.figures import SavableFigure


def metric_bars(
    table,
    value: str,
    group: str = "method",
    bar: str = "layer",
    *,
    lower_is_better: bool | None = None,
    figsize: tuple[float, float] = (6.0, 3.0),
):
    """Grouped bar chart: one group per ``group`` entry, one bar per ``bar`` entry inside it.

    Ebrahimpour et al. (ISVC 2019) plot the MAE between human fixation maps and each CAM method
    this way, one bar per layer; any score table of the same form works.

    Args:
        table: pandas DataFrame with the columns ``group``, ``bar`` and ``value``; one row per
            (group, bar) pair (a missing pair leaves a gap, NaN draws no bar).
        value: column holding the score (also the y-axis label).
        group: column whose entries make the groups on the x axis, in order of appearance.
        bar: column whose entries make the bars of each group (coloured, in the legend).
        lower_is_better: adds "(lower is better)" or "(higher is better)" to the title.
        figsize: matplotlib's figure size, ``(width, height)`` in inches.

    Returns:
        :class:`~xaikit.viz.figures.SavableFigure` (shows inline; ``savefig`` to PNG, PDF, SVG).

    Examples:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"method": ["gradcam", "gradcam", "layercam"],
        ...                       "layer": ["conv1", "conv2", "conv1"], "MAE": [0.3, 0.2, 0.25]})
        >>> fig = metric_bars(table, "MAE", lower_is_better=True)
        >>> [round(float(p.get_height()), 2) for p in fig.axes[0].patches]
        [0.3, 0.25, 0.2, nan]
        >>> fig.axes[0].get_title()
        'MAE (lower is better)'
    """
    missing = [name for name in (group, bar, value) if name not in getattr(table, "columns", ())]
    if missing:
        columns = list(getattr(table, "columns", []))
        raise ValueError(f"the table lacks column(s) {missing}; it has {columns}")
    if len(table) == 0:
        raise ValueError("the table is empty; nothing to plot")
    groups = list(dict.fromkeys(table[group]))
    bars = list(dict.fromkeys(table[bar]))
    lookup = {(row[group], row[bar]): float(row[value]) for _, row in table.iterrows()}
    width = 0.8 / len(bars)
    positions = np.arange(len(groups))

    figure = SavableFigure(figsize=figsize)
    axis = figure.subplots()
    for index, name in enumerate(bars):
        heights = [lookup.get((entry, name), np.nan) for entry in groups]
        colour = np.array(identity_color(index)) / 255.0
        offsets = positions - 0.4 + width * (index + 0.5)
        axis.bar(offsets, heights, width, label=str(name), color=colour)
    axis.set_xticks(positions, [str(entry) for entry in groups], rotation=20, ha="right")
    axis.set_ylabel(value)
    title = value
    if lower_is_better is not None:
        title += " (lower is better)" if lower_is_better else " (higher is better)"
    axis.set_title(title, fontsize=10)
    axis.legend(title=bar, fontsize=8, title_fontsize=8, frameon=False)
    axis.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return figure
