"""Drawing: heatmap overlays and figure grids that work without widgets."""

from xaikit.viz.figures import figure_grid
from xaikit.viz.overlay import colorize, normalize_map, overlay

__all__ = ["colorize", "figure_grid", "normalize_map", "overlay"]
