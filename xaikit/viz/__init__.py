"""Drawing: heatmap overlays, figure grids, track figures and overlay videos, without widgets.

Every figure helper draws with one style (:data:`STYLE`, changed for a block with
:func:`style`), Okabe-Ito colours, legends outside the data, a colorbar where maps are shown,
and saves with editable SVG text and embedded PDF fonts.
"""

from xaikit.viz.boxes import draw_boxes, draw_trail, identity_color
from xaikit.viz.charts import metric_bars
from xaikit.viz.compose import blend_map, compose_frame, side_by_side
from xaikit.viz.encode import decode_image, encode_jpeg, encode_png, figure_bytes
from xaikit.viz.figures import figure_grid, no_signal
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
from xaikit.viz.styles import PALETTE, STYLE, style
from xaikit.viz.tracks import occupancy_figure, trajectory_figure
from xaikit.viz.video import crop_window, detection_cam_grid, overlay_frames, write_overlay

__all__ = [
    "PALETTE",
    "STYLE",
    "crop_window",
    "no_signal",
    "style",
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
