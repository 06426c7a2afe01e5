"""Controls the widgets share: Play linked to a frame slider in the browser, map pickers."""

from __future__ import annotations

import html

import ipywidgets as W

from xaikit.viz.overlay import colormap_table

#: Colormaps offered in the pickers (all matplotlib names).
CMAPS = ("jet", "inferno", "viridis", "magma", "turbo", "gray")


def frame_controls(count: int, fps: float, link: bool = True):
    """``(play, slider, link)`` over frames ``0 .. count - 1``.

    With ``link`` the Play timer drives the slider in the browser (``jslink``), so playback
    needs no kernel round trip to advance. Without it (``link`` is then ``None``) the kernel
    observes Play itself and moves the slider with each frame it shows, so slider and picture
    never disagree. The slider steps with the arrow keys when it has the focus.

    Returns:
        ``(play, slider, link)``; close them all when done.
    """
    interval = max(1, round(1000 / fps))
    play = W.Play(min=0, max=count - 1, step=1, interval=interval, description="Play")
    slider = W.IntSlider(
        min=0,
        max=count - 1,
        step=1,
        description="frame",
        continuous_update=True,
        layout=W.Layout(width="420px"),
    )
    return play, slider, W.jslink((play, "value"), (slider, "value")) if link else None


def wrap_row(children, **layout) -> W.HBox:
    """A row of widgets that wraps onto the next line when the width runs out (``layout``
    entries add to or override the row's CSS)."""
    return W.HBox(
        list(children),
        layout=W.Layout(**{"flex_flow": "row wrap", "align_items": "center", **layout}),
    )


def cmap_picker(value: str = "jet") -> W.Dropdown:
    """Colormap dropdown."""
    options = list(CMAPS) if value in CMAPS else [value, *CMAPS]
    return W.Dropdown(
        options=options, value=value, description="colormap", layout=W.Layout(width="200px")
    )


def opacity_slider(value: float = 0.5) -> W.FloatSlider:
    """Heatmap opacity slider in [0, 1]."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {value}")
    return W.FloatSlider(
        value=value,
        min=0.0,
        max=1.0,
        step=0.05,
        description="opacity",
        continuous_update=True,
        layout=W.Layout(width="260px"),
    )


def layer_options(catalogue, names) -> list[tuple[str, str]]:
    """Dropdown options ``(readable label, layer name)``, e.g.
    ``("layer3 · stride 16 · 256 ch · 14x14", "layer3")``."""
    return [(catalogue[name].label if name in catalogue else name, name) for name in names]


def colorbar_html(cmap: str, low: str = "0", high: str = "1", caption: str = "") -> str:
    """A horizontal colorbar as HTML: the colormap as a CSS gradient, its end values, a caption.

    Sharp at every zoom (no picture), so it suits every widget's picture; update it with the
    widget's colormap and normalisation.

    Args:
        cmap: matplotlib colormap name.
        low, high: text at the two ends (the values the end colours stand for).
        caption: what the colours measure, e.g. ``"map value (per frame, 0-1)"``.

    Examples:
        >>> colorbar_html("gray", caption="map").count("rgb(")
        17
    """
    table = colormap_table(cmap)
    stops = ", ".join(
        f"rgb({r},{g},{b}) {100 * i / 16:.2f}%" for i, (r, g, b) in enumerate(table[::16][:16])
    )
    stops += ", rgb({},{},{}) 100%".format(*table[-1])
    return (
        "<div class='xaikit-colorbar' style='display:flex;align-items:center;gap:6px;"
        "font-size:12px;line-height:1.2'>"
        f"<span>{html.escape(low)}</span>"
        f"<span style='display:inline-block;width:160px;height:10px;border:1px solid #888;"
        f"background:linear-gradient(to right, {stops})'></span>"
        f"<span>{html.escape(high)}</span>"
        f"<span style='color:#555'>{html.escape(caption)}</span></div>"
    )
