"""Draw detections, identities and track trails onto frames."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from xaikit._arrays import check_frames, to_numpy
from xaikit.viz.styles import PALETTE


def identity_color(identity: int) -> tuple[int, int, int]:
    """The RGB colour xaikit uses for a track identity or class index.

    Colours come from :data:`xaikit.viz.styles.PALETTE` (Okabe-Ito: told apart with the common
    forms of colour blindness, and bright enough to show on dark and grey frames), cycling
    through its 7 entries; the figures colour the same identity the same way.

    Examples:
        >>> identity_color(0), identity_color(7)
        ((0, 114, 178), (0, 114, 178))
    """
    return PALETTE[int(identity) % len(PALETTE)]


def draw_boxes(
    image,
    boxes,
    labels: Sequence[str] | None = None,
    identities: Sequence[int] | None = None,
    thickness: int = 2,
) -> np.ndarray:
    """Draw boxes, with optional captions, on a copy of an RGB image.

    Args:
        image: ``(H, W, 3)`` ``uint8`` RGB frame; it is not modified.
        boxes: ``(N, 4)`` corners ``x0, y0, x1, y1`` in pixels (extra columns, such as a
            score, are ignored). ``N`` may be 0.
        labels: one caption per box (for example ``"mouse 0.97"``), or ``None``.
        identities: one integer per box choosing its colour (a track id or a class index);
            by default box ``i`` gets colour ``i``.
        thickness: line width in pixels.

    Returns:
        ``(H, W, 3)`` ``uint8`` RGB copy with the boxes drawn.

    Examples:
        >>> import numpy as np
        >>> frame = np.zeros((20, 20, 3), np.uint8)
        >>> drawn = draw_boxes(frame, [[2, 2, 12, 12]], identities=[3], thickness=1)
        >>> drawn[2, 5].tolist(), int(frame.max())
        ([213, 94, 0], 0)
    """
    canvas = _canvas(image)
    corners = to_numpy(boxes).astype(np.float64)
    if corners.size == 0:
        corners = corners.reshape(0, 4)
    if corners.ndim != 2 or corners.shape[1] < 4:
        raise ValueError(f"boxes must be (N, 4) x0, y0, x1, y1; got shape {corners.shape}")
    for name, values in (("labels", labels), ("identities", identities)):
        if values is not None and len(values) != len(corners):
            raise ValueError(f"got {len(values)} {name} for {len(corners)} boxes")

    for index, (x0, y0, x1, y1) in enumerate(corners[:, :4]):
        if not np.isfinite([x0, y0, x1, y1]).all():
            continue
        color = identity_color(identities[index] if identities is not None else index)
        top_left, bottom_right = (round(x0), round(y0)), (round(x1), round(y1))
        cv2.rectangle(canvas, top_left, bottom_right, color, thickness, cv2.LINE_8)
        if labels is not None and labels[index]:
            _draw_caption(canvas, labels[index], top_left, color)
    return canvas


def draw_trail(image, points, identity: int = 0, thickness: int = 2) -> np.ndarray:
    """Draw a track's recent path (a polyline through its centroids) on a copy of an image.

    Args:
        image: ``(H, W, 3)`` ``uint8`` RGB frame.
        points: ``(N, 2)`` centroids ``x, y`` in pixels, oldest first; rows with NaN (frames
            where the animal was not seen) break the line.
        identity: track id, which picks the colour.
        thickness: line width in pixels.

    Returns:
        ``(H, W, 3)`` ``uint8`` RGB copy.

    Examples:
        >>> import numpy as np
        >>> drawn = draw_trail(np.zeros((10, 10, 3), np.uint8), [[1, 5], [8, 5]], thickness=1)
        >>> drawn[5, 4].tolist()
        [0, 114, 178]
    """
    canvas = _canvas(image)
    path = to_numpy(points).astype(np.float64)
    if path.ndim != 2 or path.shape[1] != 2:
        raise ValueError(f"points must be (N, 2) x, y; got shape {path.shape}")
    color = identity_color(identity)
    finite = np.isfinite(path).all(axis=1)
    # Split at the missing frames so a gap is not bridged by a straight line.
    for segment in np.split(path, np.flatnonzero(~finite)):
        segment = segment[np.isfinite(segment).all(axis=1)]
        if len(segment) >= 2:
            polyline = np.round(segment).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(canvas, [polyline], False, color, thickness, cv2.LINE_8)
    return canvas


def _canvas(image) -> np.ndarray:
    return check_frames(to_numpy(image), "image", single=True).copy(order="C")


def _draw_caption(canvas: np.ndarray, text: str, corner: tuple[int, int], color) -> None:
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.4
    (width, height), baseline = cv2.getTextSize(text, font, scale, 1)
    x, y = corner
    y = max(y, height + baseline)  # keep the caption inside the frame at the top edge
    cv2.rectangle(canvas, (x, y - height - baseline), (x + width, y), color, cv2.FILLED)
    cv2.putText(canvas, text, (x, y - baseline), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
