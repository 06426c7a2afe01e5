"""FixationCompare: the human map beside a CNN map, metrics and the bar chart."""

import html

import numpy as np
import pytest

from xaikit.data import fixation_map
from xaikit.metrics import saliency
from xaikit.viz.compose import blend_map
from xaikit.viz.encode import decode_image
from xaikit.widgets import FixationCompare
from xaikit.widgets._image_panel import png_size
from xaikit.widgets.fixation_compare import NORMALISATION

LAYERS = ["features.1", "features.3"]
FIXATIONS = np.array([[33.0, 23.0, 300.0], [36.0, 25.0, 200.0], [10.0, 40.0, 100.0]])


@pytest.fixture
def compare(video, tiny_cnn):
    compare = FixationCompare(video[6], FIXATIONS, tiny_cnn, ["gradcam", "layercam"], LAYERS)
    yield compare
    compare.close()


def test_metrics_are_the_saliency_metrics_of_the_chosen_map(compare, video):
    human = fixation_map(FIXATIONS, video[6])
    compare.method.value, compare.layer.value = "layercam", "features.1"
    chosen = compare.maps[("layercam", "features.1")]
    scores = compare.current_scores()
    assert scores["MAE"] == pytest.approx(saliency.mae(chosen, human))
    assert scores["CC"] == pytest.approx(saliency.cc(chosen, human))
    assert scores["NSS"] == pytest.approx(saliency.nss(chosen, compare.fixation_mask))
    assert scores["IG"] == pytest.approx(saliency.info_gain(chosen, compare.fixation_mask))
    assert f"{scores['KLD']:.3f}" in compare.metrics.value and "KLD ↓" in compare.metrics.value
    before = compare.metrics.value
    compare.layer.value = "features.3"
    assert compare.metrics.value != before and "layercam · features.3" in compare.metrics.value


def test_picture_shows_the_human_map_beside_the_cnn_map(compare, video):
    compare.cmap.value, compare.alpha.value = "gray", 1.0
    picture = decode_image(compare.picture.value)
    assert picture.shape == (48, 2 * 64 + 4, 3)  # the image's own pixels, zoomed by CSS only
    human = compare.human_map / compare.human_map.max()
    assert (picture[:, :64] == blend_map(video[6], human, 1.0, "gray")).all()  # PNG: lossless
    row, column = np.unravel_index(human.argmax(), human.shape)
    assert abs(row - 24) <= 3 and abs(column - 34) <= 3  # brightest between the two fixations
    expected = blend_map(video[6], compare.maps[compare.current()], 1.0, "gray")
    assert (picture[:, 68:] == expected).all()


def test_picture_keeps_a_fixed_pixel_scale(compare):
    assert compare.zoom == 3  # 132 px wide: 3 CSS px per pixel, not stretched to the cell
    layout = compare.picture.layout
    assert (layout.width, layout.max_width, layout.height) == ("396px", "100%", "auto")
    classes = compare.picture._dom_classes
    assert "xaikit-picture" in classes and "xaikit-pixelated" in classes
    assert {"xaikit-panel", "xaikit-fixation-compare"} <= set(compare.box._dom_classes)
    assert "image-rendering:pixelated" in compare.box.children[0].value
    assert compare.box.children[1].layout.flex_flow == "row wrap"


def test_chart_is_shown_at_the_size_it_is_drawn(compare):
    height, width = png_size(compare.chart.value)
    assert compare.chart.layout.width == f"{width}px"
    figure = compare.chart_figure()
    drawn_width, drawn_height = figure.get_size_inches() * figure.dpi
    assert width <= drawn_width * 1.3 and height <= drawn_height * 1.3  # tight bbox: about
    assert width < 700  # not the 915 px cell width


def test_layer_menu_offers_only_the_layers_of_the_method(video, tiny_cnn):
    compare = FixationCompare(video[6], FIXATIONS, tiny_cnn, ["gradcam", "guided_backprop"], LAYERS)
    assert [key for _, key in compare.layer.options] == LAYERS
    compare.layer.value = "features.3"
    compare.method.value = "guided_backprop"
    assert compare.layer.options == (("input (pixel map)", "input"),)
    assert compare.current() == ("guided_backprop", "input") and compare.error_message == ""
    assert "guided_backprop · input" in compare.metrics.value
    compare.method.value = "gradcam"
    assert [key for _, key in compare.layer.options] == LAYERS
    assert compare.current() == ("gradcam", "features.1")
    compare.close()


def test_a_failed_redraw_clears_the_picture_and_keeps_its_error(compare, monkeypatch):
    def broken():
        raise RuntimeError("map store exploded")

    monkeypatch.setattr(compare, "panels", broken)
    compare.layer.value = "features.3"
    assert compare.error_in("map") == "RuntimeError: map store exploded"
    assert compare.picture.value == b"" and "not drawn" in compare.metrics.value
    beside = compare.box.children[1].children  # the error label sits in the controls' row
    assert beside[-1].value and "xaikit-error" in beside[-1]._dom_classes
    compare.chart_metric.value = "CC"  # an unrelated redraw leaves the error standing
    assert compare.error_in("map") == "RuntimeError: map store exploded"
    monkeypatch.undo()
    compare.alpha.value = 0.7
    assert compare.error_message == "" and compare.picture.value
    assert "gradcam · features.3" in compare.metrics.value


def test_human_map_recipe_is_the_kit_default_or_the_given_one(video, tiny_cnn):
    default = FixationCompare(video[6], FIXATIONS, tiny_cnn, layers=["features.3"])
    assert np.allclose(default.human_map, fixation_map(FIXATIONS, video[6]))
    default.close()
    tight = FixationCompare(
        video[6], FIXATIONS, tiny_cnn, layers=["features.3"], sigma=3, kernel=12
    )
    expected = fixation_map(FIXATIONS, video[6], sigma=3, kernel=12)
    assert np.allclose(tight.human_map, expected)
    assert tight.current_scores()["MAE"] == pytest.approx(
        saliency.mae(tight.maps[("gradcam", "features.3")], expected)
    )
    tight.close()
    with pytest.raises(ValueError, match="pass human_map or its recipe"):
        FixationCompare(
            video[6], FIXATIONS, tiny_cnn, layers=["features.3"], human_map=expected, sigma=3
        )


def test_colorbar_follows_the_colormap(compare):
    first = compare.colorbar.value
    assert "xaikit-colorbar" in first and html.escape(NORMALISATION) in first
    compare.cmap.value = "gray"
    assert compare.colorbar.value != first and "rgb(255,255,255) 100%" in compare.colorbar.value


def test_bar_chart_per_method_and_layer(compare):
    first = compare.chart.value
    assert decode_image(first).shape[2] in (3, 4)
    heights = [float(p.get_height()) for p in compare.chart_figure("CC").axes[0].patches]
    table = compare.scores.set_index(["method", "layer"])["CC"]
    expected = [table[(m, layer)] for layer in LAYERS for m in ("gradcam", "layercam")]
    assert heights == pytest.approx(expected)
    assert list(compare.chart_metric.options) == list(compare.scores.columns[2:])
    compare.chart_metric.value = "CC"
    assert compare.chart.value != first
    assert "CC (higher is better)" in compare.chart_figure().axes[0].get_title()


def test_errors_inside_and_close(compare, no_leaks, monkeypatch, tmp_path):
    monkeypatch.setattr(compare, "panels", lambda: [][0])
    compare.alpha.value = 0.3
    assert compare.error_message.startswith("IndexError")
    monkeypatch.undo()
    compare.alpha.value = 0.4
    assert compare.error_message == ""
    assert compare.save(tmp_path / "fix.svg").read_bytes()[:5] == b"<?xml"


def test_close_frees_widgets(video, tiny_cnn, no_leaks):
    compare = FixationCompare(video[6], FIXATIONS, tiny_cnn, layers=["features.3"])
    compare.close()
    assert no_leaks() == set()
