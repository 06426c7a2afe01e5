"""One style for every figure helper: print fonts, Okabe-Ito colours, editable saved text."""

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

import xaikit.viz as viz
from xaikit.viz.styles import STYLE, rc, style

FRAME = np.zeros((16, 16, 3), np.uint8)
TRACKS = pd.DataFrame({"frame": [0, 1, 2], "time": [0.0, 0.1, 0.2], "track": 0,
                       "cx": [4.0, 8.0, 12.0], "cy": [4.0, 8.0, 8.0]})  # fmt: skip
CURVES = pd.DataFrame(
    {0.3: [0.9, 0.7], 0.5: [0.5, 0.3]},
    index=pd.MultiIndex.from_tuples([("3dcam", "stem"), ("gradcam", "layer4")]),
)
SCORES = pd.DataFrame({"method": ["cam", "cam"], "layer": ["conv4", "conv5"], "MAE": [0.2, 0.3]})

#: Every figure helper without a model, with one label each must keep as SVG text.
HELPERS = {
    "figure_grid": (lambda: viz.figure_grid([FRAME, np.eye(8)], ["frame", "conv5"]), "conv5"),
    "overlay_grid": (lambda: viz.overlay_grid(FRAME, {"gradcam": {"conv5": np.eye(4)}}), "conv5"),
    "time_strip": (
        lambda: viz.time_strip(np.stack([FRAME] * 2), {"3DCAM": np.eye(4)[None].repeat(2, 0)}),
        "3DCAM",
    ),
    "threshold_plot": (lambda: viz.threshold_plot(CURVES, ylabel="MaxBoxAcc"), "MaxBoxAcc"),
    "metric_bars": (lambda: viz.metric_bars(SCORES, "MAE"), "conv5"),
    "table_figure": (lambda: viz.table_figure(CURVES, title="Table 6"), "Table 6"),
    "trajectory_figure": (lambda: viz.trajectory_figure(TRACKS, (16, 16)), "track 0"),
    "occupancy_figure": (lambda: viz.occupancy_figure(TRACKS, (16, 16), cell=4), "track 0"),
}


def saved_text(figure, tmp_path) -> tuple[list[str], bytes]:
    """The ``<text>`` strings of the figure saved as SVG, and the bytes of its PDF."""
    figure.savefig(tmp_path / "figure.svg")
    figure.savefig(tmp_path / "figure.pdf")
    svg = (tmp_path / "figure.svg").read_text()
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg), (tmp_path / "figure.pdf").read_bytes()


@pytest.mark.parametrize("name", sorted(HELPERS))
def test_every_helper_saves_editable_text_and_embedded_fonts(name, tmp_path):
    make, label = HELPERS[name]
    texts, pdf = saved_text(make(), tmp_path)
    assert any(label in text for text in texts), texts
    assert b"/FontFile2" in pdf and b"/Type3" not in pdf  # TrueType (Type 42), no outlines


@pytest.mark.parametrize("name", sorted(HELPERS))
def test_every_helper_draws_in_the_house_style(name):
    figure = HELPERS[name][0]()
    sizes = {text.get_fontsize() for axis in figure.axes for text in (axis.title, axis.xaxis.label)}
    assert sizes <= {float(STYLE["axes.titlesize"]), float(STYLE["axes.labelsize"])}
    assert figure.get_layout_engine() is not None  # constrained: nothing clipped


def test_style_overrides_apply_inside_the_block_only():
    with style({"axes.labelsize": 12}, axes__titlesize=14) as settings:
        assert settings["axes.labelsize"] == 12 and rc()["axes.titlesize"] == 14
        figure = viz.threshold_plot(CURVES, ylabel="MaxBoxAcc")
    axis = figure.axes[0]
    assert axis.yaxis.label.get_fontsize() == 12
    after = viz.threshold_plot(CURVES, ylabel="MaxBoxAcc").axes[0]
    assert after.yaxis.label.get_fontsize() == STYLE["axes.labelsize"]


def test_nested_blocks_and_the_style_dict(monkeypatch):
    monkeypatch.setitem(STYLE, "font.size", 6)
    with style({"font.size": 9}), style({"legend.fontsize": 5}):
        assert rc()["font.size"] == 9 and rc()["legend.fontsize"] == 5
    assert rc()["font.size"] == 6 and rc()["legend.fontsize"] == STYLE["legend.fontsize"]


def test_unknown_keys_are_refused():
    with pytest.raises(KeyError, match="unknown matplotlib rc key"), style(font_sise=3):
        pass


def test_identity_colours_are_okabe_ito_and_cycle():
    okabe_ito = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"]
    assert [to_hex(np.array(viz.identity_color(i)) / 255).upper() for i in range(7)] == okabe_ito
    assert viz.identity_color(7) == viz.identity_color(0)
    assert viz.PALETTE == tuple(viz.identity_color(i) for i in range(7))
