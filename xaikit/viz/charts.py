"""Bar charts of scores per method and per layer (the humans-vs-CNN paper's figure)."""

from __future__ import annotations

import numpy as np

from xaikit.viz.figures import SavableFigure, legend_outside
from xaikit.viz.styles import FIGURE_PALETTE, HATCHES, colour, styled


@styled
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
            (group, bar) pair. Each group's bars stand side by side, centred on its tick (a
            missing pair takes no room; NaN keeps its place but draws no bar).
        value: column holding the score (also the y-axis label).
        group: column whose entries make the groups on the x axis, in order of appearance.
        bar: column whose entries make the bars of each group: coloured (Okabe-Ito; past 8
            entries the colours repeat with a hatch) and named in the legend, which stands to
            the right of the axes, clear of the bars and the title.
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
        [0.3, 0.25, 0.2]
        >>> fig.axes[0].get_title(), fig.axes[0].get_legend().get_title().get_text()
        ('MAE (lower is better)', 'layer')
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
    slots = {entry: [name for name in bars if (entry, name) in lookup] for entry in groups}
    width = 0.8 / max(len(names) for names in slots.values())
    positions = np.arange(len(groups))

    figure = SavableFigure(figsize=figsize, layout="constrained")
    axis = figure.subplots()
    for index, name in enumerate(bars):
        present = [number for number, entry in enumerate(groups) if name in slots[entry]]
        heights = [lookup[(groups[number], name)] for number in present]
        offsets = [_offset(positions[n], slots[groups[n]], name, width) for n in present]
        hatch = HATCHES[(index // len(FIGURE_PALETTE)) % len(HATCHES)] or None
        axis.bar(
            offsets, heights, width, label=str(name), color=colour(index), hatch=hatch,
            edgecolor="white", linewidth=0.4,
        )  # fmt: skip
    axis.set_xticks(positions, [str(entry) for entry in groups], rotation=20, ha="right")
    axis.set_ylabel(value)
    title = value
    if lower_is_better is not None:
        title += " (lower is better)" if lower_is_better else " (higher is better)"
    axis.set_title(title)
    legend_outside(axis, title=bar, ncols=1 if len(bars) <= 12 else 2)
    return figure


def _offset(centre: float, names: list, name, width: float) -> float:
    """x of bar ``name`` among the ``names`` of one group, the bars centred on ``centre``."""
    return centre + width * (names.index(name) + 0.5 - len(names) / 2)
