"""Figure grids that render in a notebook, a PDF and a test without any widget."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib as mpl
from matplotlib.figure import Figure

from xaikit._arrays import to_numpy

#: matplotlib settings every :class:`SavableFigure` saves with: SVG text stays text (editable in
#: Inkscape or Illustrator, with the font named), PDF and PostScript embed TrueType fonts (Type
#: 42, as journals ask) instead of Type 3 outlines.
SAVE_RC = {"svg.fonttype": "none", "pdf.fonttype": 42, "ps.fonttype": 42}


class SavableFigure(Figure):
    """A matplotlib Figure that renders itself as PNG wherever IPython shows it.

    It lives outside pyplot, so it is never shown twice and never leaks into pyplot's
    figure list; it still saves with ``savefig`` to PNG, PDF or SVG, with :data:`SAVE_RC`
    (change a figure's ``save_rc`` dict to save otherwise).

    Examples:
        >>> import io
        >>> figure = SavableFigure()
        >>> _ = figure.subplots().set_title("editable")
        >>> buffer = io.StringIO()
        >>> figure.savefig(buffer, format="svg")
        >>> ">editable</text>" in buffer.getvalue()
        True
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.save_rc = dict(SAVE_RC)

    def savefig(self, *args, **kwargs):
        with mpl.rc_context(self.save_rc):
            return super().savefig(*args, **kwargs)

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        return buffer.getvalue()


def figure_grid(
    panels: Sequence,
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    panel_size: float = 2.6,
    cmap: str = "jet",
):
    """Lay out images and maps in a grid of panels, one matplotlib Figure.

    Args:
        panels: images ``(H, W, 3)`` or maps ``(H, W)`` (arrays or tensors). Maps are drawn
            with ``cmap`` on their own value range.
        titles: one title per panel, or ``None``.
        ncols: panels per row; by default all panels in one row, at most 6 a row.
        panel_size: width of one panel in inches.
        cmap: colormap for 2D panels.

    Returns:
        :class:`SavableFigure`, a ``matplotlib.figure.Figure`` that shows inline in Jupyter
        and saves with ``fig.savefig("figure.pdf")`` (PNG, PDF and SVG alike).

    Examples:
        >>> import numpy as np
        >>> fig = figure_grid([np.zeros((8, 8, 3), np.uint8), np.eye(8)], titles=["frame", "map"])
        >>> len(fig.axes)
        2
    """
    if len(panels) == 0:
        raise ValueError("figure_grid needs at least one panel")
    if titles is not None and len(titles) != len(panels):
        raise ValueError(f"got {len(titles)} titles for {len(panels)} panels")
    ncols = ncols or min(len(panels), 6)
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1; got {ncols}")
    nrows = math.ceil(len(panels) / ncols)

    arrays = [to_numpy(panel) for panel in panels]
    aspect = max(a.shape[0] / a.shape[1] for a in arrays)
    figure = SavableFigure(figsize=(panel_size * ncols, panel_size * aspect * nrows + 0.3 * nrows))
    axes = figure.subplots(nrows, ncols, squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.set_axis_off()
        if index >= len(arrays):
            continue
        array = arrays[index]
        if array.ndim == 2:
            axis.imshow(array, cmap=cmap)
        elif array.ndim == 3 and array.shape[2] == 3:
            axis.imshow(array)
        else:
            raise ValueError(f"panel {index} must be (H, W) or (H, W, 3); got shape {array.shape}")
        if titles is not None:
            axis.set_title(titles[index], fontsize=9)
    figure.tight_layout()
    return figure
