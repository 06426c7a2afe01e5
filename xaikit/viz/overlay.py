"""Colour a map and blend it over a frame.

All functions take numpy arrays or torch tensors (any device) and return numpy ``uint8``
RGB, the form that JPEG encoders, video writers and matplotlib take directly.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from xaikit._arrays import minmax, to_numpy


@lru_cache(maxsize=32)
def colormap_table(cmap: str) -> np.ndarray:
    """The ``(256, 3)`` ``uint8`` RGB table of a matplotlib colormap (cached per name).

    Examples:
        >>> colormap_table("gray")[[0, 255]].tolist()
        [[0, 0, 0], [255, 255, 255]]
    """
    import matplotlib

    try:
        colormap = matplotlib.colormaps[cmap]
    except KeyError as error:
        raise ValueError(
            f"unknown colormap {cmap!r}; use a matplotlib name such as 'jet' or 'inferno'"
        ) from error
    table = np.round(colormap(np.linspace(0.0, 1.0, 256))[:, :3] * 255).astype(np.uint8)
    table.flags.writeable = False  # shared by every caller through the cache
    return table


def colorize(heatmap, cmap: str = "jet", normalize: bool = True) -> np.ndarray:
    """Map a 2D heatmap to RGB colours through a matplotlib colormap.

    Args:
        heatmap: ``(H, W)`` array or tensor. With ``normalize=True`` it is min-max
            normalised first (:func:`xaikit._arrays.minmax`: NaN stays NaN, a constant map
            becomes zeros); otherwise it must already lie in [0, 1] and values outside are
            clipped.
        cmap: matplotlib colormap name.
        normalize: whether to min-max normalise.

    Returns:
        ``(H, W, 3)`` ``uint8`` RGB. NaN pixels are black.

    Examples:
        >>> colorize([[0.0, 1.0]], cmap="gray").tolist()
        [[[0, 0, 0], [255, 255, 255]]]
        >>> colorize([[2.0, 2.0, float("nan")]]).tolist()  # constant: the lowest; NaN: black
        [[[0, 0, 128], [0, 0, 128], [0, 0, 0]]]
    """
    values = to_numpy(heatmap)
    if values.ndim != 2:
        raise ValueError(f"heatmap must have shape (H, W); got shape {values.shape}")
    values = minmax(values, batched=False) if normalize else values.astype(np.float32)
    nan = ~np.isfinite(values)
    index = np.round(np.clip(np.nan_to_num(values, nan=0.0), 0.0, 1.0) * 255).astype(np.uint8)
    rgb = colormap_table(cmap)[index]
    rgb[nan] = 0
    return rgb


def overlay(
    image,
    heatmap,
    alpha: float = 0.5,
    cmap: str = "jet",
    normalize: bool = True,
    follow: bool = True,
):
    """Blend a coloured heatmap over an image.

    The heatmap is resized bilinearly to the image size, so a map at feature resolution
    can be passed as it is. Where the heatmap is NaN the image shows through unchanged.
    With ``follow`` (the default) each pixel's opacity is ``alpha`` times its map value (on the
    0..1 scale, after normalising): where the map is zero the image is unchanged and only the
    high values tint it; ``follow=False`` tints every pixel by ``alpha`` (the classic CAM
    overlay, whose lowest colour covers the whole image).

    Args:
        image: ``(H, W, 3)`` RGB or ``(H, W)`` grey image, ``uint8`` (0-255) or float (0-1).
        heatmap: ``(h, w)`` array or tensor, any size.
        alpha: opacity of the heatmap, in [0, 1].
        cmap: matplotlib colormap name.
        normalize: min-max normalise the heatmap first (a constant map then shows as the
            colormap's lowest colour, or not at all with ``follow``).
        follow: let the opacity follow the map value (see above).

    Returns:
        ``(H, W, 3)`` ``uint8`` RGB.

    Examples:
        >>> import numpy as np
        >>> frame = np.zeros((4, 6, 3), np.uint8)
        >>> overlay(frame, np.eye(2), alpha=1.0, cmap="gray")[0, 0].tolist()
        [255, 255, 255]
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha}")
    picture = _as_rgb_uint8(image)
    values = to_numpy(heatmap).astype(np.float32)
    if values.ndim != 2:
        raise ValueError(f"heatmap must have shape (h, w); got shape {values.shape}")
    height, width = picture.shape[:2]
    if values.shape != (height, width):
        # Resize finite values and the NaN mask separately, so NaN does not bleed.
        nan = (~np.isfinite(values)).astype(np.float32)
        values = cv2.resize(np.nan_to_num(values), (width, height), interpolation=cv2.INTER_LINEAR)
        values[cv2.resize(nan, (width, height), interpolation=cv2.INTER_LINEAR) > 0.5] = np.nan
    colours = colorize(values, cmap=cmap, normalize=normalize).astype(np.float32)
    if follow:
        level = minmax(values, batched=False) if normalize else np.clip(values, 0.0, 1.0)
        strength = alpha * np.nan_to_num(level, nan=0.0)
    else:
        strength = np.float32(alpha)
    weight = np.where(np.isfinite(values), strength, 0.0)[..., None].astype(np.float32)
    blended = picture.astype(np.float32) * (1.0 - weight) + colours * weight
    return np.round(blended).astype(np.uint8)


def _as_rgb_uint8(image) -> np.ndarray:
    picture = to_numpy(image)
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=2)
    if picture.ndim != 3 or picture.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3) or (H, W); got shape {picture.shape}")
    if picture.dtype == np.uint8:
        return picture
    if np.issubdtype(picture.dtype, np.floating):
        return np.round(np.clip(picture, 0.0, 1.0) * 255).astype(np.uint8)
    raise ValueError(f"image must be uint8 (0-255) or float (0-1); got dtype {picture.dtype}")
