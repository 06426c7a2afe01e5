"""Study tables: scores of sets of maps per method and layer, their ground truth, paper layouts,
and the demo zoo's model cards.

The notebooks' tables come from here. Scores are tidy pandas DataFrames, one row per
``method, layer, metric, threshold`` (:data:`SCORE_COLUMNS`), computed by iterating the metric
registry (:data:`xaikit.metrics.METRICS`); :func:`pivot_scores` and :func:`metric_columns` turn
them into the wide layout of a paper table. Boxes are continuous ``(x0, y0, x1, y1)``, as
:mod:`xaikit.data` writes them.

* :mod:`~xaikit.study.references`: ground truth (:func:`clip_boxes`, :func:`image_boxes`,
  :func:`human_references`).
* :mod:`~xaikit.study.scores`: :func:`layer_maps`, :func:`localization_scores`,
  :func:`fixation_scores`, :func:`compare_maps`.
* :mod:`~xaikit.study.baselines`: :func:`baseline_scores`, the floor (:func:`centre_bias_map`)
  and ceiling (inter-observer agreement, leave one subject out) rows of a fixation table.
* :mod:`~xaikit.study.layout`: :func:`pivot_scores`, :func:`metric_columns`.
* :mod:`~xaikit.study.stats`: :func:`compare_accuracy` (McNemar) and :func:`compare_scores`
  (paired bootstrap), so a finding says whether a difference is larger than chance.
* :mod:`~xaikit.study.results` and :mod:`~xaikit.study.run`: :func:`run_size`, :func:`save_table`;
  ``python -m xaikit.study.run`` runs every study notebook at full size into ``docs/results/``.
* :mod:`~xaikit.study.zoo`: held-out scores and cards of the demo models
  (``python -m xaikit.study.zoo NAME``).

Examples:
    >>> import numpy as np
    >>> from xaikit import study
    >>> saliency = np.zeros((2, 8, 8)); saliency[:, 1:3, 1:3] = 1.0  # pixels 1..2
    >>> boxes = [np.array([[1, 1, 3, 3]]), np.array([[5, 5, 8, 8]])]
    >>> scores = study.localization_scores({("gradcam", "conv5"): saliency}, boxes,
    ...                                    metrics=["hit point"])
    >>> scores[["method", "layer", "metric", "value"]].values.tolist()
    [['gradcam', 'conv5', 'hit point', 0.5]]
"""

from xaikit.study.baselines import BASELINE_METHODS, baseline_scores, centre_bias_map
from xaikit.study.layout import metric_columns, pivot_scores
from xaikit.study.references import clip_boxes, human_references, image_boxes
from xaikit.study.results import results_folder, run_size, save_table
from xaikit.study.scores import (
    HUMANS_VS_CNN_METRICS,
    SAMPLE_SCORE_COLUMNS,
    SCORE_COLUMNS,
    compare_maps,
    fixation_scores,
    layer_maps,
    localization_scores,
)
from xaikit.study.stats import compare_accuracy, compare_scores

__all__ = [
    "BASELINE_METHODS",
    "HUMANS_VS_CNN_METRICS",
    "SAMPLE_SCORE_COLUMNS",
    "SCORE_COLUMNS",
    "baseline_scores",
    "centre_bias_map",
    "clip_boxes",
    "compare_accuracy",
    "compare_maps",
    "compare_scores",
    "fixation_scores",
    "human_references",
    "image_boxes",
    "layer_maps",
    "localization_scores",
    "metric_columns",
    "pivot_scores",
    "results_folder",
    "run_size",
    "save_table",
]
