"""One reader for labelled frames in any format, and the plain box CSV."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import xaikit as xk
from xaikit.data import DataFileError
from xaikit.data.annotations import Annotations, write_coco, write_voc, write_yolo
from xaikit.data.labels import read_box_csv, read_labels

from .test_deeplabcut import MULTI, project  # noqa: F401 - the fixture


@pytest.fixture
def clip(tmp_path):
    path = tmp_path / "arena.mp4"
    xk.data.write_video(path, np.zeros((5, 48, 64, 3), np.uint8), fps=10)
    return path


def test_box_csv_with_frames_from_a_video(tmp_path, clip):
    csv = tmp_path / "boxes.csv"
    csv.write_text("frame,x0,y0,x1,y1,track,label\n0,1,2,10,12,0,mouse\n3,5,5,60,40,1,mouse\n")
    ann = read_labels(csv, video=clip)
    assert ann.images["image"].tolist() == ["arena.mp4:0", "arena.mp4:3"]
    assert ann.images[["width", "height", "frame"]].values.tolist() == [[64, 48, 0], [64, 48, 3]]
    assert ann.boxes["track"].tolist() == [0, 1] and ann.classes == ["mouse"]


@pytest.mark.parametrize(
    "rows, message",
    [
        ("0,1,2,10,12\n7,1,2,10,12\n", "line 3: frame 7 is past the end"),
        ("0,1,2,10,x\n", "line 2: box"),
        ("0,10,2,10,12\n", "x1 > x0"),
        ("0,70,2,80,12\n", "line 2: box [70.0, 2.0, 80.0, 12.0] lies outside its 64x48"),
        ("-1,1,2,10,12\n", "line 2: frame -1 is not a whole number >= 0"),
    ],
)
def test_bad_box_rows_are_named_with_their_line(tmp_path, clip, rows, message):
    csv = tmp_path / "boxes.csv"
    csv.write_text("frame,x0,y0,x1,y1\n" + rows)
    with pytest.raises(DataFileError, match=re.escape(message)):
        read_box_csv(csv, video=clip)


def test_box_csv_needs_its_columns_and_its_video(tmp_path):
    csv = tmp_path / "boxes.csv"
    csv.write_text("frame,x,y\n0,1,2\n")
    with pytest.raises(DataFileError, match=r"missing \['x0', 'y0', 'x1', 'y1'\]"):
        read_box_csv(csv)
    csv.write_text("frame,x0,y0,x1,y1\n0,1,2,3,4\n")
    with pytest.raises(DataFileError, match="pass video="):
        read_box_csv(csv)


def test_every_format_is_told_apart(tmp_path, project):  # noqa: F811 - the fixture
    import cv2

    (project / "CollectedData_me.csv").write_text(MULTI)
    with pytest.warns(UserWarning):
        dlc = read_labels(project / "CollectedData_me.csv")
    assert len(dlc.boxes) == 3
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((40, 60, 3), np.uint8))
    ann = Annotations(
        images=pd.DataFrame({"image": ["a.png"], "width": [60], "height": [40]}),
        boxes=pd.DataFrame({"image": ["a.png"], "label": ["animal"], "x0": [5.0],
                            "y0": [6.0], "x1": [30.0], "y1": [20.0]}),
        classes=["animal"],
    )  # fmt: skip
    write_coco(ann, tmp_path / "coco.json")
    write_voc(ann, tmp_path / "voc")
    write_yolo(ann, tmp_path / "yolo")
    cv2.imwrite(str(tmp_path / "yolo" / "a.png"), np.zeros((40, 60, 3), np.uint8))
    for source in (tmp_path / "coco.json", tmp_path / "voc", tmp_path / "yolo"):
        got = read_labels(source)
        np.testing.assert_allclose(
            got.boxes[["x0", "y0", "x1", "y1"]].to_numpy(float),
            ann.boxes[["x0", "y0", "x1", "y1"]].to_numpy(float),
            atol=1e-3,
        )
    with pytest.raises(ValueError, match="format must be one of"):
        read_labels(tmp_path / "coco.json", format="labelme")
