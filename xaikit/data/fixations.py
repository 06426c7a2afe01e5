"""Eye-tracking fixations: reading them, mapping them onto the image, and turning them into maps.

Fixation tables are pandas DataFrames with one row per fixation and at least the columns
``x``, ``y`` (pixels) and ``duration`` (milliseconds); ``subject``, ``image``, ``start``,
``end``, ``eye``, ``trial`` and ``onset`` (milliseconds since the image appeared) are optional.
Blur widths can be given in degrees of visual angle through a :class:`Screen`.

Pixel convention (used everywhere here): coordinates are continuous, pixel ``(row r, col c)``
covers ``c <= x < c + 1`` and ``r <= y < r + 1``, so a fixation falls in pixel
``(floor(y), floor(x))``. A fixation is inside an image of width W and height H when
``0 <= x < W`` and ``0 <= y < H``.
"""

from __future__ import annotations

import csv
import os
import warnings

import numpy as np
import pandas as pd

from xaikit._arrays import height_width
from xaikit.data._fixation_table import REQUIRED_COLUMNS, _drop_incomplete, _require_columns
from xaikit.data.errors import DataFileError, check_readable_file
from xaikit.data.eyelink import read_eyelink_asc
from xaikit.data.screen import Placement, Screen, screen_to_image

__all__ = [
    "Placement",
    "Screen",
    "display_to_image",
    "fixation_map",
    "fixation_mask",
    "gaussian_kernel",
    "read_eyelink_asc",
    "read_fixations",
    "write_fixations",
]

OPTIONAL_COLUMNS = ("subject", "image", "start", "end", "eye", "trial", "onset")


# ------------------------------------------------------------------------------ reading


def read_fixations(path: str | os.PathLike, **read_csv_options) -> pd.DataFrame:
    """Read a fixation table from a CSV file.

    Column names are matched case-insensitively and stripped of spaces; ``x``, ``y`` and
    ``duration`` are required, ``subject``, ``image``, ``start``, ``end``, ``eye``, ``trial``
    are kept when present, other columns are kept as they are. Rows whose ``x``, ``y`` or
    ``duration`` is empty (e.g. track loss) or not finite (``inf``) are dropped with a
    warning that counts them. A row with more fields than the header is an error (pandas
    would otherwise shift the columns).

    Args:
        path: The CSV file.
        **read_csv_options: Passed to :func:`pandas.read_csv` (e.g. ``sep=";"``).

    Returns:
        DataFrame with float columns ``x``, ``y``, ``duration`` and any other columns.

    Raises:
        DataFileError: the file is missing, empty, not parseable as CSV, has a row with more
            fields than the header (the line number is given), lacks a required column, or
            holds a non-numeric value in a required column.

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "fix.csv"
        >>> _ = path.write_text("X,Y,Duration,subject\\n10,20,250,s1\\n30.5,40,100,s2\\n")
        >>> read_fixations(path)
              x     y  duration subject
        0  10.0  20.0     250.0      s1
        1  30.5  40.0     100.0      s2
    """
    check_readable_file(path)
    _check_field_counts(path, read_csv_options)
    try:
        table = pd.read_csv(path, **read_csv_options)
    except Exception as error:  # pandas raises several parser error types
        raise DataFileError(path, f"cannot be read as CSV ({error})") from error
    table = table.rename(columns=lambda name: str(name).strip().lower())
    missing = [name for name in REQUIRED_COLUMNS if name not in table.columns]
    if missing:
        raise DataFileError(
            path,
            f"missing column(s) {missing}; a fixation table needs {list(REQUIRED_COLUMNS)} "
            f"(found {list(table.columns)})",
        )
    for name in REQUIRED_COLUMNS:
        numbers = pd.to_numeric(table[name], errors="coerce")
        bad = numbers.isna() & table[name].notna()
        if bad.any():
            rows = list(table.index[bad][:5])
            raise DataFileError(path, f"column {name!r} holds non-numbers in row(s) {rows}")
        table[name] = numbers.astype(float)
    return _drop_incomplete(table, str(path))


def write_fixations(path: str | os.PathLike, fixations: pd.DataFrame) -> None:
    """Write a fixation table to CSV (no index column), readable by :func:`read_fixations`.

    Raises:
        ValueError: the table lacks ``x``, ``y`` or ``duration``.

    Examples:
        >>> import tempfile, pathlib, pandas as pd
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.csv"
        >>> write_fixations(path, pd.DataFrame({"x": [1.5], "y": [2.0], "duration": [80.0]}))
        >>> path.read_text().splitlines()
        ['x,y,duration', '1.5,2.0,80.0']
    """
    _require_columns(fixations, REQUIRED_COLUMNS)
    fixations.to_csv(path, index=False)


def _check_field_counts(path, read_csv_options: dict) -> None:
    """Refuse a data row with more fields than the header, naming its line.

    Checked for the plain layouts (header on the first line, a one-character separator);
    other ``read_csv_options`` are left to pandas.
    """
    sep = read_csv_options.get("sep", read_csv_options.get("delimiter", ","))
    if set(read_csv_options) - {"sep", "delimiter", "encoding"} or len(str(sep)) != 1:
        return
    encoding = read_csv_options.get("encoding", "utf-8")
    with open(path, newline="", encoding=encoding, errors="replace") as handle:
        reader = csv.reader(handle, delimiter=str(sep))
        header = next(reader, [])
        for row in reader:
            if len(row) > len(header):
                raise DataFileError(
                    path,
                    f"line {reader.line_num} has {len(row)} fields but the header has "
                    f"{len(header)} ({header}); fix that row (a stray separator?)",
                )


# ------------------------------------------------------------------------------ geometry


def display_to_image(
    fixations: pd.DataFrame,
    image_shape: tuple[int, int],
    screen_shape: tuple[int, int],
    scale: float | None = None,
) -> pd.DataFrame:
    """Map fixations from screen coordinates to the coordinates of the original image.

    The image (``image_shape`` = (height, width) pixels) was shown scaled by ``scale`` and
    centred on a screen of ``screen_shape`` = (height, width), as in the humans-vs-CNN paper
    (PASCAL images shown at twice their size, centred on a 1920x1080 screen). With the pixel
    convention of this module, screen point ``X`` maps to ``x = (X - (Ws - s * w) / 2) / s``,
    and likewise for ``y``. Points off the displayed image map outside ``[0, w) x [0, h)``;
    :func:`fixation_map` and :func:`fixation_mask` drop them.

    Args:
        fixations: Table with columns ``x`` and ``y`` in screen pixels.
        image_shape: ``(height, width)`` of the original image, or the image itself.
        screen_shape: ``(height, width)`` of the screen.
        scale: Display scale factor; ``None`` picks the largest that fits the screen.

    Returns:
        A copy of ``fixations`` with ``x``, ``y`` in image pixels.

    Raises:
        ValueError: a shape or the scale is not positive, or ``x``/``y`` columns are missing.

    Examples:
        >>> import pandas as pd
        >>> screen = pd.DataFrame({"x": [960.0, 460.0], "y": [540.0, 165.0], "duration": 1.0})
        >>> display_to_image(screen, (375, 500), (1080, 1920), scale=2)[["x", "y"]]
               x      y
        0  250.0  187.5
        1    0.0    0.0
    """
    height, width = height_width(image_shape, "image_shape")
    screen_height, screen_width = height_width(screen_shape, "screen_shape", image=False)
    if scale is None:
        scale = min(screen_width / width, screen_height / height)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale must be a positive number; got {scale!r}")
    left, top = (screen_width - scale * width) / 2, (screen_height - scale * height) / 2
    return screen_to_image(fixations, left, top, scale)


# ------------------------------------------------------------------------------ maps


def fixation_map(
    fixations,
    shape,
    sigma: float | None = None,
    kernel: int | None = None,
    *,
    sigma_deg: float | None = None,
    screen: Screen | Placement | float | None = None,
    renormalize: bool = False,
) -> np.ndarray:
    """Duration-weighted human fixation map, built as in the humans-vs-CNN paper.

    Steps (Ebrahimpour et al., "Do humans look where deep CNNs attend?"):

    1. A zero (H, W) map; each fixation adds its duration to pixel ``(floor(y), floor(x))``,
       so repeated fixations on a pixel sum. Fixations outside the image are dropped and
       counted in a warning.
    2. The map is divided by its maximum, so it lies in [0, 1].
    3. It is filtered with a ``kernel`` x ``kernel`` Gaussian of standard deviation ``sigma``
       the way MATLAB's ``imfilter(map, fspecial('gaussian', kernel, sigma))`` does it:

       * the kernel is sampled at offsets ``-(kernel-1)/2 ... (kernel-1)/2`` (so it is cut off
         at about ``kernel / 2`` pixels, +-2 sigma for the defaults, and not at 4 sigma as
         ``scipy.ndimage.gaussian_filter`` does) and normalised to sum 1;
       * correlation with zeros outside the image (mass near a border leaks out);
       * for an even ``kernel`` the anchor is element ``kernel // 2 - 1`` (0-based, MATLAB's
         ``floor((kernel + 1) / 2)``), so an isolated fixation peaks on the two pixels
         ``floor(x) - 1`` and ``floor(x)`` (half a pixel up-left of its pixel centre).

    4. Not re-normalised by default (the paper does not, so the maximum is below 1);
       ``renormalize=True`` divides by the maximum once more so the map peaks at exactly 1.

    Args:
        fixations: A DataFrame with ``x``, ``y``, ``duration`` columns (image pixels, ms),
            or an (N, 3) array of ``x, y, duration``, or an (N, 2) array of ``x, y``
            (each fixation then weighs 1, as it does when the ``duration`` column is all NaN:
            a dataset that keeps no durations, such as CAT2000's pooled locations).
        shape: ``(height, width)`` of the image (numpy's order, ``image.shape[:2]``), or the
            image itself as an (H, W) or (H, W, C) array.
        sigma: Gaussian standard deviation in pixels (> 0); 20 when neither it nor
            ``sigma_deg`` is given (the paper's value).
        kernel: Side of the square kernel in pixels (>= 1); by default ``round(4 * sigma)``
            (the paper's 80 for sigma 20), so the kernel reaches +-2 sigma.
        sigma_deg: Standard deviation in degrees of visual angle instead (the MIT benchmark
            blurs by 1); needs ``screen``.
        screen: What turns degrees into image pixels: a :class:`~xaikit.data.screen.Placement`
            (the image as shown, scale included), a :class:`~xaikit.data.screen.Screen` (the
            image shown at scale 1), or a number of image pixels per degree.
        renormalize: Divide by the maximum after the blur as well.

    Returns:
        (H, W) float64 map in [0, 1]. All zeros when no fixation falls inside the image or
        all durations are zero (a warning says so).

    Raises:
        ValueError: bad ``shape``, ``sigma`` or ``kernel``, negative, NaN or infinite
            durations, or NaN coordinates (infinite ones lie outside the image: dropped).

    Examples:
        One fixation, a 4x4 kernel with sigma 1 (1-D weights 0.1345, 0.3655, 0.3655, 0.1345):

        >>> import numpy as np
        >>> m = fixation_map(np.array([[2.5, 2.5, 300.0]]), (5, 5), sigma=1, kernel=4)
        >>> np.round(m[2], 4)
        array([0.0492, 0.1336, 0.1336, 0.0492, 0.    ])
        >>> float(fixation_map(np.array([[2.5, 2.5, 300.0]]), (5, 5), 1, 4, renormalize=True).max())
        1.0

        One degree on a 1024-pixel-wide, 40 cm screen seen from 57 cm (25.468 pixels per degree),
        so sigma 25.468 pixels and a round(4 * 25.468) = 102-pixel kernel:

        >>> from xaikit.data.screen import Screen
        >>> screen = Screen(1024, 768, width_cm=40.0, distance_cm=57.0)
        >>> gaze = np.array([[400.0, 300.0, 250.0]])
        >>> one = fixation_map(gaze, (768, 1024), sigma_deg=1, screen=screen)
        >>> bool(np.allclose(one, fixation_map(gaze, (768, 1024), 25.4685, 102)))
        True
    """
    sigma = _sigma_pixels(sigma, sigma_deg, screen)
    if kernel is None:
        kernel = max(1, round(4 * sigma))
    _check_blur(sigma, kernel)
    height, width = height_width(shape)
    rows, columns, weights = _pixels(fixations, height, width, weighted=True)
    counts = np.zeros((height, width), np.float64)
    np.add.at(counts, (rows, columns), weights)
    peak = counts.max(initial=0.0)
    if peak <= 0:
        warnings.warn(
            "no fixation with a positive duration lies inside the image: the map is all zeros",
            stacklevel=2,
        )
        return counts
    blurred = _imfilter_gaussian(counts / peak, sigma, kernel)
    if renormalize:
        blurred /= blurred.max()
    return blurred


def fixation_mask(fixations, shape) -> np.ndarray:
    """Binary fixation map: True at every pixel holding at least one fixation.

    The ground truth AUC-Judd and NSS read (repeated fixations on a pixel collapse to one).
    Same inputs, pixel convention and out-of-image rule as :func:`fixation_map`.

    Returns:
        (H, W) bool array.

    Examples:
        >>> import numpy as np
        >>> fixation_mask(np.array([[0.2, 1.9], [0.7, 1.1], [2.0, 0.0]]), (2, 3)).astype(int)
        array([[0, 0, 1],
               [1, 0, 0]])
    """
    height, width = height_width(shape)
    rows, columns, _ = _pixels(fixations, height, width, weighted=False)
    mask = np.zeros((height, width), bool)
    mask[rows, columns] = True
    return mask


def gaussian_kernel(sigma: float = 20, kernel: int = 80) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', [kernel kernel], sigma)``: a (kernel, kernel) float64 array.

    Sampled at offsets ``-(kernel-1)/2 ... (kernel-1)/2``; values below ``eps * max`` are set to
    zero; normalised to sum 1.

    Examples:
        >>> np.round(gaussian_kernel(1, 4)[0], 4)
        array([0.0181, 0.0492, 0.0492, 0.0181])
    """
    _check_blur(sigma, kernel)
    offsets = np.arange(kernel) - (kernel - 1) / 2
    values = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma**2))
    values[values < np.finfo(float).eps * values.max()] = 0
    return values / values.sum()


def _sigma_pixels(sigma, sigma_deg, screen) -> float:
    """The blur's standard deviation in image pixels, from pixels or degrees."""
    if sigma_deg is None:
        if screen is not None:
            raise ValueError("screen= converts sigma_deg; pass sigma_deg= too (or drop screen=)")
        return 20 if sigma is None else sigma
    if sigma is not None:
        raise ValueError(f"pass sigma (pixels) or sigma_deg (degrees), not both; got {sigma!r}")
    if screen is None:
        raise ValueError(
            "sigma_deg needs screen=: a Screen, a Placement (screen.place(image_shape, scale)) "
            "or the image's pixels per degree"
        )
    per_degree = getattr(screen, "pixels_per_degree", screen)
    if not isinstance(per_degree, (int, float, np.number)) or not np.isfinite(per_degree):
        raise TypeError(
            f"screen must be a Screen, a Placement or a number of pixels per degree; got {screen!r}"
        )
    if not isinstance(sigma_deg, (int, float, np.number)) or not sigma_deg > 0:
        raise ValueError(f"sigma_deg must be a positive number of degrees; got {sigma_deg!r}")
    return float(sigma_deg) * float(per_degree)


def _check_blur(sigma, kernel) -> None:
    if not isinstance(sigma, (int, float, np.number)) or not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive number of pixels; got {sigma!r}")
    if not isinstance(kernel, (int, np.integer)) or kernel < 1:
        raise ValueError(f"kernel must be an int >= 1 (the side in pixels); got {kernel!r}")


def _imfilter_gaussian(image: np.ndarray, sigma: float, kernel: int) -> np.ndarray:
    from scipy import ndimage

    # MATLAB anchors an even kernel at element kernel // 2 - 1; scipy's default anchor is
    # kernel // 2, so shift it by origin = -1 (no shift for odd kernels).
    origin = -1 if kernel % 2 == 0 else 0
    offsets = np.arange(kernel) - (kernel - 1) / 2
    if offsets[-1] <= 6 * sigma:
        # No kernel value falls below eps * max, so the kernel is the outer product of this
        # 1-D Gaussian and two 1-D passes give the same result 40x faster for 80x80.
        weights = np.exp(-(offsets**2) / (2 * sigma**2))
        weights /= weights.sum()
        rows = ndimage.correlate1d(image, weights, axis=0, mode="constant", origin=origin)
        return ndimage.correlate1d(rows, weights, axis=1, mode="constant", origin=origin)
    weights = gaussian_kernel(sigma, kernel)
    return ndimage.correlate(image, weights, mode="constant", cval=0.0, origin=origin)


def _pixels(fixations, height: int, width: int, weighted: bool):
    x, y, duration = _fixation_arrays(fixations, weighted)
    if np.isnan(x).any() or np.isnan(y).any():
        raise ValueError("fixation coordinates contain NaN; drop those rows first")
    if weighted and not (np.isfinite(duration).all() and (duration >= 0).all()):
        bad = int(np.count_nonzero(~(np.isfinite(duration) & (duration >= 0))))
        raise ValueError(
            f"fixation durations must be finite non-negative numbers; {bad} of {len(duration)} "
            "are negative, NaN or infinite (read_fixations drops NaN and infinite ones)"
        )
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height)
    outside = int(np.count_nonzero(~inside))
    if outside:
        warnings.warn(
            f"dropped {outside} of {len(x)} fixation(s) outside the image of (height, width) "
            f"{(height, width)}",
            stacklevel=3,
        )
    rows = np.floor(y[inside]).astype(np.intp)
    columns = np.floor(x[inside]).astype(np.intp)
    return rows, columns, duration[inside]


def _fixation_arrays(fixations, weighted: bool):
    if isinstance(fixations, pd.DataFrame):
        _require_columns(fixations, ("x", "y", "duration") if weighted else ("x", "y"))
        x = fixations["x"].to_numpy(float)
        y = fixations["y"].to_numpy(float)
        duration = fixations["duration"].to_numpy(float) if weighted else np.ones(len(x))
        if len(duration) and np.isnan(duration).all():  # a dataset that keeps no durations
            duration = np.ones(len(x))
        return x, y, duration
    array = np.asarray(fixations, dtype=float)
    if array.ndim != 2 or array.shape[1] not in (2, 3):
        raise ValueError(
            "fixations must be a DataFrame with x, y, duration columns or an (N, 2) / (N, 3) "
            f"array of x, y[, duration]; got an array of shape {array.shape}"
        )
    duration = array[:, 2] if array.shape[1] == 3 and weighted else np.ones(len(array))
    return array[:, 0], array[:, 1], duration
