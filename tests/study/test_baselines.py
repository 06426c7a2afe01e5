"""The floor (centre bias) and ceiling (inter-observer, leave one subject out) rows of a
human-fixation table: hand-worked cases, the table format, warnings, and OSIE."""

import time
import warnings

import numpy as np
import pandas as pd
import pytest

from tests.realdata import real_path
from xaikit.study import (
    BASELINE_METHODS,
    HUMANS_VS_CNN_METRICS,
    SAMPLE_SCORE_COLUMNS,
    SCORE_COLUMNS,
    baseline_scores,
    centre_bias_map,
    fixation_scores,
    human_references,
)

CENTRE, OBSERVERS = BASELINE_METHODS


def _table(points):
    """A fixation table from ``(subject, image, x, y)`` rows, each fixation 100 ms."""
    subject, image, x, y = zip(*points, strict=True)
    return pd.DataFrame({"subject": subject, "image": image, "x": x, "y": y, "duration": 100.0})


def _values(table, method):
    rows = table[table["method"] == method]
    return dict(zip(rows["metric"], rows["value"], strict=True))


def test_the_method_names_are_the_documented_ones():
    assert BASELINE_METHODS == ("centre bias", "inter-observer (leave one subject out)")


def test_two_subjects_on_the_same_pixel_agree_perfectly():
    # 5 x 5 image, kernel 1 (no blur): both maps are the one-hot of pixel (2, 2); NSS of a
    # one-hot of 25 pixels: (1 - 1/25) / 0.2 = 4.8 (std with N - 1: sqrt(0.96 / 24) = 0.2).
    table = _table([("a", "img", 2.5, 2.5), ("b", "img", 2.9, 2.1)])
    scores = baseline_scores(table, ["img"], (5, 5), sigma=1, kernel=1)
    ceiling = _values(scores, OBSERVERS)
    assert ceiling["CC"] == pytest.approx(1.0)
    assert ceiling["NSS"] == pytest.approx(4.8)
    assert ceiling["SIM"] == pytest.approx(1.0)
    assert ceiling["MAE"] == pytest.approx(0.0)
    assert ceiling["AUC-Judd"] == pytest.approx(1.0)
    # Pooled, the human map is that one-hot too, and the centre map peaks on it, but is no
    # one-hot: the floor is below the ceiling.
    floor = _values(scores, CENTRE)
    assert 0 < floor["CC"] < 1 and 0 < floor["NSS"] < 4.8 and floor["AUC-Judd"] == 1.0


def test_subjects_far_apart_agree_at_the_minimum():
    # Two one-hot maps of 25 pixels on different pixels: CC = -1 / (25 - 1); the held-out
    # subject's pixel holds a 0 of the other's map: NSS = (0 - 0.04) / 0.2 = -0.2.
    table = _table([("a", "img", 0.5, 0.5), ("b", "img", 4.5, 4.5)])
    ceiling = _values(baseline_scores(table, ["img"], (5, 5), sigma=1, kernel=1), OBSERVERS)
    assert ceiling["CC"] == pytest.approx(-1 / 24)
    assert ceiling["NSS"] == pytest.approx(-0.2)
    assert ceiling["SIM"] == pytest.approx(0.0)


def test_an_image_scores_the_mean_over_its_held_out_subjects():
    # 1 x 4 image, kernel 1. Held out a (or b): the others' map is [1, 0, 0, 1] against
    # [1, 0, 0, 0]: CC 1 / sqrt(3). Held out c: [1, 0, 0, 0] against [0, 0, 0, 1]: CC -1/3.
    table = _table([("a", "img", 0.5, 0.5), ("b", "img", 0.2, 0.7), ("c", "img", 3.5, 0.5)])
    scores = baseline_scores(table, ["img"], (1, 4), sigma=1, kernel=1, metrics=["CC"])
    assert _values(scores, OBSERVERS)["CC"] == pytest.approx((2 / np.sqrt(3) - 1 / 3) / 3)


def test_the_centre_map_peaks_at_the_centre_and_is_symmetric():
    odd = centre_bias_map((7, 11))
    assert odd.shape == (7, 11) and odd.dtype == np.float64
    assert np.unravel_index(odd.argmax(), odd.shape) == (3, 5) and odd[3, 5] == 1.0
    assert 0 < odd.min() and odd.max() <= 1
    np.testing.assert_allclose(odd, odd[::-1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(odd, odd[:, ::-1], rtol=0, atol=1e-15)
    even = centre_bias_map((4, 6))  # the centre (x, y) = (3, 2) is the corner of 4 pixels
    assert even[1:3, 2:4] == pytest.approx(np.ones((2, 2)))
    assert (even[1:3, 2:4].min() > np.delete(even.ravel(), [8, 9, 14, 15])).all()
    np.testing.assert_allclose(even, even[::-1, ::-1], rtol=0, atol=1e-15)


def test_the_centre_map_is_stretched_to_the_aspect_ratio():
    # 5 x 15: one pixel down is 1/5 of the height, three pixels right 1/5 of the width.
    wide = centre_bias_map((5, 15))
    assert wide[3, 7] == pytest.approx(wide[2, 10])
    # width 9, a third of it: sigma 3, so pixel 7 (centre 7.5) is one sigma off x = 4.5
    assert centre_bias_map((1, 9), sigma_fraction=1 / 3)[0, 7] == pytest.approx(np.exp(-0.5))
    # width 8, a quarter: sigma 2; pixels 3, 4 (centres 0.5 off x = 4) are the peak
    line = centre_bias_map((1, 8))[0]
    assert line[5] / line[4] == pytest.approx(np.exp(-0.5 * ((1.5 / 2) ** 2 - (0.5 / 2) ** 2)))
    with pytest.raises(ValueError, match="sigma_fraction"):
        centre_bias_map((5, 5), sigma_fraction=0)


def _three_images():
    return _table(
        [
            ("a", "p", 1.5, 1.5),
            ("b", "p", 2.5, 1.5),
            ("c", "p", 5.5, 4.5),
            ("a", "q", 3.5, 3.5),
            ("b", "q", 3.5, 2.5),
            ("a", "r", 0.5, 5.5),  # r: one subject only
        ]
    )


def test_rows_have_the_columns_and_layout_of_fixation_scores():
    table, images, shape = _three_images(), ["p", "q", "r"], (6, 8)
    with pytest.warns(UserWarning, match="single subject"):
        scores = baseline_scores(table, images, shape, sigma=1, kernel=3)
    human, masks = human_references(table, images, shape, sigma=1, kernel=3)
    model = fixation_scores(
        {("cam", "conv"): np.random.default_rng(0).random((3, 6, 8))}, human, masks
    )
    assert list(scores.columns) == list(model.columns) == SCORE_COLUMNS
    assert (scores.dtypes == model.dtypes).all()
    metrics = list(HUMANS_VS_CNN_METRICS)
    assert scores["method"].tolist() == [CENTRE] * 5 + [OBSERVERS] * 5
    assert scores["metric"].tolist() == metrics * 2 and (scores["layer"] == "").all()
    # the floor is scored exactly as a model's maps are
    centre = fixation_scores({(CENTRE, ""): np.stack([centre_bias_map(shape)] * 3)}, human, masks)
    pd.testing.assert_frame_equal(scores.iloc[:5], centre)
    with pytest.warns(UserWarning, match="single subject"):
        samples = baseline_scores(table, images, shape, sigma=1, kernel=3, per_sample=True)
    assert list(samples.columns) == SAMPLE_SCORE_COLUMNS
    assert len(samples) == 2 * len(metrics) * len(images)
    assert samples["sample"].tolist() == [0, 1, 2] * 10
    ceiling = samples[samples["method"] == OBSERVERS]
    assert ceiling[ceiling["sample"] == 2]["value"].isna().all()  # r has one subject
    assert ceiling[ceiling["sample"] < 2]["value"].notna().all()
    # the table value is the mean over the images with a score
    means = ceiling.groupby("metric", sort=False)["value"].mean()
    assert scores.iloc[5:]["value"].tolist() == pytest.approx(means[metrics].tolist())


def test_one_warning_counts_the_single_subject_images_and_one_the_empty_ones():
    table = _three_images()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = baseline_scores(table, ["p", "r", "empty", "q"], (6, 8), sigma=1, kernel=3)
    messages = [str(warning.message) for warning in caught]
    assert len(messages) == 2, messages
    assert "1 of 4 image(s) have no fixation inside them" in messages[0]
    assert "1 of 4 image(s) have fixations of a single subject" in messages[1]
    assert scores["value"].notna().all()  # p and q still score


def test_without_a_subject_column_it_says_so():
    with pytest.raises(ValueError, match="subject column"):
        baseline_scores(_three_images().drop(columns="subject"), ["p"], (6, 8))
    with pytest.raises(ValueError, match="duration"):
        baseline_scores(_three_images().drop(columns="duration"), ["p"], (6, 8))


@pytest.mark.realdata
def test_on_osie_the_ceiling_is_clearly_above_the_floor():
    raw = pd.read_csv(real_path("eyetracking", "osie", "fixations.csv"))
    images = sorted(raw["image"].unique())[:5]
    raw = raw[raw["image"].isin(images)]
    fixations = pd.DataFrame(  # MATLAB 1-based pixel centres -> continuous pixels
        {
            "subject": raw["subject"],
            "image": raw["image"],
            "x": raw["x"] - 0.5,
            "y": raw["y"] - 0.5,
            "duration": raw["duration_ms"],
        }
    )
    assert (fixations.groupby("image")["subject"].nunique() == 15).all()
    start = time.perf_counter()
    scores = baseline_scores(fixations, images, (600, 800), sigma=24, kernel=168)  # OSIE's recipe
    seconds = time.perf_counter() - start
    floor, ceiling = _values(scores, CENTRE), _values(scores, OBSERVERS)
    print(f"\nOSIE, {len(images)} images, {seconds:.1f} s")
    for metric in HUMANS_VS_CNN_METRICS:
        print(f"{metric:>9}: centre bias {floor[metric]:.3f}, inter-observer {ceiling[metric]:.3f}")
    assert ceiling["CC"] > floor["CC"] + 0.2 and ceiling["NSS"] > floor["NSS"] + 1.0
    assert ceiling["SIM"] > floor["SIM"] and ceiling["AUC-Judd"] > floor["AUC-Judd"]
    assert ceiling["MAE"] < floor["MAE"]  # lower is better
    assert 0.5 < floor["AUC-Judd"] < ceiling["AUC-Judd"] < 1  # the centre is better than chance
