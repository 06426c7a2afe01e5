"""Trajectory and occupancy figures: frame sizes are (height, width), as everywhere."""

import numpy as np
import pandas as pd
import pytest

from xaikit.viz import occupancy_figure, trajectory_figure

# A frame 24 rows high and 32 columns wide: a transposed size would show.
HEIGHT, WIDTH = 24, 32
TRACKS = pd.DataFrame({"frame": [0, 1, 2, 0, 1, 2], "time": [0.0, 0.1, 0.2] * 2,
                       "track": [0, 0, 0, 1, 1, 1], "cx": [5.0, 9.0, 30.0, 20.0, 22.0, 3.0],
                       "cy": [5.0, 6.0, 22.0, 20.0, 15.0, 1.0]})  # fmt: skip


def test_trajectory_axes_span_the_frame_width_and_height():
    figure = trajectory_figure(TRACKS, (HEIGHT, WIDTH))
    axis = figure.axes[0]
    assert axis.get_xlim() == (0.0, WIDTH) and axis.get_ylim() == (HEIGHT, 0.0)
    assert [line.get_label() for line in axis.get_lines()][::3] == ["track 0", "track 1"]


def test_trajectory_legend_stands_beside_the_frame():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = trajectory_figure(TRACKS, (HEIGHT, WIDTH))
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    axis = figure.axes[0]
    legend = figure.legends[0].get_window_extent(renderer)
    assert not legend.overlaps(axis.get_window_extent(renderer))
    assert legend.x1 <= figure.bbox.width


def test_the_background_gives_the_shape_and_must_agree_with_one_given():
    background = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    figure = trajectory_figure(TRACKS, background=background)
    assert figure.axes[0].get_xlim() == (0.0, WIDTH)
    same = trajectory_figure(TRACKS, (HEIGHT, WIDTH), background=background)
    assert same.axes[0].get_ylim() == (HEIGHT, 0.0)
    with pytest.raises(ValueError, match=r"background has \(height, width\) \(24, 32\)"):
        trajectory_figure(TRACKS, (WIDTH, HEIGHT), background=background)
    with pytest.raises(ValueError, match="shape"):
        occupancy_figure(TRACKS)


def test_occupancy_panels_cover_the_frame_with_one_map_per_animal():
    figure = occupancy_figure(TRACKS, (HEIGHT, WIDTH), cell=8, sigma=0)
    titles = [axis.get_title() for axis in figure.axes[:2]]
    assert titles == ["track 0 · 0.3 s", "track 1 · 0.3 s"]
    image = figure.axes[0].get_images()[0]
    assert image.get_extent() == [0, WIDTH, HEIGHT, 0]
    assert image.get_array().shape == (HEIGHT // 8, WIDTH // 8)
    # Track 0's last point (30, 22) lies in the bottom-right cell.
    assert image.get_array()[-1, -1] > 0


def test_occupancy_panels_share_one_colorbar_in_seconds():
    figure = occupancy_figure(TRACKS, (HEIGHT, WIDTH), cell=8, sigma=0)
    assert len(figure.axes) == 3 and figure.axes[-1].get_ylabel() == "time per cell (s)"
    images = [axis.get_images()[0] for axis in figure.axes[:2]]
    top = max(float(image.get_array().max()) for image in images)
    assert [image.get_clim() for image in images] == [(0.0, top)] * 2
    assert figure.axes[-1].get_ylim() == (0.0, top)
    assert len(occupancy_figure(TRACKS, (HEIGHT, WIDTH), colorbar=False).axes) == 2


def test_no_animal_tracked_gives_an_empty_titled_panel():
    figure = occupancy_figure(TRACKS.iloc[:0], (HEIGHT, WIDTH))
    assert [axis.get_title() for axis in figure.axes[:1]] == ["no animal tracked"]
