"""Fixation files are never misread: extra fields, infinite values, cut files, empty markers."""

import numpy as np
import pytest

from xaikit.data import fixations
from xaikit.data.errors import DataFileError


def test_a_row_with_an_extra_field_is_an_error_with_its_line(tmp_path):
    path = tmp_path / "fix.csv"
    path.write_text("x,y,duration\n10,20,250\n30,40,100,7\n50,60,80\n")
    with pytest.raises(DataFileError, match=r"line 3 has 4 fields but the header has 3"):
        fixations.read_fixations(path)
    # the same check with another separator
    path.write_text("x;y;duration\n10;20;250;1\n")
    with pytest.raises(DataFileError, match=r"line 2 has 4 fields"):
        fixations.read_fixations(path, sep=";")


def test_infinite_values_are_dropped_with_a_count(tmp_path):
    path = tmp_path / "fix.csv"
    path.write_text("x,y,duration\n10,20,inf\n30,40,100\n5,-inf,80\n")
    with pytest.warns(UserWarning, match="dropped 2 fixation.*infinite"):
        table = fixations.read_fixations(path)
    assert table[["x", "y", "duration"]].to_numpy().tolist() == [[30.0, 40.0, 100.0]]
    assert np.isfinite(fixations.fixation_map(table, (50, 50), sigma=2, kernel=8)).all()


def test_fixation_map_refuses_infinite_durations():
    with pytest.raises(ValueError, match="finite non-negative.*1 of 2"):
        fixations.fixation_map(np.array([[1.0, 1.0, np.inf], [2.0, 2.0, 10.0]]), (5, 5))


ASC = "MSG\t1000 TRIALID 7\nEFIX R   1010\t1260\t251\t  512.0\t  384.5\t  1200\n"


def test_a_cut_last_line_is_reported_and_not_misread(tmp_path):
    path = tmp_path / "s01.asc"
    path.write_text(ASC + "EFIX R   1300\t1500\t201\t  100.0\t  38")  # cut inside 384.5
    with pytest.warns(UserWarning, match=r"ignored the last line 3 .*no newline.*cut"):
        table = fixations.read_eyelink_asc(path)
    assert table["x"].tolist() == [512.0]
    path.write_text(ASC)  # a complete file: no warning
    assert len(fixations.read_eyelink_asc(path)) == 1


@pytest.mark.parametrize("option", ["start_message", "end_message"])
@pytest.mark.parametrize("value", ["", "   "])
def test_empty_trial_markers_are_refused(tmp_path, option, value):
    path = tmp_path / "s01.asc"
    path.write_text(ASC)
    with pytest.raises(ValueError, match=f"{option} must be None or the non-empty text"):
        fixations.read_eyelink_asc(path, **{option: value})
