"""Publication figures: layouts, labels and files, checked on literal inputs."""

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg

from xaikit.explain import Explanation
from xaikit.viz import (
    grid_labels,
    method_layer_grid,
    overlay_grid,
    save_figure,
    table_figure,
    threshold_plot,
    time_strip,
)


def test_save_figure_writes_every_format(tmp_path):
    figure = threshold_plot(pd.DataFrame({0.5: [0.25]}, index=["cam"]))
    paths = save_figure(figure, tmp_path / "new", "curve")
    assert [p.name for p in paths] == ["curve.png", "curve.pdf", "curve.svg"]
    assert paths[0].read_bytes().startswith(b"\x89PNG")
    assert paths[1].read_bytes().startswith(b"%PDF")
    assert b"<svg" in paths[2].read_bytes()


@pytest.mark.parametrize("name", ["", "a/b", ".."])
def test_save_figure_rejects_paths_as_names(tmp_path, name):
    figure = threshold_plot(pd.DataFrame({0.5: [0.25]}, index=["cam"]))
    with pytest.raises(ValueError, match="plain file name"):
        save_figure(figure, tmp_path, name)


def test_save_figure_rejects_unknown_formats(tmp_path):
    figure = threshold_plot(pd.DataFrame({0.5: [0.25]}, index=["cam"]))
    with pytest.raises(ValueError, match="cannot write"):
        save_figure(figure, tmp_path, "x", formats=["png", "docx"])
    with pytest.raises(ValueError, match="at least one format"):
        save_figure(figure, tmp_path, "x", formats=[])


def test_overlay_grid_rows_and_columns():
    frame = np.zeros((6, 6, 3), np.uint8)
    maps = {"a": {"l1": np.eye(3), "l2": np.eye(6)}, "b": {"l1": np.eye(3), "l2": np.eye(6)}}
    figure = overlay_grid(frame, maps, alpha=1.0, cmap="gray")
    assert [axis.get_title() for axis in figure.axes] == ["l1", "l2", "", ""]
    assert grid_labels(figure) == ["a", "b"]
    # alpha 1 in grey: the overlay shows the map itself, white on the diagonal
    picture = figure.axes[3].images[0].get_array()
    assert picture[0, 0].tolist() == [255, 255, 255] and picture[0, 1].tolist() == [0, 0, 0]


def test_overlay_grid_errors():
    frame = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="at least one row"):
        overlay_grid(frame, {})
    with pytest.raises(ValueError, match="needs the columns"):
        overlay_grid(frame, {"a": {"x": np.eye(4)}, "b": {"y": np.eye(4)}})
    with pytest.raises(ValueError, match="no frame for"):
        overlay_grid({"x": frame}, {"a": {"x": np.eye(4), "y": np.eye(4)}})


def test_method_layer_grid_picks_item_and_frame():
    clip_maps = torch.zeros(2, 3, 4, 4)
    clip_maps[1, 2, 0, 0] = 1.0  # item 1, frame 2: one hot pixel top left
    explanation = Explanation("3dcam", maps={"stem": clip_maps}, raw={}, layers=["stem"])
    figure = method_layer_grid(
        np.zeros((4, 4, 3), np.uint8),
        {"3dcam": explanation},
        item=1,
        frame_index=2,
        alpha=1.0,
        cmap="gray",
    )
    assert [axis.get_title() for axis in figure.axes] == ["stem"]
    assert grid_labels(figure) == ["3dcam"]
    assert figure.axes[0].images[0].get_array()[0, 0].tolist() == [255, 255, 255]
    with pytest.raises(ValueError, match="pass frame="):
        method_layer_grid(np.zeros((4, 4, 3), np.uint8), explanation)


def test_time_strip_columns_are_frames():
    clip = np.zeros((5, 4, 4, 3), np.uint8)
    figure = time_strip(clip, {"m": np.random.default_rng(0).random((5, 4, 4))})
    assert [axis.get_title() for axis in figure.axes] == [f"t={t}" for t in range(5)]
    assert grid_labels(figure) == ["m"]
    with pytest.raises(ValueError, match="must be"):
        time_strip(clip, {"m": np.zeros((4, 4, 4))})
    with pytest.raises(ValueError, match="frames must lie"):
        time_strip(clip, {"m": np.zeros((5, 4, 4))}, frames=[5])


def test_threshold_plot_lines_skip_the_average():
    table = pd.DataFrame(
        {0.1: [0.9, 0.5], 0.5: [0.4, 0.25], "average": [0.65, 0.375]},
        index=pd.MultiIndex.from_tuples([("3dcam", "stem"), ("gradcam", "")]),
    )
    axis = threshold_plot(table, ylabel="MaxBoxAcc").axes[0]
    assert [line.get_label() for line in axis.lines] == ["3dcam · stem", "gradcam"]
    assert axis.lines[1].get_xdata().tolist() == [0.1, 0.5]
    assert axis.lines[1].get_ydata().tolist() == [0.5, 0.25]
    assert axis.get_ylabel() == "MaxBoxAcc"
    with pytest.raises(ValueError, match="numeric threshold"):
        threshold_plot(pd.DataFrame({"average": [0.5]}))


def test_table_figure_cells():
    table = pd.DataFrame({"0.5": [0.12345, np.nan], "n": [3, 4]}, index=["gradcam", "3dcam"])
    cells = table_figure(table, title="Table 4", digits=2).axes[0].tables[0].get_celld()
    assert cells[0, 0].get_text().get_text() == "0.5"
    assert cells[1, 0].get_text().get_text() == "0.12"
    assert cells[2, 0].get_text().get_text() == "–"
    assert cells[2, 1].get_text().get_text() == "4"
    assert cells[2, -1].get_text().get_text() == "3dcam"
    with pytest.raises(ValueError, match="rows and columns"):
        table_figure(pd.DataFrame())


def test_long_names_in_a_grid_do_not_overlap():
    frame = np.zeros((32, 32, 3), np.uint8)
    layers = ["features.conv5.block.2.relu", "features.conv4.block.2.relu", "classifier.0"]
    methods = ["guided_gradcam_with_a_long_name", "gradcam_plus_plus"]
    figure = overlay_grid(frame, {m: dict.fromkeys(layers, np.eye(4)) for m in methods})
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    labels = [axis.title for axis in figure.axes[:3]]
    labels += [text for axis in figure.axes for text in axis.texts]
    boxes = [label.get_window_extent(renderer) for label in labels]
    for i, a in enumerate(boxes):
        assert a.x0 >= 0 and a.x1 <= figure.bbox.width
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)
