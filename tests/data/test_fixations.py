import warnings

import numpy as np
import pandas as pd
import pytest

from xaikit.data import DataFileError, fixations
from xaikit.data.fixations import (
    display_to_image,
    fixation_map,
    fixation_mask,
    gaussian_kernel,
    read_eyelink_asc,
    read_fixations,
    write_fixations,
)

# fspecial('gaussian', [4 4], 1) is the outer product of these weights, worked by hand:
# exp(-1.5**2 / 2) = 0.324652, exp(-0.5**2 / 2) = 0.882497, sum 2.414298.
HAND_WEIGHTS_4 = np.array([0.324652, 0.882497, 0.882497, 0.324652]) / 2.414298


def brute_force_imfilter(image, weights):
    """MATLAB imfilter (correlation, zero padding, 'same', anchor floor((k+1)/2)) by loops."""
    kernel = weights.shape[0]
    anchor = (kernel + 1) // 2 - 1
    height, width = image.shape
    out = np.zeros_like(image)
    for y in range(height):
        for x in range(width):
            total = 0.0
            for i in range(kernel):
                for j in range(kernel):
                    yy, xx = y + i - anchor, x + j - anchor
                    if 0 <= yy < height and 0 <= xx < width:
                        total += weights[i, j] * image[yy, xx]
            out[y, x] = total
    return out


# ------------------------------------------------------------------------------ kernel, map


def test_kernel_matches_hand_worked_fspecial():
    hand = np.outer(HAND_WEIGHTS_4, HAND_WEIGHTS_4)  # six-digit hand values
    np.testing.assert_allclose(gaussian_kernel(1, 4), hand, rtol=1e-5)
    big = gaussian_kernel()
    assert big.shape == (80, 80) and big.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(big, big.T)
    np.testing.assert_allclose(big, big[::-1, ::-1])  # symmetric about the half-pixel centre


def test_single_fixation_spreads_by_the_hand_worked_kernel():
    blurred = fixation_map(np.array([[2.5, 2.2, 300.0]]), (6, 6), sigma=1, kernel=4)
    expected = np.zeros((6, 6))
    # anchor 1: the fixation at pixel (2, 2) reaches output rows/cols 0..3 with weights reversed
    expected[:4, :4] = np.outer(HAND_WEIGHTS_4[::-1], HAND_WEIGHTS_4[::-1])
    np.testing.assert_allclose(blurred, expected, atol=1e-6)
    assert blurred[1, 1] == blurred[2, 2] == blurred.max()  # peak on floor(x) - 1 and floor(x)


def test_odd_kernel_is_centred_on_the_fixation():
    blurred = fixation_map(np.array([[3.9, 2.0, 1.0]]), (5, 7), sigma=1, kernel=5)
    assert np.unravel_index(blurred.argmax(), blurred.shape) == (2, 3)
    assert blurred[1, 3] == pytest.approx(blurred[3, 3])
    assert blurred[0, 3] == pytest.approx(blurred[4, 3])
    assert blurred[2, 2] == pytest.approx(blurred[2, 4])


def test_default_map_equals_brute_force_matlab_recipe():
    rng = np.random.default_rng(1)
    width, height = 23, 17
    table = pd.DataFrame(
        {
            "x": rng.uniform(0, width, 9),
            "y": rng.uniform(0, height, 9),
            "duration": rng.uniform(50, 400, 9),
        }
    )
    table.loc[8, ["x", "y"]] = table.loc[3, ["x", "y"]].to_numpy() + 0.01  # same pixel as 3
    counts = np.zeros((height, width))
    for x, y, duration in table.to_numpy():
        counts[int(y), int(x)] += duration
    expected = brute_force_imfilter(counts / counts.max(), gaussian_kernel(20, 80))
    np.testing.assert_allclose(fixation_map(table, (height, width)), expected, atol=1e-12)


def test_wide_kernel_with_eps_cut_off_equals_brute_force():
    # kernel 15 with sigma 1 reaches 7 sigma: fspecial zeroes its corners (below eps * max).
    weights = gaussian_kernel(1, 15)
    assert weights[0, 0] == 0 and weights[0, 7] > 0
    image = np.zeros((9, 11))
    image[4, 5], image[0, 10] = 1.0, 0.5
    expected = brute_force_imfilter(image, weights)
    table = pd.DataFrame({"x": [5.5, 10.0], "y": [4.5, 0.0], "duration": [2.0, 1.0]})
    np.testing.assert_allclose(fixation_map(table, (9, 11), 1, 15), expected, atol=1e-15)


def test_durations_sum_and_divide_by_the_maximum():
    table = pd.DataFrame(
        {"x": [5.0, 5.5, 30.0], "y": [5.0, 5.2, 30.0], "duration": [100, 200, 100]}
    )
    unblurred = fixation_map(table, (40, 40), sigma=0.01, kernel=1)
    assert unblurred[5, 5] == 1.0 and unblurred[30, 30] == pytest.approx(1 / 3)
    assert np.count_nonzero(unblurred) == 2


def test_blur_is_not_renormalised_unless_asked():
    table = pd.DataFrame({"x": [50.0], "y": [50.0], "duration": [200.0]})
    paper = fixation_map(table, (100, 100))
    # The peak is the mass of the 2x2 kernel centre: 4 * HAND-style weights for sigma 20.
    centre = gaussian_kernel(20, 80)[39:41, 39:41]
    assert paper.max() == pytest.approx(centre[0, 0]) and paper.max() < 0.001
    assert paper.sum() == pytest.approx(1.0)  # interior fixation: no mass leaks
    again = fixation_map(table, (100, 100), renormalize=True)
    assert again.max() == 1.0
    np.testing.assert_allclose(again, paper / paper.max())


def test_zero_padding_leaks_mass_at_borders():
    corner = fixation_map(pd.DataFrame({"x": [0.0], "y": [0.0], "duration": [1.0]}), (100, 100))
    # Anchor 39 of 80: the pixel-(0, 0) fixation keeps kernel rows/cols 0..39, half of each.
    assert corner.sum() == pytest.approx(0.25)


def test_cut_off_differs_from_scipy_gaussian_filter():
    from scipy import ndimage

    counts = np.zeros((101, 101))
    counts[50, 50] = 1.0
    ours = fixation_map(np.array([[50.5, 50.5, 1.0]]), (101, 101), sigma=20, kernel=81)
    scipy_4_sigma = ndimage.gaussian_filter(counts, 20, mode="constant")
    assert ours[50, 0] == 0.0 < scipy_4_sigma[50, 0]  # 50 px away: beyond our +-40 px cut-off


def test_outside_fixations_are_dropped_and_counted():
    table = pd.DataFrame(
        {"x": [1.0, -0.1, 10.0, 9.99, 3.0], "y": [1.0, 1.0, 1.0, 4.99, 5.0], "duration": 1.0}
    )
    with pytest.warns(UserWarning, match=r"dropped 3 of 5 fixation\(s\) outside the image of "
                      r"\(height, width\) \(5, 10\)"):  # fmt: skip
        mask = fixation_mask(table, (5, 10))
    assert mask.sum() == 2 and mask[1, 1] and mask[4, 9]


def test_no_fixation_inside_gives_zeros_with_a_warning():
    with pytest.warns(UserWarning, match="all zeros"), pytest.warns(UserWarning, match="dropped"):
        result = fixation_map(np.array([[-5.0, 1.0, 100.0]]), (6, 8))
    assert result.shape == (6, 8) and not result.any()
    with pytest.warns(UserWarning, match="all zeros"):
        assert not fixation_map(np.zeros((0, 3)), (6, 8)).any()


def test_mask_collapses_repeats_and_accepts_an_image_for_size():
    image = np.zeros((3, 4, 3), np.uint8)
    mask = fixation_mask(np.array([[1.2, 2.9], [1.8, 2.0], [3.0, 0.0]]), image)
    expected = np.zeros((3, 4), bool)
    expected[2, 1] = expected[0, 3] = True
    np.testing.assert_array_equal(mask, expected)
    unweighted = fixation_map(np.array([[1.2, 2.9], [3.0, 0.0]]), image, sigma=0.01, kernel=1)
    np.testing.assert_array_equal(unweighted, expected.astype(float))


def test_a_shape_is_height_width_and_an_image_gives_the_same_map():
    # A non-square image (240 rows, 320 columns) with fixations all over it, near every edge.
    image = np.zeros((240, 320, 3), np.uint8)
    table = pd.DataFrame(
        {"x": [0.0, 319.9, 300.0, 12.5], "y": [0.0, 239.9, 20.0, 200.0], "duration": 100.0}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fixation is dropped: none falls outside
        from_shape = fixation_map(table, image.shape[:2])
        from_image = fixation_map(table, image)
        mask = fixation_mask(table, (240, 320))
    assert from_shape.shape == (240, 320) == mask.shape
    np.testing.assert_array_equal(from_shape, from_image)
    assert mask[239, 319] and mask[20, 300] and mask.sum() == 4
    # (width, height) by mistake: the fixations below row 240 / right of column 240 are dropped.
    with pytest.warns(UserWarning, match="dropped 2 of 4"):
        fixation_map(table, (320, 240))


@pytest.mark.parametrize(
    ("args", "error", "words"),
    [
        ((np.array([[1.0, np.nan, 1.0]]), (4, 4)), ValueError, "NaN"),
        ((np.array([[1.0, 1.0, -1.0]]), (4, 4)), ValueError, "non-negative"),
        ((np.array([1.0, 1.0]), (4, 4)), ValueError, r"\(N, 2\) / \(N, 3\)"),
        ((pd.DataFrame({"x": [1.0], "y": [1.0]}), (4, 4)), ValueError, r"\['duration'\]"),
        ((np.array([[1.0, 1.0]]), (4, 0)), ValueError, r"shape must be \(height, width\)"),
        ((np.array([[1.0, 1.0]]), (4.5, 4)), ValueError, r"shape must be \(height, width\)"),
        ((np.array([[1.0, 1.0]]), (4, 4, 3)), ValueError, r"got \(4, 4, 3\)"),
        ((np.array([[1.0, 1.0]]), np.zeros((2, 4, 4, 3))), ValueError, r"shape \(2, 4, 4, 3\)"),
        (([[1.0, 1.0]], (4, 4), 0), ValueError, "sigma must be"),
        (([[1.0, 1.0]], (4, 4), 1, 0), ValueError, "kernel must be"),
    ],
)
def test_fixation_map_rejects_bad_input(args, error, words):
    with pytest.raises(error, match=words):
        fixation_map(*args)


# ------------------------------------------------------------------------------ geometry


def test_display_to_image_inverts_the_paper_display():
    # A 500x375 PASCAL image shown at twice its size, centred on a 1920x1080 screen.
    image_points = pd.DataFrame({"x": [0.0, 499.5, 250.0], "y": [0.0, 374.5, 10.0]})
    screen = image_points.copy()
    screen["x"] = image_points["x"] * 2 + (1920 - 1000) / 2
    screen["y"] = image_points["y"] * 2 + (1080 - 750) / 2
    back = display_to_image(screen.assign(duration=1.0), (375, 500), (1080, 1920), scale=2)
    np.testing.assert_allclose(back[["x", "y"]], image_points)
    assert "duration" in back and screen["x"].iloc[0] == 460.0


def test_display_to_image_default_scale_fits_the_screen():
    corner = pd.DataFrame({"x": [0.0, 1920.0], "y": [0.0, 1080.0]})
    mapped = display_to_image(corner, (300, 400), (1080, 1920))  # scale 3.6, 240 px side bands
    np.testing.assert_allclose(mapped["x"], [-240 / 3.6, 400 + 240 / 3.6])
    np.testing.assert_allclose(mapped["y"], [0.0, 300.0])


def test_display_to_image_takes_height_width_or_the_image():
    screen = pd.DataFrame({"x": [460.0], "y": [165.0]})
    image = np.zeros((375, 500, 3), np.uint8)
    from_image = display_to_image(screen, image, (1080, 1920), scale=2)
    pd.testing.assert_frame_equal(from_image, display_to_image(screen, (375, 500), (1080, 1920), 2))
    with pytest.raises(ValueError, match="screen_shape must be"):
        display_to_image(screen, image, np.zeros((1080, 1920, 3)), scale=2)


def test_display_to_image_rejects_bad_input():
    with pytest.raises(ValueError, match="scale must be"):
        display_to_image(pd.DataFrame({"x": [1.0], "y": [1.0]}), (4, 4), (8, 8), scale=-1)
    with pytest.raises(ValueError, match="lacks column"):
        display_to_image(pd.DataFrame({"x": [1.0]}), (4, 4), (8, 8))
    with pytest.raises(TypeError, match="DataFrame"):
        display_to_image(np.zeros((2, 2)), (4, 4), (8, 8))


# ------------------------------------------------------------------------------ CSV


def test_csv_round_trip(tmp_path):
    table = pd.DataFrame(
        {
            "x": [10.25, 300.0],
            "y": [5.5, 20.0],
            "duration": [250.0, 90.0],
            "subject": ["s1", "s2"],
            "image": ["a.jpg", "b.jpg"],
        }
    )
    write_fixations(tmp_path / "f.csv", table)
    pd.testing.assert_frame_equal(read_fixations(tmp_path / "f.csv"), table)


def test_csv_columns_are_matched_loosely_and_incomplete_rows_dropped(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(" X ;Y;DURATION\n1;2;3\n;4;5\n6;7;8\n")
    with pytest.warns(UserWarning, match=r"dropped 1 fixation"):
        table = read_fixations(path, sep=";")
    assert table.to_numpy().tolist() == [[1.0, 2.0, 3.0], [6.0, 7.0, 8.0]]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "the file is empty"),
        (b"x,y\n1,2\n", r"missing column\(s\) \['duration'\]"),
        (b"x,y,duration\n1,abc,3\n", r"'y' holds non-numbers in row\(s\) \[0\]"),
        (b'x,y,duration\n"1,2,3\n', "cannot be read as CSV"),
    ],
)
def test_bad_csv_files(tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=r"bad\.csv: .*" + words):
        read_fixations(path)


def test_missing_csv(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        read_fixations(tmp_path / "none.csv")


# ------------------------------------------------------------------------------ EyeLink ASC

ASC = """\
** CONVERTED FROM S07.EDF using edfapi 4.2
** DATE: Mon Feb  3 10:00:00 2019
MSG\t1000 TRIALID 1
MSG\t1010 DISPLAY_ON 2008_000123.jpg
SFIX R   1020
EFIX R   1020\t1270\t251\t  960.0\t  540.0\t   1500
SFIX R   1280
EFIX R   1280\t1400\t121\t    .\t    .\t      0
EFIX L   1290\t1405\t116\t  100.5\t  200.25\t 1400\t   35.1\t   36.2
EFIX R   5900\t6100\t201\t  10.0\t  10.0\t   1000
MSG\t6010 DISPLAY_OFF
MSG\t7000 TRIALID 2
EFIX R   7001\t7100\t100\t  5.0\t  6.0\t   900
MSG\t7100 -4 DISPLAY_ON 2008_000456.jpg
EFIX R   7200\t7300\t101\t  11.0\t  12.0\t   900
"""


def test_eyelink_asc_reads_every_fixation(tmp_path):
    path = tmp_path / "S07.asc"
    path.write_text(ASC)
    with pytest.warns(UserWarning, match="dropped 1 fixation"):
        table = read_eyelink_asc(path)
    assert table["x"].tolist() == [960.0, 100.5, 10.0, 5.0, 11.0]
    assert table["y"].tolist() == [540.0, 200.25, 10.0, 6.0, 12.0]
    assert table["duration"].tolist() == [251.0, 116.0, 201.0, 100.0, 101.0]
    assert table["start"].tolist() == [1020.0, 1290.0, 5900.0, 7001.0, 7200.0]
    assert table["eye"].tolist() == ["R", "L", "R", "R", "R"]
    assert table["trial"].tolist() == ["1", "1", "1", "2", "2"]
    assert set(table["subject"]) == {"S07"}


def test_eyelink_asc_keeps_fixations_within_display_periods(tmp_path):
    path = tmp_path / "S07.asc"
    path.write_text(ASC)
    with pytest.warns(UserWarning, match="dropped 1 fixation"):
        table = read_eyelink_asc(
            path, subject="p7", start_message="DISPLAY_ON", end_message="DISPLAY_OFF"
        )
    # 5900-6100 ends after DISPLAY_OFF (6010) and 7001-7100 precedes the second onset.
    assert table["start"].tolist() == [1020.0, 1290.0, 7200.0]
    assert table["image"].tolist() == ["2008_000123.jpg", "2008_000123.jpg", "2008_000456.jpg"]
    assert set(table["subject"]) == {"p7"}


def test_eyelink_asc_bad_files(tmp_path):
    path = tmp_path / "empty.asc"
    path.write_text("** just a header\nMSG\t1 hello\n")
    with pytest.raises(DataFileError, match=r"empty\.asc: no EFIX"):
        read_eyelink_asc(path)
    path.write_text("EFIX R 1 x 3 4 5 6\n")
    with pytest.raises(DataFileError, match="line 1 has non-numeric times"):
        read_eyelink_asc(path)
    path.write_text("EFIX R 1 2\n")
    with pytest.raises(DataFileError, match="line 1 is not a valid EFIX line"):
        read_eyelink_asc(path)


def test_reexported_at_package_level():
    import xaikit.data

    assert xaikit.data.fixation_map is fixations.fixation_map
