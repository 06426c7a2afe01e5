"""Publication figures: layouts, labels and files, checked on literal inputs."""

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex

from xaikit.explain import Explanation
from xaikit.viz import (
    grid_labels,
    method_layer_grid,
    metric_bars,
    overlay_grid,
    save_figure,
    table_figure,
    threshold_plot,
    time_strip,
)
from xaikit.viz.figures import NO_SIGNAL
from xaikit.viz.plots import MAP_LABEL
from xaikit.viz.styles import FIGURE_PALETTE, PALETTE


def drawn(figure):
    """Lay the figure out and return its renderer, so extents are final."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def assert_legend_off_the_data(figure, axis):
    """The legend lies inside the figure and outside the axes' data area and title."""
    renderer = drawn(figure)
    legend = axis.get_legend().get_window_extent(renderer)
    assert not legend.overlaps(axis.get_window_extent(renderer))
    assert not legend.overlaps(axis.title.get_window_extent(renderer))
    assert legend.x0 >= 0 and legend.x1 <= figure.bbox.width
    assert legend.y0 >= 0 and legend.y1 <= figure.bbox.height


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
    frame = np.full((6, 6, 3), 40, np.uint8)
    maps = {"a": {"l1": np.eye(3), "l2": np.eye(6)}, "b": {"l1": np.eye(3), "l2": np.eye(6)}}
    figure = overlay_grid(frame, maps, alpha=1.0, cmap="gray")
    panels = figure.axes[:6]  # then the colorbar
    assert [axis.get_title() for axis in panels] == ["image", "l1", "l2", "", "", ""]
    assert grid_labels(figure) == ["a", "b"]
    assert [axis.get_ylabel() for axis in panels] == ["a", "", "", "b", "", ""]
    # the first column is the frame alone
    assert np.array_equal(panels[0].images[0].get_array(), frame)
    # alpha 1 in grey, opacity following the map: white on the diagonal, the frame elsewhere
    picture = panels[5].images[0].get_array()
    assert picture[0, 0].tolist() == [255, 255, 255] and picture[0, 1].tolist() == [40, 40, 40]


def test_overlay_grid_colorbar_and_plain_column_are_options():
    frame = np.zeros((6, 6, 3), np.uint8)
    maps = {"a": {"l1": np.eye(3)}}
    figure = overlay_grid(frame, maps)
    assert len(figure.axes) == 3 and figure.axes[-1].get_ylabel() == MAP_LABEL
    bare = overlay_grid(frame, maps, plain=False, colorbar=False)
    assert [axis.get_title() for axis in bare.axes] == ["l1"]


def test_empty_maps_say_so_in_their_panel():
    frame = np.zeros((8, 8, 3), np.uint8)
    maps = {"3DCAM": {"layer3": np.eye(4), "layer4": np.zeros((2, 2))}}
    figure = overlay_grid(frame, maps)
    notes = [[t.get_text() for t in axis.texts if t.get_gid() == NO_SIGNAL] for axis in figure.axes]
    assert notes == [[], [], ["no signal:\nmap is all zero"], []]
    # the empty panel shows the frame unchanged, not a tint
    assert not figure.axes[2].images[0].get_array().any()


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
    assert [axis.get_title() for axis in figure.axes[:2]] == ["image", "stem"]
    assert grid_labels(figure) == ["3dcam"]
    assert figure.axes[1].images[0].get_array()[0, 0].tolist() == [255, 255, 255]
    with pytest.raises(ValueError, match="pass frame="):
        method_layer_grid(np.zeros((4, 4, 3), np.uint8), explanation)


def test_time_strip_columns_are_frames():
    clip = np.zeros((5, 4, 4, 3), np.uint8)
    figure = time_strip(clip, {"m": np.random.default_rng(0).random((5, 4, 4))})
    assert [axis.get_title() for axis in figure.axes[:5]] == [f"t={t}" for t in range(5)]
    assert grid_labels(figure) == ["m"]
    # a first row of the frames alone, labelled "frame", then the maps, then the colorbar
    assert [figure.axes[i].get_ylabel() for i in (0, 5)] == ["frame", "m"]
    assert len(figure.axes) == 11 and figure.axes[-1].get_ylabel() == MAP_LABEL
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


@pytest.mark.parametrize("panel_size", [0.8, 1.8])
def test_long_names_in_a_grid_do_not_overlap_and_are_not_clipped(panel_size):
    frame = np.zeros((32, 32, 3), np.uint8)
    layers = ["features.conv5.block.2.relu", "features.conv4.block.2.relu", "classifier.0"]
    methods = ["dense_attention", "guided_gradcam_with_a_long_name", "gradcam_plus_plus"]
    figure = overlay_grid(
        frame, {m: dict.fromkeys(layers, np.eye(4)) for m in methods}, panel_size=panel_size
    )
    renderer = drawn(figure)
    panels = figure.axes[:-1]
    labels = [axis.title for axis in panels[:4]] + [axis.yaxis.label for axis in panels[::4]]
    boxes = [label.get_window_extent(renderer) for label in labels]
    for i, a in enumerate(boxes):
        assert a.x0 >= 0 and a.x1 <= figure.bbox.width  # inside the figure: never clipped
        assert a.y0 >= 0 and a.y1 <= figure.bbox.height
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)
        for axis in panels:
            assert not a.overlaps(axis.get_window_extent(renderer))


def _curves(methods, layers):
    index = pd.MultiIndex.from_product([methods, layers], names=["method", "layer"])
    values = np.linspace(0.1, 0.9, len(index) * 2).reshape(-1, 2)
    return pd.DataFrame(values, index=index, columns=[0.3, 0.5])


def test_threshold_plot_gives_colour_to_methods_and_line_style_to_layers():
    layers = ["stem", "layer1", "layer2", "layer3", "layer4", "stem+layer1", "all"]
    axis = threshold_plot(_curves(["3dcam", "gradcam"], layers)).axes[0]
    assert len(axis.lines) == 14
    looks = {
        (line.get_color(), str(line.get_linestyle()), line.get_marker()) for line in axis.lines
    }
    assert len(looks) == 14  # no two lines look alike
    colours = {to_hex(line.get_color()) for line in axis.lines}
    assert colours == {to_hex(np.array(PALETTE[0]) / 255), to_hex(np.array(PALETTE[1]) / 255)}
    by_layer = {line.get_label().split(" · ")[1]: line for line in axis.lines[7:]}
    assert by_layer["stem"].get_linestyle() == axis.lines[0].get_linestyle()
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert legend == ["method", "3dcam", "gradcam", "layer", *layers]


def test_threshold_plot_of_one_method_colours_its_layers():
    axis = threshold_plot(_curves(["3dcam"], ["stem", "layer1", "layer2"])).axes[0]
    assert len({line.get_color() for line in axis.lines}) == 3
    assert [text.get_text() for text in axis.get_legend().get_texts()] == [
        "stem", "layer1", "layer2"
    ]  # fmt: skip


@pytest.mark.parametrize("methods", [["3dcam"], ["3dcam", "gradcam"]])
def test_threshold_plot_legend_is_off_the_lines(methods):
    layers = ["stem", "layer1", "stem+layer1+layer2+layer3+layer4"]
    figure = threshold_plot(_curves(methods, layers), ylabel="MaxBoxAcc")
    assert_legend_off_the_data(figure, figure.axes[0])


@pytest.mark.parametrize(("bars", "figsize"), [(2, (6.0, 3.0)), (9, (9.0, 3.5)), (3, (3.0, 2.0))])
def test_metric_bars_legend_is_off_the_bars_and_the_title(bars, figsize):
    layers = [f"conv{i}+conv{i - 1}" for i in range(bars)]
    table = pd.DataFrame(
        [(m, layer, 0.1 * (i + 1)) for m in ["gradcam", "dense_attention"]
         for i, layer in enumerate(layers)],
        columns=["method", "layer", "MAE"],
    )  # fmt: skip
    figure = metric_bars(table, "MAE", lower_is_better=True, figsize=figsize)
    axis = figure.axes[0]
    assert_legend_off_the_data(figure, axis)
    assert axis.get_legend().get_title().get_text() == "layer"


def test_metric_bars_repeat_colours_only_with_a_hatch():
    table = pd.DataFrame(
        {"method": "cam", "layer": [f"l{i}" for i in range(10)], "MAE": np.linspace(0.1, 0.9, 10)}
    )
    patches = metric_bars(table, "MAE").axes[0].patches
    looks = [(tuple(p.get_facecolor()), p.get_hatch()) for p in patches]
    assert len(set(looks)) == 10
    assert len({face for face, _ in looks}) == len(FIGURE_PALETTE) == 8
    assert looks[0][0] == looks[8][0] and looks[8][1] and not looks[0][1]


def test_metric_bars_pack_each_group_around_its_tick():
    table = pd.DataFrame(
        {"method": ["cam", "gradcam", "gradcam"], "layer": ["conv5", "conv4", "conv5"],
         "MAE": [0.3, 0.2, 0.1]}
    )  # fmt: skip
    patches = metric_bars(table, "MAE").axes[0].patches
    centres = [p.get_x() + p.get_width() / 2 for p in patches]  # conv5 bars first, then conv4
    assert centres == pytest.approx([0.0, 0.8, 1.2])  # cam's lone bar sits on its tick
