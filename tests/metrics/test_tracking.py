"""Tracking metrics against py-motmetrics on random sequences, and hand-worked sequences."""

import numpy as np
import pytest

from xaikit.metrics import tracking as trk


def random_sequence(rng, n_frames=12, n_objects=4):
    """Objects drifting across frames; the tracker jitters, drops, swaps ids and adds clutter."""
    truth, tracks = [], []
    start = rng.uniform(0, 200, (n_objects, 2))
    velocity = rng.normal(0, 3, (n_objects, 2))
    track_ids = np.arange(n_objects) + 100
    for frame in range(n_frames):
        if rng.random() < 0.2:
            swap = rng.choice(n_objects, 2, replace=False)
            track_ids[swap] = track_ids[swap[::-1]]
        if rng.random() < 0.1:
            track_ids[rng.integers(n_objects)] = 200 + frame
        for obj in range(n_objects):
            if rng.random() < 0.15:
                continue  # object not annotated in this frame
            x, y = start[obj] + frame * velocity[obj]
            truth.append([frame, obj, x, y, x + 20, y + 30])
            if rng.random() < 0.85:
                jitter = rng.normal(0, 3, 4)
                tracks.append(
                    [
                        frame,
                        track_ids[obj],
                        x + jitter[0],
                        y + jitter[1],
                        x + 20 + jitter[2],
                        y + 30 + jitter[3],
                    ]
                )
        for clutter in range(rng.integers(0, 2)):
            x, y = rng.uniform(0, 200, 2)
            tracks.append([frame, 300 + clutter, x, y, x + 20, y + 30])
    return np.array(truth), np.array(tracks)


def motmetrics_summary(truth, tracks):
    mm = pytest.importorskip("motmetrics")
    accumulator = mm.MOTAccumulator(auto_id=True)
    for frame in np.union1d(truth[:, 0], tracks[:, 0]):
        gt_rows, tr_rows = truth[truth[:, 0] == frame], tracks[tracks[:, 0] == frame]
        distances = np.full((len(gt_rows), len(tr_rows)), np.nan)
        for i, g in enumerate(gt_rows):
            for j, t in enumerate(tr_rows):
                width = max(0.0, min(g[4], t[4]) - max(g[2], t[2]))
                height = max(0.0, min(g[5], t[5]) - max(g[3], t[3]))
                inter = width * height
                union = (g[4] - g[2]) * (g[5] - g[3]) + (t[4] - t[2]) * (t[5] - t[3]) - inter
                if inter / union >= 0.5:
                    distances[i, j] = 1 - inter / union
        accumulator.update(gt_rows[:, 1].astype(int), tr_rows[:, 1].astype(int), distances)
    metrics = mm.metrics.create()
    names = ["mota", "motp", "idf1", "num_switches", "num_misses", "num_false_positives"]
    return metrics.compute(accumulator, metrics=names).iloc[0]


@pytest.mark.parametrize("seed", range(4))
def test_matches_motmetrics_on_random_sequences(seed):
    truth, tracks = random_sequence(np.random.default_rng(seed))
    expected = motmetrics_summary(truth, tracks)
    ours = trk.clear_mot(truth, tracks)
    assert ours["id_switches"] == expected["num_switches"]
    assert ours["fn"] == expected["num_misses"]
    assert ours["fp"] == expected["num_false_positives"]
    assert ours["mota"] == pytest.approx(expected["mota"], abs=1e-12)
    assert ours["motp"] == pytest.approx(1 - expected["motp"], abs=1e-9)  # distance vs IoU
    assert ours["idf1"] == pytest.approx(expected["idf1"], abs=1e-12)


def test_hand_worked_sequence():
    # two objects over four frames; the tracker swaps ids at frame 2, adds a false positive at
    # frame 1 and misses object 2 at frame 3.
    a = [0, 0, 10, 10]
    b = [50, 0, 60, 10]
    truth = np.array([[f, 1, *a] for f in range(4)] + [[f, 2, *b] for f in range(4)], dtype=float)
    tracks = np.array(
        [[0, 10, *a], [1, 10, *a], [2, 20, *a], [3, 20, *a]]
        + [[0, 20, *b], [1, 20, *b], [2, 10, *b]]
        + [[1, 30, 100, 100, 110, 110]],
        dtype=float,
    )
    scores = trk.clear_mot(truth, tracks)
    assert (scores["tp"], scores["fn"], scores["fp"], scores["id_switches"]) == (7, 1, 1, 2)
    assert scores["mota"] == pytest.approx(1 - (1 + 1 + 2) / 8)
    assert scores["motp"] == 1.0
    # best id pairing: 1<->10 (2 frames) + 2<->20 (2 frames), or 1<->20 + 2<->10: IDTP = 4
    assert scores["idf1"] == pytest.approx(2 * 4 / (8 + 8))
    assert trk.mota(truth, tracks) == scores["mota"]
    assert trk.id_switches(truth, tracks) == 2


def test_continuing_match_wins_over_higher_iou():
    truth = np.array([[0, 1, 0, 0, 10, 10], [1, 1, 0, 0, 10, 10]], dtype=float)
    tracks = np.array(
        [[0, 5, 0, 0, 10, 10], [1, 5, 0, 0, 10, 7], [1, 6, 0, 0, 10, 10]], dtype=float
    )
    scores = trk.clear_mot(truth, tracks)
    assert scores["id_switches"] == 0 and scores["fp"] == 1
    assert scores["motp"] == pytest.approx((1 + 0.7) / 2)


def test_edge_cases_and_errors():
    truth = np.array([[0, 1, 0, 0, 10, 10]], dtype=float)
    empty = trk.clear_mot(truth, np.zeros((0, 6)))
    assert empty["mota"] == 0.0 and empty["idf1"] == 0.0 and np.isnan(empty["motp"])
    assert np.isnan(trk.mota(np.zeros((0, 6)), truth))
    with pytest.raises(ValueError, match=r"\(N, 6\)"):
        trk.mota(truth[:, :5], truth)
    with pytest.raises(ValueError, match="repeats an id within frame 0"):
        trk.mota(np.vstack([truth, truth]), truth)
