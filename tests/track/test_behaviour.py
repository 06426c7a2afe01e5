import numpy as np
import pandas as pd
import pytest

from xaikit.track import (
    Zone,
    cm_per_pixel,
    distance_travelled,
    immobility_bouts,
    occupancy,
    speed,
    summary,
    trajectory,
)


def square_walk():
    """One animal: 10 px boxes, walks 3-4-5 steps (5 px per 0.1 s) then rests, 10 fps."""
    cx = [5.0, 8.0, 11.0, 14.0] + [14.0] * 16
    cy = [5.0, 9.0, 13.0, 17.0] + [17.0] * 16
    frames = np.arange(20)
    table = pd.DataFrame({"frame": frames, "time": frames / 10, "track": 0, "cx": cx, "cy": cy})
    table["x0"], table["y0"] = table["cx"] - 5, table["cy"] - 5
    table["x1"], table["y1"] = table["cx"] + 5, table["cy"] + 5
    return table


def test_cm_per_pixel_and_its_errors():
    assert cm_per_pixel((0, 0), (0, 200), 40) == 0.2
    with pytest.raises(ValueError, match="must differ"):
        cm_per_pixel((1, 1), (1, 1), 10)
    with pytest.raises(ValueError, match="distance_cm"):
        cm_per_pixel((0, 0), (1, 1), 0)


def test_distance_speed_and_errors():
    points = [[0, 0], [3, 4], [np.nan, np.nan], [3, 4], [3, 10]]
    assert distance_travelled(points) == 11.0
    got = speed(points, [0.0, 1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(got, [np.nan, 5.0, np.nan, np.nan, 6.0])
    with pytest.raises(ValueError, match="window"):
        speed(points, np.arange(5.0), window=0)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        speed([[0, 0, 0]], [0.0])


def test_immobility_bouts_literal_and_nan_breaks_a_bout():
    speeds = [np.nan, 0.0, 0.0, np.nan, 0.0, 0.0, 0.0, 9.0]
    bouts = immobility_bouts(speeds, np.arange(8) * 0.5, threshold=1.0, min_duration=1.0)
    assert bouts.values.tolist() == [[1, 2, 0.5, 1.0], [4, 6, 2.0, 1.5]]
    assert immobility_bouts(speeds, np.arange(8) * 0.5, 1.0, min_duration=1.2).shape[0] == 1
    with pytest.raises(ValueError, match="threshold"):
        immobility_bouts(speeds, np.arange(8.0), threshold=0)


def test_occupancy_sums_to_tracked_time_and_blur_keeps_the_total():
    points = np.array([[1, 1], [1, 1], [30, 20], [np.nan, np.nan]])
    heat = occupancy(points, np.arange(4) * 0.25, (24, 32), cell=8)  # 24 rows, 32 columns
    assert heat.shape == (3, 4)
    assert heat[0, 0] == 0.5 and heat[2, 3] == 0.25 and heat.sum() == 0.75
    frame = np.zeros((24, 32, 3), np.uint8)
    np.testing.assert_array_equal(occupancy(points, np.arange(4) * 0.25, frame, cell=8), heat)
    blurred = occupancy(points, np.arange(4) * 0.25, (24, 32), cell=8, sigma=1)
    assert blurred.sum() == pytest.approx(0.75) and blurred[0, 0] < 0.5
    with pytest.raises(ValueError, match=r"shape must be \(height, width\)"):
        occupancy(points, np.arange(4.0), (0, 24))
    with pytest.raises(ValueError, match="cell > 0"):
        occupancy(points, np.arange(4.0), (24, 32), cell=0)


def test_trajectory_reports_every_frame():
    table = square_walk().drop(index=[2, 3])
    path = trajectory(table, 0, frames=range(5))
    assert path["frame"].tolist() == [0, 1, 2, 3, 4]
    assert np.isnan(path["x"].iloc[2]) and path["x"].iloc[4] == 14.0
    np.testing.assert_allclose(path["time"], [0, 0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="no track 7"):
        trajectory(table, 7)


def test_summary_in_pixels_and_centimetres():
    table = square_walk()
    zone = Zone.circle("rest_spot", 14, 17, 1)
    pixels = summary(table, zones=[zone], immobile_window=0.1, min_immobile=1.0).iloc[0]
    assert pixels["distance_px"] == pytest.approx(15.0)
    assert pixels["max_speed_px_s"] == pytest.approx(50.0)
    assert pixels["mean_speed_px_s"] == pytest.approx(15.0 / 1.9)
    # Resting from frame 4 (speed 0 < 1 px/s = 0.1 x 10 px box per s): 16 frames, 1.6 s.
    assert pixels["immobile_time_s"] == pytest.approx(1.6)
    assert pixels["immobile_bouts"] == 1
    assert pixels["rest_spot_entries"] == 1
    assert pixels["rest_spot_latency_s"] == pytest.approx(0.3)
    assert pixels["rest_spot_time_s"] == pytest.approx(1.7)
    assert pixels["coverage"] == 1.0
    centimetres = summary(table, scale=0.5, immobile_window=0.1).iloc[0]
    assert centimetres["distance_cm"] == pytest.approx(7.5)
    assert centimetres["max_speed_cm_s"] == pytest.approx(25.0)


def test_summary_errors():
    with pytest.raises(ValueError, match="empty"):
        summary(square_walk().iloc[:0])
    zone = Zone.circle("z", 0, 0, 1)
    with pytest.raises(ValueError, match="unique"):
        summary(square_walk(), zones=[zone, zone])
    with pytest.raises(ValueError, match="scale"):
        summary(square_walk(), scale=-1)
