"""Boxes from keypoints: what a pose-labelling tool (DeepLabCut, SLEAP) says about where an
animal is, as the box a detector learns."""

from __future__ import annotations

import numpy as np

#: Default widening of the keypoint extent on each side, as a share of its longer side:
#: keypoints lie inside the body, so their extent is smaller than the animal.
MARGIN = 0.25


def keypoint_box(points, margin: float, shape: tuple[int, int]) -> dict | None:
    """The box of one animal's keypoints: the extent of the visible ones, widened by
    ``margin`` times its longer side on every side, cut to the image.

    Args:
        points: ``(K, 2)`` keypoints ``x, y`` in continuous pixels; NaN = not visible.
        margin: Share of the extent's longer side added on each side (``0``: the bare extent).
        shape: The image's ``(height, width)``.

    Returns:
        ``{"x0", "y0", "x1", "y1", "keypoints"}`` (continuous pixels; ``keypoints`` = how many
        were visible, one giving a box of no extent), or ``None`` when none is visible.

    Examples:
        >>> keypoint_box([[50, 40], [90, 60], [np.nan, np.nan]], 0.1, (100, 200))
        {'x0': 46.0, 'y0': 36.0, 'x1': 94.0, 'y1': 64.0, 'keypoints': 2}
    """
    xy = np.asarray(points, dtype=float).reshape(-1, 2)
    visible = xy[np.isfinite(xy).all(axis=1)]
    if not len(visible):
        return None
    height, width = shape
    (x0, y0), (x1, y1) = visible.min(axis=0), visible.max(axis=0)
    pad = margin * max(x1 - x0, y1 - y0)
    return {
        "x0": float(np.clip(x0 - pad, 0, width)),
        "y0": float(np.clip(y0 - pad, 0, height)),
        "x1": float(np.clip(x1 + pad, 0, width)),
        "y1": float(np.clip(y1 + pad, 0, height)),
        "keypoints": len(visible),
    }
