import numpy as np
import pytest

from xaikit.viz import figure_grid


def test_grid_layout_and_titles():
    panels = [np.zeros((10, 20, 3), np.uint8)] * 3 + [np.eye(10)] * 2
    figure = figure_grid(panels, titles=list("abcde"), ncols=2)
    assert len(figure.axes) == 6  # 3 rows x 2, the last one blank
    assert [axis.get_title() for axis in figure.axes[:5]] == list("abcde")


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
