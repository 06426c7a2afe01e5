"""Scores of one map against its references (human fixations, object boxes): every metric of
the registry (:data:`xaikit.metrics.METRICS`) that the references allow, one column per metric
and threshold."""

from __future__ import annotations

import numpy as np

from xaikit.metrics.registry import evaluate, higher_is_better, label


def references(boxes=None, human_map=None, fixation_mask=None) -> dict:
    """The registry's references of one image from what a widget was given (``None``: absent).

    Args:
        boxes: ``(K, 4)`` object boxes ``x0, y0, x1, y1``, continuous image pixels.
        human_map: ``(H, W)`` human fixation map in [0, 1] (reference ``"density"``).
        fixation_mask: ``(H, W)`` fixated pixels (reference ``"fixations"``).

    Examples:
        >>> sorted(references(boxes=[[1, 1, 3, 3]], fixation_mask=np.eye(2)))
        ['boxes', 'fixations']
    """
    given = {}
    if boxes is not None:
        given["boxes"] = [np.asarray(boxes, np.float64).reshape(-1, 4)]
    if human_map is not None:
        given["density"] = human_map
    if fixation_mask is not None:
        given["fixations"] = fixation_mask
    return given


def map_scores(saliency_map, given: dict) -> dict[str, float]:
    """``{column: value}`` of one ``(H, W)`` map for every registered metric ``given`` allows;
    columns are :func:`~xaikit.metrics.registry.label` names (``"energy IoU @0.9"``), in
    registry order. No reference gives no score.

    Examples:
        >>> heat = np.zeros((6, 6)); heat[1:3, 1:3] = 1.0
        >>> scores = map_scores(heat, references(boxes=[[1, 1, 3, 3]]))
        >>> scores["hit point"], scores["energy IoU @0.9"]
        (1.0, 1.0)
        >>> map_scores(heat, {})
        {}
    """
    if not given:
        return {}
    return {
        label(name, threshold): value for name, threshold, value in evaluate(saliency_map, given)
    }


def arrow(column: str) -> str:
    """``"↑"`` when a higher value of the metric of ``column`` is better, else ``"↓"``.

    Examples:
        >>> arrow("MAE"), arrow("MaxBoxAcc @0.5")
        ('↓', '↑')
    """
    return "↑" if higher_is_better(column) else "↓"
