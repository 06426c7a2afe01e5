"""One figure style for every ``xk.viz`` helper: print-sized fonts, no chartjunk, colour-blind-safe
colours, and a context manager to change any of it.

Every figure helper draws inside :func:`rc`, the merge of :data:`STYLE` and the overrides of the
innermost :func:`style` block, so a user changes all figures in one place::

    with xk.viz.style({"font.size": 10, "axes.titlesize": 11}):
        figure = xk.viz.threshold_plot(table)

or once for the session with ``xk.viz.STYLE["font.size"] = 10``.

Categorical colours are Okabe and Ito's palette (*Color Universal Design*, 2008), distinct for
the common forms of colour blindness; where a figure has two factors, one takes the colour and
the other the line style (:data:`DASHES`, :data:`MARKERS`) or, for bars, the hatch.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.colors import to_hex

__all__ = [
    "DASHES",
    "FIGURE_PALETTE",
    "HATCHES",
    "MARKERS",
    "PALETTE",
    "STYLE",
    "colour",
    "line_style",
    "rc",
    "style",
    "styled",
]

#: Okabe-Ito colours as RGB, in the order they are handed out (black, their eighth, is left out:
#: it vanishes on dark video frames). Track identities, classes and figure categories share it.
PALETTE = (
    (0, 114, 178),  # blue
    (230, 159, 0),  # orange
    (0, 158, 115),  # bluish green
    (213, 94, 0),  # vermillion
    (204, 121, 167),  # reddish purple
    (86, 180, 233),  # sky blue
    (240, 228, 66),  # yellow
)
#: Colours of lines and bars on white: :data:`PALETTE` with Okabe-Ito's black before its yellow,
#: which is faint on white paper.
FIGURE_PALETTE = (*PALETTE[:6], (0, 0, 0), PALETTE[6])
#: Line styles for a second factor (e.g. the layer when colour names the method).
DASHES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)), (0, (3, 1)))
#: Markers paired with :data:`DASHES`, so lines stay apart in greyscale print too.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Hatches of bars whose colour repeats (bar ``i`` gets hatch ``i // len(FIGURE_PALETTE)``).
HATCHES = ("", "///", "...", "xxx", "\\\\\\")

#: The rc settings every helper draws with: 7-9 pt text for a figure printed 8-17 cm wide, no top
#: or right spines, frameless legends, Okabe-Ito colours. Edit it to change every later figure.
STYLE: dict[str, object] = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 8,
    "legend.frameon": False,
    "figure.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.linewidth": 0.8,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "axes.prop_cycle": cycler(color=[to_hex(np.array(rgb) / 255) for rgb in FIGURE_PALETTE]),
    "image.interpolation": "nearest",
    "savefig.dpi": 200,
}

_overrides: list[dict[str, object]] = []


def rc() -> dict[str, object]:
    """The rc settings in force: :data:`STYLE` updated by every open :func:`style` block.

    Examples:
        >>> rc()["font.size"] == STYLE["font.size"]
        True
        >>> with style({"font.size": 12}):
        ...     rc()["font.size"]
        12
    """
    merged = dict(STYLE)
    for layer in _overrides:
        merged.update(layer)
    return merged


@contextlib.contextmanager
def style(overrides: Mapping[str, object] | None = None, **more) -> Iterator[dict[str, object]]:
    """Draw the figures made inside the block (xaikit's and your own) with changed rc settings.

    Args:
        overrides: matplotlib rc keys and values (``{"font.size": 10}``); dotted keys can also
            be given as keywords with ``__`` for the dot (``font__size=10``).
        **more: further overrides, as keywords.

    Yields:
        The merged settings (see :func:`rc`).

    Raises:
        KeyError: a key matplotlib does not know.

    Examples:
        >>> from matplotlib.figure import Figure
        >>> with style(font__size=11):
        ...     Figure().text(0, 0, "x").get_fontsize()
        11.0
    """
    layer = dict(overrides or {})
    layer.update({key.replace("__", "."): value for key, value in more.items()})
    unknown = [key for key in layer if key not in mpl.rcParams]
    if unknown:
        raise KeyError(f"unknown matplotlib rc key(s) {unknown}, e.g. 'font.size'")
    _overrides.append(layer)
    try:
        with mpl.rc_context(rc()):
            yield rc()
    finally:
        _overrides.remove(layer)


def styled(function):
    """Decorator: run a figure helper inside ``matplotlib.rc_context(rc())``."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(rc()):
            return function(*args, **kwargs)

    return wrapper


def line_style(index: int) -> dict[str, object]:
    """``linestyle`` and ``marker`` keywords of the ``index``-th level of a second factor.

    Examples:
        >>> line_style(1)
        {'linestyle': '--', 'marker': 's'}
    """
    return {"linestyle": DASHES[index % len(DASHES)], "marker": MARKERS[index % len(MARKERS)]}


def colour(index: int) -> tuple[float, float, float]:
    """The ``index``-th colour of a line or bar as matplotlib's 0-1 RGB (cycles through
    :data:`FIGURE_PALETTE`).

    Examples:
        >>> colour(0)
        (0.0, 0.4470588235294118, 0.6980392156862745)
    """
    red, green, blue = FIGURE_PALETTE[int(index) % len(FIGURE_PALETTE)]
    return (red / 255, green / 255, blue / 255)
