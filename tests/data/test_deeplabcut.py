"""DeepLabCut labelled frames as boxes: hand-made files of both layouts, and the real project."""

from __future__ import annotations

import re
import warnings

import cv2
import numpy as np
import pytest

from tests.realdata import real_path
from xaikit.data import DataFileError, read_deeplabcut

MULTI = """scorer,,,me,me,me,me,me,me,me,me
individuals,,,mus1,mus1,mus1,mus1,mus2,mus2,mus2,mus2
bodyparts,,,snout,snout,tail,tail,snout,snout,tail,tail
coords,,,x,y,x,y,x,y,x,y
labeled-data,v,img0.png,10,20,30,60,100,100,,
labeled-data,v,img1.png,,,,,150,10,170,30
labeled-data,v,img2.png,,,,,,,,
"""


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "labeled-data" / "v"
    folder.mkdir(parents=True)
    for name in ("img0.png", "img1.png", "img2.png"):
        cv2.imwrite(str(folder / name), np.zeros((120, 160, 3), np.uint8))
    return folder


def test_multi_animal_three_column_index(project):
    path = project / "CollectedData_me.csv"
    path.write_text(MULTI)
    with pytest.warns(UserWarning, match="1 of 3 labelled frames have no visible keypoint"):
        ann = read_deeplabcut(path, margin=0.5)
    assert ann.images["image"].tolist() == ["labeled-data/v/img0.png", "labeled-data/v/img1.png"]
    assert ann.images[["height", "width"]].values.tolist() == [[120, 160], [120, 160]]
    boxes = ann.boxes[["x0", "y0", "x1", "y1"]].values.tolist()
    # mus1 on img0: extent 20 x 40, +20 each side, cut to the image; mus2: one point, no extent
    assert boxes == [[0, 0, 50, 80], [100, 100, 100, 100], [140, 0, 160, 40]]
    assert ann.boxes["track"].tolist() == ["mus1", "mus2", "mus2"]
    assert ann.boxes["keypoints"].tolist() == [2, 1, 2]


@pytest.mark.parametrize(
    "text, message",
    [
        ("scorer,me,me\nbodyparts,a,a\ncoords,x,y\nimg0.png,1,oops\n", "line 4: 'oops' is not"),
        ("scorer,me,me\nbodyparts,a,a\ncoords,x,y\nimg0.png,1\n", "line 4 has 2 cells"),
        ("frame,x,y\n0,1,2\n", "not a DeepLabCut CollectedData file"),
        ("scorer,me,me\nbodyparts,a,a\ncoords,x,y\n", "headers only"),
        ("scorer,me,me\nbodyparts,a,a\ncoords,x,y\nmissing.png,1,2\n", "missing.png not found"),
        ("scorer,me,me\nbodyparts,a,a\ncoords,x,y\nimg0.png,,\n", "no labelled frame has a"),
    ],
)
def test_bad_files_are_named_with_their_line(project, text, message):
    path = project / "CollectedData_me.csv"
    path.write_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(DataFileError, match=re.escape(message)):
            read_deeplabcut(path)


@pytest.mark.realdata
def test_the_real_open_field_project():
    folder = real_path("mice", "dlc-openfield-m4s1")
    ann = read_deeplabcut(folder / "CollectedData_Pranav.csv")
    assert len(ann.images) == 116 and len(ann.boxes) == 116  # one mouse in every frame
    assert set(ann.images["width"]) == {640} and set(ann.images["height"]) == {480}
    from_h5 = read_deeplabcut(folder / "CollectedData_Pranav.h5")
    np.testing.assert_array_equal(
        from_h5.boxes[["x0", "y0", "x1", "y1"]].values, ann.boxes[["x0", "y0", "x1", "y1"]].values
    )
    # each box holds the frame's keypoints, widened by a quarter of the extent's longer side
    bare = read_deeplabcut(folder / "CollectedData_Pranav.csv", margin=0)
    widths = (ann.boxes["x1"] - ann.boxes["x0"]) - (bare.boxes["x1"] - bare.boxes["x0"])
    assert (widths > 0).all()
