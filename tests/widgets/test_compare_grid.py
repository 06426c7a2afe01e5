"""CompareGrid: the method x layer grid and its scores against boxes or fixations."""

import html

import numpy as np
import pytest

from xaikit.metrics import localization
from xaikit.metrics.registry import METRICS, label
from xaikit.viz.compose import blend_map, compose_frame
from xaikit.viz.encode import decode_image
from xaikit.widgets import CompareGrid
from xaikit.widgets.compare_grid import NORMALISATION

LAYERS = ["features.1", "features.3"]
BOX = [[28, 18, 40, 30]]  # the square of frame 6 (pixels 28..39, 18..29), continuous corners


@pytest.fixture
def frame(video):
    return video[6]


@pytest.fixture
def grid(frame, tiny_cnn):
    grid = CompareGrid(frame, tiny_cnn, ["gradcam", "layercam"], LAYERS, boxes=BOX)
    yield grid
    grid.close()


def test_one_panel_per_method_and_layer_titled_with_its_score(grid):
    pictures, titles = grid.panels()
    assert len(pictures) == 4 and all(p.shape == (48, 64, 3) for p in pictures)
    box_metrics = [
        label(name, threshold)
        for name, entry in METRICS.items()
        if entry.reads == ("boxes",)
        for threshold in entry.thresholds or [None]
    ]
    assert list(grid.metric.options) == box_metrics  # every registered box metric, once
    assert titles[3].startswith(f"layercam · features.3\n{box_metrics[0]} ↑ ")
    grid.metric.value = "energy IoU @0.9"
    heatmap = grid.maps[("layercam", "features.3")]
    expected = localization.energy_box_iou(heatmap, [np.array(BOX)], energies=[0.9])[0, 0]
    assert grid.panels()[1][3] == f"layercam · features.3\nenergy IoU @0.9 ↑ {expected:.3f}"
    grid.metric.value = "hit point"
    assert grid.panels()[1][3].endswith(f"hit point ↑ {grid.scores['hit point'].iloc[3]:.3f}")


def test_a_map_on_the_box_scores_one_with_the_data_convention(frame, tiny_cnn):
    grid = CompareGrid(frame, tiny_cnn, ["gradcam"], ["features.3"], boxes=BOX)
    perfect = np.zeros(frame.shape[:2])
    perfect[18:30, 28:40] = 1.0
    grid.maps = {("gradcam", "features.3"): perfect}
    scores = grid._score_table().iloc[0]
    assert scores["hit point"] == 1.0 and scores["energy IoU @0.9"] == 1.0
    assert scores["MaxBoxAcc @0.5"] == 1.0
    grid.close()


def test_controls_redraw_the_pictures(grid, frame):
    first = decode_image(grid.pictures[3].value)
    boxed = compose_frame(frame, boxes=BOX, identities=[7])
    assert (first == blend_map(boxed, grid.maps[("layercam", "features.3")], 0.5, "jet")).all()
    grid.alpha.value = 1.0
    assert np.abs(decode_image(grid.pictures[3].value).astype(int) - first).mean() > 1
    grid.metric.value = "hit point"
    assert "hit point ↑" in grid.titles[3].value and "layercam · features.3" in grid.titles[3].value
    figure = grid.figure()
    assert len([axis for axis in figure.axes if axis.get_images()]) == 4


def test_panels_keep_a_fixed_pixel_scale(grid):
    assert grid.zoom == 4  # two 64 px columns: each panel 256 px, sharp pixels
    for picture in grid.pictures:
        assert decode_image(picture.value).shape == (48, 64, 3)  # the image's own pixels
        assert (picture.layout.width, picture.layout.max_width) == ("256px", "100%")
        assert {"xaikit-picture", "xaikit-pixelated"} <= set(picture._dom_classes)
    assert grid.grid.layout.grid_template_columns == "repeat(2, max-content)"
    assert {"xaikit-panel", "xaikit-compare-grid"} <= set(grid.box._dom_classes)
    assert grid.box.children[1].layout.flex_flow == "row wrap"


def test_many_layers_keep_the_grid_within_a_small_window(frame, tiny_cnn):
    grid = CompareGrid(frame, tiny_cnn, ["gradcam"], ["features.0", "features.1", "features.3"])
    widths = [int(picture.layout.width[:-2]) for picture in grid.pictures]
    assert sum(widths) <= grid.target_width and grid.zoom == 4
    grid.close()


def test_colorbar_follows_the_colormap(grid):
    first = grid.colorbar.value
    assert "xaikit-colorbar" in first and html.escape(NORMALISATION) in first
    grid.cmap.value = "gray"
    assert grid.colorbar.value != first and "rgb(255,255,255) 100%" in grid.colorbar.value


def test_a_failed_redraw_clears_the_panels_until_fixed(grid, monkeypatch):
    def broken():
        raise RuntimeError("no maps today")

    monkeypatch.setattr(grid, "panels", broken)
    grid.cmap.value = "gray"
    assert grid.error_in("grid") == "RuntimeError: no maps today"
    assert all(picture.value == b"" for picture in grid.pictures)
    assert "not drawn" in grid.titles[0].value
    label = grid.box.children[1].children[-1]  # beside the controls
    assert "xaikit-error" in label._dom_classes and "no maps today" in label.value
    monkeypatch.undo()
    grid.alpha.value = 0.8
    assert grid.error_message == "" and all(picture.value for picture in grid.pictures)


def test_fixation_reference_scores_a_map_against_itself(frame, tiny_cnn):
    probe = CompareGrid(frame, tiny_cnn, ["gradcam"], ["features.3"])
    human = probe.maps[("gradcam", "features.3")]
    probe.close()
    grid = CompareGrid(frame, tiny_cnn, ["gradcam", "layercam"], ["features.3"], human_map=human)
    row = grid.scores.iloc[0]
    assert row["CC"] == pytest.approx(1.0) and row["MAE"] == pytest.approx(0.0, abs=1e-6)
    assert "NSS" not in grid.scores  # no fixated pixels without fixations
    grid.close()


def test_pixel_methods_fill_the_first_column(frame, tiny_cnn):
    grid = CompareGrid(frame, tiny_cnn, ["gradcam", "guided_backprop"], LAYERS)
    pictures, titles = grid.panels()
    assert titles[2] == "guided_backprop · input" and titles[3] == ""
    assert (pictures[3] == 255).all()
    assert grid.pictures[3].layout.display == "none" and grid.titles[3].value.count("<br>") == 0
    assert grid.pictures[2].layout.display is None
    grid.close()


def test_bad_input_and_callback_errors(frame, tiny_cnn, grid, monkeypatch, no_leaks):
    with pytest.raises(ValueError, match=r"unknown method 'cam3d' .*; valid methods"):
        CompareGrid(frame, tiny_cnn, ["cam3d"])
    with pytest.raises(ValueError, match="human_map must have the image's shape"):
        CompareGrid(frame, tiny_cnn, human_map=np.zeros((4, 4)))
    monkeypatch.setattr(grid, "panels", lambda: 1 / 0)
    grid.cmap.value = "gray"
    assert grid.error_message == "ZeroDivisionError: division by zero"


def test_close_frees_widgets(frame, tiny_cnn, no_leaks, tmp_path):
    grid = CompareGrid(frame, tiny_cnn, layers=["features.3"])
    assert grid.save(tmp_path / "grid.pdf").read_bytes()[:4] == b"%PDF"
    grid.close()
    assert no_leaks() == set()
