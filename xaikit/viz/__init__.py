"""Drawing: heatmap overlays and figure grids that work without widgets."""

from xaikit.viz.boxes import draw_boxes, draw_trail, identity_color
from xaikit.viz.figures import figure_grid
from xaikit.viz.overlay import colorize, normalize_map, overlay

__all__ = [
    "colorize",
    "draw_boxes",
    "draw_trail",
    "identity_color",
    "figure_grid",
    "normalize_map",
    "overlay",
]
