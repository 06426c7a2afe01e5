"""Trajectory and occupancy figures of a track table (the behaviour plots of tracking papers)."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import PowerNorm

from xaikit._arrays import height_width
from xaikit.viz.boxes import identity_color
from xaikit.viz.figures import SavableFigure, add_colorbar
from xaikit.viz.styles import styled

__all__ = ["occupancy_figure", "trajectory_figure"]


def _frame_shape(shape, background) -> tuple[int, int]:
    """``(height, width)`` from ``shape`` (a pair or an image) or, when it is ``None``, from
    ``background``; both given must agree."""
    if background is None:
        if shape is None:
            raise ValueError("give the frame's shape (height, width) or a background frame")
        return height_width(shape)
    behind = height_width(background, "background")
    if shape is not None and height_width(shape) != behind:
        raise ValueError(f"background has (height, width) {behind} but shape is {shape}")
    return behind


def _frame_axes(shape, background, panels: int = 1, panel_size: float = 4.5):
    height, width = shape
    figure = SavableFigure(
        figsize=(panel_size * panels + 1.0, panel_size * height / width + 0.4),
        layout="constrained",
    )
    axes = figure.subplots(1, panels, squeeze=False)[0]
    for axis in axes:
        if background is not None:
            axis.imshow(np.asarray(background))
        axis.set_xlim(0, width)
        axis.set_ylim(height, 0)
        axis.set_aspect("equal")
        axis.set_xticks([])
        axis.set_yticks([])
        for spine in axis.spines.values():
            spine.set_visible(False)
    return figure, axes


@styled
def trajectory_figure(tracks, shape=None, background=None, title: str = "trajectories"):
    """Every animal's centroid path over the frame, coloured by identity as in the widgets.

    Args:
        tracks: a track table (``frame, time, track, cx, cy``), e.g.
            :attr:`xaikit.track.TrackingResult.tracks`.
        shape: ``(height, width)`` of the frame in pixels (or a frame of that shape);
            ``None`` takes the background's.
        background: ``(H, W, 3)`` ``uint8`` frame drawn underneath, or ``None``.
        title: figure title.

    Raises:
        ValueError: neither ``shape`` nor ``background``, or the two disagree.

    Returns:
        A :class:`~xaikit.viz.figures.SavableFigure` (start: circle, end: square); the legend
        stands to the right of the frame, off the paths.

    Examples:
        >>> import pandas as pd
        >>> tracks = pd.DataFrame({"frame": [0, 1, 0, 1], "time": [0.0, 0.1] * 2,
        ...                        "track": [0, 0, 1, 1], "cx": [5.0, 9.0, 20.0, 22.0],
        ...                        "cy": [5.0, 6.0, 20.0, 15.0]})
        >>> figure = trajectory_figure(tracks, (24, 32))
        >>> [float(v) for v in (*figure.axes[0].get_xlim(), *figure.axes[0].get_ylim())]
        [0.0, 32.0, 24.0, 0.0]
        >>> [line.get_label() for line in figure.axes[0].get_lines()][:1]
        ['track 0']
    """
    from xaikit.track.behaviour import trajectory

    figure, (axis,) = _frame_axes(_frame_shape(shape, background), background)
    for identity in sorted(tracks["track"].unique()):
        path = trajectory(tracks, identity)
        colour = np.array(identity_color(identity)) / 255
        axis.plot(path["x"], path["y"], color=colour, lw=1.5, label=f"track {identity}")
        known = path.dropna()
        if len(known):
            axis.plot(*known[["x", "y"]].iloc[0], "o", color=colour, ms=6)
            axis.plot(*known[["x", "y"]].iloc[-1], "s", color=colour, ms=6)
    if len(axis.get_lines()):
        figure.legend(*axis.get_legend_handles_labels(), loc="outside right upper")
    axis.set_title(title)
    return figure


@styled
def occupancy_figure(
    tracks,
    shape=None,
    cell: float = 16.0,
    sigma: float = 1.0,
    background=None,
    *,
    colorbar: bool = True,
):
    """Occupancy heatmap of each animal (seconds per ``cell`` x ``cell`` square), side by side.

    Maps come from :func:`xaikit.track.occupancy` and are shown on a power scale (exponent
    0.4, as the mice-tracking group displays them) shared by all panels, over the optional
    ``background`` frame.

    Args:
        tracks: a track table (``frame, time, track, cx, cy``).
        shape: ``(height, width)`` of the frame in pixels (or a frame of that shape);
            ``None`` takes the background's.
        cell: cell side in pixels.
        sigma: Gaussian blur in cells.
        background: ``(H, W, 3)`` ``uint8`` frame drawn underneath, or ``None``.
        colorbar: add one colorbar, in seconds per cell, for all panels.

    Returns:
        A :class:`~xaikit.viz.figures.SavableFigure`, one panel per animal titled with its
        tracked time (one empty panel, so titled, when no animal was tracked), then the
        colorbar's axes.

    Raises:
        ValueError: neither ``shape`` nor ``background``, or the two disagree.

    Examples:
        >>> import pandas as pd
        >>> tracks = pd.DataFrame({"frame": [0, 1, 2], "time": [0.0, 0.1, 0.2], "track": 0,
        ...                        "cx": [5.0, 6.0, 7.0], "cy": [5.0, 5.0, 5.0]})
        >>> occupancy_figure(tracks, (24, 32), cell=8).axes[0].get_title()
        'track 0 · 0.3 s'
    """
    from xaikit.track.behaviour import occupancy, trajectory

    identities = sorted(tracks["track"].unique())
    height, width = _frame_shape(shape, background)
    panels = max(1, len(identities))
    figure, axes = _frame_axes((height, width), background, panels, panel_size=4.0)
    if not identities:
        axes[0].set_title("no animal tracked", fontsize=10)
    heats = []
    for identity in identities:
        path = trajectory(tracks, identity)
        heats.append(
            occupancy(
                path[["x", "y"]].to_numpy(), path["time"].to_numpy(), (height, width), cell, sigma
            )
        )
    top = max([float(heat.max()) for heat in heats] + [1e-9])
    for axis, identity, heat in zip(axes[: len(identities)], identities, heats, strict=True):
        axis.imshow(
            heat, cmap="inferno", norm=PowerNorm(0.4, 0.0, top), extent=(0, width, height, 0),
            interpolation="bilinear", alpha=0.6 if background is not None else 1.0,
        )  # fmt: skip
        axis.set_title(f"track {identity} · {heat.sum():.1f} s")
    if colorbar:
        bar = add_colorbar(figure, axes, "inferno", "time per cell (s)", 0.0, top)
        bar.mappable.set_norm(PowerNorm(0.4, 0.0, top))
    return figure
