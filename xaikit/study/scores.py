"""Score sets of maps, keyed ``(method, layer)``, against boxes or human fixations: tidy tables
built by iterating the metric registry (:data:`xaikit.metrics.METRICS`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from xaikit._arrays import to_numpy
from xaikit.metrics.registry import METRICS, evaluate, select

#: Columns of every tidy score table.
SCORE_COLUMNS = ["method", "layer", "metric", "threshold", "value"]
#: Columns of a per-sample score table (``per_sample=True``): ``sample`` is the index of the
#: image or clip in its set.
SAMPLE_SCORE_COLUMNS = ["method", "layer", "metric", "threshold", "sample", "value"]
#: The metrics of the humans-vs-CNN study (the paper's MAE, its Fig. 9, and the saliency
#: benchmark's CC, SIM, NSS, AUC-Judd): the default of :func:`fixation_scores`.
HUMANS_VS_CNN_METRICS = ("MAE", "CC", "SIM", "NSS", "AUC-Judd")

__all__ = [
    "HUMANS_VS_CNN_METRICS",
    "SAMPLE_SCORE_COLUMNS",
    "SCORE_COLUMNS",
    "compare_maps",
    "fixation_scores",
    "layer_maps",
    "localization_scores",
]


def layer_maps(
    explanations, sums: Sequence[Sequence[str]] = ()
) -> dict[tuple[str, str], np.ndarray]:
    """The maps of one or several explanations, keyed ``(method, layer)``, as numpy arrays.

    Args:
        explanations: an :class:`~xaikit.explain.Explanation` or ``{method: Explanation}``
            (what :func:`xaikit.explain` returns).
        sums: groups of layers to aggregate with ``Explanation.combine(how="sum")`` (the
            3D-CAM paper's Sum-3DCAM / Sum Grad-CAM), added for every method under the key
            ``(method, "a+b")``.

    Returns:
        ``{(method, layer): (B, H, W) or (B, T, H, W) float32}`` in [0, 1].

    Examples:
        >>> import torch
        >>> from xaikit.explain import Explanation
        >>> e = Explanation("3dcam", maps={"a": torch.tensor([[[0.0, 1.0]]]),
        ...                                "b": torch.tensor([[[1.0, 1.0]]])}, raw={})
        >>> maps = layer_maps(e, sums=[["a", "b"]])
        >>> list(maps), maps["3dcam", "a+b"].tolist()
        ([('3dcam', 'a'), ('3dcam', 'b'), ('3dcam', 'a+b')], [[[0.0, 1.0]]])
    """
    if not isinstance(explanations, Mapping):
        explanations = {explanations.method: explanations}
    maps = {}
    for method, explanation in explanations.items():
        for layer, values in explanation.maps.items():
            maps[method, layer] = to_numpy(values).astype(np.float32)
        for group in sums:
            maps[method, "+".join(group)] = to_numpy(explanation.combine(list(group), how="sum"))
    return maps


def _row_key(key) -> tuple[str, str]:
    if isinstance(key, tuple) and len(key) == 2:
        return str(key[0]), str(key[1])
    return str(key), ""


def _table(
    maps: Mapping, references_of, names, thresholds, options, per_sample: bool = False
) -> pd.DataFrame:
    """Tidy scores of every set of maps; ``references_of(key, maps)`` gives its references."""
    rows = []
    for key, values in maps.items():
        method, layer = _row_key(key)
        values = to_numpy(values)
        references = references_of(key, values)
        if per_sample:
            scored = _sample_scores(values, references, names, thresholds, options)
            rows += [(method, layer, *row) for row in scored]
            continue
        scored = evaluate(values, references, names, thresholds=thresholds, **options)
        rows += [
            (method, layer, name, np.nan if threshold is None else threshold, value)
            for name, threshold, value in scored
        ]
    return pd.DataFrame(rows, columns=SAMPLE_SCORE_COLUMNS if per_sample else SCORE_COLUMNS)


def _per_sample_metrics(names, references) -> list:
    """The registered metrics that have a value per sample; named set-level ones raise."""
    entries = select(names, references)
    set_level = [e.name for e in entries if not (e.per_map or e.averages_maps)]
    if names is None:
        return [e for e in entries if e.name not in set_level]
    if set_level:
        raise ValueError(
            f"{', '.join(set_level)} score(s) the set as a whole (one map threshold or pooled "
            "pixels for all samples) and have no per-sample value; leave them out of metrics "
            "with per_sample=True"
        )
    return entries


def _sample_references(references: Mapping, index: int, frames: int) -> dict:
    """The references of sample ``index`` alone (``correct`` holds one flag per frame)."""
    return {
        kind: reference[index * frames : (index + 1) * frames]
        if kind == "correct"
        else reference[index : index + 1]
        for kind, reference in references.items()
    }


def _finite_mean(values: np.ndarray, axis: int) -> np.ndarray:
    finite = np.isfinite(values)
    total = np.where(finite, values, 0.0).sum(axis=axis)
    count = finite.sum(axis=axis)
    with np.errstate(invalid="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _sample_scores(values, references, names, thresholds, options) -> list[tuple]:
    """``(metric, threshold, sample, value)`` rows: a per-map metric's values (a clip: the mean
    over its frames with a finite value), or a metric that averages maps scored on each sample
    alone."""
    thresholds = dict(thresholds or {})
    unknown = [name for name in thresholds if name not in METRICS]
    if unknown:
        raise ValueError(f"thresholds for unknown metric(s) {unknown}; choose from {list(METRICS)}")
    samples = values.shape[0]
    frames = values.shape[1] if values.ndim == 4 else 1
    rows = []
    for entry in _per_sample_metrics(names, references):
        chosen = entry.resolve_thresholds(thresholds.get(entry.name))
        if entry.per_map:
            table = entry.values(values, references, chosen or None, **options)
            table = _finite_mean(table.reshape(samples, frames, -1), axis=1)
        else:
            table = np.stack(
                [
                    entry.values(
                        values[index : index + 1],
                        _sample_references(references, index, frames),
                        chosen or None,
                        **options,
                    )[0]
                    for index in range(samples)
                ]
            )
        for column, threshold in enumerate(chosen or (None,)):
            threshold = np.nan if threshold is None else threshold
            rows += [
                (entry.name, threshold, sample, float(table[sample, column]))
                for sample in range(samples)
            ]
    return rows


def localization_scores(
    maps: Mapping,
    boxes,
    *,
    correct=None,
    masks=None,
    metrics: Sequence[str] | None = None,
    thresholds: Mapping[str, Sequence[float]] | None = None,
    cam_thresholds=None,
    cam_threshold: float = 0.2,
    box_convention: str = "continuous",
    per_sample: bool = False,
) -> pd.DataFrame:
    """Score every set of maps against the boxes with the registry's box metrics: the 3D-CAM
    and Hessian-CIAM papers' tables.

    The registered box metrics (``select(None, {"boxes"})``) are, among others:

    * ``"hit point"``: :func:`~xaikit.metrics.localization.hit_point` (3D-CAM Table 3: a
      salient region at ``cam_threshold`` meets the box, = overlap at IoU 0);
      ``"peak in box"``: :func:`~xaikit.metrics.localization.peak_in_box` (the argmax in the
      box, the pointing game's reading).
    * ``"overlap"``: :func:`~xaikit.metrics.localization.acc2` with every prediction counted as
      correct, per IoU threshold (Table 4).
    * ``"Acc2"``: the same, times 1 for a correct class prediction only (Table 5); needs
      ``correct``.
    * ``"MaxBoxAcc per sample"``: :func:`~xaikit.metrics.localization.max_box_acc_per_sample`
      (best map threshold and contour per sample), per IoU threshold: the rule of the 3D-CAM
      paper's UCF24 table (Table 6).
    * ``"MaxBoxAcc"``: :func:`~xaikit.metrics.localization.max_box_acc` (largest contour, one
      best map threshold for the whole set, wsolevaluation's rule) per IoU threshold;
      ``"MaxBoxAccV2"`` the TPAMI one.
    * ``"energy IoU"``: mean of :func:`~xaikit.metrics.localization.energy_box_iou` per energy
      fraction (Hessian-CIAM Table 1); all-zero maps (no box) are left out of the mean.
    * ``"PxAP"`` (only with ``masks``): :func:`~xaikit.metrics.localization.pxap`, pixels
      pooled over the set.

    Clips count frame by frame, as in the papers.

    Args:
        maps: ``{(method, layer): maps}`` (or ``{name: maps}``, layer ``""``) of ``(B, H, W)``
            images or ``(B, T, H, W)`` clips, e.g. from :func:`layer_maps`.
        boxes: per image a ``(K, 4)`` box array, or per clip a list of T of them
            (:func:`~xaikit.study.image_boxes`, :func:`~xaikit.study.clip_boxes`).
        correct: ``(B,)`` booleans, class prediction right per image or clip (for ``"Acc2"``).
        masks: object masks shaped like the maps (``(B, H, W)`` or ``(B, T, H, W)``, > 0 =
            object) for ``"PxAP"``, or ``None``; masks of the boxes are
            :func:`~xaikit.metrics.localization.boxes_to_mask`.
        metrics: registered names; ``None`` = every box metric that applies (``"Acc2"`` only
            with ``correct``, ``"PxAP"`` only with ``masks``).
        thresholds: ``{metric: thresholds}`` replacing the registry's defaults (IoU thresholds
            of overlap, Acc2 and MaxBoxAcc, energy fractions of energy IoU).
        cam_thresholds: MaxBoxAcc's map thresholds (``None``: 0, 0.01, ..., 0.99).
        cam_threshold: the map threshold of overlap and Acc2 (fraction of the maximum).
        box_convention: ``"continuous"`` (what :mod:`xaikit.data` writes) or ``"pixel"``
            (inclusive, wsolevaluation's numbers).
        per_sample: one row per image or clip instead of the set's mean (for McNemar tests
            and paired bootstraps): the table gets a ``sample`` column
            (:data:`SAMPLE_SCORE_COLUMNS`); a clip's value is the mean over its frames (the
            share of its frames that hit, for hit point, overlap, Acc2 and MaxBoxAcc per
            sample). The set-level metrics (``"MaxBoxAcc"``, ``"MaxBoxAccV2"``, ``"PxAP"``)
            have no per-sample value: left out when ``metrics`` is ``None``, an error when
            named.

    Returns:
        Tidy DataFrame with :data:`SCORE_COLUMNS` (``threshold`` NaN for a metric without
        thresholds), one row per map set, metric and threshold, in the order of ``maps`` then
        ``metrics``; with ``per_sample``, :data:`SAMPLE_SCORE_COLUMNS` and one row per sample
        too (metric, threshold, then sample order).

    Raises:
        ValueError: an unknown metric, ``"Acc2"`` without ``correct``, ``"PxAP"`` without
            ``masks``, a set-level metric named with ``per_sample``, or no maps.

    Examples:
        >>> import numpy as np
        >>> saliency = np.zeros((2, 10, 10)); saliency[:, 2:5, 2:5] = 1.0  # pixels 2..4
        >>> boxes = [np.array([[2, 2, 5, 5]]), np.array([[2, 2, 10, 10]])]  # IoU 1 and 9/64
        >>> scores = localization_scores({"cam": saliency}, boxes, correct=[True, False],
        ...                              metrics=["Acc2", "MaxBoxAcc"], cam_thresholds=[0.5],
        ...                              thresholds={"Acc2": [0.5], "MaxBoxAcc": [0.1, 0.5]})
        >>> scores[["metric", "threshold", "value"]].values.tolist()
        [['Acc2', 0.5, 0.5], ['MaxBoxAcc', 0.1, 1.0], ['MaxBoxAcc', 0.5, 0.5]]
        >>> samples = localization_scores({"cam": saliency}, boxes, metrics=["overlap"],
        ...                               thresholds={"overlap": [0.5]}, per_sample=True)
        >>> samples[["metric", "threshold", "sample", "value"]].values.tolist()
        [['overlap', 0.5, 0, 1.0], ['overlap', 0.5, 1, 0.0]]
    """
    if not maps:
        raise ValueError("localization_scores needs at least one set of maps")
    if correct is not None:
        correct = np.asarray(correct, dtype=bool).ravel()

    def references_of(key, values):
        references = {"boxes": boxes}
        if correct is not None:  # one flag per clip -> one per frame
            references["correct"] = np.repeat(correct, values.shape[1] if values.ndim == 4 else 1)
        if masks is not None:
            references["masks"] = to_numpy(masks)
        return references

    options = {
        "cam_thresholds": cam_thresholds,
        "cam_threshold": cam_threshold,
        "box_convention": box_convention,
    }
    return _table(maps, references_of, metrics, thresholds, options, per_sample)


def fixation_scores(
    maps: Mapping,
    human_maps,
    fixation_masks,
    *,
    other_fixations=None,
    metrics: Sequence[str] | None = HUMANS_VS_CNN_METRICS,
    thresholds: Mapping[str, Sequence[float]] | None = None,
    energy: float | None = None,
    per_sample: bool = False,
    **options,
) -> pd.DataFrame:
    """Score every set of maps against human fixations with the registry's saliency metrics.

    Each image is scored by :mod:`xaikit.metrics.saliency` (MIT conventions); the value is the
    mean over the images. Images whose score is NaN (a constant map, or no fixation) are left
    out of the mean.

    Args:
        maps: ``{(method, layer): (B, H, W) maps}`` (or ``{name: maps}``, layer ``""``), e.g.
            from :func:`layer_maps`.
        human_maps: ``(B, H, W)`` human fixation maps in [0, 1] (reference ``"density"``: MAE,
            CC, SIM, KLD, EMD).
        fixation_masks: ``(B, H, W)`` fixated pixels (``"fixations"``: NSS, the AUCs, IG).
        other_fixations: ``(B, H, W)`` fixations of the other images (``"other_fixations"``:
            shuffled AUC), or ``None``.
        metrics: registered names (default: :data:`HUMANS_VS_CNN_METRICS`); ``None`` = every
            registered metric the references allow.
        thresholds: ``{metric: thresholds}`` for metrics that have them.
        energy: ``None`` (maps as given) or a fraction in (0, 1]: each network map is first
            cleaned to its ``energy`` share by
            :func:`~xaikit.metrics.localization.energy_clean` (0.95: the Hessian-CIAM
            paper's glaucoma study before SIM, CC and AUC-Judd); the human references are
            not touched.
        per_sample: one row per image (column ``sample``, :data:`SAMPLE_SCORE_COLUMNS`)
            instead of the mean over the images; NaN where an image has no score.
        **options: keyword options of the metrics (e.g. ``convention="pysaliency"``), each
            passed to the metrics that take it.

    Returns:
        Tidy DataFrame with :data:`SCORE_COLUMNS` (``threshold`` NaN), one row per map set and
        metric, in the order of ``maps`` then ``metrics``; :func:`metric_columns` makes it wide.
        With ``per_sample``, :data:`SAMPLE_SCORE_COLUMNS` and one row per image too.

    Raises:
        ValueError: an unknown metric, no maps, maps of another shape than the references, or
            negative maps with ``energy``.

    Examples:
        >>> import numpy as np
        >>> human = np.array([[[1.0, 0.5], [0.0, 0.0]]])
        >>> maps = {("gradcam", "conv5"): np.array([[[4.0, 0.0], [0.0, 0.0]]])}
        >>> scores = fixation_scores(maps, human, human == 1.0, metrics=["MAE", "NSS"])
        >>> scores[["method", "layer", "metric", "value"]].values.tolist()
        [['gradcam', 'conv5', 'MAE', 0.125], ['gradcam', 'conv5', 'NSS', 1.5]]
    """
    if not maps:
        raise ValueError("fixation_scores needs at least one set of maps")
    if energy is not None:
        from xaikit.metrics.localization import energy_clean

        maps = {key: energy_clean(to_numpy(values), energy) for key, values in maps.items()}
    references = {"density": to_numpy(human_maps), "fixations": to_numpy(fixation_masks)}
    if other_fixations is not None:
        references["other_fixations"] = to_numpy(other_fixations)

    def references_of(key, values):
        shapes = {kind: reference.shape for kind, reference in references.items()}
        if any(shape != values.shape for shape in shapes.values()):
            raise ValueError(f"maps of {key!r} have shape {values.shape}; the references {shapes}")
        return references

    return _table(maps, references_of, metrics, thresholds, options, per_sample)


def compare_maps(first: Mapping, second: Mapping) -> pd.DataFrame:
    """How much each method's maps change between two settings (e.g. true vs wrong label).

    Args:
        first, second: ``{name: maps}`` with the same names; maps ``(B, H, W)`` or
            ``(B, T, H, W)`` of equal shapes.

    Returns:
        DataFrame indexed by name: ``CC`` (mean Pearson correlation of paired maps, 1 = same
        pattern; NaN for a constant map) and ``mean |diff|`` (mean absolute difference).

    Examples:
        >>> import numpy as np
        >>> a = {"m": np.array([[[0.0, 1.0], [0.0, 0.0]]])}
        >>> b = {"m": np.array([[[1.0, 0.0], [0.0, 0.0]]])}
        >>> compare_maps(a, a).round(3).values.tolist(), compare_maps(a, b).round(3).values.tolist()
        ([[1.0, 0.0]], [[-0.333, 0.5]])
    """
    from xaikit.metrics.saliency import cc

    if set(first) != set(second):
        raise ValueError(
            f"both settings need the same names; got {sorted(first)}, {sorted(second)}"
        )
    rows = {}
    for name in first:
        a, b = to_numpy(first[name]), to_numpy(second[name])
        if a.shape != b.shape:
            raise ValueError(f"maps of {name!r} differ in shape: {a.shape} and {b.shape}")
        a2, b2 = a.reshape(-1, *a.shape[-2:]), b.reshape(-1, *b.shape[-2:])
        correlations = np.atleast_1d(cc(a2, b2))
        finite = np.isfinite(correlations)
        rows[name] = {
            "CC": float(correlations[finite].mean()) if finite.any() else np.nan,
            "mean |diff|": float(np.abs(a - b).mean()),
        }
    return pd.DataFrame.from_dict(rows, orient="index")
