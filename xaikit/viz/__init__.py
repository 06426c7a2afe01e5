"""Drawing: heatmap overlays, figure grids, track figures and overlay videos, without widgets."""

from xaikit.viz.boxes import draw_boxes, draw_trail, identity_color
from xaikit.viz.charts import metric_bars
from xaikit.viz.compose import blend_map, compose_frame, side_by_side
from xaikit.viz.encode import decode_image, encode_jpeg, encode_png, figure_bytes
from xaikit.viz.figures import figure_grid
from xaikit.viz.overlay import colorize, overlay
from xaikit.viz.plots import (
    grid_labels,
    method_layer_grid,
    overlay_grid,
    save_figure,
    table_figure,
    threshold_plot,
    time_strip,
)
from xaikit.viz.tracks import occupancy_figure, trajectory_figure
from xaikit.viz.video import detection_cam_grid, overlay_frames, write_overlay

__all__ = [
    "blend_map",
    "colorize",
    "compose_frame",
    "decode_image",
    "detection_cam_grid",
    "encode_jpeg",
    "encode_png",
    "figure_bytes",
    "metric_bars",
    "side_by_side",
    "draw_boxes",
    "draw_trail",
    "identity_color",
    "figure_grid",
    "grid_labels",
    "method_layer_grid",
    "occupancy_figure",
    "overlay",
    "overlay_frames",
    "overlay_grid",
    "save_figure",
    "table_figure",
    "threshold_plot",
    "time_strip",
    "trajectory_figure",
    "write_overlay",
]
