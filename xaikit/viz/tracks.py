"""Trajectory and occupancy figures of a track table (the behaviour plots of tracking papers)."""

from __future__ import annotations

import numpy as np

from xaikit._arrays import height_width
from xaikit.viz.boxes import identity_color
from xaikit.viz.figures import SavableFigure

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
    figure = SavableFigure(figsize=(panel_size * panels, panel_size * height / width + 0.4))
    axes = figure.subplots(1, panels, squeeze=False)[0]
    for axis in axes:
        if background is not None:
            axis.imshow(np.asarray(background))
        axis.set_xlim(0, width)
        axis.set_ylim(height, 0)
        axis.set_aspect("equal")
        axis.set_xticks([])
        axis.set_yticks([])
    return figure, axes


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
        A :class:`~xaikit.viz.figures.SavableFigure` (start: circle, end: square).

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
    axis.legend(loc="upper right", fontsize=8)
    axis.set_title(title, fontsize=10)
    figure.tight_layout()
    return figure


def occupancy_figure(tracks, shape=None, cell: float = 16.0, sigma: float = 1.0, background=None):
    """Occupancy heatmap of each animal (seconds per ``cell`` x ``cell`` square), side by side.

    Maps come from :func:`xaikit.track.occupancy` and are shown raised to the power 0.4, as the
    mice-tracking group displays them, over the optional ``background`` frame.

    Args:
        tracks: a track table (``frame, time, track, cx, cy``).
        shape: ``(height, width)`` of the frame in pixels (or a frame of that shape);
            ``None`` takes the background's.
        cell: cell side in pixels.
        sigma: Gaussian blur in cells.
        background: ``(H, W, 3)`` ``uint8`` frame drawn underneath, or ``None``.

    Returns:
        A :class:`~xaikit.viz.figures.SavableFigure`, one panel per animal titled with its
        tracked time (one empty panel, so titled, when no animal was tracked).

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
    for axis, identity in zip(axes[: len(identities)], identities, strict=True):
        path = trajectory(tracks, identity)
        heat = occupancy(
            path[["x", "y"]].to_numpy(), path["time"].to_numpy(), (height, width), cell, sigma
        )
        axis.imshow(
            heat**0.4, cmap="inferno", extent=(0, width, height, 0), interpolation="bilinear",
            alpha=0.6 if background is not None else 1.0,
        )  # fmt: skip
        axis.set_title(f"track {identity} · {heat.sum():.1f} s", fontsize=10)
    figure.tight_layout()
    return figure
