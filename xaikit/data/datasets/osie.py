"""OSIE (Xu et al., "Predicting human gaze beyond pixels", J. Vision 2014) in its own layout."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from xaikit.data.datasets._dataset import FixationDataset
from xaikit.data.datasets._files import image_files, read_mat, skip_missing
from xaikit.data.errors import DataFileError

#: The blur of OSIE's own fixation maps: ``params.eye.radius = 24`` pixels in its config.m.
OSIE_SIGMA = 24.0


def osie(root: str | os.PathLike, *, pixels_per_degree: float | None = None) -> FixationDataset:
    """Read a local copy of OSIE: ``data/stimuli/*.jpg`` and ``data/eye/fixations.mat``.

    ``root`` is the dataset's repository folder (NUS-VIP/predicting-human-gaze-beyond-pixels)
    or anything holding ``data/stimuli`` and ``data/eye/fixations.mat``. The ``.mat`` holds,
    per image, ``img`` (the file name) and ``subjects{j}.fix_x / fix_y / fix_duration``.

    Conversions, stated once:

    * ``fix_x``, ``fix_y`` are MATLAB's 1-based pixel coordinates (pixel ``i`` centred on
      ``i``); xaikit's continuous coordinates are ``x = fix_x - 0.5``, ``y = fix_y - 0.5``.
      Then ``floor(x)`` is the 0-based pixel OSIE's own code fills (it rounds half away from
      zero and subtracts one), so maps built here match OSIE's.
    * ``subject`` is the observer's index ``j - 1`` (0 ... 14), as pysaliency numbers them;
      ``duration`` is ``fix_duration`` in ms; ``onset`` is NaN (the file keeps no times).

    Images listed in the ``.mat`` but missing from ``data/stimuli`` are skipped with one
    warning that counts them (a partial copy); observers without fixations on an image are
    counted in another.

    Args:
        root: The dataset folder.
        pixels_per_degree: Image pixels per degree of visual angle, if you know the setup;
            OSIE's files do not give it.

    Returns:
        A :class:`FixationDataset` named ``"OSIE"`` with :attr:`~FixationDataset.sigma` 24.

    Raises:
        DataFileError: a file is missing, or ``fixations.mat`` is not OSIE's layout.

    Examples:
        >>> dataset = osie("../shared/realdata/eyetracking/osie")  # doctest: +SKIP
        >>> dataset  # doctest: +SKIP
        <FixationDataset OSIE: 100 images, 15 observers, 13785 fixations>
    """
    root = Path(root)
    stimuli = image_files(root / "data" / "stimuli")
    mat = root / "data" / "eye" / "fixations.mat"
    records = _records(mat)
    columns: dict[str, list] = {"subject": [], "image": [], "x": [], "y": [], "duration": []}
    empty = 0
    for record in records:
        image = _text(record["img"], mat)
        for index, subject in enumerate(np.asarray(record["subjects"]).ravel()):
            subject = _struct(subject, mat, ("fix_x", "fix_y", "fix_duration"))
            x, y, duration = (
                np.asarray(subject[field], float).ravel()
                for field in ("fix_x", "fix_y", "fix_duration")
            )
            if not (len(x) == len(y) == len(duration)):
                raise DataFileError(
                    mat, f"{image}, observer {index}: fix_x, fix_y, fix_duration differ in length"
                )
            empty += not len(x)
            columns["subject"].append(np.full(len(x), index))
            columns["image"].append(np.full(len(x), image, dtype=object))
            columns["x"].append(x - 0.5)
            columns["y"].append(y - 0.5)
            columns["duration"].append(duration)
    table = pd.DataFrame({key: np.concatenate(parts) for key, parts in columns.items()})
    names = list(dict.fromkeys(table["image"]))
    kept = skip_missing(names, stimuli, "OSIE", root / "data" / "stimuli")
    table = table[table["image"].isin(kept)]
    if empty:
        warnings.warn(
            f"OSIE: {empty} observer-image pair(s) in {mat} hold no fixation", stacklevel=2
        )
    images = {name: stimuli[name] for name in kept}
    return FixationDataset(
        "OSIE", images, table, root=root, pixels_per_degree=pixels_per_degree, sigma=OSIE_SIGMA
    )


def _records(mat: Path) -> list:
    contents = read_mat(mat)
    if "fixations" not in contents:
        raise DataFileError(
            mat, f"is not OSIE's fixations.mat: no 'fixations' variable (has {sorted(contents)})"
        )
    return [_struct(record, mat, ("img", "subjects")) for record in contents["fixations"].ravel()]


def _struct(value, mat: Path, fields: tuple[str, ...]):
    """The MATLAB struct in ``value`` (scipy wraps each in a (1, 1) array), checked for fields."""
    value = np.asarray(value)
    while value.dtype == object and value.size == 1:
        value = np.asarray(value.item())
    names = value.dtype.names or ()
    if value.size != 1 or not set(fields) <= set(names):
        raise DataFileError(
            mat,
            f"is not OSIE's layout: expected a struct with fields {list(fields)}, found "
            f"{list(names) or value.dtype}",
        )
    return value.ravel()[0]


def _text(value, mat: Path) -> str:
    value = np.asarray(value).ravel()
    if value.size != 1 or not isinstance(value[0], str):
        raise DataFileError(mat, f"is not OSIE's layout: 'img' should be a file name; got {value}")
    return str(value[0])
