"""Layout of the VideoExplorer: a picture that scales down but never up, controls that wrap.

The picture column holds the transport row (Play, slider, frame label), the picture, its
colorbar and the status line; the controls column (and the click readout) sits beside it when
the window is wide enough (a 640 px picture and 260 px of controls: a notebook's output area
beside JupyterLab's file browser at 1366x768) and wraps below it otherwise. Every
row wraps its widgets (``flex-wrap``), so nothing is cut off at 1366x768.
"""

from __future__ import annotations

import ipywidgets as W

from xaikit.widgets._base import PANEL_CLASS

VIEWER_CLASS = "xaikit-viewer"

#: Width the controls column needs beside the picture before it wraps below.
CONTROLS_WIDTH = 260


def picture_layout(shape: tuple[int, int]) -> W.Layout:
    """The picture's CSS: its native width, shrunk to the cell when narrower
    (``max-width: 100%``), never stretched beyond its pixels, height following the aspect.

    Args:
        shape: ``(height, width)`` of the picture in pixels.

    Examples:
        >>> layout = picture_layout((480, 640))
        >>> layout.width, layout.max_width, layout.height
        ('640px', '100%', 'auto')
    """
    return W.Layout(width=f"{shape[1]}px", max_width="100%", height="auto")


def picture_column(width: int, children) -> W.VBox:
    """The column of the picture: as wide as the picture, narrower when the cell is."""
    return W.VBox(
        list(children),
        layout=W.Layout(flex=f"0 1 {width}px", min_width="0", max_width=f"{width}px"),
    )


def controls_column(children) -> W.VBox:
    """The column of the controls: takes the width left beside the picture, at least
    :data:`CONTROLS_WIDTH`, else it wraps below the picture."""
    return W.VBox(
        list(children),
        layout=W.Layout(
            flex=f"1 1 {CONTROLS_WIDTH}px", min_width="0", max_width="100%", margin="0 0 0 12px"
        ),
    )


def root_box(picture: W.Widget, controls: W.Widget, error: W.Widget) -> W.VBox:
    """The panel's root: picture and controls side by side (wrapping), the error line below.
    Classes :data:`VIEWER_CLASS` and :data:`PANEL_CLASS` (the browser tests find it by them)."""
    main = W.HBox(
        [picture, controls],
        layout=W.Layout(flex_flow="row wrap", align_items="flex-start", width="100%"),
    )
    box = W.VBox([main, error], layout=W.Layout(width="100%", max_width="100%"))
    box.add_class(VIEWER_CLASS)
    box.add_class(PANEL_CLASS)
    return box
