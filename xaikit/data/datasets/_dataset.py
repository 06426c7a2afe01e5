"""One public fixation dataset: its images, read lazily, and one tidy table of its fixations."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from xaikit._arrays import height_width
from xaikit.data.errors import DataFileError

#: The columns of :attr:`FixationDataset.fixations`, in this order.
COLUMNS = ("subject", "image", "x", "y", "duration", "onset")

#: Image files the readers take.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


class FixationDataset:
    """Images and the fixations human observers made on them, in xaikit's conventions.

    :attr:`fixations` is one tidy table, one row per fixation, with the columns
    :data:`COLUMNS`: ``subject``, ``image`` (the file name, as in :attr:`images`), ``x``, ``y``
    (pixels of the original image, continuous: pixel ``(r, c)`` covers ``c <= x < c + 1``,
    ``r <= y < r + 1``), ``duration`` (ms; NaN where the dataset keeps none) and ``onset``
    (ms since the image appeared; NaN where unknown). Rows are ordered by image, then
    subject, then time. Every function that takes a fixation table takes it (or
    :meth:`fixations_of`) directly: :func:`xaikit.data.fixation_map`,
    :func:`xaikit.study.human_references`, the widgets.

    Images are read only when asked for (:meth:`image`); :meth:`shape` reads the file header.

    Attributes:
        name: The dataset, e.g. ``"OSIE"``.
        root: The folder it was read from (``None`` for one built in memory).
        images: The image names with fixations, in the dataset's order.
        fixations: The table above.
        pixels_per_degree: Image pixels per degree of visual angle in the experiment, where
            the dataset documents its screen; else ``None``.
        sigma: The blur, in pixels of the original images, of the dataset's own fixation maps
            (one degree where the dataset works in degrees).

    Examples:
        >>> import numpy as np, pandas as pd
        >>> table = pd.DataFrame({"subject": [1, 2], "image": ["a.png", "a.png"],
        ...                       "x": [10.5, 30.0], "y": [5.5, 20.0], "duration": [200.0, 150.0]})
        >>> dataset = FixationDataset("toy", {"a.png": np.zeros((40, 60, 3), np.uint8)}, table)
        >>> len(dataset), dataset.shape("a.png"), dataset.fixations.columns.tolist()
        (1, (40, 60), ['subject', 'image', 'x', 'y', 'duration', 'onset'])
        >>> images, fixations = dataset.resized((20, 30))
        >>> images.shape, fixations[["x", "y"]].values.tolist()
        ((1, 20, 30, 3), [[5.25, 2.75], [15.0, 10.0]])
    """

    def __init__(
        self,
        name: str,
        images: Mapping[str, str | os.PathLike | np.ndarray],
        fixations: pd.DataFrame,
        *,
        root: str | os.PathLike | None = None,
        pixels_per_degree: float | None = None,
        sigma: float = 20.0,
    ):
        self.name = name
        self.root = None if root is None else Path(root)
        self.pixels_per_degree = pixels_per_degree
        self.sigma = float(sigma)
        self._sources = dict(images)
        self.fixations = _tidy(fixations, self._sources, name)
        present = set(self.fixations["image"])
        self.images = [image for image in self._sources if image in present]
        self._shapes: dict[str, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self.images)

    def __iter__(self) -> Iterator[str]:
        return iter(self.images)

    def __repr__(self) -> str:
        subjects = self.fixations["subject"].nunique()
        return (
            f"<FixationDataset {self.name}: {len(self)} images, {subjects} observers, "
            f"{len(self.fixations)} fixations>"
        )

    @property
    def subjects(self) -> list:
        """The observers, sorted."""
        return sorted(self.fixations["subject"].unique().tolist())

    def path(self, name: str) -> Path | None:
        """The file of image ``name`` (``None`` for an image held in memory)."""
        source = self._source(name)
        return None if isinstance(source, np.ndarray) else Path(source)

    def image(self, name: str) -> np.ndarray:
        """Image ``name`` as an (H, W, 3) uint8 RGB array (read from its file each time).

        Raises:
            DataFileError: the file cannot be decoded.
        """
        source = self._source(name)
        if isinstance(source, np.ndarray):
            return _as_rgb(source)
        with _opened(source) as picture:
            return np.asarray(picture.convert("RGB"))

    def shape(self, name: str) -> tuple[int, int]:
        """``(height, width)`` of image ``name`` (from the file header; cached)."""
        if name not in self._shapes:
            source = self._source(name)
            if isinstance(source, np.ndarray):
                self._shapes[name] = height_width(source)
            else:
                with _opened(source) as picture:
                    self._shapes[name] = (picture.height, picture.width)
        return self._shapes[name]

    def fixations_of(self, name: str) -> pd.DataFrame:
        """The rows of :attr:`fixations` on image ``name``."""
        self._source(name)
        return self.fixations[self.fixations["image"] == name].reset_index(drop=True)

    def resized(self, shape, names: Sequence[str] | None = None) -> tuple[np.ndarray, pd.DataFrame]:
        """The images stretched to one ``shape`` = (height, width), with their fixations.

        Every image is resized (area interpolation when shrinking) to ``shape``, aspect ratio
        not kept, and each fixation is scaled with its own image, ``x * width / image width``,
        ``y * height / image height``, so it stays on the same content (the pixel
        convention keeps a fixation at a pixel's far edge inside the image).

        Args:
            shape: ``(height, width)`` of the output.
            names: The images to take, in this order (default :attr:`images`).

        Returns:
            ``(images, fixations)``: an (N, H, W, 3) uint8 array and the rows of those images
            with ``x``, ``y`` in output pixels.
        """
        import cv2

        height, width = height_width(shape)
        names = list(self.images if names is None else names)
        stack = np.empty((len(names), height, width, 3), np.uint8)
        groups = dict(tuple(self.fixations.groupby("image", sort=False)))
        tables = []
        for index, name in enumerate(names):
            image = self.image(name)
            own_height, own_width = image.shape[:2]
            shrink = own_height > height or own_width > width
            method = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            stack[index] = cv2.resize(image, (width, height), interpolation=method)
            rows = groups.get(name, self.fixations.iloc[:0]).copy()
            rows["x"] = rows["x"] * (width / own_width)
            rows["y"] = rows["y"] * (height / own_height)
            tables.append(rows)
        fixations = pd.concat(tables, ignore_index=True) if tables else self.fixations.iloc[:0]
        return stack, fixations

    def check_sizes(self) -> int:
        """Warn, counting them, about fixations beyond their image; return that count.

        A dataset whose images were swapped for other sizes (a resized copy, the wrong
        folder) shows here: its fixations land off the image.
        """
        outside = int(self.outside().sum())
        if outside:
            warnings.warn(
                f"{self.name}: {outside} of {len(self.fixations)} fixations lie outside their "
                "image: are these the dataset's own images, at their own size?",
                stacklevel=2,
            )
        return outside

    def outside(self) -> np.ndarray:
        """``(len(fixations),)`` bool: whether each fixation lies off its image (``x`` outside
        ``[0, width)`` or ``y`` outside ``[0, height)``)."""
        off = np.zeros(len(self.fixations), bool)
        for name, rows in self.fixations.groupby("image", sort=False):
            height, width = self.shape(name)
            x, y = rows["x"].to_numpy(), rows["y"].to_numpy()
            off[rows.index] = (x < 0) | (x >= width) | (y < 0) | (y >= height)
        return off

    def _source(self, name: str):
        try:
            return self._sources[name]
        except KeyError:
            close = [image for image in self.images if str(name) in image][:5]
            raise KeyError(
                f"{self.name} has no image {name!r}"
                + (f"; did you mean {close}?" if close else f" (it has {len(self)} images)")
            ) from None


@contextlib.contextmanager
def _opened(path):
    """The image file ``path`` opened with PIL (its header read, its pixels not yet)."""
    from PIL import Image

    try:
        with Image.open(path) as picture:
            yield picture
    except OSError as error:  # PIL's UnidentifiedImageError and truncated files
        raise DataFileError(path, f"cannot be read as an image ({error})") from error


def _as_rgb(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"an image must be (H, W), (H, W, 3) or (H, W, 4); got {array.shape}")
    if array.dtype != np.uint8:
        raise ValueError(f"an in-memory image must be uint8; got {array.dtype}")
    return np.ascontiguousarray(array[..., :3])


def _tidy(fixations: pd.DataFrame, sources: Mapping, name: str) -> pd.DataFrame:
    """The table in :data:`COLUMNS` order; rows on images not in ``sources`` are refused."""
    missing = [column for column in ("subject", "image", "x", "y") if column not in fixations]
    if missing:
        raise ValueError(
            f"{name}: the fixation table lacks column(s) {missing}; has {list(fixations.columns)}"
        )
    table = fixations.copy()
    for column in ("duration", "onset"):
        if column not in table:
            table[column] = np.nan
    for column in ("x", "y", "duration", "onset"):
        table[column] = pd.to_numeric(table[column], errors="raise").astype(float)
    unknown = sorted(set(table["image"]) - set(sources))
    if unknown:
        raise ValueError(
            f"{name}: {len(unknown)} image name(s) in the fixations have no image, e.g. "
            f"{unknown[:3]}"
        )
    order = {image: index for index, image in enumerate(sources)}
    table["_order"] = table["image"].map(order)
    table = table.sort_values(["_order", "subject", "onset"], kind="stable", na_position="last")
    extra = [column for column in table.columns if column not in COLUMNS and column != "_order"]
    return table[[*COLUMNS, *extra]].reset_index(drop=True)
