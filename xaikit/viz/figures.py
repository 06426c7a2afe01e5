"""Figure grids that render in a notebook, a PDF and a test without any widget."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from xaikit._arrays import RELATIVE_FLATNESS, to_numpy
from xaikit.viz.styles import styled

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


#: Longest colorbar, in inches: a bar along a tall grid gets no longer than a short one's.
COLORBAR_LENGTH = 2.6
#: ``gid`` of the "no signal" notes drawn inside empty panels.
NO_SIGNAL = "xaikit-no-signal"
#: ``gid`` of a panel's note (any text drawn inside a panel by :func:`figure_grid`).
PANEL_NOTE = "xaikit-panel-note"


def no_signal(heatmap) -> str | None:
    """Why a map shows nothing, or ``None`` when it varies.

    A map "has no signal" when it has no finite value, or when it is constant up to float
    rounding (:data:`xaikit._arrays.RELATIVE_FLATNESS`), which min-max normalisation turns into
    zeros: 3DCAM of a layer after which the gradient is flat, a Grad-CAM whose weights are all
    negative.

    Examples:
        >>> import numpy as np
        >>> no_signal(np.zeros((2, 2))), no_signal(np.full((2, 2), 0.5)), no_signal(np.eye(2))
        ('map is all zero', 'map is constant (0.5)', None)
        >>> no_signal(np.full((2, 2), np.nan))
        'map has no finite value'
    """
    values = np.asarray(to_numpy(heatmap), dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "map has no finite value"
    low, high = float(finite.min()), float(finite.max())
    if high - low > RELATIVE_FLATNESS * max(abs(low), abs(high)):
        return None
    return "map is all zero" if high == 0 else f"map is constant ({high:.3g})"


def note_panel(axis, text: str, gid: str = PANEL_NOTE) -> None:
    """Write ``text`` in the middle of a panel, on a light box that keeps it readable."""
    axis.text(
        0.5, 0.5, text, transform=axis.transAxes, ha="center", va="center",
        fontsize=mpl.rcParams["legend.fontsize"], gid=gid, wrap=True,
        bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "alpha": 0.85, "lw": 0},
    )  # fmt: skip


def add_colorbar(figure, axes, cmap: str, label: str, vmin: float = 0.0, vmax: float = 1.0):
    """One colorbar for ``axes``, to their right, labelled with what the colours mean.

    Returns:
        The ``matplotlib.colorbar.Colorbar``; its axes is the figure's last.
    """
    mappable = ScalarMappable(norm=Normalize(vmin, vmax), cmap=cmap)
    shrink = min(0.9, COLORBAR_LENGTH / figure.get_figheight())  # at most ~2.6 in, even when tall
    return figure.colorbar(
        mappable, ax=list(axes), label=label, shrink=shrink, aspect=20,
        fraction=0.04, pad=0.02,
    )  # fmt: skip


def legend_outside(axis, handles=None, labels=None, **options):
    """A legend to the right of ``axis``, outside its data area (``options`` go to ``legend``).

    Constrained layout makes room for it, so it never covers a bar, a line or the title.
    """
    if handles is None:
        handles, labels = axis.get_legend_handles_labels()
    options = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0, **options}
    return axis.legend(handles, labels, **options)


def _plain_panel(axis) -> None:
    """No ticks and no frame, but labels still show (unlike ``set_axis_off``)."""
    axis.set_xticks([])
    axis.set_yticks([])
    for spine in axis.spines.values():
        spine.set_visible(False)


@styled
def figure_grid(
    panels: Sequence,
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    panel_size: float = 2.6,
    cmap: str = "jet",
    *,
    colorbar: bool | None = None,
    colorbar_label: str = "map value",
    vmin: float | None = None,
    vmax: float | None = None,
    notes: Sequence[str | None] | None = None,
):
    """Lay out images and maps in a grid of panels, one matplotlib Figure.

    Args:
        panels: images ``(H, W, 3)`` or maps ``(H, W)`` (arrays or tensors). Maps are drawn
            with ``cmap``: on one shared range when there is a colorbar (``vmin``, ``vmax``,
            by default the range of all maps), each on its own range otherwise. A map with no
            signal (:func:`no_signal`) is labelled so in the panel.
        titles: one title per panel, or ``None``.
        ncols: panels per row; by default all panels in one row, at most 6 a row.
        panel_size: width of one panel in inches.
        cmap: colormap for 2D panels and the colorbar.
        colorbar: add one colorbar for all panels, labelled ``colorbar_label``; ``None``: only
            when some panel is a map. With only RGB panels (overlays made elsewhere) the bar
            spans ``vmin`` .. ``vmax`` (default 0 .. 1).
        colorbar_label: what the colours mean, e.g. ``"Grad-CAM, scaled to [0, 1]"``.
        vmin, vmax: the colour range (see ``panels``).
        notes: one text per panel (or ``None``) written inside it, e.g. why it is empty.

    Returns:
        :class:`SavableFigure`, a ``matplotlib.figure.Figure`` that shows inline in Jupyter
        and saves with ``fig.savefig("figure.pdf")`` (PNG, PDF and SVG alike). Panels come
        first in ``fig.axes`` (row by row, blank ones included), the colorbar's axes last.

    Examples:
        >>> import numpy as np
        >>> fig = figure_grid([np.zeros((8, 8, 3), np.uint8), np.eye(8)], titles=["frame", "map"])
        >>> len(fig.axes), fig.axes[-1].get_ylabel()  # two panels and the colorbar
        (3, 'map value')
        >>> fig = figure_grid([np.zeros((4, 4))], colorbar=False)
        >>> [text.get_text() for text in fig.axes[0].texts]
        ['no signal:\\nmap is all zero']
    """
    if len(panels) == 0:
        raise ValueError("figure_grid needs at least one panel")
    for name, values in (("titles", titles), ("notes", notes)):
        if values is not None and len(values) != len(panels):
            raise ValueError(f"got {len(values)} {name} for {len(panels)} panels")
    ncols = ncols or min(len(panels), 6)
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1; got {ncols}")
    nrows = math.ceil(len(panels) / ncols)
    arrays = [to_numpy(panel) for panel in panels]
    for index, array in enumerate(arrays):
        if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
            raise ValueError(f"panel {index} must be (H, W) or (H, W, 3); got shape {array.shape}")
    maps = [array for array in arrays if array.ndim == 2]
    colorbar = bool(maps) if colorbar is None else colorbar
    if colorbar and maps:
        finite = np.concatenate([m[np.isfinite(m)].ravel() for m in maps] + [np.zeros(0)])
        vmin = float(finite.min()) if vmin is None and finite.size else vmin
        vmax = float(finite.max()) if vmax is None and finite.size else vmax

    aspect = max(a.shape[0] / a.shape[1] for a in arrays)
    title_space = 0.35 if titles is not None else 0.1
    width = panel_size * ncols + (0.8 if colorbar else 0.0)
    figure = SavableFigure(
        figsize=(width, (panel_size * aspect + title_space) * nrows), layout="constrained"
    )
    axes = figure.subplots(nrows, ncols, squeeze=False)
    notes = list(notes) if notes is not None else [None] * len(arrays)
    for index, axis in enumerate(axes.flat):
        if index >= len(arrays):
            axis.set_axis_off()
            continue
        _plain_panel(axis)
        array = arrays[index]
        if array.ndim == 2:
            axis.imshow(array, cmap=cmap, vmin=vmin, vmax=vmax)
            reason = no_signal(array)
            if reason and notes[index] is None:
                notes[index] = f"no signal:\n{reason}"
        else:
            axis.imshow(array)
        if notes[index]:
            gid = NO_SIGNAL if notes[index].startswith("no signal") else PANEL_NOTE
            note_panel(axis, notes[index], gid)
        if titles is not None:
            axis.set_title(titles[index])
    if colorbar:
        low = 0.0 if vmin is None else vmin
        high = 1.0 if vmax is None else vmax
        add_colorbar(figure, axes.flat, cmap, colorbar_label, low, max(high, low + 1e-12))
    return figure
