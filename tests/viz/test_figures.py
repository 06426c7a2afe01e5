import numpy as np
import pytest

from xaikit.viz import figure_grid, no_signal
from xaikit.viz.figures import NO_SIGNAL


def test_grid_layout_and_titles():
    panels = [np.zeros((10, 20, 3), np.uint8)] * 3 + [np.eye(10)] * 2
    figure = figure_grid(panels, titles=list("abcde"), ncols=2)
    assert len(figure.axes) == 7  # 3 rows x 2, the last one blank, then the colorbar
    assert [axis.get_title() for axis in figure.axes[:5]] == list("abcde")
    assert figure.axes[-1].get_ylabel() == "map value"
    assert len(figure_grid(panels, ncols=2, colorbar=False).axes) == 6


def test_only_pictures_get_no_colorbar_unless_asked():
    pictures = [np.zeros((4, 4, 3), np.uint8)] * 2
    assert len(figure_grid(pictures).axes) == 2
    figure = figure_grid(pictures, colorbar=True, colorbar_label="Grad-CAM", vmax=2.0)
    assert figure.axes[-1].get_ylabel() == "Grad-CAM"
    assert figure.axes[-1].get_ylim() == (0.0, 2.0)


def test_maps_share_the_colorbar_range():
    figure = figure_grid([np.eye(3), 4 * np.eye(3) - 1])
    assert [axis.images[0].get_clim() for axis in figure.axes[:2]] == [(-1.0, 3.0)] * 2
    alone = figure_grid([np.eye(3), 4 * np.eye(3) - 1], colorbar=False)
    assert [axis.images[0].get_clim() for axis in alone.axes] == [(0.0, 1.0), (-1.0, 3.0)]


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        (np.zeros((3, 3)), "map is all zero"),
        (np.full((3, 3), 0.25), "map is constant (0.25)"),
        (np.full((3, 3), np.nan), "map has no finite value"),
        (np.array([[1.0, 1.0 + 1e-9]]), "map is constant (1)"),
    ],
)
def test_empty_maps_are_labelled_in_their_panel(values, reason):
    assert no_signal(values) == reason
    figure = figure_grid([np.eye(3), values], titles=["ok", "empty"])
    notes = [[t.get_text() for t in axis.texts if t.get_gid() == NO_SIGNAL] for axis in figure.axes]
    assert notes[:2] == [[], [f"no signal:\n{reason}"]]


def test_notes_are_written_in_their_panels():
    figure = figure_grid([np.zeros((4, 4, 3), np.uint8)] * 2, notes=[None, "frame skipped"])
    assert [[t.get_text() for t in axis.texts] for axis in figure.axes] == [[], ["frame skipped"]]
    with pytest.raises(ValueError, match="1 notes for 2 panels"):
        figure_grid([np.eye(3)] * 2, notes=["x"])


@pytest.mark.parametrize("suffix", ["png", "pdf", "svg"])
def test_figures_save(tmp_path, suffix):
    path = tmp_path / f"grid.{suffix}"
    figure_grid([np.eye(4)]).savefig(path)
    assert path.stat().st_size > 0


def test_renders_as_png_without_pyplot():
    assert figure_grid([np.eye(4)])._repr_png_().startswith(b"\x89PNG")


def test_errors():
    with pytest.raises(ValueError, match="at least one panel"):
        figure_grid([])
    with pytest.raises(ValueError, match="2 titles for 1 panels"):
        figure_grid([np.eye(3)], titles=["a", "b"])
    with pytest.raises(ValueError, match="panel 0 must be"):
        figure_grid([np.zeros((3, 3, 4))])


def test_saved_figures_keep_text_editable_and_fonts_embedded(tmp_path):
    from xaikit.viz.figures import SavableFigure

    figure = SavableFigure()
    figure.subplots().set_title("Grad-CAM layer4")
    figure.savefig(tmp_path / "f.svg")
    figure.savefig(tmp_path / "f.pdf")
    assert "Grad-CAM layer4</text>" in (tmp_path / "f.svg").read_text()
    pdf = (tmp_path / "f.pdf").read_bytes()
    assert b"/FontFile2" in pdf and b"/Type3" not in pdf  # TrueType embedded, no outlines
    figure.save_rc["svg.fonttype"] = "path"
    figure.savefig(tmp_path / "g.svg")
    assert "Grad-CAM layer4</text>" not in (tmp_path / "g.svg").read_text()


def test_a_tall_grid_gets_a_colorbar_no_longer_than_a_short_one():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from xaikit.viz.figures import COLORBAR_LENGTH

    figure = figure_grid([np.eye(8)] * 6, ncols=1)
    FigureCanvasAgg(figure).draw()
    bar = figure.axes[-1].get_window_extent()
    assert bar.height <= COLORBAR_LENGTH * figure.dpi + 1
    assert bar.width < 0.3 * figure.dpi  # a thin bar, not a slab
