import json
import xml.etree.ElementTree as ElementTree

import numpy as np
import pandas as pd
import pytest

from xaikit.data import DataFileError
from xaikit.data.annotations import (
    Annotations,
    read_coco,
    read_voc,
    read_yolo,
    write_coco,
    write_voc,
    write_yolo,
)


@pytest.fixture
def sample() -> Annotations:
    images = pd.DataFrame(
        {
            "image": ["a.jpg", "b.png", "empty.jpg"],
            "width": [640, 320, 100],
            "height": [480, 240, 50],
        }
    )
    boxes = pd.DataFrame(
        {
            "image": ["a.jpg", "a.jpg", "b.png"],
            "label": ["mouse", "cage", "mouse"],
            "x0": [10.0, 0.0, 100.0],
            "y0": [20.0, 0.0, 50.0],
            "x1": [50.0, 640.0, 131.0],
            "y1": [60.0, 480.0, 77.0],
        }
    )
    return Annotations(images, boxes, ["mouse", "cage"])


def assert_same(read: Annotations, written: Annotations, atol=0.0, extra=()):
    pd.testing.assert_frame_equal(read.images, written.images, check_dtype=False)
    columns = ["image", "label", "x0", "y0", "x1", "y1", *extra]
    pd.testing.assert_frame_equal(
        read.boxes[columns].reset_index(drop=True),
        written.boxes[columns].reset_index(drop=True),
        check_dtype=False,
        atol=atol,
    )


# ------------------------------------------------------------------------------ YOLO


def test_yolo_lines_are_the_hand_worked_ones(sample, tmp_path):
    write_yolo(sample, tmp_path)
    # a.jpg, box 1: centre (30, 40) / (640, 480), size 40x40 / (640, 480)
    assert (tmp_path / "a.txt").read_text().splitlines() == [
        "0 0.046875 0.083333 0.062500 0.083333",
        "1 0.500000 0.500000 1.000000 1.000000",
    ]
    assert (tmp_path / "empty.txt").read_text() == ""
    assert (tmp_path / "classes.txt").read_text() == "mouse\ncage\n"


def test_yolo_round_trip(sample, tmp_path):
    write_yolo(sample, tmp_path)
    shapes = {row.image: (row.height, row.width) for row in sample.images.itertuples()}
    read = read_yolo(tmp_path, shapes)
    assert read.classes == ["mouse", "cage"]
    order = read.images["image"].map(list(sample.images["image"]).index).argsort()
    read.images = read.images.iloc[order].reset_index(drop=True)
    assert_same(read, sample, atol=640 * 5e-7)


def test_yolo_reads_shapes_from_images_beside_and_numbers_classes(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "f.png"), np.zeros((50, 200, 3), np.uint8))
    (tmp_path / "f.txt").write_text("2 0.5 0.5 0.1 0.2\n\n")
    read = read_yolo(tmp_path)
    assert read.classes == ["0", "1", "2"]
    assert read.images.to_numpy().tolist() == [["f.png", 200, 50]]
    np.testing.assert_allclose(read.boxes[["x0", "y0", "x1", "y1"]], [[90, 20, 110, 30]])
    given = read_yolo(tmp_path, (50, 200))  # one (height, width) for every image
    assert given.images.to_numpy().tolist() == [["f.png", 200, 50]]
    np.testing.assert_allclose(given.boxes[["x0", "y0", "x1", "y1"]], [[90, 20, 110, 30]])


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("0 0.5 0.5 0.1", "is not 'class_id cx cy w h'"),
        ("a 0.5 0.5 0.1 0.1", "is not 'class_id cx cy w h'"),
        ("0 1.5 0.5 0.1 0.1", r"values in \[0, 1\]"),
        ("-1 0.5 0.5 0.1 0.1", "class id >= 0"),
        ("3 0.5 0.5 0.1 0.1", "class id 3 appears but only 1 class names"),
    ],
)
def test_yolo_bad_lines(tmp_path, line, words):
    (tmp_path / "x.txt").write_text(line + "\n")
    with pytest.raises(DataFileError, match=words):
        read_yolo(tmp_path, (10, 10), classes=["only"])


def test_yolo_missing_folder_and_shapes(tmp_path):
    with pytest.raises(DataFileError, match="label folder does not exist"):
        read_yolo(tmp_path / "none", (10, 10))
    (tmp_path / "x.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    with pytest.raises(DataFileError, match="no image with this stem"):
        read_yolo(tmp_path)
    with pytest.raises(DataFileError, match="no shape given"):
        read_yolo(tmp_path, {"other.jpg": (4, 4)})
    with pytest.raises(ValueError, match=r"shapes\['x.jpg'\] must be \(height, width\)"):
        read_yolo(tmp_path, {"x.jpg": (4, 4, 3)})


# ------------------------------------------------------------------------------ VOC


def test_voc_matches_torchvision_parser(sample, tmp_path):
    from torchvision.datasets import VOCDetection

    write_voc(sample, tmp_path)
    parsed = VOCDetection.parse_voc_xml(ElementTree.parse(tmp_path / "a.xml").getroot())
    annotation = parsed["annotation"]
    assert annotation["filename"] == "a.jpg"
    assert annotation["size"] == {"width": "640", "height": "480", "depth": "3"}
    first = annotation["object"][0]
    assert first["name"] == "mouse"
    # continuous [10, 50) x [20, 60) -> 1-based inclusive pixels 11..50, 21..60
    assert first["bndbox"] == {"xmin": "11", "ymin": "21", "xmax": "50", "ymax": "60"}


def test_voc_round_trip(sample, tmp_path):
    sample.boxes["difficult"] = [0, 1, 0]
    write_voc(sample, tmp_path)
    read = read_voc(tmp_path, classes=["mouse", "cage"])
    assert read.classes == ["mouse", "cage"]
    assert_same(read, sample, extra=("difficult",))
    single = read_voc(tmp_path / "b.xml")
    assert single.classes == ["mouse"] and len(single.boxes) == 1


def test_voc_fractional_coordinates_survive(sample, tmp_path):
    sample.boxes.loc[0, ["x0", "x1"]] = [10.25, 49.5]
    write_voc(sample, tmp_path)
    assert_same(read_voc(tmp_path, classes=["mouse", "cage"]), sample)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("<annotation><filename>a", "is not valid XML"),
        ("<annotation><filename>a.jpg</filename></annotation>", "needs <filename> and <size>"),
        (
            "<annotation><filename>a</filename><size><width>4</width></size></annotation>",
            "<height> is missing",
        ),
        (
            "<annotation><filename>a</filename><size><width>4</width><height>x</height></size>"
            "</annotation>",
            "is not a number",
        ),
        (
            "<annotation><filename>a</filename><size><width>4</width><height>4</height></size>"
            "<object><name>m</name></object></annotation>",
            "needs <name> and <bndbox>",
        ),
    ],
)
def test_voc_bad_files(tmp_path, text, words):
    (tmp_path / "bad.xml").write_text(text)
    with pytest.raises(DataFileError, match=r"bad\.xml: .*" + words):
        read_voc(tmp_path / "bad.xml")


def test_voc_unknown_class(sample, tmp_path):
    write_voc(sample, tmp_path)
    with pytest.raises(DataFileError, match=r"\['cage'\] not in"):
        read_voc(tmp_path, classes=["mouse"])


# ------------------------------------------------------------------------------ COCO


def test_coco_loads_in_pycocotools(sample, tmp_path):
    from pycocotools.coco import COCO

    sample.boxes["track"] = [3, 4, 3]
    write_coco(sample, tmp_path / "a.json")
    coco = COCO(str(tmp_path / "a.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["mouse", "cage"]
    (image,) = coco.loadImgs(coco.getImgIds(imgIds=[2]))
    assert (image["file_name"], image["width"], image["height"]) == ("b.png", 320, 240)
    (annotation,) = coco.loadAnns(coco.getAnnIds(imgIds=[2]))
    assert annotation["bbox"] == [100.0, 50.0, 31.0, 27.0] and annotation["area"] == 837.0
    assert annotation["category_id"] == 1 and annotation["track_id"] == 3
    assert coco.getAnnIds(imgIds=[3]) == []


def test_coco_round_trip(sample, tmp_path):
    sample.boxes["track"] = [3, 4, 3]
    write_coco(sample, tmp_path / "a.json")
    read = read_coco(tmp_path / "a.json")
    assert read.classes == ["mouse", "cage"]
    assert_same(read, sample, extra=("track",))


def test_coco_without_boxes(tmp_path):
    empty = Annotations(
        pd.DataFrame({"image": ["x.jpg"], "width": [4], "height": [4]}),
        pd.DataFrame(columns=["image", "label", "x0", "y0", "x1", "y1"]),
        ["a"],
    )
    write_coco(empty, tmp_path / "e.json")
    read = read_coco(tmp_path / "e.json")
    assert read.boxes.empty and read.images["image"].tolist() == ["x.jpg"]


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ("{not json", "is not valid JSON"),
        ({"images": []}, r"needs the key\(s\) \['annotations', 'categories'\]"),
        ({"images": [{"id": 1}], "annotations": [], "categories": []}, "malformed"),
        (
            {
                "images": [{"id": 1, "file_name": "a", "width": 2, "height": 2}],
                "annotations": [{"id": 9, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}],
                "categories": [{"id": 1, "name": "m"}],
            },
            "annotation 9 refers to an unknown image",
        ),
        (
            {
                "images": [{"id": 1, "file_name": "a", "width": 2, "height": 2}],
                "annotations": [{"id": 9, "image_id": 1, "category_id": 1, "bbox": [0, 0]}],
                "categories": [{"id": 1, "name": "m"}],
            },
            "annotation 9 has no",
        ),
    ],
)
def test_coco_bad_files(tmp_path, document, words):
    path = tmp_path / "bad.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(DataFileError, match=r"bad\.json: .*" + words):
        read_coco(path)


# ------------------------------------------------------------------------------ the value


def test_formats_convert_into_each_other(sample, tmp_path):
    write_coco(sample, tmp_path / "a.json")
    write_voc(read_coco(tmp_path / "a.json"), tmp_path / "voc")
    assert_same(read_voc(tmp_path / "voc", classes=sample.classes), sample)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda b: b.assign(label=["mouse", "dog", "mouse"]), r"labels \['dog'\]"),
        (lambda b: b.assign(image=["a.jpg", "a.jpg", "z.jpg"]), "not in `images`"),
        (lambda b: b.assign(x1=[5.0, 640.0, 131.0]), "x0 <= x1"),
        (lambda b: b.drop(columns="y1"), r"lacks column\(s\) \['y1'\]"),
    ],
)
def test_annotations_reject_inconsistent_tables(sample, change, words):
    with pytest.raises(ValueError, match=words):
        Annotations(sample.images, change(sample.boxes), sample.classes)


def test_boxes_of_and_class_ids(sample):
    assert sample.class_ids().tolist() == [0, 1, 0]
    assert sample.boxes_of("empty.jpg").empty and len(sample.boxes_of("a.jpg")) == 2
