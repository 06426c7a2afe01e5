"""Study tables: score sets of maps per method and layer, classifier accuracy, top classes.

The notebooks' tables come from here. Scores are tidy pandas DataFrames, one row per
``method, layer, metric, threshold``; :func:`pivot_scores` turns one metric into the wide
layout of a paper table (rows method x layer, one column per threshold).

Box conventions: ``xaikit.data`` boxes are continuous (pixels ``c0..c1`` give ``x0 = c0``,
``x1 = c1 + 1``); :mod:`xaikit.metrics.localization` takes inclusive pixel boxes
(``x1 = c1``). :func:`clip_boxes` and :func:`image_boxes` convert.

Examples:
    >>> import numpy as np
    >>> saliency = np.zeros((2, 8, 8)); saliency[:, 1:3, 1:3] = 1.0
    >>> boxes = [np.array([[1, 1, 2, 2]]), np.array([[5, 5, 7, 7]])]
    >>> scores = localization_scores({("gradcam", "conv5"): saliency}, boxes,
    ...                              metrics=["hit point"])
    >>> scores[["method", "layer", "metric", "value"]].values.tolist()
    [['gradcam', 'conv5', 'hit point', 0.5]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from xaikit._arrays import to_numpy
from xaikit.metrics import localization, saliency

#: Metrics :func:`localization_scores` knows, in table order.
LOCALIZATION_METRICS = ("hit point", "overlap", "Acc2", "MaxBoxAcc", "energy IoU")
#: IoU thresholds of the 3D-CAM paper's Tables 4 and 5 (0.0 is the hit-point-like "any overlap").
OVERLAP_IOU_THRESHOLDS = (0.0, 0.5, 0.6)
#: Columns of every tidy score table.
SCORE_COLUMNS = ["method", "layer", "metric", "threshold", "value"]
#: Metrics :func:`fixation_scores` knows, in table order: the function, the ground truth it reads
#: (``"map"``: the human fixation map; ``"mask"``: the fixated pixels) and whether lower is better.
FIXATION_METRICS = {
    "MAE": (saliency.mae, "map", True),
    "CC": (saliency.cc, "map", False),
    "SIM": (saliency.sim, "map", False),
    "NSS": (saliency.nss, "mask", False),
    "AUC-Judd": (saliency.auc_judd, "mask", False),
    "KLD": (saliency.kld, "map", True),
}

__all__ = [
    "LOCALIZATION_METRICS",
    "OVERLAP_IOU_THRESHOLDS",
    "FIXATION_METRICS",
    "SCORE_COLUMNS",
    "accuracy",
    "clip_boxes",
    "compare_maps",
    "fixation_scores",
    "human_references",
    "image_boxes",
    "layer_maps",
    "localization_scores",
    "metric_columns",
    "pivot_scores",
    "top_classes",
]


def _inclusive(rows: pd.DataFrame) -> np.ndarray:
    """``(K, 4)`` inclusive pixel boxes from continuous ``x0, y0, x1, y1`` columns."""
    boxes = rows[["x0", "y0", "x1", "y1"]].to_numpy(np.float64).reshape(-1, 4)
    return boxes - np.array([0.0, 0.0, 1.0, 1.0])


def clip_boxes(table: pd.DataFrame, clips: int | None = None, frames: int | None = None) -> list:
    """Per clip, per frame, the ``(K, 4)`` inclusive pixel boxes of an actions box table.

    Args:
        table: ``ActionSet.boxes`` of :func:`xaikit.data.synthetic.actions`: columns ``clip``,
            ``frame``, ``x0, y0, x1, y1`` (continuous pixels).
        clips: number of clips B (default: the largest clip index + 1).
        frames: frames per clip T (default: the largest frame index + 1).

    Returns:
        A list of B lists of T arrays ``(K, 4)`` (``K = 0`` where a frame has no box): the
        layout the localization metrics take for clips ``(B, T, H, W)``.

    Examples:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"clip": [0, 0], "frame": [0, 1], "x0": [2.0, 3.0],
        ...                       "y0": [1.0, 1.0], "x1": [6.0, 7.0], "y1": [4.0, 4.0]})
        >>> [frame.tolist() for frame in clip_boxes(table)[0]]
        [[[2.0, 1.0, 5.0, 3.0]], [[3.0, 1.0, 6.0, 3.0]]]
    """
    missing = {"clip", "frame", "x0", "y0", "x1", "y1"} - set(table.columns)
    if missing:
        raise ValueError(f"the box table lacks column(s) {sorted(missing)}")
    clips = int(table["clip"].max()) + 1 if clips is None else clips
    frames = int(table["frame"].max()) + 1 if frames is None else frames
    groups = {key: _inclusive(rows) for key, rows in table.groupby(["clip", "frame"])}
    empty = np.zeros((0, 4))
    return [[groups.get((c, f), empty) for f in range(frames)] for c in range(clips)]


def image_boxes(annotations, classes=None) -> list[np.ndarray]:
    """Per image, the ``(K, 4)`` inclusive pixel boxes of an :class:`Annotations` set.

    Args:
        annotations: :class:`~xaikit.data.annotations.Annotations` (e.g. ``ShapeSet.annotations``);
            images in the order of ``annotations.images``.
        classes: ``None`` keeps every box; else one class index per image, and only the boxes
            of that class are kept (the objects the image-level label names).

    Returns:
        One ``(K, 4)`` array per image.

    Examples:
        >>> import pandas as pd
        >>> from xaikit.data.annotations import Annotations
        >>> ann = Annotations(
        ...     images=pd.DataFrame({"image": ["a", "b"], "width": [8, 8], "height": [8, 8]}),
        ...     boxes=pd.DataFrame({"image": ["a", "a"], "label": ["dot", "bar"],
        ...                         "x0": [0.0, 4.0], "y0": [0.0, 4.0],
        ...                         "x1": [2.0, 8.0], "y1": [2.0, 5.0]}),
        ...     classes=["dot", "bar"])
        >>> [b.tolist() for b in image_boxes(ann)]
        [[[0.0, 0.0, 1.0, 1.0], [4.0, 4.0, 7.0, 4.0]], []]
        >>> [b.tolist() for b in image_boxes(ann, classes=[1, 0])]
        [[[4.0, 4.0, 7.0, 4.0]], []]
    """
    names = list(annotations.images["image"])
    if classes is not None and len(classes) != len(names):
        raise ValueError(
            f"classes must give one class per image ({len(names)}); got {len(classes)}"
        )
    result = []
    for index, name in enumerate(names):
        rows = annotations.boxes[annotations.boxes["image"] == name]
        if classes is not None:
            rows = rows[rows["label"] == annotations.classes[int(classes[index])]]
        result.append(_inclusive(rows))
    return result


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


def localization_scores(
    maps: Mapping,
    boxes,
    *,
    correct=None,
    metrics: Sequence[str] | None = None,
    overlap_ious: Sequence[float] = OVERLAP_IOU_THRESHOLDS,
    box_ious: Sequence[float] = localization.UCF24_IOU_THRESHOLDS,
    energies: Sequence[float] = localization.ENERGY_FRACTIONS,
    cam_thresholds=None,
    cam_threshold: float = 0.2,
) -> pd.DataFrame:
    """Score every set of maps against the boxes: the 3D-CAM and Hessian-CIAM papers' metrics.

    * ``"hit point"``: :func:`~xaikit.metrics.localization.hit_point` (3D-CAM Table 3).
    * ``"overlap"``: :func:`~xaikit.metrics.localization.acc2` with every prediction counted as
      correct, at each of ``overlap_ious`` (Table 4).
    * ``"Acc2"``: the same, times 1 for a correct class prediction only (Table 5); needs
      ``correct``.
    * ``"MaxBoxAcc"``: :func:`~xaikit.metrics.localization.max_box_acc` (largest contour, best
      map threshold over the set) at each of ``box_ious`` (Table 6).
    * ``"energy IoU"``: mean of :func:`~xaikit.metrics.localization.energy_box_iou` at each of
      ``energies`` (Hessian-CIAM Table 1); all-zero maps (no box) are left out of the mean.

    Clips count frame by frame, as in the papers.

    Args:
        maps: ``{(method, layer): maps}`` (or ``{name: maps}``, layer ``""``) of ``(B, H, W)``
            images or ``(B, T, H, W)`` clips, e.g. from :func:`layer_maps`.
        boxes: per image a ``(K, 4)`` inclusive box array, or per clip a list of T of them
            (:func:`image_boxes`, :func:`clip_boxes`).
        correct: ``(B,)`` booleans, class prediction right per image or clip (for ``"Acc2"``).
        metrics: names from :data:`LOCALIZATION_METRICS`; ``None`` = all that apply (``"Acc2"``
            only with ``correct``).
        overlap_ious, box_ious, energies: thresholds of the overlap/Acc2, MaxBoxAcc and energy
            metrics.
        cam_thresholds: MaxBoxAcc's map thresholds (``None``: 0, 0.01, ..., 0.99).
        cam_threshold: the map threshold of overlap and Acc2 (fraction of the maximum).

    Returns:
        Tidy DataFrame with :data:`SCORE_COLUMNS` (``threshold`` NaN for the hit point), one row
        per map set, metric and threshold, in the order of ``maps`` then ``metrics``.

    Raises:
        ValueError: an unknown metric, ``"Acc2"`` without ``correct``, or no maps.

    Examples:
        >>> import numpy as np
        >>> saliency = np.zeros((2, 10, 10)); saliency[:, 2:5, 2:5] = 1.0
        >>> boxes = [np.array([[2, 2, 4, 4]]), np.array([[2, 2, 9, 9]])]  # IoU 1 and 9/64
        >>> scores = localization_scores({"cam": saliency}, boxes, correct=[True, False],
        ...                              metrics=["Acc2", "MaxBoxAcc"], overlap_ious=[0.5],
        ...                              box_ious=[0.1, 0.5], cam_thresholds=[0.5])
        >>> scores[["metric", "threshold", "value"]].values.tolist()
        [['Acc2', 0.5, 0.5], ['MaxBoxAcc', 0.1, 1.0], ['MaxBoxAcc', 0.5, 0.5]]
    """
    if not maps:
        raise ValueError("localization_scores needs at least one set of maps")
    if metrics is None:
        metrics = [m for m in LOCALIZATION_METRICS if m != "Acc2" or correct is not None]
    unknown = [m for m in metrics if m not in LOCALIZATION_METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {LOCALIZATION_METRICS}")
    if "Acc2" in metrics and correct is None:
        raise ValueError("Acc2 needs correct= (one boolean per image or clip)")
    if correct is not None:
        correct = np.asarray(correct, dtype=bool).ravel()
    rows = []
    for key, values in maps.items():
        method, layer = _row_key(key)
        values = to_numpy(values)
        frames = values.shape[1] if values.ndim == 4 else 1
        per_map = None if correct is None else np.repeat(correct, frames)

        def add(metric, threshold, value, method=method, layer=layer):
            rows.append((method, layer, metric, float(threshold), float(value)))

        for metric in metrics:
            if metric == "hit point":
                add(metric, np.nan, localization.hit_point(values, boxes))
            elif metric in ("overlap", "Acc2"):
                flags = per_map if metric == "Acc2" else None
                for iou in overlap_ious:
                    value = localization.acc2(
                        values, boxes, flags, iou_threshold=iou, cam_threshold=cam_threshold
                    )
                    add(metric, iou, value)
            elif metric == "MaxBoxAcc":
                accuracy_per_iou = localization.max_box_acc(
                    values, boxes, iou_threshold=list(box_ious), cam_thresholds=cam_thresholds
                )
                for iou, value in zip(box_ious, accuracy_per_iou, strict=True):
                    add(metric, iou, value)
            else:
                ious = localization.energy_box_iou(values, boxes, energies=energies)
                for energy, column in zip(energies, ious.T, strict=True):
                    add(metric, energy, np.nanmean(column) if np.isfinite(column).any() else np.nan)
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def pivot_scores(scores: pd.DataFrame, metric: str, *, average: bool = False) -> pd.DataFrame:
    """One metric of a tidy score table in a paper's layout: rows method x layer, columns
    thresholds (the hit point has one column, ``metric``).

    Args:
        scores: tidy scores (:data:`SCORE_COLUMNS`), e.g. from :func:`localization_scores`.
        metric: the metric to show.
        average: add a column ``"average"``, the mean over thresholds (3D-CAM Table 6).

    Returns:
        Wide DataFrame indexed by ``(method, layer)`` in order of appearance.

    Examples:
        >>> import pandas as pd
        >>> scores = pd.DataFrame([("cam", "a", "MaxBoxAcc", 0.1, 0.8),
        ...                        ("cam", "a", "MaxBoxAcc", 0.5, 0.4)], columns=SCORE_COLUMNS)
        >>> pivot_scores(scores, "MaxBoxAcc", average=True).values.tolist()
        [[0.8, 0.4, 0.6000000000000001]]
    """
    rows = scores[scores["metric"] == metric]
    if rows.empty:
        raise ValueError(f"no scores for metric {metric!r}; have {sorted(set(scores['metric']))}")
    columns = rows["threshold"].fillna(-1.0)
    table = rows.assign(threshold=columns).pivot_table(
        index=["method", "layer"], columns="threshold", values="value", sort=False
    )
    table = table[list(dict.fromkeys(columns))]
    if list(table.columns) == [-1.0]:
        table.columns = [metric]
    else:
        table.columns = [float(c) for c in table.columns]
    if average:
        table["average"] = table.mean(axis=1)
    table.columns.name = metric
    return table


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


def human_references(
    fixations: pd.DataFrame, images: Sequence[str], size, *, sigma: float = 20, kernel: int = 80
) -> tuple[np.ndarray, np.ndarray]:
    """Per image, the human fixation map and the fixated pixels: the ground truth of
    :func:`fixation_scores`.

    Args:
        fixations: fixation table with ``x, y, duration`` and ``image`` columns (image pixels),
            e.g. from :func:`xaikit.data.synthetic.observers` or
            :func:`xaikit.data.fixations.read_fixations`; all subjects are pooled.
        images: image names in the order of the maps (``annotations.images["image"]``).
        size: ``(width, height)`` of every image.
        sigma, kernel: the Gaussian of :func:`xaikit.data.fixation_map` (the paper's 20 and
            80 pixels are for images about 400 pixels wide; scale them with the image).

    Returns:
        ``(human_maps, masks)``: ``(B, H, W)`` float64 maps in [0, 1]
        (:func:`~xaikit.data.fixations.fixation_map`) and ``(B, H, W)`` bool fixated pixels
        (:func:`~xaikit.data.fixations.fixation_mask`). An image without fixations gets an
        all-zero map and mask (with the warning of ``fixation_map``).

    Examples:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"x": [0.5, 2.5], "y": [0.5, 0.5], "duration": [100.0, 300.0],
        ...                       "image": ["a", "b"]})
        >>> maps, masks = human_references(table, ["a", "b"], (3, 1), sigma=1, kernel=1)
        >>> maps.tolist(), masks.astype(int).tolist()
        ([[[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]]], [[[1, 0, 0]], [[0, 0, 1]]])
    """
    from xaikit.data.fixations import fixation_map, fixation_mask

    missing = {"x", "y", "duration", "image"} - set(fixations.columns)
    if missing:
        raise ValueError(f"the fixation table lacks column(s) {sorted(missing)}")
    groups = dict(tuple(fixations.groupby("image", sort=False)))
    empty = fixations.iloc[:0]
    per_image = [groups.get(name, empty) for name in images]
    maps = [fixation_map(rows, size, sigma, kernel) for rows in per_image]
    masks = [fixation_mask(rows, size) for rows in per_image]
    return np.stack(maps), np.stack(masks)


def fixation_scores(
    maps: Mapping,
    human_maps,
    fixation_masks,
    *,
    metrics: Sequence[str] = ("MAE", "CC", "SIM", "NSS", "AUC-Judd"),
) -> pd.DataFrame:
    """Score every set of maps against human fixations: the humans-vs-CNN paper's MAE (its
    Fig. 9) and the saliency benchmark's CC, SIM, NSS, AUC-Judd and KLD.

    Each image is scored by :mod:`xaikit.metrics.saliency` (MIT conventions); the value is the
    mean over the images. Images whose score is NaN (a constant map, or no fixation) are left
    out of the mean.

    Args:
        maps: ``{(method, layer): (B, H, W) maps}`` (or ``{name: maps}``, layer ``""``), e.g.
            from :func:`layer_maps`.
        human_maps: ``(B, H, W)`` human fixation maps in [0, 1] (MAE, CC, SIM, KLD).
        fixation_masks: ``(B, H, W)`` fixated pixels (NSS, AUC-Judd).
        metrics: names from :data:`FIXATION_METRICS`.

    Returns:
        Tidy DataFrame with :data:`SCORE_COLUMNS` (``threshold`` NaN), one row per map set and
        metric, in the order of ``maps`` then ``metrics``; :func:`metric_columns` makes it wide.

    Raises:
        ValueError: an unknown metric, no maps, or maps of another shape than the references.

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
    unknown = [m for m in metrics if m not in FIXATION_METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {list(FIXATION_METRICS)}")
    truth = {"map": to_numpy(human_maps), "mask": to_numpy(fixation_masks)}
    rows = []
    for key, values in maps.items():
        method, layer = _row_key(key)
        values = to_numpy(values)
        if values.shape != truth["map"].shape or values.shape != truth["mask"].shape:
            raise ValueError(
                f"maps of {key!r} have shape {values.shape}; the human maps "
                f"{truth['map'].shape} and masks {truth['mask'].shape}"
            )
        for metric in metrics:
            function, reads, _ = FIXATION_METRICS[metric]
            per_image = np.atleast_1d(function(values, truth[reads]))
            finite = per_image[np.isfinite(per_image)]
            value = float(finite.mean()) if finite.size else np.nan
            rows.append((method, layer, metric, np.nan, value))
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def metric_columns(scores: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Scores without thresholds side by side: rows method x layer, one column per metric.

    Args:
        scores: tidy scores (:data:`SCORE_COLUMNS`), e.g. from :func:`fixation_scores`; only
            rows without a threshold are used.
        metrics: the columns, in order (default: every metric, in order of appearance).

    Returns:
        Wide DataFrame indexed by ``(method, layer)`` in order of appearance; ``reset_index()``
        gives the table :func:`xaikit.viz.metric_bars` draws.

    Examples:
        >>> import pandas as pd
        >>> scores = pd.DataFrame([("cam", "a", "MAE", None, 0.2), ("cam", "a", "CC", None, 0.5),
        ...                        ("cam", "b", "MAE", None, 0.3), ("cam", "b", "CC", None, 0.4)],
        ...                       columns=SCORE_COLUMNS)
        >>> metric_columns(scores).reset_index().values.tolist()
        [['cam', 'a', 0.2, 0.5], ['cam', 'b', 0.3, 0.4]]
    """
    rows = scores[scores["threshold"].isna()]
    metrics = list(dict.fromkeys(rows["metric"])) if metrics is None else list(metrics)
    missing = [m for m in metrics if m not in set(rows["metric"])]
    if missing or not metrics:
        raise ValueError(
            f"no scores for metric(s) {missing or metrics}; have {sorted(set(rows['metric']))}"
        )
    pairs = pd.MultiIndex.from_tuples(
        list(dict.fromkeys(zip(rows["method"], rows["layer"], strict=True))),
        names=["method", "layer"],
    )
    table = rows.pivot_table(
        index=["method", "layer"], columns="metric", values="value", sort=False, dropna=False
    )
    table = table.reindex(index=pairs, columns=metrics)
    table.columns.name = None
    return table


def accuracy(model, items, labels, *, batch_size: int = 64) -> float:
    """Share of items a classifier made by :func:`xaikit.models.load` gets right.

    The items go through the model's own preprocessing (``xaikit.models.info(model)``).

    Args:
        model: an image or clip classifier with ``xaikit_info``.
        items: ``(N, H, W, 3)`` uint8 images or ``(N, T, H, W, 3)`` uint8 clips.
        labels: ``(N,)`` class indices.
        batch_size: items per forward pass.

    Returns:
        Accuracy in [0, 1].

    Examples:
        >>> import numpy as np, xaikit as xk
        >>> model = xk.models.load("demo-actions", weights=None, device="cpu")
        >>> clips = np.zeros((2, 8, 64, 64, 3), np.uint8)
        >>> accuracy(model, clips, [0, 0]) in (0.0, 1.0)
        True
    """
    from xaikit.models.registry import info
    from xaikit.models.zoo.training import predict

    labels = np.asarray(labels).ravel()
    if len(items) != labels.size or labels.size == 0:
        raise ValueError(f"need one label per item (> 0); got {len(items)} items, {labels.size}")
    predicted = predict(model, np.asarray(items), info(model).preprocess, batch_size=batch_size)
    return float((predicted == labels).mean())


def top_classes(model, x, k: int = 3, categories: Sequence[str] | None = None) -> pd.DataFrame:
    """The ``k`` most probable classes of each input, with their softmax probabilities.

    Args:
        model: a classifier returning ``(B, K)`` logits.
        x: model input ``(B, C, H, W)`` or ``(B, C, T, H, W)``.
        k: how many classes.
        categories: class names (default: ``model.xaikit_info.categories`` when present).

    Returns:
        DataFrame with columns ``item, rank, class, name, probability`` (rank 1 = predicted).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> net = nn.Linear(3, 3, bias=False); _ = net.weight.data.copy_(torch.eye(3))
        >>> top = top_classes(net, torch.tensor([[0.0, 2.0, 1.0]]), k=2)
        >>> top[["rank", "class", "name"]].values.tolist()
        [[1, 1, 'class 1'], [2, 2, 'class 2']]
    """
    import torch

    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1; got {k!r}")
    if categories is None:
        categories = getattr(getattr(model, "xaikit_info", None), "categories", None)
    with torch.no_grad():
        probabilities = model(x).float().softmax(dim=1).cpu()
    values, indices = probabilities.topk(min(k, probabilities.shape[1]), dim=1)
    rows = []
    for item in range(len(indices)):
        for rank, (index, value) in enumerate(zip(indices[item], values[item], strict=True), 1):
            index = int(index)
            name = str(categories[index]) if categories is not None else f"class {index}"
            rows.append((item, rank, index, name, float(value)))
    return pd.DataFrame(rows, columns=["item", "rank", "class", "name", "probability"])
