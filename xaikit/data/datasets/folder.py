"""The generic layout: a folder of images and one fixation table (CSV, or a DataFrame)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from xaikit.data.datasets._dataset import FixationDataset
from xaikit.data.datasets._files import image_files, skip_missing


def folder(
    root: str | os.PathLike,
    table: str | os.PathLike | pd.DataFrame,
    *,
    name: str | None = None,
    pixels_per_degree: float | None = None,
    sigma: float = 20.0,
    recursive: bool = False,
) -> FixationDataset:
    """Images in ``root`` and their fixations in ``table`` (SALICON-style or your own study).

    Args:
        root: The image folder (``recursive=True`` takes sub-folders too; names are then
            relative paths such as ``"Action/001.jpg"``).
        table: A CSV file (read by :func:`xaikit.data.fixations.read_fixations`: columns
            matched case-insensitively) or a DataFrame with ``subject``, ``image`` (file name
            as in ``root``), ``x``, ``y`` (xaikit pixels: pixel ``(r, c)`` covers
            ``c <= x < c + 1``; subtract 0.5 from MATLAB's 1-based values) and optional
            ``duration`` (ms), ``onset`` (ms).
        name: The dataset's name (default: the folder's).
        pixels_per_degree: Image pixels per degree of visual angle, if known.
        sigma: The blur, in pixels, of this dataset's fixation maps.

    Returns:
        A :class:`FixationDataset`. Images named in the table but missing from ``root`` are
        skipped with a warning that counts them.

    Examples:
        >>> import tempfile, pathlib, numpy as np, pandas as pd
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(root / "a.png")
        >>> table = pd.DataFrame({"subject": ["s1"], "image": ["a.png"], "x": [3.0], "y": [4.0],
        ...                       "duration": [250.0]})
        >>> folder(root, table)
        <FixationDataset ...: 1 images, 1 observers, 1 fixations>
    """
    from xaikit.data.fixations import read_fixations

    root = Path(root)
    images = image_files(root, recursive=recursive)
    fixations = table.copy() if isinstance(table, pd.DataFrame) else read_fixations(table)
    label = name or root.name
    if "image" in fixations:
        fixations["image"] = fixations["image"].astype(str)
        kept = skip_missing(list(dict.fromkeys(fixations["image"])), images, label, root)
        fixations = fixations[fixations["image"].isin(kept)]
        images = {image: images[image] for image in kept}
    return FixationDataset(
        label, images, fixations, root=root, pixels_per_degree=pixels_per_degree, sigma=sigma
    )
