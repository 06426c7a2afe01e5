"""EyeLink .asc trials split by any message, presets, eye selection and duration conventions."""

import gzip
import re
import warnings

import pytest

from tests.realdata import real_path
from xaikit.data import fixations
from xaikit.data.errors import DataFileError
from xaikit.data.eyelink import PRESETS, read_eyelink_asc


def efix(eye, start, end, duration, x=100.0, y=200.0):
    return f"EFIX {eye}   {start}\t{end}\t{duration}\t  {x}\t  {y}\t   1000\n"


def write(tmp_path, text, name="s01.asc"):
    path = tmp_path / name
    path.write_text(text)
    return path


def read_quietly(path, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_eyelink_asc(path, **options)


# ------------------------------------------------------------------------------ presets

EXPERIMENT_BUILDER = (
    "MSG\t1000 TRIALID 1\n"
    "MSG\t1001 !V IMGLOAD FILL images/dog.jpg\n"
    + efix("R", 1010, 1259, 250, 10.0)
    + "MSG\t1300 TRIAL_RESULT 0\n"
    + efix("R", 1300, 1409, 110, 20.0)  # starts at the trial end: dropped
    + "MSG\t2000 TRIALID 2\n"
    "MSG\t2000 !V IMGLOAD CENTER ../cat.png 512 384\n"
    + efix("R", 2050, 2149, 100, 30.0)
    + efix("R", 2150, 2249, 100, 40.0)
    + "MSG\t2300 TRIAL_RESULT 0\n"
)


def test_experiment_builder_preset(tmp_path):
    path = write(tmp_path, EXPERIMENT_BUILDER)
    with pytest.warns(UserWarning, match=r"dropped 1 fixation\(s\) that start outside every"):
        table = read_eyelink_asc(path, preset="experiment_builder")
    assert table["x"].tolist() == [10.0, 30.0, 40.0]
    assert table["trial"].tolist() == ["1", "2", "2"]
    assert table["image"].tolist() == ["images/dog.jpg", "../cat.png", "../cat.png"]
    assert table["onset"].tolist() == [10.0, 50.0, 150.0]  # from the TRIALID message
    assert list(table.columns) == [
        "x", "y", "duration", "start", "end", "eye", "trial", "subject", "image", "onset",
    ]  # fmt: skip


def test_a_trial_naming_several_images_keeps_the_first(tmp_path):
    text = EXPERIMENT_BUILDER.replace(
        "MSG\t1300 TRIAL_RESULT", "MSG\t1290 !V IMGLOAD FILL images/cat.jpg\nMSG\t1300 TRIAL_RESULT"
    )
    path = write(tmp_path, text)
    with pytest.warns(UserWarning) as caught:
        table = read_eyelink_asc(path, preset="experiment_builder")
    assert "1 trial(s) name several images (e.g. trial '1'); each keeps the first" in [
        str(warning.message).split(": ", 1)[1] for warning in caught
    ]
    assert table["image"].tolist()[0] == "images/dog.jpg"


OPENSESAME = (
    "MSG\t500 start_trial practice\n"
    + efix("L", 490, 600, 111)  # starts before the trial: not in it
    + efix("L", 610, 700, 91, 1.0)
    + "MSG\t705 var image woods.jpg\n"
    "MSG\t705 var stimulus s_17.png\n"
    "MSG\t710 stop_trial\n"
    "MSG\t800 start_trial 2\n" + efix("L", 800, 900, 101, 2.0) + "MSG\t905 var image lake.jpg\n"
    "MSG\t905 var stimulus s_18.png\n"
    "MSG\t910 stop_trial\n"
)


def test_opensesame_preset_and_a_var_of_ones_choice(tmp_path):
    path = write(tmp_path, OPENSESAME)
    with pytest.warns(UserWarning, match="dropped 1 fixation"):
        table = read_eyelink_asc(path, preset="opensesame")
    assert table["trial"].tolist() == ["practice", "2"]
    assert table["image"].tolist() == ["woods.jpg", "lake.jpg"]  # var written at trial end
    assert table["onset"].tolist() == [110.0, 0.0]
    other = read_quietly(path, preset="opensesame", image_name=r"var\s+stimulus\s+(?P<image>\S+)")
    assert other["image"].tolist() == ["s_17.png", "s_18.png"]


PSYCHOPY = (
    "MSG\t1000 TRIALID 0\n"
    + efix("R", 1005, 1050, 46, 1.0)  # before the image: off the display period
    + "MSG\t1120 20 image_onset\n"  # offset 20: the image came on at 1100
    "MSG\t1121 !V IMGLOAD FILL ../../images/woods.jpg\n"
    + efix("R", 1100, 1300, 201, 2.0)
    + efix("R", 1310, 1400, 91, 3.0)
    + "MSG\t1450 blank_screen\n"
    + efix("R", 1450, 1480, 31, 4.0)  # after the image offset
    + "MSG\t1500 TRIAL_RESULT 0\n"
)


def test_psychopy_preset_keeps_the_display_period(tmp_path):
    path = write(tmp_path, PSYCHOPY)
    with pytest.warns(UserWarning, match=r"dropped 2 fixation\(s\) that start in a trial but"):
        table = read_eyelink_asc(path, preset="psychopy")
    assert table["x"].tolist() == [2.0, 3.0]
    assert table["onset"].tolist() == [0.0, 210.0]  # from 1120 - 20
    assert table["image"].tolist() == ["../../images/woods.jpg"] * 2
    assert PRESETS["psychopy"]["image_onset"] == r"^image_onset\b"


def test_image_onset_group_names_the_image_and_trials_without_onset_keep_nothing(tmp_path):
    text = (
        "MSG\t100 -4 TRIAL_START\n"  # offset -4: at 104
        "MSG\t110 DISPLAY_ON 2008_000123.jpg\n"
        + efix("R", 120, 220, 101, 1.0)
        + "MSG\t300 TRIAL_START\n"  # no DISPLAY_ON in this trial; the previous one ends here
        + efix("R", 320, 420, 101, 2.0)
    )
    path = write(tmp_path, text)
    with pytest.warns(UserWarning, match=r"1 trial\(s\) have no image_onset message \(e.g. 2\)"):
        table = read_eyelink_asc(
            path, trial_start="TRIAL_START", image_onset=r"DISPLAY_ON\s+(?P<image>\S+)"
        )
    assert table["trial"].tolist() == [1]  # no group "trial": numbered 1, 2, ...
    assert table["image"].tolist() == ["2008_000123.jpg"]
    assert table["onset"].tolist() == [10.0]


def test_explicit_regexes_replace_the_presets(tmp_path):
    path = write(tmp_path, OPENSESAME.replace("start_trial", "BEGIN"))
    table = read_quietly(path, preset="opensesame", trial_start=r"^BEGIN\s+(?P<trial>\S+)")
    assert table["trial"].tolist() == ["practice", "2"]


def test_default_is_unchanged_and_reexported(tmp_path):
    path = write(tmp_path, EXPERIMENT_BUILDER)
    table = read_eyelink_asc(path)
    assert table["trial"].tolist() == ["1", "1", "2", "2"]
    assert "onset" not in table.columns and "image" not in table.columns
    assert fixations.read_eyelink_asc is read_eyelink_asc
    assert "read_eyelink_asc" in fixations.__all__


def test_gzip_files_are_read(tmp_path):
    path = tmp_path / "s02.asc.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(EXPERIMENT_BUILDER)
    table = read_quietly(path, preset="experiment_builder")
    assert table["trial"].tolist() == ["1", "2", "2"]
    assert set(table["subject"]) == {"s02"}


# ------------------------------------------------------------------------------ bad input


def test_a_regex_that_matches_nothing_is_an_error_naming_it(tmp_path):
    path = write(tmp_path, OPENSESAME)
    with pytest.raises(DataFileError, match=r"trial_start regex '\^TRIALID.*matches no message.*"
                       r"'var' x4 \(e.g. 'var image woods.jpg'\)"):  # fmt: skip
        read_eyelink_asc(path, preset="experiment_builder")
    with pytest.raises(DataFileError, match=r"image_name regex 'IMGLOAD' matches no message"):
        read_eyelink_asc(path, preset="opensesame", image_name="IMGLOAD")


def test_a_presets_optional_regex_that_matches_nothing_is_left_out_with_a_warning(tmp_path):
    path = write(tmp_path, EXPERIMENT_BUILDER.replace("!V IMGLOAD", "!V DRAW_LIST"))
    with pytest.warns(UserWarning) as caught:
        table = read_eyelink_asc(path, preset="experiment_builder")
    assert re.search(r"preset's image_name regex .* matches no message", str(caught[0].message))
    assert table["image"].tolist() == [None] * 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"preset": "eprime"}, "preset must be one of"),
        ({"eye": "cyclops"}, "eye must be"),
        ({"duration": "samples"}, "duration must be"),
        ({"trial_start": "("}, "trial_start is not a valid regex"),
        ({"trial_start": " "}, "trial_start must be None or a non-empty regex"),
        ({"image_name": "var image"}, "need trial_start"),
        ({"preset": "opensesame", "start_message": "DISPLAY_ON"}, "cannot be combined"),
    ],
)
def test_bad_options(tmp_path, options, message):
    path = write(tmp_path, OPENSESAME)
    with pytest.raises(ValueError, match=message):
        read_eyelink_asc(path, **options)


# ------------------------------------------------------------------------------ eyes


def validation(eye, error):
    return (
        f"MSG\t10 !CAL VALIDATION HV9 LR {eye} GOOD ERROR {error} avg. 0.84 max  OFFSET 0.27 "
        "deg. 9.2,8.4 pix.\n"
    )


BINOCULAR = (
    validation("LEFT", "0.80")
    + validation("RIGHT", "0.30")
    + "START\t100 \tLEFT\tRIGHT\tSAMPLES\tEVENTS\n"
    + efix("L", 110, 209, 100, 1.0)
    + efix("R", 110, 209, 100, 2.0)
    + "END\t300 \tSAMPLES\tEVENTS\tRES\t  47.75\t  45.92\n"
    + validation("LEFT", "0.20")  # recalibrated: now the left eye is better
    + "START\t400 \tLEFT\tRIGHT\tSAMPLES\tEVENTS\n"
    + efix("L", 410, 509, 100, 3.0)
    + efix("R", 410, 509, 100, 4.0)
)


def test_eye_selection(tmp_path):
    path = write(tmp_path, BINOCULAR)
    assert read_eyelink_asc(path)["eye"].tolist() == ["L", "R", "L", "R"]
    assert read_eyelink_asc(path, eye="left")["x"].tolist() == [1.0, 3.0]
    assert read_eyelink_asc(path, eye="right")["x"].tolist() == [2.0, 4.0]
    best = read_eyelink_asc(path, eye="best")
    assert best["eye"].tolist() == ["R", "L"]  # 0.30 < 0.80, then 0.20 < 0.30
    assert best["x"].tolist() == [2.0, 3.0]


def test_best_eye_of_a_monocular_file_is_the_recorded_one_and_missing_eyes_are_named(tmp_path):
    path = write(tmp_path, efix("R", 110, 209, 100))
    assert read_eyelink_asc(path, eye="best")["eye"].tolist() == ["R"]
    with pytest.raises(DataFileError, match=r"eye='left' but .* no left-eye EFIX.*\['R'\]"):
        read_eyelink_asc(path, eye="left")


def test_best_eye_needs_a_validation_of_both_eyes(tmp_path):
    path = write(tmp_path, validation("LEFT", "0.5") + efix("L", 1, 9, 9) + efix("R", 1, 9, 9))
    with pytest.raises(DataFileError, match=r"eye='best' needs .* line 2; found errors \{'L'"):
        read_eyelink_asc(path, eye="best")


# ------------------------------------------------------------------------------ durations


def test_duration_conventions(tmp_path):
    text = efix("R", 1000, 1249, 250) + "EFIX L   2154563.0\t2154695.0\t132.5\t 1.0\t 2.0\t 9\n"
    path = write(tmp_path, text)
    assert read_eyelink_asc(path)["duration"].tolist() == [250.0, 132.5]  # EFIX field
    assert read_eyelink_asc(path, duration="end-start")["duration"].tolist() == [249.0, 132.0]


# ------------------------------------------------------------------------------ real data


def messages_and_fixation_starts(path):
    """(time, text) of every MSG line and the start of every EFIX line: a plain reading."""
    opener = gzip.open if str(path).endswith(".gz") else open
    messages, starts = [], []
    with opener(path, "rt", errors="replace") as handle:
        for line in handle:
            fields = line.split()
            if fields[:1] == ["MSG"]:
                messages.append((float(fields[1]), " ".join(fields[2:])))
            elif fields[:1] == ["EFIX"]:
                starts.append((fields[1], float(fields[2])))
    return messages, starts


def trials_by_time(path, start_word, end_word):
    """{label: number of fixations starting between the start and end message}."""
    messages, starts = messages_and_fixation_starts(path)
    opens = [(time, text.split(maxsplit=1)[1]) for time, text in messages
             if text.split()[0] == start_word]  # fmt: skip
    ends = [time for time, text in messages if text.split()[0] == end_word]
    return {
        label: sum(begin <= start < end for _, start in starts)
        for (begin, label), end in zip(opens, ends, strict=True)
    }


@pytest.mark.realdata
def test_real_opensesame_file_splits_into_its_20_trials():
    path = real_path("eyetracking", "asc", "eyelinkparser", "data1.asc")
    with pytest.warns(UserWarning) as caught:
        table = read_eyelink_asc(path, preset="opensesame")
    texts = [str(warning.message) for warning in caught]
    assert any("image_name regex" in text for text in texts)  # the file has no "var image"
    assert any("dropped 20 fixation(s) that start outside every trial" in text for text in texts)
    expected = trials_by_time(path, "start_trial", "stop_trial")
    assert list(expected) == [str(number) for number in range(20)]
    assert table["trial"].unique().tolist() == list(expected)
    assert table.groupby("trial", sort=False).size().to_dict() == expected
    assert expected["1"] == 2 and len(table) == 56 == 76 - 20  # 76 EFIX lines in the file
    trial_1 = table[table["trial"] == "1"]
    assert trial_1["start"].tolist() == [1038934.0, 1039143.0]
    assert trial_1["onset"].tolist() == [1038934.0 - 1037309, 1039143.0 - 1037309]
    # a per-trial var as the image: "var startPos left" (trial 0), "... bottom" (trial 1)
    positions = read_quietly(
        path, preset="opensesame", image_name=r"^var\s+startPos\s+(?P<image>\S+)"
    )
    assert positions.groupby("trial", sort=False)["image"].first()[:3].tolist() == [
        "left", "bottom", "right",
    ]  # fmt: skip
    # 1000 Hz: EyeLink's duration is end - start + 1
    both = read_quietly(path, preset="opensesame", duration="end-start")
    assert (table["duration"] - both["duration"]).eq(1.0).all()
    assert trial_1["duration"].tolist() == [190.0, 2492.0]


@pytest.mark.realdata
def test_real_binocular_file_best_eye_follows_its_validation():
    path = real_path("eyetracking", "asc", "pymovements", "eyelink_binocular_example.asc")
    messages, _ = messages_and_fixation_starts(path)
    errors = {
        found.group(1): float(found.group(2))
        for _, text in messages
        if (found := re.search(r"VALIDATION .* (LEFT|RIGHT) .*ERROR ([\d.]+) avg", text))
    }
    assert errors == {"LEFT": 0.41, "RIGHT": 0.31}
    table = read_eyelink_asc(path, eye="best")
    assert table["eye"].tolist() == ["R", "R"]
    assert table["x"].tolist() == [956.3, 945.6]
    assert read_eyelink_asc(path, eye="left")["x"].tolist() == [961.2, 959.6]


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "eyes", "counts"),
    [
        ("bino250", ["L", "R"], {"0": 4, "1": 6, "2": 4, "3": 4}),
        ("mono250", ["L"], {"0": 2, "1": 2, "2": 2, "3": 3}),
        ("monoRemote250", ["L"], {"0": 1, "1": 1, "2": 1, "3": 1}),
    ],
)
def test_real_experiment_builder_files_give_their_trialid_trials(name, eyes, counts):
    path = real_path("eyetracking", "asc", "eyelinker", f"{name}.asc.gz")
    with pytest.warns(UserWarning, match="image_name regex"):  # no !V IMGLOAD in these
        table = read_eyelink_asc(path, preset="experiment_builder")
    assert trials_by_time(path, "TRIALID", "TRIAL_RESULT") == counts
    assert table.groupby("trial", sort=False).size().to_dict() == counts
    assert sorted(set(table["eye"])) == eyes and set(table["subject"]) == {name}
    # 250 Hz: one sample is 4 ms
    both = read_quietly(path, preset="experiment_builder", duration="end-start")
    assert (table["duration"] - both["duration"]).eq(4.0).all()
    best = read_quietly(path, preset="experiment_builder", eye="best")
    assert set(best["eye"]) == ({"R"} if name == "bino250" else {"L"})  # 0.33 < 0.36 avg
