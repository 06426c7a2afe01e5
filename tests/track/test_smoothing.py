import numpy as np
import pandas as pd
import pytest

from xaikit.track import filter_velocity_spikes, interpolate_gaps, spike_threshold


def path(x, y=None, track=0):
    n = len(x)
    return pd.DataFrame({"frame": range(n), "time": np.arange(n) / 10, "track": track,
                         "cx": np.asarray(x, float), "cy": 0.0 if y is None else y})  # fmt: skip


def test_spike_threshold_is_median_plus_three_scaled_mad():
    speeds = [2.0, 4.0, 4.0, 6.0, np.nan, 100.0]  # median 4, |dev| 2 0 0 2 96 -> MAD 2
    assert spike_threshold(speeds) == pytest.approx(4 + 3 * 1.4826 * 2)
    assert spike_threshold([np.nan]) == np.inf


@pytest.mark.parametrize(
    ("x", "dropped"),
    [
        ([0, 1, 2, 3, 40, 5, 6, 7, 8, 9], [4]),  # one frame away and back
        ([0, 1, 2, 3, 40, 41, 6, 7, 8, 9], [4, 5]),  # two frames away
        ([0, 1, 2, 3, 4, 5, 6, 7, 8, 60], []),  # nothing to come back to: kept
        ([0, 1, 40, 3, 4, 5, 6, 7, 8, 9], [2]),  # early in the track
    ],
)
def test_excursions_are_dropped(x, dropped):
    kept = filter_velocity_spikes(path(x))
    assert sorted(set(range(len(x))) - set(kept["frame"])) == dropped


def test_a_jump_that_stays_and_smooth_fast_motion_are_kept():
    jump = [0, 1, 2, 3, 40, 41, 42, 43, 44, 45, 46, 47]
    assert len(filter_velocity_spikes(path(jump), max_run=5)) == len(jump)
    bursts = [0, 0.1, 0.2, 0.3, 5, 10, 15, 20, 20.1, 20.2, 20.3, 20.4]  # rest, run, rest
    assert len(filter_velocity_spikes(path(bursts))) == len(bursts)


def test_tracks_are_filtered_separately():
    both = pd.concat([path([0, 1, 2, 30, 4, 5]), path([9, 9, 9, 9, 9, 9], track=1)])
    kept = filter_velocity_spikes(both)
    assert len(kept[kept["track"] == 1]) == 6 and len(kept[kept["track"] == 0]) == 5


def test_filter_refuses_bad_parameters():
    with pytest.raises(ValueError, match="k > 0"):
        filter_velocity_spikes(path([0, 1, 2]), k=0)
    with pytest.raises(ValueError, match="lacks the column"):
        filter_velocity_spikes(path([0, 1, 2]).drop(columns="cy"))


def full_tracks(frames, track=0):
    frames = np.asarray(frames)
    return pd.DataFrame({"frame": frames, "time": frames / 10, "track": track,
                         "x0": frames * 2.0, "y0": 0.0, "x1": frames * 2.0 + 10, "y1": 10.0,
                         "cx": frames * 2.0 + 5, "cy": 5.0, "score": 0.9})  # fmt: skip


def test_interpolation_fills_short_gaps_only():
    tracks = pd.concat([full_tracks([0, 1, 4, 20]), full_tracks([0, 2], track=1)])
    filled = interpolate_gaps(tracks, max_gap=2)
    zero = filled[filled["track"] == 0]
    assert zero["frame"].tolist() == [0, 1, 2, 3, 4, 20]
    assert zero["x0"].tolist() == [0.0, 2.0, 4.0, 6.0, 8.0, 40.0]
    np.testing.assert_allclose(zero["time"], [0, 0.1, 0.2, 0.3, 0.4, 2.0])
    assert zero["interpolated"].tolist() == [False, False, True, True, False, False]
    assert zero["score"].isna().tolist() == zero["interpolated"].tolist()
    assert filled[filled["track"] == 1]["frame"].tolist() == [0, 1, 2]
    assert len(interpolate_gaps(tracks, max_gap=0)) == len(tracks)
    # Filling again changes nothing (NaN scores are accepted).
    assert interpolate_gaps(filled, max_gap=2).equals(filled)


def test_interpolation_refuses_a_negative_gap():
    with pytest.raises(ValueError, match="max_gap"):
        interpolate_gaps(full_tracks([0, 2]), max_gap=-1)
