"""Textures, lighting and masks shared by the synthetic scene generators."""

from __future__ import annotations

import cv2
import numpy as np


def smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    """(height, width) float32 noise in [0, 1], smooth over about ``max(h, w) / cells`` pixels."""
    rows = max(2, round(cells * height / max(height, width)))
    columns = max(2, round(cells * width / max(height, width)))
    grid = rng.random((rows, columns)).astype(np.float32)
    field = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    low, high = float(field.min()), float(field.max())
    return (field - low) / (high - low + 1e-6)


def lighting(rng: np.random.Generator, height: int, width: int, strength: float) -> np.ndarray:
    """(height, width) float32 gain around 1: an off-centre light spot plus a linear gradient."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width * rng.uniform(0.3, 0.7), height * rng.uniform(0.3, 0.7)
    radius = max(height, width) * rng.uniform(0.6, 0.9)
    spot = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius**2))
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * xs / width + np.sin(angle) * ys / height).astype(np.float32)
    gain = 1 - strength + strength * spot + 0.3 * strength * (ramp - ramp.mean())
    return gain.astype(np.float32)


def textured(
    rng: np.random.Generator, height: int, width: int, colour, contrast: float, cells: int = 12
) -> np.ndarray:
    """(height, width, 3) float32 surface of ``colour`` (RGB 0-255) with blotches and grain."""
    blotch = smooth_noise(rng, height, width, cells)[..., None] - 0.5
    grain = rng.normal(0, 0.5, (height, width, 1)).astype(np.float32)
    colour = np.asarray(colour, np.float32)
    return colour * (1 + contrast * blotch) + 8 * contrast * grain


def sprinkle(rng: np.random.Generator, image: np.ndarray, count: int, colour, spread: float, size):
    """Draw ``count`` small random ellipses (bedding chips, droppings) onto a float image."""
    height, width = image.shape[:2]
    for _ in range(count):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(size[0], size[1] + 1)), int(rng.integers(1, size[0] + 1)))
        shade = np.asarray(colour, np.float64) * rng.uniform(1 - spread, 1 + spread)
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(image, centre, axes, angle, 0, 360, shade.tolist(), -1, cv2.LINE_AA)


def mask_box(mask: np.ndarray, offset=(0, 0)) -> tuple[float, float, float, float] | None:
    """Tight box ``(x0, y0, x1, y1)`` of the nonzero pixels of ``mask`` (None if empty).

    Continuous pixel convention: pixels ``c0..c1`` give ``x0 = c0`` and ``x1 = c1 + 1``.
    ``offset`` = (x, y) of the mask's top-left pixel in the frame.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    columns = np.flatnonzero(mask.any(axis=0))
    ox, oy = offset
    return (
        float(ox + columns[0]),
        float(oy + rows[0]),
        float(ox + columns[-1] + 1),
        float(oy + rows[-1] + 1),
    )


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Clip a float image to 0..255 and round it to uint8."""
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)
