"""Scores of one map against a reference: human fixations or object boxes."""

from __future__ import annotations

import numpy as np

from xaikit.metrics import localization
from xaikit.metrics.tables import FIXATION_METRICS as SALIENCY_METRICS

#: Scores of a map against object boxes (inclusive pixel corners).
BOX_METRICS = {
    "energy-box IoU 90%": False,
    "hit point": False,
}


def lower_is_better(metric: str) -> bool:
    """Whether a lower value of ``metric`` is better (MAE, KLD)."""
    if metric in SALIENCY_METRICS:
        return SALIENCY_METRICS[metric][2]
    if metric in BOX_METRICS:
        return BOX_METRICS[metric]
    raise ValueError(f"unknown metric {metric!r}; valid: {[*SALIENCY_METRICS, *BOX_METRICS]}")


def saliency_scores(saliency_map, human_map=None, fixation_mask=None) -> dict[str, float]:
    """The humans-vs-CNN scores of one map: MAE, CC, SIM, KLD (against the human map) and
    NSS, AUC-Judd (against the fixated pixels), as ``xaikit.metrics.saliency`` computes them.

    Args:
        saliency_map: ``(H, W)`` map.
        human_map: ``(H, W)`` human fixation map in [0, 1], or ``None``.
        fixation_mask: ``(H, W)`` fixated pixels, or ``None``.

    Returns:
        ``{metric: value}`` for the metrics the given ground truth allows, in the order of
        :data:`SALIENCY_METRICS`.

    Examples:
        >>> import numpy as np
        >>> human = np.array([[1.0, 0.0], [0.0, 0.0]])
        >>> scores = saliency_scores(np.array([[0.9, 0.1], [0.1, 0.1]]), human, human > 0)
        >>> list(scores), round(scores["AUC-Judd"], 2)
        (['MAE', 'CC', 'SIM', 'NSS', 'AUC-Judd', 'KLD'], 1.0)
    """
    truth = {"map": human_map, "mask": fixation_mask}
    scores = {}
    for name, (function, needs, _) in SALIENCY_METRICS.items():
        if truth[needs] is not None:
            scores[name] = float(function(saliency_map, truth[needs]))
    if not scores:
        raise ValueError("give a human map, a fixation mask or both")
    return scores


def box_scores(saliency_map, boxes) -> dict[str, float]:
    """Scores of one map against object boxes ``(K, 4)`` (``x0, y0, x1, y1``, inclusive):
    the IoU of the box holding 90 % of the map's energy with the best-overlapping object box
    (:func:`xaikit.metrics.localization.energy_box_iou`) and whether the map's maximum falls in
    a box (:func:`~xaikit.metrics.localization.hit_point`, 1.0 or 0.0).

    Examples:
        >>> import numpy as np
        >>> heat = np.zeros((6, 6)); heat[1:3, 1:3] = 1.0
        >>> box_scores(heat, [[1, 1, 2, 2]])
        {'energy-box IoU 90%': 1.0, 'hit point': 1.0}
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return {
        "energy-box IoU 90%": float(
            localization.energy_box_iou(saliency_map, [boxes], energies=[0.9])[0, 0]
        ),
        "hit point": float(localization.hit_point(saliency_map, [boxes])),
    }
