"""Multi-object tracking: MOTA, MOTP, ID switches (CLEAR MOT, Bernardin & Stiefelhagen 2008) and
IDF1 (Ristani et al. 2016), following TrackEval's ``clear.py`` and ``identity.py``.

Ground truth and tracker output are ``(N, 6)`` arrays of rows ``frame, id, x0, y0, x1, y1``
(continuous box corners; one row per object per frame). A ground-truth box and a tracker box
can match when their IoU >= ``iou_threshold`` (0.5).
"""

from __future__ import annotations

import numpy as np

from xaikit._arrays import to_numpy
from xaikit.metrics._inputs import check_fraction
from xaikit.metrics.detection import _iou_matrix

__all__ = ["clear_mot", "id_switches", "idf1", "mota", "motp"]


def _rows(table, name: str) -> np.ndarray:
    array = np.asarray(to_numpy(table), dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 6))
    if array.ndim != 2 or array.shape[1] != 6:
        raise ValueError(
            f"{name} must be an array (N, 6) of rows frame, id, x0, y0, x1, y1; "
            f"got shape {array.shape}"
        )
    if np.isnan(array).any():
        raise ValueError(f"{name} must not contain NaN")
    for frame in np.unique(array[:, 0]):
        ids = array[array[:, 0] == frame, 1]
        if np.unique(ids).size != ids.size:
            raise ValueError(f"{name} repeats an id within frame {frame:g}")
    return array


def clear_mot(ground_truth, tracks, *, iou_threshold: float = 0.5) -> dict[str, float]:
    """CLEAR MOT and identity scores of a tracker over one sequence.

    Per frame, ground-truth and tracker boxes are matched by the Hungarian algorithm on
    1000 * [the pair was matched in the ground truth's last matched frame] + IoU, pairs with
    IoU < ``iou_threshold`` excluded (TrackEval). An ID switch is a ground-truth object matched to
    a tracker id other than the one it was last matched to (any number of frames back).

    * MOTA = 1 - (FN + FP + IDSW) / #ground-truth boxes.
    * MOTP = mean IoU of the matched pairs (TrackEval; py-motmetrics reports 1 - this).
    * IDF1 = 2 IDTP / (#ground-truth boxes + #tracker boxes), IDTP from the one-to-one assignment
      of ground-truth ids to tracker ids that maximises the frames they overlap with
      IoU >= ``iou_threshold``.

    Args:
        ground_truth: ``(N, 6)`` rows ``frame, id, x0, y0, x1, y1``.
        tracks: ``(M, 6)`` rows ``frame, id, x0, y0, x1, y1``.
        iou_threshold: IoU needed for a match.

    Returns:
        ``{"mota", "motp", "idf1", "id_switches", "tp", "fn", "fp", "idtp", "num_objects",
        "num_predictions"}``. Without ground-truth boxes MOTA and IDF1 are NaN (as is MOTP
        without matches); without tracker boxes MOTA is 0 and IDF1 0.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.tracking import clear_mot
        >>> truth = np.array([[0, 1, 0, 0, 10, 10], [1, 1, 1, 0, 11, 10], [2, 1, 2, 0, 12, 10]])
        >>> tracks = np.array([[0, 7, 0, 0, 10, 10], [1, 7, 1, 0, 11, 10], [2, 8, 2, 0, 12, 10]])
        >>> scores = clear_mot(truth, tracks)
        >>> scores["mota"], scores["motp"], scores["id_switches"], round(scores["idf1"], 4)
        (0.6666666666666667, 1.0, 1, 0.6667)
    """
    from scipy.optimize import linear_sum_assignment

    check_fraction(iou_threshold, "iou_threshold")
    truth, predicted = _rows(ground_truth, "ground_truth"), _rows(tracks, "tracks")
    truth_ids, truth_index = np.unique(truth[:, 1], return_inverse=True)
    track_ids, track_index = np.unique(predicted[:, 1], return_inverse=True)
    overlap_frames = np.zeros((truth_ids.size, track_ids.size))
    last_match = np.full(truth_ids.size, -1)
    tp = fp = fn = switches = 0
    iou_sum = 0.0
    for frame in np.union1d(truth[:, 0], predicted[:, 0]):
        in_truth, in_tracks = truth[:, 0] == frame, predicted[:, 0] == frame
        gt_rows, tr_rows = truth_index[in_truth], track_index[in_tracks]
        ious = _iou_matrix(truth[in_truth, 2:], predicted[in_tracks, 2:], "continuous")
        valid = ious >= iou_threshold - np.finfo(float).eps
        overlap_frames[np.ix_(gt_rows, tr_rows)] += valid
        continuing = last_match[gt_rows][:, None] == tr_rows[None, :]
        score = np.where(valid, 1000.0 * continuing + ious, 0.0)
        rows, columns = linear_sum_assignment(score, maximize=True)
        keep = score[rows, columns] > 0
        rows, columns = rows[keep], columns[keep]
        previous = last_match[gt_rows[rows]]
        switches += int(np.sum((previous >= 0) & (previous != tr_rows[columns])))
        last_match[gt_rows[rows]] = tr_rows[columns]
        tp += rows.size
        fn += gt_rows.size - rows.size
        fp += tr_rows.size - rows.size
        iou_sum += float(ious[rows, columns].sum())
    id_rows, id_columns = linear_sum_assignment(overlap_frames, maximize=True)
    idtp = float(overlap_frames[id_rows, id_columns].sum())
    n_truth, n_predicted = len(truth), len(predicted)
    return {
        "mota": 1 - (fn + fp + switches) / n_truth if n_truth else np.nan,
        "motp": iou_sum / tp if tp else np.nan,
        "idf1": 2 * idtp / (n_truth + n_predicted) if n_truth else np.nan,
        "id_switches": switches,
        "tp": tp,
        "fn": fn,
        "fp": fp,
        "idtp": int(idtp),
        "num_objects": n_truth,
        "num_predictions": n_predicted,
    }


def mota(ground_truth, tracks, *, iou_threshold: float = 0.5) -> float:
    """Multi-object tracking accuracy, 1 - (FN + FP + IDSW) / #ground-truth boxes.

    See :func:`clear_mot` for the matching and the edge cases.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.tracking import mota
        >>> truth = np.array([[0, 1, 0, 0, 10, 10], [0, 2, 20, 0, 30, 10]])
        >>> mota(truth, truth[:1])
        0.5
    """
    return clear_mot(ground_truth, tracks, iou_threshold=iou_threshold)["mota"]


def motp(ground_truth, tracks, *, iou_threshold: float = 0.5) -> float:
    """Multi-object tracking precision: mean IoU of the matched pairs (higher is better).

    See :func:`clear_mot`.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.tracking import motp
        >>> motp(np.array([[0, 1, 0, 0, 10, 10]]), np.array([[0, 5, 0, 0, 10, 8]]))
        0.8
    """
    return clear_mot(ground_truth, tracks, iou_threshold=iou_threshold)["motp"]


def idf1(ground_truth, tracks, *, iou_threshold: float = 0.5) -> float:
    """Identity F1, 2 IDTP / (#ground-truth boxes + #tracker boxes) (Ristani et al.).

    See :func:`clear_mot`.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.tracking import idf1
        >>> truth = np.array([[0, 1, 0, 0, 10, 10], [1, 1, 0, 0, 10, 10]])
        >>> idf1(truth, truth)
        1.0
    """
    return clear_mot(ground_truth, tracks, iou_threshold=iou_threshold)["idf1"]


def id_switches(ground_truth, tracks, *, iou_threshold: float = 0.5) -> int:
    """Number of identity switches (CLEAR MOT, TrackEval counting). See :func:`clear_mot`.

    Examples:
        >>> import numpy as np
        >>> from xaikit.metrics.tracking import id_switches
        >>> truth = np.array([[0, 1, 0, 0, 10, 10], [1, 1, 0, 0, 10, 10]])
        >>> id_switches(truth, np.array([[0, 4, 0, 0, 10, 10], [1, 5, 0, 0, 10, 10]]))
        1
    """
    return clear_mot(ground_truth, tracks, iou_threshold=iou_threshold)["id_switches"]
