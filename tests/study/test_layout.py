"""Paper layouts of tidy score tables: literal tables worked by hand."""

import numpy as np
import pandas as pd
import pytest

from xaikit.study import SCORE_COLUMNS, metric_columns, pivot_scores


def test_pivot_scores_paper_layout():
    scores = pd.DataFrame(
        [
            ("3dcam", "stem", "MaxBoxAcc", 0.1, 0.8),
            ("3dcam", "stem", "MaxBoxAcc", 0.5, 0.4),
            ("gradcam", "layer4", "MaxBoxAcc", 0.1, 0.6),
            ("gradcam", "layer4", "MaxBoxAcc", 0.5, 0.0),
            ("gradcam", "layer4", "hit point", np.nan, 0.25),
        ],
        columns=SCORE_COLUMNS,
    )
    wide = pivot_scores(scores, "MaxBoxAcc", average=True)
    assert list(wide.index) == [("3dcam", "stem"), ("gradcam", "layer4")]
    assert list(wide.columns) == [0.1, 0.5, "average"]
    np.testing.assert_allclose(wide.to_numpy(float), [[0.8, 0.4, 0.6], [0.6, 0.0, 0.3]])
    hit = pivot_scores(scores, "hit point")
    assert list(hit.columns) == ["hit point"] and hit.values.tolist() == [[0.25]]
    with pytest.raises(ValueError, match="no scores for metric 'Acc2'"):
        pivot_scores(scores, "Acc2")


def test_metric_columns_put_metrics_side_by_side():
    scores = pd.DataFrame(
        [
            ("cam", "conv5", "MAE", np.nan, 0.2),
            ("cam", "conv5", "CC", np.nan, 0.5),
            ("cam", "conv4", "MAE", np.nan, 0.3),
            ("cam", "conv4", "CC", np.nan, np.nan),
            ("cam", "conv5", "energy IoU", 0.9, 0.7),  # has a threshold: not a column
        ],
        columns=SCORE_COLUMNS,
    )
    table = metric_columns(scores)
    assert table.index.tolist() == [("cam", "conv5"), ("cam", "conv4")]
    assert table.columns.tolist() == ["MAE", "CC"]
    assert table["MAE"].tolist() == [0.2, 0.3]
    assert table["CC"].iloc[0] == 0.5 and np.isnan(table["CC"].iloc[1])
    assert metric_columns(scores, ["CC"]).columns.tolist() == ["CC"]
    with pytest.raises(ValueError, match="NSS"):
        metric_columns(scores, ["NSS"])


def test_metric_columns_keep_only_the_scored_method_layer_pairs():
    scores = pd.DataFrame(
        [
            ("cam", "conv5", "MAE", np.nan, 0.4),
            ("gradcam", "conv1", "MAE", np.nan, 0.1),
            ("gradcam", "conv5", "MAE", np.nan, 0.2),
        ],
        columns=SCORE_COLUMNS,
    )
    table = metric_columns(scores)
    assert table.index.tolist() == [("cam", "conv5"), ("gradcam", "conv1"), ("gradcam", "conv5")]
    assert table["MAE"].tolist() == [0.4, 0.1, 0.2]
