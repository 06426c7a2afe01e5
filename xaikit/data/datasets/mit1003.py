"""MIT1003 (Judd et al., "Learning to predict where humans look", ICCV 2009) in its own layout."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from xaikit.data.datasets._dataset import FixationDataset
from xaikit.data.datasets._files import image_files, read_mat, skip_missing
from xaikit.data.errors import DataFileError
from xaikit.data.screen import Screen

#: The eye tracker's sampling rate (ETL 400 ISCAN, 240 Hz).
SAMPLE_RATE_HZ = 240.0

#: Judd et al.'s setup: a 19-inch 5:4 screen (37.7 cm wide) at 1280 x 1024, seen from about
#: two feet (61 cm); images were shown at their own size, so this is per image pixel too.
SCREEN = Screen(width_px=1280, height_px=1024, width_cm=19 * 2.54 * 5 / 41**0.5, distance_cm=61.0)


def mit1003(
    root: str | os.PathLike,
    *,
    initial_fixation: bool = False,
    dispersion_deg: float = 1.0,
    min_duration_ms: float = 100.0,
) -> FixationDataset:
    """Read a local copy of MIT1003: ``ALLSTIMULI/*.jpeg`` and ``DATA/<subject>/<image>.mat``.

    Each ``DATA/<subject>/<stem>.mat`` holds a variable named after the image (cut to
    MATLAB's 63 characters) whose ``DATA(1).eyeData`` is the raw gaze, one row per 240 Hz
    sample, ``x, y`` in MATLAB's 1-based image pixels (negative or NaN while the eye is lost).

    Fixations are found by dispersion (I-DT, Salvucci & Goldberg 2000): a run of valid samples
    at least ``min_duration_ms`` long whose ``(max x - min x) + (max y - min y)`` stays within
    ``dispersion_deg`` degrees (36.2 pixels per degree on Judd's screen), grown while it does;
    its position is the median sample, as Judd's ``checkFixations`` reports (``medianXY``).
    This is xaikit's own detector, not Judd's code (which is not part of the dataset), so
    counts differ slightly from published ones; pysaliency's MIT1003 (which runs Judd's code
    in MATLAB / Octave) converts exactly with :func:`from_pysaliency`.

    Conversions: ``x = x_matlab - 0.5`` (see :func:`osie`); ``onset`` and ``duration`` in ms
    from the sample indices (``n / 240 s``); ``subject`` is the ``DATA`` sub-folder name. As
    in Judd et al. and pysaliency, each scanpath's first fixation (on the central cross) is
    dropped unless ``initial_fixation=True``; fixations off the image are dropped.

    Raises:
        DataFileError: ``ALLSTIMULI`` or ``DATA`` is missing, or a ``.mat`` is not this layout.
    """
    root = Path(root)
    stimuli = image_files(root / "ALLSTIMULI")
    data = root / "DATA"
    if not data.is_dir():
        raise DataFileError(data, "MIT1003's eye data folder does not exist")
    subjects = sorted(path for path in data.iterdir() if path.is_dir())
    if not subjects:
        raise DataFileError(data, "holds no subject folder")
    per_degree = SCREEN.pixels_per_degree
    tables, empty, names = [], 0, list(stimuli)
    for subject in subjects:
        for image in names:
            mat = subject / f"{Path(image).stem}.mat"
            if not mat.is_file():
                continue
            samples = _eye_data(mat, Path(image).stem)
            found = detect_fixations(
                samples, SAMPLE_RATE_HZ, dispersion_deg * per_degree, min_duration_ms
            )
            found = found.iloc[0 if initial_fixation else 1 :]
            if found.empty:
                empty += 1
                continue
            tables.append(found.assign(subject=subject.name, image=image))
    if not tables:
        raise DataFileError(data, "holds no eye data for the images in ALLSTIMULI")
    table = pd.concat(tables, ignore_index=True)
    table["x"] -= 0.5
    table["y"] -= 0.5
    dataset_names = list(dict.fromkeys(table["image"]))
    kept = skip_missing(dataset_names, stimuli, "MIT1003", root / "ALLSTIMULI")
    if empty:
        warnings.warn(
            f"MIT1003: {empty} subject-image recording(s) yield no fixation", stacklevel=2
        )
    dataset = FixationDataset(
        "MIT1003",
        {name: stimuli[name] for name in kept},
        table,
        root=root,
        pixels_per_degree=per_degree,
        sigma=per_degree,
    )
    return _drop_off_image(dataset)


def _eye_data(mat: Path, stem: str) -> np.ndarray:
    contents = read_mat(mat)
    variable = stem[:63]
    if variable not in contents:
        raise DataFileError(
            mat, f"is not MIT1003's layout: no variable {variable!r} (has {sorted(contents)})"
        )
    record = np.asarray(contents[variable]).ravel()
    try:
        trial = np.asarray(record[0]["DATA"]).ravel()[0]
        samples = np.asarray(trial["eyeData"])
        while samples.dtype == object and samples.size == 1:
            samples = np.asarray(samples.item())
        samples = samples.astype(float)
    except (ValueError, IndexError, KeyError, TypeError) as error:
        raise DataFileError(
            mat, f"is not MIT1003's layout: expected {variable}.DATA(1).eyeData ({error})"
        ) from error
    if samples.ndim != 2 or samples.shape[1] < 2:
        raise DataFileError(mat, f"eyeData should be (samples, 2+); got {samples.shape}")
    return samples[:, :2]


def detect_fixations(
    samples: np.ndarray, rate_hz: float, dispersion_px: float, min_duration_ms: float
) -> pd.DataFrame:
    """Fixations in raw gaze by dispersion threshold (I-DT); see :func:`mit1003`.

    Args:
        samples: (N, 2) gaze ``x, y`` per sample; negative or NaN = eye lost.
        rate_hz: Samples per second.
        dispersion_px: Largest ``(max x - min x) + (max y - min y)`` of a fixation.
        min_duration_ms: Shortest fixation.

    Returns:
        DataFrame with ``x``, ``y`` (median sample), ``onset`` (ms of the first sample,
        sample 0 at 0 ms) and ``duration`` (samples / rate, ms).

    Examples:
        >>> still = np.tile([[100.0, 50.0]], (30, 1)); moved = np.tile([[300.0, 80.0]], (30, 1))
        >>> detect_fixations(np.vstack([still, moved]), 240.0, 36.0, 100.0).values.tolist()
        [[100.0, 50.0, 0.0, 125.0], [300.0, 80.0, 125.0, 125.0]]
    """
    samples = np.asarray(samples, float)
    valid = np.isfinite(samples).all(axis=1) & (samples >= 0).all(axis=1)
    window = max(1, int(np.ceil(min_duration_ms * rate_hz / 1000.0)))
    rows, start, count = [], 0, len(samples)
    while start + window <= count:
        stop = start + window
        if not valid[start:stop].all() or _dispersion(samples[start:stop]) > dispersion_px:
            start += 1
            continue
        low, high = samples[start:stop].min(axis=0), samples[start:stop].max(axis=0)
        while stop < count and valid[stop]:  # grow, keeping the window's extent as it goes
            grown_low, grown_high = np.minimum(low, samples[stop]), np.maximum(high, samples[stop])
            if (grown_high - grown_low).sum() > dispersion_px:
                break
            low, high, stop = grown_low, grown_high, stop + 1
        x, y = np.median(samples[start:stop], axis=0)
        rows.append((x, y, start * 1000.0 / rate_hz, (stop - start) * 1000.0 / rate_hz))
        start = stop
    return pd.DataFrame(rows, columns=["x", "y", "onset", "duration"], dtype=float)


def _dispersion(window: np.ndarray) -> float:
    extent = window.max(axis=0) - window.min(axis=0)
    return float(extent[0] + extent[1])


def _drop_off_image(dataset: FixationDataset) -> FixationDataset:
    table = dataset.fixations
    keep = ~dataset.outside()
    if keep.all():
        return dataset
    warnings.warn(
        f"MIT1003: dropped {int((~keep).sum())} of {len(table)} fixations off their image",
        stacklevel=3,
    )
    dataset.fixations = table[keep].reset_index(drop=True)
    return dataset
