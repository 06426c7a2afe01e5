"""What the image panels share (FixationCompare, CompareGrid; ClipExplorer's picture): pictures
at a fixed pixel scale, charts drawn at the size they are shown, the method / layer pairs that
have a map, and the human reference of one image.

A picture is shown at an integer zoom of its own pixels (a 132 x 64 picture at 3x, 396 px wide),
never stretched to the cell: the CSS width is set in px, ``max-width: 100%`` shrinks it only in
a narrow window, and upscaled pictures get ``image-rendering: pixelated`` (sharp pixels, not a
blur). A chart is drawn at its figure size with its own DPI and shown at exactly that many CSS
pixels, so its text has the size the figure was made with.
"""

from __future__ import annotations

import struct

import ipywidgets as W
import numpy as np

from xaikit._arrays import check_frames
from xaikit.explain import frames
from xaikit.viz.encode import encode_jpeg, encode_png, figure_bytes
from xaikit.widgets._base import PICTURE_CLASS, Panel
from xaikit.widgets._controls import layer_options

#: CSS class of a picture shown larger than its own pixels.
PIXELATED_CLASS = "xaikit-pixelated"
#: Style element each image panel carries: upscaled pictures keep sharp pixels.
PICTURE_STYLE = f"<style>img.{PIXELATED_CLASS}{{image-rendering:pixelated}}</style>"
#: Map keys of the methods that read no layer (guided backprop and the other pixel maps).
PIXEL_KEY = "input"


def zoom_for(width: int, target: int = 400, max_zoom: int = 8) -> int:
    """The integer zoom that shows a picture ``width`` pixels wide closest to ``target`` CSS px
    without passing it: ``target // width``, at least 1 (a wide picture is never enlarged) and
    at most ``max_zoom``.

    Examples:
        >>> zoom_for(132), zoom_for(64, target=256), zoom_for(640), zoom_for(2)
        (3, 4, 1, 8)
    """
    if width < 1:
        raise ValueError(f"width must be a positive number of pixels; got {width}")
    return int(min(max(target // width, 1), max_zoom))


def picture_widget(**layout) -> W.Image:
    """An empty ``W.Image`` with the class ``xaikit-picture``; :func:`show_picture` fills it."""
    widget = W.Image(format="png", layout=W.Layout(**layout))
    widget.add_class(PICTURE_CLASS)
    return widget


def show_picture(
    widget: W.Image, picture: np.ndarray, zoom: int = 1, max_width: int | None = None
) -> int:
    """Show ``picture`` in ``widget`` at ``zoom`` CSS px per pixel, at most ``max_width`` px.

    Upscaled pictures go as PNG (lossless pixels, drawn ``pixelated``), others as JPEG. The
    height follows the width (``height: auto``) and ``max-width: 100%`` keeps the picture in a
    narrow cell.

    Args:
        widget: from :func:`picture_widget`.
        picture: ``(H, W, 3)`` ``uint8`` RGB.
        zoom: integer CSS pixels per picture pixel (see :func:`zoom_for`).
        max_width: the widest it is shown, in CSS px (``None``: no limit but the cell).

    Returns:
        The width it is shown at, in CSS px.

    Examples:
        >>> image = picture_widget()
        >>> show_picture(image, np.zeros((64, 132, 3), np.uint8), zoom=3)
        396
        >>> image.layout.width, image.layout.max_width, "xaikit-pixelated" in image._dom_classes
        ('396px', '100%', True)
        >>> image.close()
    """
    picture = check_frames(picture, "picture", single=True)
    if isinstance(zoom, bool) or not isinstance(zoom, (int, np.integer)) or zoom < 1:
        raise ValueError(f"zoom must be a positive int; got {zoom!r}")
    width = picture.shape[1] * int(zoom)
    if max_width is not None:
        width = min(width, int(max_width))
    upscaled = width > picture.shape[1]
    widget.format = "png" if upscaled else "jpeg"
    widget.value = encode_png(picture) if upscaled else encode_jpeg(picture)
    widget.layout.width = f"{width}px"
    widget.layout.max_width = "100%"
    widget.layout.height = "auto"
    if upscaled:
        widget.add_class(PIXELATED_CLASS)
    else:
        widget.remove_class(PIXELATED_CLASS)
    return width


def clear_picture(widget: W.Image) -> None:
    """Empty ``widget``, so a picture that could not be drawn leaves no stale one behind."""
    widget.value = b""


def png_size(data: bytes) -> tuple[int, int]:
    """``(height, width)`` in pixels of PNG bytes (read from the header).

    Examples:
        >>> png_size(encode_png(np.zeros((3, 5, 3), np.uint8)))
        (3, 5)
    """
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not PNG bytes")
    width, height = struct.unpack(">II", data[16:24])
    return height, width


def chart_png(figure) -> bytes:
    """PNG bytes of a matplotlib ``figure`` drawn with its own DPI (``figure.dpi``), so that
    :func:`show_chart` shows it at the size it was made for."""
    return figure_bytes(figure, "png", dpi=figure.dpi)


def show_chart(widget: W.Image, data: bytes) -> int:
    """Show the PNG ``data`` of a chart (:func:`chart_png`) at one CSS px per pixel: its text
    keeps the size the figure was made with (``max-width: 100%`` in a narrow cell).

    Returns:
        The width it is shown at, in CSS px (the PNG's width).

    Examples:
        >>> from xaikit.viz.figures import SavableFigure
        >>> chart = picture_widget()
        >>> figure = SavableFigure(figsize=(3, 2), dpi=100)
        >>> _ = figure.subplots().set_title("scores")
        >>> data = chart_png(figure)
        >>> width = show_chart(chart, data)
        >>> chart.layout.width == f"{width}px", width == png_size(data)[1], width <= 300
        (True, True, True)
        >>> chart.close()
    """
    widget.format = "png"
    widget.value = data
    width = png_size(data)[1]
    widget.layout.width = f"{width}px"
    widget.layout.max_width = "100%"
    widget.layout.height = "auto"
    return width


def method_keys(maps) -> dict[str, list[str]]:
    """``{method: [map keys]}`` of ``{(method, key): map}``, both in order of appearance: the
    layers (and layer sums) a method has maps for, or ``["input"]`` for a pixel method.

    Examples:
        >>> method_keys({("gradcam", "a"): 0, ("gradcam", "b"): 0, ("guided_backprop", "input"): 0})
        {'gradcam': ['a', 'b'], 'guided_backprop': ['input']}
    """
    keys: dict[str, list[str]] = {}
    for method, key in maps:
        keys.setdefault(method, []).append(key)
    return keys


def key_options(catalogue, keys) -> list[tuple[str, str]]:
    """Layer dropdown options of one method's ``keys``: the layer's readable label, or
    ``"input (pixel map)"`` for the key of a method that reads no layer.

    Examples:
        >>> key_options({}, ["input", "conv5"])
        [('input (pixel map)', 'input'), ('conv5', 'conv5')]
    """
    return [
        ("input (pixel map)", key) if key == PIXEL_KEY else (label, key)
        for label, key in layer_options(catalogue, keys)
    ]


def explain_image(image, model, methods, layers, target, preprocess, device):
    """``(image, catalogue, layers, maps)``: the checked ``(H, W, 3)`` image, the model's
    feature-map layers, the layers explained and ``{(method, key): (H, W) map}`` of every method
    (:func:`xaikit.explain.frames`), as CompareGrid and FixationCompare explain an image."""
    image = check_frames(image, "image", single=True)
    maps = frames(model, image, methods, layers, target, preprocess=preprocess, device=device)
    return image, maps.catalogue, maps.layers, maps.all(0)


def human_reference(image: np.ndarray, fixations, human_map, sigma=None, kernel=None):
    """``(human map or None, fixation mask or None)`` of one image.

    The map is ``human_map`` when given, else :func:`xaikit.data.fixation_map` of
    ``fixations`` with ``sigma`` and ``kernel`` (``None``: that function's defaults, the kit's
    one default, 20 and 80 px); the mask is :func:`~xaikit.data.fixations.fixation_mask` of
    ``fixations``.

    Examples:
        One fixation, blurred by a 3 x 3 Gaussian of sigma 1 (1-D weights 0.274, 0.452, 0.274):

        >>> image = np.zeros((9, 9, 3), np.uint8)
        >>> human, mask = human_reference(image, np.array([[4.5, 4.5]]), None, sigma=1, kernel=3)
        >>> round(float(human[4, 4]), 3), round(float(human[4, 5]), 3), int(mask.sum())
        (0.204, 0.124, 1)
    """
    from xaikit.data.fixations import fixation_map, fixation_mask

    recipe = {
        name: value for name, value in (("sigma", sigma), ("kernel", kernel)) if value is not None
    }
    if human_map is not None and recipe:
        raise ValueError(f"pass human_map or its recipe {sorted(recipe)}, not both")
    if recipe and fixations is None:
        raise ValueError(f"{sorted(recipe)} blur fixations; pass fixations= too")
    mask = None
    if fixations is not None:
        mask = fixation_mask(fixations, image)
        if human_map is None:
            human_map = fixation_map(fixations, image, **recipe)
    if human_map is not None:
        human_map = np.asarray(human_map, dtype=np.float64)
        if human_map.shape != image.shape[:2]:
            raise ValueError(
                f"human_map must have the image's shape {image.shape[:2]}; got {human_map.shape}"
            )
    return human_map, mask


class ImagePanel(Panel):
    """A :class:`~xaikit.widgets._base.Panel` whose pictures keep a fixed pixel scale.

    Subclasses show pictures with :meth:`_show` (at :attr:`zoom`), put their controls in
    :func:`~xaikit.widgets._controls.wrap_row` rows with an error label beside them
    (:meth:`_error_label`) and build their root with :meth:`_panel_root`, which adds the
    picture style.

    Attributes:
        zoom: CSS px per picture pixel.
        max_width: the widest a picture is shown, in CSS px.
    """

    zoom: int = 1
    max_width: int | None = None

    def _show(self, widget: W.Image, picture: np.ndarray) -> int:
        return show_picture(widget, picture, self.zoom, self.max_width)

    def _panel_root(self, children, name: str) -> W.VBox:
        style = self._own(W.HTML(PICTURE_STYLE, layout=W.Layout(height="0px", margin="0")))
        return self._root([style, *children], name)
