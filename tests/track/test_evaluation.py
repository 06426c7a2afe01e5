import numpy as np
import pandas as pd
import pytest

from tests.track.conftest import noisy_detections
from xaikit.data.synthetic import MIN_VISIBLE
from xaikit.metrics import detection
from xaikit.track import evaluate_detections, evaluate_tracks


def test_detection_scores_match_the_metric_functions(crossing_clip):
    truth = crossing_clip.truth
    found = noisy_detections(truth, 4)
    scores = evaluate_detections(found, truth)
    per_frame_found = [found[found.frame == f][["x0", "y0", "x1", "y1", "score"]].to_numpy()
                       for f in range(len(crossing_clip))]  # fmt: skip
    per_frame_truth = [truth[truth.frame == f][["x0", "y0", "x1", "y1"]].to_numpy()
                       for f in range(len(crossing_clip))]  # fmt: skip
    hidden = [truth[truth.frame == f]["visible"].to_numpy() < MIN_VISIBLE
              for f in range(len(crossing_clip))]  # fmt: skip
    assert 0 < scores["difficult"] == sum(h.sum() for h in hidden)
    expected = detection.precision_recall_f1(per_frame_found, per_frame_truth, difficult=hidden)
    assert {key: scores[key] for key in expected} == expected
    assert scores["ap"] == detection.average_precision(
        per_frame_found, per_frame_truth, difficult=hidden
    )
    assert scores["ap_voc11"] == detection.average_precision(
        per_frame_found, per_frame_truth, method="voc11", difficult=hidden
    )
    # 5 % misses, 6 % jitter: high but imperfect.
    assert 0.85 < scores["recall"] < 0.99 and 0.85 < scores["ap"] < 0.99
    shuffled = truth.sample(frac=1.0, random_state=0)
    assert evaluate_detections(found, shuffled) == scores
    # min_visible=0: every mouse counts, hidden or not.
    everyone = evaluate_detections(found, truth, min_visible=0.0)
    assert everyone["difficult"] == 0
    assert everyone["ap"] == detection.average_precision(per_frame_found, per_frame_truth)


def test_a_difficult_column_marks_boxes_too():
    truth = pd.DataFrame({"frame": [0, 0], "track": [0, 1], "x0": [0.0, 20.0], "y0": 0.0,
                          "x1": [10.0, 30.0], "y1": 10.0, "difficult": [0, 1]})  # fmt: skip
    found = pd.DataFrame({"frame": [0], "x0": [0.0], "y0": 0.0, "x1": [10.0], "y1": 10.0,
                          "score": [0.9]})  # fmt: skip
    scores = evaluate_detections(found, truth)
    assert scores["recall"] == scores["ap"] == 1.0 and scores["difficult"] == 1


def test_perfect_detections_and_tracks_score_one(crossing_clip):
    truth = crossing_clip.truth
    perfect = truth.assign(score=1.0)
    scores = evaluate_detections(perfect, truth)
    assert scores["precision"] == scores["recall"] == scores["ap"] == scores["average_iou"] == 1
    tracks = evaluate_tracks(truth, truth)  # arena truth names its identity column track
    assert tracks["mota"] == tracks["idf1"] == 1.0 and tracks["id_switches"] == 0


def test_swapped_identities_are_counted():
    truth = pd.DataFrame({"frame": [0, 0, 1, 1], "track": [0, 1, 0, 1], "x0": [0.0, 50, 0, 50],
                          "y0": 0.0, "x1": [10.0, 60, 10, 60], "y1": 10.0})  # fmt: skip
    tracks = truth.copy()
    tracks.loc[2:, "track"] = [1, 0]
    scores = evaluate_tracks(tracks, truth)
    assert scores["id_switches"] == 2 and scores["mota"] == 0.5 and scores["idf1"] == 0.5


def test_bad_ground_truth_is_refused():
    found = pd.DataFrame({"frame": [0], "x0": [0.0], "y0": 0.0, "x1": 1.0, "y1": 1.0,
                          "score": 0.5})  # fmt: skip
    with pytest.raises(ValueError, match="identity column"):
        evaluate_detections(found, found)
    # Another identity name is refused, not guessed: the message names what came and the fix.
    message = (
        r"truth has no 'track' column \(found: frame, x0, y0, x1, y1, score, mouse\); "
        r"rename the identity column to 'track'"
    )
    for evaluate in (evaluate_detections, evaluate_tracks):
        with pytest.raises(ValueError, match=message):
            evaluate(found.assign(track=0), found.assign(mouse=0))
    with pytest.raises(ValueError, match="no boxes"):
        evaluate_detections(found, found.assign(track=0).iloc[:0])
    with pytest.raises(TypeError, match="DataFrame"):
        evaluate_tracks(found, np.zeros((1, 6)))
