"""Degrees of visual angle: hand-worked pixels per degree, placements and sigma_deg maps."""

import math

import numpy as np
import pandas as pd
import pytest

from tests.realdata import real_path
from xaikit.data.errors import DataFileError
from xaikit.data.fixations import Placement, Screen, display_to_image, fixation_map

TAN_HALF_DEGREE = 0.00872686779  # tan(0.5 deg)


def test_pixels_per_degree_by_hand():
    # 1920 px over 53 cm = 36.2264 px/cm; the central degree at 60 cm spans
    # 2 * 60 * tan(0.5 deg) = 1.0472241 cm, so 37.9372 px.
    assert Screen(1920, 1080, 53.0, 60.0).pixels_per_degree == pytest.approx(37.9372, abs=1e-4)
    # At 57 cm a degree is 0.99486 cm: 1024 px over 40 cm gives 25.4685 px.
    assert Screen(1024, 768, 40.0, 57.0).pixels_per_degree == pytest.approx(25.4685, abs=1e-4)


def _screen_of(pixels_per_degree: float) -> Screen:
    """A 40 x 30 px screen seen from 57 cm whose central degree spans ``pixels_per_degree``."""
    width_cm = 40 * 2 * 57 * TAN_HALF_DEGREE / pixels_per_degree
    return Screen(40, 30, width_cm, 57.0)


def test_a_sigma_in_degrees_is_the_hand_worked_pixel_map():
    # 2 px per degree, so sigma_deg 0.5 is sigma 1 px and the kernel round(4 * 1) = 4 px: the
    # 1-D weights 0.1345, 0.3655, 0.3655, 0.1345, so the fixation's row reads 0.3655 * (those).
    fixation = np.array([[2.5, 2.5, 300.0]])
    row = fixation_map(fixation, (5, 5), sigma_deg=0.5, screen=_screen_of(2.0))[2]
    np.testing.assert_allclose(row, [0.0492, 0.1336, 0.1336, 0.0492, 0.0], atol=5e-5)
    # Shown at scale 2 on a screen of 4 px per degree, an image pixel is again half a degree.
    placement = _screen_of(4.0).place((5, 5), scale=2)
    assert placement.pixels_per_degree == pytest.approx(2.0)
    scaled = fixation_map(fixation, (5, 5), sigma_deg=0.5, screen=placement)
    np.testing.assert_allclose(
        scaled, fixation_map(fixation, (5, 5), sigma_deg=0.5, screen=2.0), atol=1e-9
    )
    np.testing.assert_allclose(scaled, fixation_map(fixation, (5, 5), 1, 4), atol=1e-9)


def test_the_default_kernel_is_four_sigma():
    table = pd.DataFrame({"x": [30.2], "y": [20.7], "duration": [100.0]})
    np.testing.assert_array_equal(
        fixation_map(table, (50, 60)), fixation_map(table, (50, 60), 20, 80)
    )
    np.testing.assert_array_equal(
        fixation_map(table, (50, 60), sigma=5), fixation_map(table, (50, 60), 5, 20)
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sigma_deg": 1.0}, "sigma_deg needs screen="),
        ({"sigma": 3.0, "sigma_deg": 1.0, "screen": 2.0}, "not both"),
        ({"screen": 2.0}, "pass sigma_deg= too"),
        ({"sigma_deg": -1.0, "screen": 2.0}, "positive number of degrees"),
    ],
)
def test_unclear_blur_arguments_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        fixation_map(np.array([[1.0, 1.0, 1.0]]), (4, 4), **options)


def test_a_placement_maps_screen_to_image_pixels_like_display_to_image():
    screen = Screen(1920, 1080, 53.0, 60.0)
    gaze = pd.DataFrame({"x": [960.0, 460.0, 1459.9], "y": [540.0, 165.0, 914.9]})
    placement = screen.place((375, 500), scale=2)
    assert (placement.left, placement.top) == (460.0, 165.0)
    mapped = placement.to_image(gaze)
    pd.testing.assert_frame_equal(mapped, display_to_image(gaze, (375, 500), (1080, 1920), 2))
    np.testing.assert_allclose(mapped["x"], [250.0, 0.0, 499.95])
    fitted = screen.place((300, 400), scale=None)  # 3.6x, bands of 240 px left and right
    assert fitted.scale == pytest.approx(3.6) and fitted.left == pytest.approx(240.0)
    corner = screen.place((100, 100), top_left=(0, 0)).to_image(
        pd.DataFrame({"x": [50.0], "y": [7.0]})
    )
    assert corner[["x", "y"]].values.tolist() == [[50.0, 7.0]]


@pytest.mark.parametrize(
    ("scale", "top_left"), [(3.0, None), (1.0, (1500.0, 0.0)), (1.0, (-1.0, 10.0))]
)
def test_an_image_off_the_screen_is_an_error(scale, top_left):
    with pytest.raises(ValueError, match="beyond the 1920 x 1080 screen"):
        Screen(1920, 1080, 53.0, 60.0).place((375, 500), scale=scale, top_left=top_left)


@pytest.mark.parametrize("bad", [0, -3, float("nan"), float("inf")])
def test_a_screen_needs_positive_sizes(bad):
    with pytest.raises(ValueError, match="distance_cm must be a positive number"):
        Screen(1920, 1080, 53.0, bad)


def test_a_placement_is_a_value():
    assert isinstance(Screen(10, 10, 1.0, 1.0).place((10, 10)), Placement)


@pytest.mark.realdata
def test_the_screen_of_a_real_recording_comes_from_display_coords(tmp_path):
    path = real_path("eyetracking", "asc", "pymovements", "eyelink_monocular_example.asc")
    screen = Screen.from_asc(path, width_cm=38.0, distance_cm=68.0)
    assert screen.shape == (1024, 1280)  # DISPLAY_COORDS 0 0 1279 1023
    expected = 1280 / 38.0 * 2 * 68.0 * math.tan(math.radians(0.5))
    assert screen.pixels_per_degree == pytest.approx(expected)
    # OpenSesame writes the size, not the last pixel: GAZE_COORDS 0.00 0.00 1024.00 768.00
    opensesame = real_path("eyetracking", "asc", "eyelinkparser", "data1.asc")
    assert Screen.from_asc(opensesame, width_cm=38.0, distance_cm=68.0).shape == (768, 1024)
    (tmp_path / "none.asc").write_text("MSG\t1 TRIALID 1\n")
    with pytest.raises(DataFileError, match="no DISPLAY_COORDS"):
        Screen.from_asc(tmp_path / "none.asc", width_cm=38.0, distance_cm=68.0)


@pytest.mark.parametrize(
    ("message", "scale", "corner"),
    [
        ("!V IMGLOAD CENTER dog.jpg 512 384 800 600", 2.0, (112.0, 84.0)),
        ("!V IMGLOAD CENTER dog.jpg 512 384", 1.0, (312.0, 234.0)),
        ("!V IMGLOAD TOP_LEFT my photos/dog 1.jpg 10 20 200 150", 0.5, (10.0, 20.0)),
        ("!V IMGLOAD FILL dog.jpg", 1024 / 400, (0.0, 0.0)),
    ],
)
def test_a_data_viewer_imgload_message_places_the_image(message, scale, corner):
    placed = Screen(1024, 768, 40.0, 57.0).place_imgload(message, (300, 400))
    assert placed.scale == pytest.approx(scale)
    assert (placed.left, placed.top) == pytest.approx(corner)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("!V IMGLOAD CENTER dog.jpg 512 384 800 300", "stretched"),
        ("!V IMGLOAD CENTER dog.jpg 1000 384 800 600", "beyond the 1024 x 768 screen"),
        ("!V IMGLOAD CENTER dog.jpg", "cannot read the placement"),
        ("!V DRAW_LIST list.vcl", "not a '!V IMGLOAD"),
    ],
)
def test_an_unusable_imgload_message_is_a_clear_error(message, error):
    with pytest.raises(ValueError, match=error):
        Screen(1024, 768, 40.0, 57.0).place_imgload(message, (300, 400))


@pytest.mark.realdata
def test_a_real_recording_places_its_image_from_its_own_message():
    from xaikit.data.eyelink import read_messages

    path = real_path("eyetracking", "asc", "pymovements", "eyelink_monocular_no_dummy_example.asc")
    (message,) = read_messages(path, r"^!V\s+IMGLOAD")["text"]
    assert message == "!V IMGLOAD FILL Images/text.png"
    screen = Screen.from_asc(path, width_cm=53.0, distance_cm=60.0)
    placed = screen.place_imgload(message, (1080, 1920))
    assert (placed.scale, placed.left, placed.top) == (1.0, 0.0, 0.0)
    assert placed.pixels_per_degree == pytest.approx(screen.pixels_per_degree)
