"""Naming each track after the ground-truth animal it follows (match_identities, relabel_tracks)."""

import numpy as np
import pandas as pd
import pytest

from xaikit.track import evaluate_tracks, summary
from xaikit.track.evaluation import match_identities, relabel_tracks


def _rows(frames, track, x0):
    """One 10x10 box per frame at ``x0`` (a scalar or one per frame), all for ``track``."""
    x0 = np.broadcast_to(np.asarray(x0, float), (len(frames),))
    return pd.DataFrame({"frame": frames, "track": track, "x0": x0, "y0": 0.0,
                         "x1": x0 + 10, "y1": 10.0})  # fmt: skip


@pytest.fixture
def hand_worked():
    """Mouse 0 sits at x 0-10, mouse 1 at x 50-60, for frames 0-3.

    Tracker ids (worked out by hand; IoU of two 10x10 boxes shifted by d is (10-d)/(10+d)):
    * 5 follows mouse 1 in all 4 frames (the tracker's 5 is the truth's 1);
    * 2 follows mouse 0 in frames 0-2 and drifts 6 px away in frame 3 (IoU 4/16 = 0.25);
    * 9 covers mouse 0 in frame 3 only: 1 frame against track 2's 3, so it loses mouse 0;
    * 8 is a box where no mouse is (a false track).
    So: {2: 0, 5: 1}; 8 and 9 unmatched.
    """
    truth = pd.concat([_rows(range(4), 0, 0.0), _rows(range(4), 1, 50.0)])
    tracks = pd.concat([
        _rows(range(4), 5, 50.0),
        _rows(range(4), 2, [0.0, 1.0, 0.0, 6.0]),
        _rows([3], 9, 0.0),
        _rows([1, 2], 8, 200.0),
    ])  # fmt: skip
    return tracks, truth


def test_swapped_ids_and_unmatched_tracks_are_matched_by_hand(hand_worked):
    tracks, truth = hand_worked
    assert match_identities(tracks, truth) == {2: 0, 5: 1}
    # At IoU 0.2 track 2's drifted frame 3 counts too: still 4 frames against track 9's 1.
    assert match_identities(tracks, truth, iou_threshold=0.2) == {2: 0, 5: 1}
    renamed = relabel_tracks(tracks, truth)
    # Unmatched tracks are numbered on from the largest truth id (1), in the order 8, 9.
    expected = {5: 1, 2: 0, 8: 2, 9: 3}
    assert renamed["track"].tolist() == tracks["track"].map(expected).tolist()
    pd.testing.assert_frame_equal(renamed.drop(columns="track"), tracks.drop(columns="track"))


def test_a_track_that_overlaps_too_little_is_left_out():
    truth = _rows(range(3), 0, 0.0)
    shifted = _rows(range(3), 4, 3.0)  # IoU 7/13 = 0.54 in every frame
    assert match_identities(shifted, truth) == {4: 0}
    assert match_identities(shifted, truth, iou_threshold=0.6) == {}
    assert relabel_tracks(shifted, truth, iou_threshold=0.6)["track"].tolist() == [1, 1, 1]


def test_the_longer_overlap_wins_the_animal():
    # Track 3 follows mouse 7 for two frames, then switches to mouse 8 for three: it is
    # named after mouse 8; track 6 takes mouse 7, which it follows in frames 2-4.
    truth = pd.concat([_rows(range(5), 7, 0.0), _rows(range(5), 8, 50.0)])
    tracks = pd.concat([_rows(range(5), 3, [0.0, 0, 50, 50, 50]), _rows(range(2, 5), 6, 0.0)])
    assert match_identities(tracks, truth) == {3: 8, 6: 7}


def test_relabelled_tracks_give_the_truth_table_and_the_same_scores(crossing_clip):
    truth = crossing_clip.truth
    swapped = truth.assign(track=truth["track"].map({0: 11, 1: 10}))
    assert match_identities(swapped, truth) == {10: 1, 11: 0}
    renamed = relabel_tracks(swapped, truth)
    pd.testing.assert_frame_equal(summary(renamed), summary(truth))
    # Renaming changes who is who, not how well the tracker did.
    noisy = swapped.assign(x0=swapped["x0"] + 3.0 * (swapped["frame"] % 2))
    assert evaluate_tracks(relabel_tracks(noisy, truth), truth) == evaluate_tracks(noisy, truth)


def test_named_animals_keep_their_names():
    truth = pd.concat([_rows(range(2), "male", 0.0), _rows(range(2), "female", 50.0)])
    tracks = pd.concat([_rows(range(2), 0, 50.0), _rows(range(2), 1, 0.0)])
    assert match_identities(tracks, truth) == {0: "female", 1: "male"}
    with pytest.raises(ValueError, match="must be numbers.*truth_rows"):
        relabel_tracks(tracks, truth)


def test_bad_input_is_refused(hand_worked):
    tracks, truth = hand_worked
    with pytest.raises(ValueError, match="iou_threshold must lie in"):
        match_identities(tracks, truth, iou_threshold=1.5)
    with pytest.raises(ValueError, match="no 'track' column"):
        match_identities(tracks, truth.rename(columns={"track": "mouse"}))
    with pytest.raises(ValueError, match="tracks lacks the column"):
        match_identities(tracks.drop(columns="track"), truth)
    with pytest.raises(TypeError, match="DataFrame"):
        match_identities(tracks.to_numpy(), truth)
