"""Tidy score tables in the wide layouts of paper tables."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["metric_columns", "pivot_scores"]


def pivot_scores(scores: pd.DataFrame, metric: str, *, average: bool = False) -> pd.DataFrame:
    """One metric of a tidy score table in a paper's layout: rows method x layer, columns
    thresholds (the hit point has one column, ``metric``).

    Args:
        scores: tidy scores (:data:`~xaikit.study.SCORE_COLUMNS`), e.g. from
            :func:`~xaikit.study.localization_scores`.
        metric: the metric to show.
        average: add a column ``"average"``, the mean over thresholds (3D-CAM Table 6).

    Returns:
        Wide DataFrame indexed by ``(method, layer)`` in order of appearance.

    Examples:
        >>> import pandas as pd
        >>> from xaikit.study import SCORE_COLUMNS
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


def metric_columns(scores: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Scores without thresholds side by side: rows method x layer, one column per metric.

    Args:
        scores: tidy scores (:data:`~xaikit.study.SCORE_COLUMNS`), e.g. from
            :func:`~xaikit.study.fixation_scores`; only rows without a threshold are used.
        metrics: the columns, in order (default: every metric, in order of appearance).

    Returns:
        Wide DataFrame indexed by ``(method, layer)`` in order of appearance; ``reset_index()``
        gives the table :func:`xaikit.viz.metric_bars` draws.

    Examples:
        >>> import pandas as pd
        >>> from xaikit.study import SCORE_COLUMNS
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
