import numpy as np
import pandas as pd
import pytest

from xaikit.track import filter_velocity_spikes, interpolate_gaps, smooth_tracks, spike_threshold


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


def _boxes(track, frames, x0, y0, size=(20.0, 10.0), **flags):
    """A track table of boxes with top-left corners ``x0, y0`` (pixels) and a fixed size."""
    x0, y0 = np.asarray(x0, float), np.asarray(y0, float)
    table = pd.DataFrame({"frame": frames, "time": np.asarray(frames) / 10, "track": track,
                          "x0": x0, "y0": y0, "x1": x0 + size[0], "y1": y0 + size[1],
                          "score": 0.9, **flags})  # fmt: skip
    return table.assign(cx=(table.x0 + table.x1) / 2, cy=(table.y0 + table.y1) / 2)


def _filterpy_smoothed(table: pd.DataFrame) -> np.ndarray:
    """The same constant-velocity model through filterpy's Kalman filter and RTS smoother."""
    from filterpy.kalman import KalmanFilter

    from xaikit.track.motion import POSITION_NOISE, VELOCITY_NOISE

    boxes = table[["x0", "y0", "x1", "y1"]].to_numpy(float)
    xywh = np.column_stack([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]])
    measured = ~table["interpolated"].to_numpy(bool)
    scale = np.tile(np.median(xywh[measured, 2:], axis=0), 2)
    kf = KalmanFilter(dim_x=8, dim_z=4)
    kf.F[:4, 4:] = np.eye(4)
    kf.H = np.eye(4, 8)
    kf.Q = np.diag(np.concatenate([POSITION_NOISE * scale, VELOCITY_NOISE * scale]) ** 2)
    kf.R = np.diag((POSITION_NOISE * scale) ** 2)
    kf.x = np.concatenate([xywh[0], np.zeros(4)])  # the first box starts the track at rest
    kf.P = np.diag(np.concatenate([2 * POSITION_NOISE * scale, 10 * VELOCITY_NOISE * scale]) ** 2)
    start_mean, start_cov = kf.x.copy(), kf.P.copy()
    frames = table["frame"].to_numpy()
    observed = {f: z for f, z, m in zip(frames, xywh, measured, strict=True) if m}
    zs = [observed.get(f) for f in range(frames[0] + 1, frames[-1] + 1)]  # None: no update
    means, covariances, _, _ = kf.batch_filter(zs)
    means = np.concatenate([start_mean[None], means])
    covariances = np.concatenate([start_cov[None], covariances])
    smoothed, _, _, _ = kf.rts_smoother(means, covariances)
    return smoothed[frames - frames[0], :4]


def _xywh(table: pd.DataFrame) -> np.ndarray:
    boxes = table[["x0", "y0", "x1", "y1"]].to_numpy(float)
    return np.column_stack([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]])


def test_smoothing_matches_filterpy_on_a_track_with_gaps():
    rng = np.random.default_rng(0)
    frames = np.array([f for f in range(60) if f not in (7, 8, 30, 31, 32, 33)])
    x0 = 3.0 * frames + 0.02 * frames**2 + rng.normal(0, 2, len(frames))
    y0 = 50 + 10 * np.sin(frames / 8) + rng.normal(0, 2, len(frames))
    table = _boxes(0, frames, x0, y0, interpolated=np.isin(frames, [20, 21, 40]))
    table["x1"] += rng.normal(0, 1.5, len(frames))  # the width jitters too
    smoothed = smooth_tracks(table)
    np.testing.assert_allclose(_xywh(smoothed), _filterpy_smoothed(table), atol=1e-9)
    np.testing.assert_allclose(smoothed[["cx", "cy"]], _xywh(smoothed)[:, :2])


def test_hidden_rows_stay_and_tracks_are_smoothed_separately():
    rng = np.random.default_rng(1)
    first = _boxes(0, range(20), 4.0 * np.arange(20) + rng.normal(0, 2, 20), 0.0)
    hidden = np.isin(np.arange(20), [0, 1, 18, 19])
    second = _boxes(1, range(20), 100 + rng.normal(0, 2, 20), 40.0, hidden=hidden)
    lonely = _boxes(2, [5, 6, 7], [9.0, 19, 3], 90.0, interpolated=[False, True, True])
    table = pd.concat([first, second, lonely], ignore_index=True)
    table[["hidden", "interpolated"]] = table[["hidden", "interpolated"]].fillna(False).astype(bool)
    smoothed = smooth_tracks(table).set_index(["track", "frame"]).sort_index()
    original = table.set_index(["track", "frame"]).sort_index()
    columns = ["x0", "y0", "x1", "y1", "cx", "cy"]
    pd.testing.assert_frame_equal(smoothed.loc[2, columns], original.loc[2, columns])
    under = original.loc[1].index[hidden]
    pd.testing.assert_frame_equal(
        smoothed.loc[1].loc[under, columns], original.loc[1].loc[under, columns]
    )
    alone = smooth_tracks(table[table.track == 0]).set_index("frame")
    pd.testing.assert_frame_equal(alone[columns], smoothed.loc[0, columns])
    for track in (0, 1):  # both change: a still mouse's jitter shrinks
        assert not np.allclose(smoothed.loc[track, "cx"], original.loc[track, "cx"])
    assert smoothed.loc[1, "cx"].loc[2:17].std() < 0.6 * original.loc[1, "cx"].loc[2:17].std()


def test_smoothing_removes_the_distance_that_jitter_adds():
    # A mouse walking a circle, its boxes jittered by 6 % of their size: the raw path is longer.
    from xaikit.track import distance_travelled

    rng = np.random.default_rng(2)
    angle = np.linspace(0, 2 * np.pi, 150)
    x0 = 200 + 100 * np.cos(angle) + rng.normal(0, 0.06 * 30, 150)
    y0 = 200 + 100 * np.sin(angle) + rng.normal(0, 0.06 * 15, 150)
    table = _boxes(0, range(150), x0, y0, size=(30.0, 15.0))
    truth = 2 * np.pi * 100  # the circumference
    raw = distance_travelled(table[["cx", "cy"]])
    smooth = distance_travelled(smooth_tracks(table)[["cx", "cy"]])
    assert raw > 1.1 * truth and abs(smooth - truth) < 0.03 * truth


def test_smoothing_refuses_a_table_without_boxes():
    with pytest.raises(ValueError, match="x0"):
        smooth_tracks(path([0.0, 1.0, 2.0]))
