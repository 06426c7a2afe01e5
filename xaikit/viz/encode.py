"""Encode pictures to JPEG / PNG bytes and back, for widgets, files and tests.

Frames go to the browser as JPEG (about 1 ms and 25 KiB at 640x480); PNG is for pictures that
need an alpha channel or crisp line art (charts, figures).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from xaikit._arrays import to_numpy

FIGURE_FORMATS = ("png", "pdf", "svg", "jpeg")


def _uint8_picture(image) -> np.ndarray:
    picture = to_numpy(image)
    if picture.dtype != np.uint8 or picture.ndim not in (2, 3):
        raise ValueError(
            "image must be a uint8 array (H, W), (H, W, 3) or (H, W, 4); "
            f"got shape {picture.shape}, dtype {picture.dtype}"
        )
    if picture.ndim == 3 and picture.shape[2] not in (3, 4):
        raise ValueError(f"image must have 3 (RGB) or 4 (RGBA) channels; got {picture.shape}")
    return np.ascontiguousarray(picture)


def encode_jpeg(image, quality: int = 85) -> bytes:
    """Encode an RGB or grey picture as JPEG.

    Args:
        image: ``(H, W, 3)`` RGB or ``(H, W)`` grey ``uint8`` array.
        quality: JPEG quality, 1-95.

    Returns:
        The JPEG file as bytes (starts with ``b"\\xff\\xd8"``).

    Examples:
        >>> import numpy as np
        >>> data = encode_jpeg(np.full((8, 8, 3), 200, np.uint8))
        >>> data[:2], int(decode_image(data)[4, 4, 0])
        (b'\\xff\\xd8', 200)
    """
    picture = _uint8_picture(image)
    if picture.ndim == 3 and picture.shape[2] == 4:
        raise ValueError("JPEG has no alpha channel; encode RGBA pictures with encode_png")
    if not 1 <= int(quality) <= 95:
        raise ValueError(f"quality must lie in [1, 95]; got {quality}")
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="JPEG", quality=int(quality))
    return buffer.getvalue()


def encode_png(image, compress_level: int = 1) -> bytes:
    """Encode a grey, RGB or RGBA picture as PNG (lossless).

    Args:
        image: ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` ``uint8`` array.
        compress_level: zlib level 0-9; 1 is about twice as fast as the default 6.

    Returns:
        The PNG file as bytes.

    Examples:
        >>> import numpy as np
        >>> rgba = np.zeros((2, 3, 4), np.uint8); rgba[0, 1] = (1, 2, 3, 4)
        >>> decode_image(encode_png(rgba))[0, 1].tolist()
        [1, 2, 3, 4]
    """
    buffer = io.BytesIO()
    Image.fromarray(_uint8_picture(image)).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def decode_image(data: bytes) -> np.ndarray:
    """Decode JPEG or PNG bytes to a ``uint8`` array.

    Args:
        data: the bytes of a JPEG or PNG file (a ``memoryview`` works too).

    Returns:
        ``(H, W, 3)`` RGB, ``(H, W, 4)`` RGBA or ``(H, W)`` grey, as stored.

    Examples:
        >>> import numpy as np
        >>> decode_image(encode_png(np.eye(2, dtype=np.uint8) * 255)).tolist()
        [[255, 0], [0, 255]]
    """
    with Image.open(io.BytesIO(bytes(data))) as picture:
        if picture.mode not in ("L", "RGB", "RGBA"):
            picture = picture.convert("RGB")
        return np.asarray(picture).copy()


def figure_bytes(figure, format: str = "png", dpi: int = 100) -> bytes:
    """Render a matplotlib Figure to the bytes of a PNG, PDF, SVG or JPEG file.

    Args:
        figure: a ``matplotlib.figure.Figure`` (e.g. from :func:`xaikit.viz.figure_grid`).
        format: one of ``"png"``, ``"pdf"``, ``"svg"``, ``"jpeg"``.
        dpi: resolution of raster formats.

    Returns:
        The file's bytes.

    Examples:
        >>> import numpy as np
        >>> from xaikit.viz import figure_grid
        >>> figure_bytes(figure_grid([np.eye(4)]), "svg")[:5]
        b'<?xml'
    """
    if format not in FIGURE_FORMATS:
        raise ValueError(f"unknown figure format {format!r}; choose one of {FIGURE_FORMATS}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=format, dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()
