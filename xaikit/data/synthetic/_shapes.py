"""PASCAL-like still images: several objects of a few classes on cluttered backgrounds."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd

from xaikit._arrays import height_width
from xaikit.data.synthetic._textures import lighting, mask_box, smooth_noise, textured, to_uint8

CLASSES = ("circle", "square", "triangle", "star", "cross")


@dataclass
class ShapeSet:
    """Images with exact boxes, labels and masks.

    Attributes:
        images: (N, H, W, 3) uint8 RGB images.
        labels: (N,) int64 image-level class: the class of the largest object.
        masks: (N, H, W) int16 object index per pixel (``-1`` = background); object ``k`` of
            image ``n`` is row ``k`` of ``boxes`` restricted to image ``n``.
        annotations: :class:`~xaikit.data.annotations.Annotations` with one box per object
            (tight around its pixels, continuous pixel coordinates); image ``n`` is named
            ``f"shapes_{n:05d}.png"``.
        classes: Class names; ``labels`` index into it.
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    annotations: object
    classes: list[str]

    def __len__(self) -> int:
        return len(self.images)


def shapes(
    n: int = 16,
    shape: tuple[int, int] = (224, 224),
    *,
    classes: tuple[str, ...] = CLASSES,
    objects: tuple[int, int] = (1, 4),
    seed: int = 0,
) -> ShapeSet:
    """Render ``n`` images of filled shapes on cluttered, unevenly lit backgrounds.

    Objects never overlap (each is placed where its box is free), so every box is exact and
    every object fully visible. Backgrounds mix smooth colour blotches, grain, random strokes
    and small blobs in colours that objects also use, so colour alone does not give a class.

    Args:
        n: Number of images N (>= 1).
        shape: ``(height, width)`` of every image, each at least 32.
        classes: A subset of ``"circle", "square", "triangle", "star", "cross"``.
        objects: Inclusive range of objects per image; at least 1.
        seed: Random seed.

    Returns:
        A :class:`ShapeSet`.

    Raises:
        ValueError: unknown classes, ``n < 1``, a bad range of objects, or a side below 32.

    Examples:
        >>> data = shapes(2, (48, 64), seed=0)
        >>> data.images.shape, data.masks.shape, data.labels.shape
        ((2, 48, 64, 3), (2, 48, 64), (2,))
        >>> set(data.annotations.boxes["label"]) <= set(data.classes)
        True
    """
    from xaikit.data.annotations import Annotations

    unknown = set(classes) - set(CLASSES)
    if unknown or not classes:
        raise ValueError(f"classes must be a non-empty subset of {CLASSES}; got {classes!r}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an int >= 1; got {n!r}")
    low, high = objects
    if not 1 <= low <= high:
        raise ValueError(f"objects must be (low, high) with 1 <= low <= high; got {objects!r}")
    height, width = height_width(shape, minimum=(32, 32), image=False)
    rng = np.random.default_rng(seed)
    images = np.empty((n, height, width, 3), np.uint8)
    masks = np.full((n, height, width), -1, np.int16)
    labels = np.empty(n, np.int64)
    rows = []
    for index in range(n):
        name = f"shapes_{index:05d}.png"
        canvas = _clutter(rng, height, width)
        areas = []
        for number in range(int(rng.integers(low, high + 1))):
            kind = str(rng.choice(classes))
            placed = _place(rng, kind, width, height, masks[index])
            if placed is None:
                break
            mask, colour = placed
            canvas[mask] = colour * rng.uniform(0.85, 1.0)
            masks[index][mask] = number
            x0, y0, x1, y1 = mask_box(mask)
            rows.append((name, kind, x0, y0, x1, y1))
            areas.append((int(mask.sum()), classes.index(kind)))
        images[index] = to_uint8(canvas * lighting(rng, height, width, 0.25)[..., None])
        labels[index] = max(areas)[1]
    table = pd.DataFrame(rows, columns=["image", "label", "x0", "y0", "x1", "y1"])
    names = [f"shapes_{index:05d}.png" for index in range(n)]
    annotations = Annotations(
        pd.DataFrame({"image": names, "width": width, "height": height}), table, list(classes)
    )
    return ShapeSet(images, labels, masks, annotations, list(classes))


def _clutter(rng, height: int, width: int) -> np.ndarray:
    base = rng.uniform(60, 200, 3)
    canvas = textured(rng, height, width, base, 0.5, cells=6)
    tint = smooth_noise(rng, height, width, 4)[..., None] * rng.uniform(-60, 60, 3)
    canvas += tint.astype(np.float32)
    for _ in range(int(rng.integers(6, 14))):  # strokes
        start = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        cv2.line(canvas, start, end, rng.uniform(0, 255, 3).tolist(), int(rng.integers(1, 3)))
    for _ in range(int(rng.integers(4, 10))):  # blobs, smaller than any object
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        radius = int(rng.integers(2, max(3, min(width, height) // 28)))
        cv2.circle(canvas, centre, radius, rng.uniform(0, 255, 3).tolist(), -1)
    return canvas


def _place(rng, kind: str, width: int, height: int, occupied: np.ndarray):
    """A mask of a new ``kind`` object where no object is yet (None after 30 tries)."""
    side = min(width, height)
    for _ in range(30):
        radius = rng.uniform(0.1, 0.22) * side
        cx = rng.uniform(radius + 1, width - radius - 1)
        cy = rng.uniform(radius + 1, height - radius - 1)
        mask = np.zeros((height, width), np.uint8)
        _draw(mask, kind, cx, cy, radius, rng.uniform(0, 2 * np.pi))
        mask = mask.astype(bool)
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        if mask.any() and not (grown & (occupied >= 0)).any():
            return mask, rng.uniform(20, 235, 3).astype(np.float32)
    return None


def _draw(mask, kind: str, cx: float, cy: float, radius: float, angle: float) -> None:
    if kind == "circle":
        cv2.circle(mask, (round(cx), round(cy)), round(radius), 1, -1)
        return
    if kind == "square":
        corners = [angle + np.pi / 4 + k * np.pi / 2 for k in range(4)]
        points = [(cx + radius * np.cos(a), cy + radius * np.sin(a)) for a in corners]
    elif kind == "triangle":
        points = [
            (
                cx + radius * np.cos(angle + k * 2 * np.pi / 3),
                cy + radius * np.sin(angle + k * 2 * np.pi / 3),
            )
            for k in range(3)
        ]
    elif kind == "star":
        points = [
            (
                cx + radius * (1 if k % 2 == 0 else 0.45) * np.cos(angle + k * np.pi / 5),
                cy + radius * (1 if k % 2 == 0 else 0.45) * np.sin(angle + k * np.pi / 5),
            )
            for k in range(10)
        ]
    else:  # cross: a plus sign of two bars
        arm, half = radius, radius * 0.3
        outline = [
            (half, arm),
            (half, half),
            (arm, half),
            (arm, -half),
            (half, -half),
            (half, -arm),
        ]
        outline += [(-x, -y) for x, y in outline]
        cos, sin = np.cos(angle), np.sin(angle)
        points = [(cx + x * cos - y * sin, cy + x * sin + y * cos) for x, y in outline]
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
