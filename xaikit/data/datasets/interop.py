"""Both ways between a :class:`FixationDataset` and pysaliency's ``Stimuli`` / ``FixationTrains``.

pysaliency (optional: ``pip install pysaliency``) uses the same continuous pixel coordinates
as xaikit (pixel ``(r, c)`` covers ``c <= x < c + 1``: its ``x_int`` is ``floor(x)``), so
``x`` and ``y`` pass unchanged. Times differ in unit: pysaliency keeps ``t`` and ``duration``
in seconds, xaikit ``onset`` and ``duration`` in milliseconds. Subjects are integers there:
:func:`to_pysaliency` numbers them by their position in :attr:`FixationDataset.subjects`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xaikit.data.datasets._dataset import FixationDataset


def _pysaliency():
    try:
        import pysaliency
    except ImportError as error:  # an optional dependency
        raise ImportError(
            "pysaliency is needed to convert to and from its datasets: pip install pysaliency"
        ) from error
    return pysaliency


def to_pysaliency(dataset: FixationDataset):
    """``(stimuli, fixation_trains)`` of ``dataset`` for pysaliency's models and metrics.

    One fixation train per observer and image, in time order (``t`` is ``onset`` in s, or the
    fixation's position in its scanpath where onsets are unknown); ``duration`` in s.
    Stimuli are ``FileStimuli`` when every image is a file, else in-memory ``Stimuli``.

    Examples:
        >>> import numpy as np, pandas as pd
        >>> table = pd.DataFrame({"subject": ["b", "a"], "image": ["i", "i"], "x": [1.5, 2.0],
        ...                       "y": [0.5, 1.0], "duration": [200.0, 100.0]})
        >>> toy = FixationDataset("toy", {"i": np.zeros((4, 4, 3), np.uint8)}, table)
        >>> stimuli, fixations = to_pysaliency(toy)
        >>> fixations.subjects.tolist(), fixations.duration.tolist()
        ([0, 1], [0.1, 0.2])
    """
    pysaliency = _pysaliency()
    paths = [dataset.path(name) for name in dataset.images]
    if all(path is not None for path in paths):
        stimuli = pysaliency.FileStimuli([str(path) for path in paths])
    else:
        stimuli = pysaliency.Stimuli([dataset.image(name) for name in dataset.images])
    index = {name: position for position, name in enumerate(dataset.images)}
    subjects = {subject: position for position, subject in enumerate(dataset.subjects)}
    trains = {"xs": [], "ys": [], "ts": [], "ns": [], "subjects": [], "durations": []}
    for (image, subject), rows in dataset.fixations.groupby(["image", "subject"], sort=False):
        onsets = rows["onset"].to_numpy()
        times = onsets / 1000.0 if np.isfinite(onsets).all() else np.arange(len(rows), dtype=float)
        trains["xs"].append(rows["x"].to_numpy())
        trains["ys"].append(rows["y"].to_numpy())
        trains["ts"].append(times)
        trains["ns"].append(index[image])
        trains["subjects"].append(subjects[subject])
        trains["durations"].append(rows["duration"].to_numpy() / 1000.0)
    fixations = pysaliency.FixationTrains.from_fixation_trains(
        trains["xs"],
        trains["ys"],
        trains["ts"],
        trains["ns"],
        trains["subjects"],
        scanpath_fixation_attributes={"durations": trains["durations"]},
        scanpath_attribute_mapping={"durations": "duration"},
    )
    return stimuli, fixations


def from_pysaliency(
    stimuli,
    fixations,
    *,
    name: str = "pysaliency",
    names=None,
    pixels_per_degree: float | None = None,
    sigma: float = 20.0,
) -> FixationDataset:
    """A :class:`FixationDataset` from pysaliency's ``Stimuli`` and ``Fixations`` (or trains).

    Args:
        stimuli: ``FileStimuli`` (images stay files) or ``Stimuli`` (arrays).
        fixations: ``Fixations`` or ``FixationTrains``; its ``n`` indexes ``stimuli``.
        name: The dataset's name.
        names: Image names (default: the files' names, or ``"stimulus_0000"`` ...).
        pixels_per_degree, sigma: As in :class:`FixationDataset`.

    Returns:
        The dataset; ``onset`` is ``t`` in ms for ``FixationTrains`` (NaN for plain
        ``Fixations``, whose ``t`` counts within a scanpath), ``duration`` in ms where
        pysaliency has one, else NaN.
    """
    pysaliency = _pysaliency()
    filenames = getattr(stimuli, "filenames", None)
    if names is None:
        if filenames is not None:
            names = [str(path).replace("\\", "/").rsplit("/", 1)[-1] for path in filenames]
        else:
            names = [f"stimulus_{index:04d}" for index in range(len(stimuli))]
    names = list(names)
    if len(set(names)) != len(names):
        raise ValueError("image names must be unique; pass names= (e.g. relative paths)")
    sources = (
        dict(zip(names, filenames, strict=True))
        if filenames is not None
        else {label: np.asarray(stimuli.stimuli[index]) for index, label in enumerate(names)}
    )
    n = np.asarray(fixations.n, int)
    trains = isinstance(fixations, pysaliency.FixationTrains)
    duration = getattr(fixations, "duration", None)
    table = pd.DataFrame(
        {
            "subject": np.asarray(fixations.subjects),
            "image": np.asarray(names, dtype=object)[n],
            "x": np.asarray(fixations.x, float),
            "y": np.asarray(fixations.y, float),
            "duration": np.nan if duration is None else np.asarray(duration, float) * 1000.0,
            "onset": np.asarray(fixations.t, float) * 1000.0 if trains else np.nan,
        }
    )
    return FixationDataset(name, sources, table, pixels_per_degree=pixels_per_degree, sigma=sigma)
