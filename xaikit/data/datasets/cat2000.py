"""CAT2000 (Borji & Itti 2015) training set in its own layout."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from xaikit.data.datasets._dataset import FixationDataset
from xaikit.data.datasets._files import image_files, read_mat, skip_missing
from xaikit.data.errors import DataFileError
from xaikit.data.screen import Screen

#: Borji & Itti's setup as they report it: 1920 x 1080 images shown full screen on a 42-inch
#: 16:9 display (93.0 cm wide) seen from 106 cm: about 38 pixels per degree.
SCREEN = Screen(width_px=1920, height_px=1080, width_cm=93.0, distance_cm=106.0)

#: The observers of CAT2000's ``FIXATIONLOCS`` are pooled: one subject label for all.
POOLED = "pooled"


def cat2000(root: str | os.PathLike) -> FixationDataset:
    """Read CAT2000's ``trainSet``: ``Stimuli/<category>/*.jpg`` and ``FIXATIONLOCS/...``.

    ``root`` is the ``trainSet`` folder. ``FIXATIONLOCS/<category>/<image>.mat`` holds
    ``fixLocs``, an image-sized binary map of the pixels fixated by any observer: the per-
    observer scanpaths (``allFixData.mat``) are a MATLAB ``containers.Map``, which only MATLAB
    reads (pysaliency runs MATLAB / Octave for it; its CAT2000 converts with
    :func:`from_pysaliency`). So each fixated pixel ``(r, c)`` becomes one row at its centre,
    ``x = c + 0.5``, ``y = r + 0.5``, with ``subject`` :data:`POOLED` and ``duration`` and
    ``onset`` NaN (unknown): maps built from it weigh every fixated pixel alike, and the
    leave-one-subject-out ceiling is not defined. Image names are ``"<category>/<file>"``.

    Raises:
        DataFileError: ``Stimuli`` or ``FIXATIONLOCS`` is missing, or a ``.mat`` holds no
            ``fixLocs`` of its image's size.
    """
    root = Path(root)
    stimuli = image_files(root / "Stimuli", recursive=True)
    locations = root / "FIXATIONLOCS"
    if not locations.is_dir():
        raise DataFileError(locations, "CAT2000's fixation locations folder does not exist")
    mats = {
        path.relative_to(locations).with_suffix("").as_posix(): path
        for path in sorted(locations.glob("**/*.mat"))
    }
    by_stem = {str(Path(name).with_suffix("")): name for name in stimuli}
    tables, shapes = [], {}
    for stem, mat in mats.items():
        contents = read_mat(mat)
        if "fixLocs" not in contents:
            raise DataFileError(mat, f"holds no fixLocs (has {sorted(contents)})")
        fixated = np.asarray(contents["fixLocs"])
        rows, columns = np.nonzero(fixated)
        image = by_stem.get(stem, f"{stem}.jpg")
        shapes[image] = (mat, fixated.shape)
        tables.append(
            pd.DataFrame({"subject": POOLED, "image": image, "x": columns + 0.5, "y": rows + 0.5})
        )
    if not tables:
        raise DataFileError(locations, "holds no .mat file")
    table = pd.concat(tables, ignore_index=True)
    kept = skip_missing(list(dict.fromkeys(table["image"])), stimuli, "CAT2000", root / "Stimuli")
    dataset = FixationDataset(
        "CAT2000",
        {name: stimuli[name] for name in kept},
        table[table["image"].isin(kept)],
        root=root,
        pixels_per_degree=SCREEN.pixels_per_degree,
        sigma=SCREEN.pixels_per_degree,
    )
    for name in dataset.images:
        mat, shape = shapes[name]
        if shape != dataset.shape(name):
            raise DataFileError(
                mat, f"fixLocs is {shape} but image {name} is {dataset.shape(name)}"
            )
    return dataset
