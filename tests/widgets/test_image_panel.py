"""The image-panel base: fixed pixel scale, charts at their drawn size, valid pairs, error lines."""

import ipywidgets as W
import numpy as np
import pytest

from xaikit.data import fixation_map
from xaikit.viz.encode import decode_image
from xaikit.viz.figures import SavableFigure
from xaikit.widgets._base import Panel, guarded
from xaikit.widgets._image_panel import (
    PIXELATED_CLASS,
    chart_png,
    human_reference,
    key_options,
    method_keys,
    picture_widget,
    png_size,
    show_chart,
    show_picture,
    zoom_for,
)


def test_zoom_is_an_integer_that_never_shrinks_or_passes_the_target():
    assert [zoom_for(width) for width in (132, 200, 401, 1280)] == [3, 2, 1, 1]
    assert zoom_for(64, target=256) == 4 and zoom_for(1, max_zoom=5) == 5
    with pytest.raises(ValueError, match="positive number of pixels"):
        zoom_for(0)


def test_small_pictures_are_enlarged_sharp_and_large_ones_capped():
    image = picture_widget()
    small = np.random.default_rng(0).integers(0, 255, (64, 132, 3), dtype=np.uint8)
    assert show_picture(image, small, zoom=3) == 396
    assert image.format == "png" and (decode_image(image.value) == small).all()  # lossless
    assert PIXELATED_CLASS in image._dom_classes and image.layout.height == "auto"
    large = np.zeros((480, 1284, 3), np.uint8)
    assert show_picture(image, large, zoom=1, max_width=900) == 900
    assert image.format == "jpeg" and decode_image(image.value).shape == (480, 1284, 3)
    assert PIXELATED_CLASS not in image._dom_classes  # shrunk: smooth, not pixelated
    assert (image.layout.width, image.layout.max_width) == ("900px", "100%")
    with pytest.raises(ValueError, match="zoom must be a positive int"):
        show_picture(image, small, zoom=1.5)
    image.close()


def test_a_chart_is_shown_at_the_pixels_it_is_drawn_with():
    figure = SavableFigure(figsize=(4.0, 2.5), dpi=100)
    figure.subplots().bar([0, 1], [1, 2])
    data = chart_png(figure)
    height, width = png_size(data)
    assert 300 < width <= 400 and 180 < height <= 250  # tight bbox of a 400 x 250 px figure
    chart = W.Image()
    assert show_chart(chart, data) == width and chart.layout.width == f"{width}px"
    chart.close()
    with pytest.raises(ValueError, match="not PNG"):
        png_size(b"\xff\xd8\xff")


def test_only_the_keys_a_method_has_are_offered():
    maps = {("gradcam", "a"): 0, ("guided_backprop", "input"): 0, ("gradcam", "a+b"): 0}
    keys = method_keys(maps)
    assert keys == {"gradcam": ["a", "a+b"], "guided_backprop": ["input"]}
    assert key_options({}, keys["guided_backprop"]) == [("input (pixel map)", "input")]


def test_human_reference_takes_the_map_or_its_recipe():
    image = np.zeros((20, 30, 3), np.uint8)
    fixations = np.array([[10.0, 8.0, 200.0], [20.0, 12.0, 100.0]])
    human, mask = human_reference(image, fixations, None)
    assert np.array_equal(human, fixation_map(fixations, image)) and mask.sum() == 2
    tight, _ = human_reference(image, fixations, None, sigma=2, kernel=8)
    assert np.array_equal(tight, fixation_map(fixations, image, sigma=2, kernel=8))
    assert not np.allclose(tight, human)
    given, mask = human_reference(image, None, tight)
    assert np.array_equal(given, tight) and mask is None
    with pytest.raises(ValueError, match="not both"):
        human_reference(image, fixations, tight, sigma=2)
    with pytest.raises(ValueError, match="pass fixations= too"):
        human_reference(image, None, None, kernel=8)
    with pytest.raises(ValueError, match="human_map must have the image's shape"):
        human_reference(image, None, np.zeros((3, 3)))


class TwoSlots(Panel):
    """A panel with a map handler and a chart handler, each reporting to its own line."""

    def __init__(self):
        super().__init__()
        self.fail = {"map": False, "chart": False}
        self.box = self._root([self._error_label("map"), self._error_label("chart")], "x-two")

    @guarded(slot="map")
    def draw_map(self):
        if self.fail["map"]:
            raise RuntimeError("map broke")

    @guarded(slot="chart")
    def draw_chart(self):
        if self.fail["chart"]:
            raise KeyError("chart")

    @guarded
    def other(self):
        raise ValueError("bottom line")


def test_an_error_stays_beside_its_control_until_that_handler_succeeds(no_leaks):
    panel = TwoSlots()
    panel.fail["map"] = True
    panel.draw_map()
    map_line, chart_line = panel.box.children
    assert panel.error_in("map") == "RuntimeError: map broke" and "map broke" in map_line.value
    assert map_line.layout.display is None and chart_line.layout.display == "none"
    panel.draw_chart()  # an unrelated success leaves the map's error standing
    assert panel.error_message == "RuntimeError: map broke"
    panel.fail["chart"] = True
    panel.draw_chart()
    panel.other()
    assert panel.error_message.splitlines() == [
        "RuntimeError: map broke",
        "KeyError: 'chart'",
        "ValueError: bottom line",
    ]
    assert "xaikit-error" in panel.error._dom_classes and panel.error.layout.display is None
    panel.fail["map"] = False
    panel.draw_map()
    assert panel.error_in("map") == "" and map_line.layout.display == "none"
    assert panel.error_in("chart") == "KeyError: 'chart'"
    assert {"xaikit-panel", "x-two"} <= set(panel.box._dom_classes)
    panel.close()
    assert no_leaks() == set()
