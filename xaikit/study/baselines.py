"""A floor and a ceiling for every human-fixation score table: a centre-bias map and the
agreement of the observers with one another.

A CNN's score against human fixations (:func:`~xaikit.study.fixation_scores`) means little on
its own: a map that only says "the middle of the photo" already scores well, because people
look at the centre (Tatler 2007), and no map can agree with one observer better than the other
observers do. :func:`baseline_scores` adds both reference rows to a table, in its format:

* ``"centre bias"`` (the floor): :func:`centre_bias_map`, the same map for every image, scored
  against the pooled human maps and fixated pixels exactly as the model rows are.
* ``"inter-observer (leave one subject out)"`` (the ceiling): per image, each subject's
  fixations predicted by the :func:`~xaikit.data.fixations.fixation_map` of all the other
  subjects (the inter-observer model of Judd et al. 2012's benchmark).

Pixel convention of :mod:`xaikit.data.fixations`: pixel ``(r, c)`` covers ``c <= x < c + 1``
and ``r <= y < r + 1``, so the image centre is ``(x, y) = (W / 2, H / 2)`` and pixel centres are
at ``c + 0.5``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from xaikit._arrays import height_width
from xaikit.study.references import human_references
from xaikit.study.scores import (
    HUMANS_VS_CNN_METRICS,
    SAMPLE_SCORE_COLUMNS,
    SCORE_COLUMNS,
    _finite_mean,
    fixation_scores,
)

__all__ = ["BASELINE_METHODS", "CENTRE_SIGMA_FRACTION", "baseline_scores", "centre_bias_map"]

#: The ``method`` of the reference rows of :func:`baseline_scores` (their ``layer`` is ``""``):
#: the floor, then the ceiling.
BASELINE_METHODS: tuple[str, str] = ("centre bias", "inter-observer (leave one subject out)")
#: The centre Gaussian's standard deviation as a fraction of each side (see
#: :func:`centre_bias_map`).
CENTRE_SIGMA_FRACTION = 0.25

#: The start of the warning :func:`~xaikit.data.fixations.fixation_map` gives for an empty map;
#: :func:`baseline_scores` counts those images in one warning instead.
_EMPTY_MAP_WARNING = "no fixation with a positive duration lies inside the image"


def centre_bias_map(shape, sigma_fraction: float = CENTRE_SIGMA_FRACTION) -> np.ndarray:
    """The centre baseline: a 2-D Gaussian at the image centre, stretched to its aspect ratio.

    Judd et al. (ICCV 2009, and the MIT benchmark, Judd, Durand & Torralba 2012) score a "center"
    model, a Gaussian blob at the centre stretched to fit the aspect ratio of the image, without
    giving its width. Here the standard deviation is the same fraction of each side, ``sigma_y =
    sigma_fraction * H`` and ``sigma_x = sigma_fraction * W`` (stretching a round Gaussian to the
    image), with ``sigma_fraction = 0.25`` by default, a quarter of each side: xaikit's choice, not
    a published constant (pass your own). The value of pixel ``(r, c)`` is the Gaussian at its
    centre ``(c + 0.5, r + 0.5)``, the mean at ``(W / 2, H / 2)``; the map is divided by its
    maximum.

    Args:
        shape: ``(height, width)`` of the image, or the image itself.
        sigma_fraction: standard deviation as a fraction of each side (> 0).

    Returns:
        ``(H, W)`` float64 in (0, 1], symmetric about both centre lines, 1 at the centre pixel(s).

    Raises:
        ValueError: a bad ``shape`` or a ``sigma_fraction`` that is not a positive number.

    Examples:
        With 3 pixels a side the centre pixel's centre is the image centre, and its neighbours
        lie 1 pixel = 1 / (0.25 * 3) sigma away, so they get exp(-(4 / 3)**2 / 2) = 0.4111:

        >>> centre_bias_map((3, 3)).round(4)
        array([[0.169 , 0.4111, 0.169 ],
               [0.4111, 1.    , 0.4111],
               [0.169 , 0.4111, 0.169 ]])
    """
    height, width = height_width(shape)
    try:
        fraction = float(sigma_fraction)
    except (TypeError, ValueError):
        fraction = np.nan
    if not (np.isfinite(fraction) and fraction > 0):
        raise ValueError(f"sigma_fraction must be a positive number; got {sigma_fraction!r}")
    y = (np.arange(height) + 0.5 - height / 2) / (fraction * height)
    x = (np.arange(width) + 0.5 - width / 2) / (fraction * width)
    gaussian = np.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2))
    return gaussian / gaussian.max()


def _leave_one_subject_out(rows: pd.DataFrame, shape, sigma, kernel):
    """``(predictions, references, masks)``, each ``(S, H, W)``, of an image's ``S`` subjects:
    the :func:`~xaikit.data.fixations.fixation_map` of the other subjects' fixations, the
    subject's own map and fixated pixels; ``None`` with fewer than two subjects."""
    from xaikit.data.fixations import fixation_map, fixation_mask

    subjects = rows["subject"].dropna().unique()
    if len(subjects) < 2:
        return None
    predictions, references, masks = [], [], []
    for subject in subjects:
        own = (rows["subject"] == subject).to_numpy()
        predictions.append(fixation_map(rows[~own], shape, sigma, kernel))
        references.append(fixation_map(rows[own], shape, sigma, kernel))
        masks.append(fixation_mask(rows[own], shape))
    return np.stack(predictions), np.stack(references), np.stack(masks)


def _rows(method: str, labels: pd.DataFrame, values: np.ndarray, per_sample: bool) -> list:
    """Tidy rows of ``values`` ``(len(labels), B)``: per sample, or their finite mean."""
    rows = []
    for (metric, threshold), line in zip(labels.itertuples(index=False), values, strict=True):
        if per_sample:
            rows += [(method, "", metric, threshold, sample, v) for sample, v in enumerate(line)]
        else:
            rows.append((method, "", metric, threshold, float(_finite_mean(line, axis=0))))
    return rows


def baseline_scores(
    fixations: pd.DataFrame,
    images: Sequence[str],
    shape,
    *,
    sigma: float | None = None,
    kernel: int | None = None,
    metrics: Sequence[str] | None = HUMANS_VS_CNN_METRICS,
    per_sample: bool = False,
) -> pd.DataFrame:
    """The floor and ceiling rows of a human-fixation table, in :func:`fixation_scores`' format.

    * :data:`BASELINE_METHODS` ``[0]``, ``"centre bias"``: :func:`centre_bias_map` for every
      image, scored by :func:`~xaikit.study.fixation_scores` against the pooled human maps
      and fixated pixels of :func:`~xaikit.study.human_references` (as the model rows are).
    * :data:`BASELINE_METHODS` ``[1]``, ``"inter-observer (leave one subject out)"``: for each
      image and each subject ``s`` with fixations on it, the prediction is the
      :func:`~xaikit.data.fixations.fixation_map` of all the other subjects' fixations on it
      (same ``sigma`` and ``kernel``), scored against ``s``'s own fixation map (density
      metrics: MAE, CC, SIM) and ``s``'s fixated pixels (NSS, AUC-Judd) by
      :func:`fixation_scores`; the image's score is the mean over its held-out subjects with a
      finite score. Note that each held-out map is built from one subject's fixations (and the
      prediction from the other ``S - 1``), so the ceiling is that of ``S - 1`` observers
      predicting one, not of the pooled map.

    As in :func:`fixation_scores`, the value is the mean over the images, an image without a
    score (NaN: no fixation, a constant map, fewer than two subjects) left out.

    Args:
        fixations: tidy fixation table, one row per fixation, with columns ``subject``,
            ``image``, ``x``, ``y`` (image pixels, the convention of
            :mod:`xaikit.data.fixations`) and ``duration`` (ms).
        images: image names in the order of the maps (``sample`` = position here).
        shape: ``(height, width)`` of every image.
        sigma, kernel: the Gaussian of :func:`~xaikit.data.fixations.fixation_map` (``None``:
            its defaults, sigma 20 and kernel ``round(4 * sigma)``); pass the values the human
            maps of the table were made with.
        metrics: registered names (default :data:`~xaikit.study.HUMANS_VS_CNN_METRICS`), each
            with a value per image; ``None`` = every metric the references allow.
        per_sample: one row per image (``sample`` column, :data:`SAMPLE_SCORE_COLUMNS`) instead
            of the mean over the images.

    Returns:
        DataFrame with :data:`SCORE_COLUMNS` (or :data:`SAMPLE_SCORE_COLUMNS`), layer ``""``:
        first the centre-bias rows, then the inter-observer rows, each in ``metrics`` order
        (then sample order): ``pd.concat([fixation_scores(...), baseline_scores(...)])`` is a
        table with its floor and ceiling.

    Raises:
        ValueError: no ``subject`` column, another required column missing, no images, or an
            unknown metric.

    Warns:
        UserWarning: once, counting the images without a fixation inside them (all-zero human
        map: NaN scores, left out of the means); once, counting the images with a single
        subject (no inter-observer score: NaN).

    Examples:
        Two subjects both look at the left pixel of a 1 x 3 image; kernel 1 (no blur), so
        each map is the fixated pixel, ``[1, 0, 0]``. The centre map is ``[a, 1, a]``
        (``a`` = 0.4111), an affine image of ``[0, 1, 0]``: CC with ``[1, 0, 0]`` is that of two
        one-hot vectors of 3, -1 / 2, and NSS the z-score of ``a``, -1 / sqrt(3). The other
        subject's map is the held-out one's own: CC 1, NSS (1 - 1/3) / sqrt(1/3) = 1.1547.

        >>> import pandas as pd
        >>> table = pd.DataFrame({"subject": ["s1", "s2"], "image": ["a", "a"],
        ...                       "x": [0.5, 0.2], "y": [0.5, 0.5], "duration": [200.0, 300.0]})
        >>> scores = baseline_scores(table, ["a"], (1, 3), sigma=1, kernel=1,
        ...                          metrics=["CC", "NSS"])
        >>> scores.round(4)[["method", "metric", "value"]].values.tolist()
        [['centre bias', 'CC', -0.5], ['centre bias', 'NSS', -0.5774], \
['inter-observer (leave one subject out)', 'CC', 1.0], \
['inter-observer (leave one subject out)', 'NSS', 1.1547]]
    """
    if "subject" not in fixations.columns:
        raise ValueError(
            "baseline_scores needs a subject column to leave one subject out (the fixation "
            f"table has {list(fixations.columns)}); for the pooled maps alone use "
            "human_references"
        )
    images = list(images)
    if not images:
        raise ValueError("baseline_scores needs at least one image")
    groups = dict(tuple(fixations.groupby("image", sort=False)))
    with warnings.catch_warnings():  # empty maps: counted in one warning below
        warnings.filterwarnings("ignore", message=_EMPTY_MAP_WARNING)
        human_maps, masks = human_references(fixations, images, shape, sigma=sigma, kernel=kernel)
        floor = fixation_scores(
            {(BASELINE_METHODS[0], ""): np.broadcast_to(centre_bias_map(shape), masks.shape)},
            human_maps,
            masks,
            metrics=metrics,
            per_sample=per_sample,
        )
        labels = floor[["metric", "threshold"]]
        labels = (labels.iloc[:: len(images)] if per_sample else labels).reset_index(drop=True)
        values = np.full((len(labels), len(images)), np.nan)
        single = 0
        for index, name in enumerate(images):
            rows = groups.get(name)
            held_out = None if rows is None else _leave_one_subject_out(rows, shape, sigma, kernel)
            if held_out is None:
                single += rows is not None and masks[index].any()
                continue
            scored = fixation_scores(
                {(BASELINE_METHODS[1], ""): held_out[0]},
                *held_out[1:],
                metrics=metrics,
                per_sample=True,
            )
            per_subject = scored["value"].to_numpy().reshape(len(labels), -1)
            values[:, index] = _finite_mean(per_subject, axis=1)
    empty = int((~(human_maps > 0).any(axis=(1, 2))).sum())
    if empty:
        warnings.warn(
            f"{empty} of {len(images)} image(s) have no fixation inside them: their human map "
            "is all zero, so they have no score and are left out of the means",
            stacklevel=2,
        )
    if single:
        warnings.warn(
            f"{single} of {len(images)} image(s) have fixations of a single subject: no "
            "inter-observer score (NaN), left out of its means",
            stacklevel=2,
        )
    ceiling = pd.DataFrame(
        _rows(BASELINE_METHODS[1], labels, values, per_sample),
        columns=SAMPLE_SCORE_COLUMNS if per_sample else SCORE_COLUMNS,
    )
    return pd.concat([floor, ceiling], ignore_index=True)
