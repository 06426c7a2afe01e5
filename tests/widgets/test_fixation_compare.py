"""FixationCompare: the human map beside a CNN map, metrics and the bar chart."""

import numpy as np
import pytest

from xaikit.data import fixation_map
from xaikit.metrics import saliency
from xaikit.viz.encode import decode_image
from xaikit.widgets import FixationCompare

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


def test_picture_shows_the_human_map_beside_the_cnn_map(compare):
    compare.cmap.value, compare.alpha.value = "gray", 1.0
    picture = decode_image(compare.picture.value).astype(int)
    assert picture.shape == (48, 2 * 64 + 4, 3)
    human = picture[:, :64, 0] / 255.0
    expected_human = compare.human_map / compare.human_map.max()
    assert np.abs(human - expected_human).mean() < 0.05
    row, column = np.unravel_index(human.argmax(), human.shape)
    assert abs(row - 24) <= 3 and abs(column - 34) <= 3  # brightest between the two fixations
    cnn = picture[:, 68:, 0] / 255.0
    expected = compare.maps[compare.current()]
    assert np.abs(cnn - expected).mean() < 0.05


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
