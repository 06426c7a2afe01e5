import json
import xml.etree.ElementTree as ElementTree

import numpy as np
import pandas as pd
import pytest

from xaikit import _atomic
from xaikit.data import DataFileError
from xaikit.data.annotations import (
    MAX_CLASSES,
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


@pytest.mark.parametrize(
    ("line", "classes", "words"),
    [
        ("99999999 0.5 0.5 0.1 0.1", None, f"line 2: class id 99999999 is not below {MAX_CLASSES}"),
        (f"{MAX_CLASSES} 0.5 0.5 0.1 0.1", None, f"line 2: class id {MAX_CLASSES} is not below"),
        ("5 0.5 0.5 0.1 0.1", ["a", "b"], "line 2: class id 5 appears but only 2 class names"),
        ("0 nan 0.5 0.1 0.1", None, r"line 2 needs a class id >= 0 and values in \[0, 1\]"),
        ("0 0.5 inf 0.1 0.1", None, r"line 2 needs .* values in \[0, 1\]: '0 0.5 inf"),
    ],
)
def test_yolo_class_ids_are_bounded_and_values_finite(tmp_path, line, classes, words):
    (tmp_path / "x.txt").write_text("0 0.5 0.5 0.1 0.1\n" + line + "\n")
    with pytest.raises(DataFileError, match=r"x\.txt: " + words):
        read_yolo(tmp_path, (10, 10), classes=classes)


def test_yolo_largest_unnamed_class_id_is_read(tmp_path):
    (tmp_path / "x.txt").write_text(f"{MAX_CLASSES - 1} 0.5 0.5 0.1 0.1\n")
    read = read_yolo(tmp_path, (10, 10))
    assert len(read.classes) == MAX_CLASSES and read.boxes["label"].tolist() == ["9999"]


@pytest.mark.parametrize("name", ["x.txt", "classes.txt"])
def test_yolo_non_utf8_files_are_named(tmp_path, name):
    (tmp_path / "x.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    (tmp_path / "classes.txt").write_text("mouse\n")
    (tmp_path / name).write_bytes("souris \u00e9\n".encode("latin-1"))
    with pytest.raises(DataFileError, match=name.replace(".", r"\.") + r": is not UTF-8 .*0xe9"):
        read_yolo(tmp_path, (10, 10))


def test_yolo_reexport_replaces_its_own_files_only(sample, tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"the user's image")
    (tmp_path / "notes.md").write_text("mine")
    write_yolo(sample, tmp_path)
    smaller = Annotations(
        sample.images.iloc[:1], sample.boxes[sample.boxes["image"] == "a.jpg"], ["cage", "mouse"]
    )
    write_yolo(smaller, tmp_path)
    visible = sorted(path.name for path in tmp_path.iterdir() if not path.name.startswith("."))
    assert visible == ["a.jpg", "a.txt", "classes.txt", "notes.md"]  # b.txt, empty.txt removed
    assert (tmp_path / "a.jpg").read_bytes() == b"the user's image"
    assert (tmp_path / "a.txt").read_text().split()[::5] == ["1", "0"]
    assert read_yolo(tmp_path, (480, 640)).classes == ["cage", "mouse"]


def test_yolo_refuses_an_image_named_like_the_class_file(sample, tmp_path):
    images = sample.images.assign(image=["classes.jpg", "b.png", "empty.jpg"])
    boxes = sample.boxes.assign(image=["classes.jpg", "classes.jpg", "b.png"])
    with pytest.raises(ValueError, match="would overwrite classes.txt"):
        write_yolo(Annotations(images, boxes, sample.classes), tmp_path)


@pytest.mark.parametrize(
    ("write", "read", "kind"),
    [
        (write_yolo, lambda folder: read_yolo(folder, (480, 640)), "yolo"),
        (write_voc, read_voc, "voc"),
    ],
)
def test_an_interrupted_publish_is_refused_then_completed(
    sample, tmp_path, monkeypatch, write, read, kind
):
    write(sample, tmp_path)
    swapped = sample.boxes.assign(label=["cage", "mouse", "cage"])
    relabelled = Annotations(sample.images, swapped, ["cage", "mouse"])
    real_replace, moves = _atomic.os.replace, []

    def replace_then_die(source, target):
        if len(moves) == 2:  # the third move of the set: as if killed there
            raise KeyboardInterrupt
        moves.append(target)
        real_replace(source, target)

    monkeypatch.setattr(_atomic.os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        write(relabelled, tmp_path)
    monkeypatch.setattr(_atomic.os, "replace", real_replace)
    with pytest.raises(DataFileError, match=rf"\.xaikit-{kind}\.partial: an export into .* was "):
        read(tmp_path)
    write(sample, tmp_path)  # completes the interrupted export, then writes this one
    assert _atomic.interrupted_set(tmp_path, kind) is None
    assert read(tmp_path).boxes["label"].tolist() == ["mouse", "cage", "mouse"]
    assert [path.name for path in tmp_path.iterdir() if _atomic.is_partial(path)] == []


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


def test_voc_non_finite_and_non_utf8(sample, tmp_path):
    write_voc(sample, tmp_path)
    text = (tmp_path / "a.xml").read_text()
    (tmp_path / "a.xml").write_text(text.replace("<xmax>50</xmax>", "<xmax>nan</xmax>"))
    with pytest.raises(DataFileError, match=r"a\.xml: <xmax> in <bndbox> is not finite: 'nan'"):
        read_voc(tmp_path / "a.xml")
    (tmp_path / "a.xml").write_bytes(text.replace("mouse", "souris \u00e9").encode("latin-1"))
    with pytest.raises(DataFileError, match=r"a\.xml: is not valid XML"):
        read_voc(tmp_path / "a.xml")


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
        (
            {"images": [{"id": 1}], "annotations": [], "categories": []},
            r"images\[0\] lacks the key\(s\) \['file_name', 'width', 'height'\]",
        ),
        (
            {
                "images": [{"id": 1, "file_name": "a", "width": 2, "height": 2}],
                "annotations": [{"id": 9, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}],
                "categories": [{"id": 1, "name": "m"}],
            },
            r"annotations\[0\] \(id 9\) refers to an unknown image 2",
        ),
        (
            {
                "images": [{"id": 1, "file_name": "a", "width": 2, "height": 2}],
                "annotations": [{"id": 9, "image_id": 1, "category_id": 1, "bbox": [0, 0]}],
                "categories": [{"id": 1, "name": "m"}],
            },
            r"annotations\[0\] \(id 9\): bbox must be 4 numbers",
        ),
    ],
)
def test_coco_bad_files(tmp_path, document, words):
    path = tmp_path / "bad.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(DataFileError, match=r"bad\.json: .*" + words):
        read_coco(path)


def coco(images=None, annotations=None, categories=None) -> dict:
    """A small valid COCO document with the given sections replaced."""
    return {
        "images": images or [{"id": 1, "file_name": "a.jpg", "width": 8, "height": 8}],
        "annotations": annotations
        if annotations is not None
        else [{"id": 9, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, 2]}],
        "categories": categories or [{"id": 1, "name": "mouse"}],
    }


IMAGE_B = {"id": 2, "file_name": "b.jpg", "width": 8, "height": 8}


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            coco(images=[coco()["images"][0], {**IMAGE_B, "id": 1}]),
            r"images\[0\] and images\[1\] both have id 1",
        ),
        (
            coco(images=[coco()["images"][0], {**IMAGE_B, "file_name": "a.jpg"}]),
            r"images\[0\] and images\[1\] both have file_name 'a.jpg'",
        ),
        (
            coco(categories=[{"id": 1, "name": "mouse"}, {"id": 1, "name": "rat"}]),
            r"categories\[0\] and categories\[1\] both have id 1",
        ),
        (
            coco(annotations=[{"id": 9, "image_id": 1, "bbox": [0, 0, 2, 2]}]),
            r"annotations\[0\] lacks the key\(s\) \['category_id'\]",
        ),
        (coco(images=["a.jpg"]), r"images\[0\] must be an object; got str"),
        (coco(images={"id": 1}), "'images' must be a list; got dict"),
        ([1, 2], "a COCO file is a JSON object; got list"),
        (
            coco(images=[{"id": 1, "file_name": "a.jpg", "width": "wide", "height": 8}]),
            r"images\[0\]: width and height must be integers",
        ),
        (
            coco(annotations=[{"id": 9, "image_id": 1, "category_id": 1, "bbox": "0 0 2 2"}]),
            r"annotations\[0\] \(id 9\): bbox must be 4 numbers \[x, y, w, h\]; got '0 0 2 2'",
        ),
        (
            coco(annotations=[{"id": 9, "image_id": 1, "category_id": 1, "bbox": [0, "a", 2, 2]}]),
            r"annotations\[0\] \(id 9\): bbox must be 4 numbers",
        ),
        (
            coco(annotations=[{"id": 9, "image_id": 1, "category_id": 1, "bbox": [0, 0, 2, -1]}]),
            r"annotations\[0\] \(id 9\): bbox needs finite values and w, h >= 0",
        ),
        (
            coco(annotations=[{"id": 9, "image_id": 1, "category_id": 2, "bbox": [0, 0, 2, 2]}]),
            r"annotations\[0\] \(id 9\) refers to an unknown category 2",
        ),
    ],
)
def test_coco_duplicates_and_malformed_entries_are_named(tmp_path, document, words):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(DataFileError, match=r"bad\.json: " + words):
        read_coco(path)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_coco_non_finite_boxes_are_an_error(tmp_path, value):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(coco()).replace("[0, 0, 2, 2]", f"[0, {value}, 2, 2]"))
    with pytest.raises(DataFileError, match=r"bad\.json: .*bbox needs finite values"):
        read_coco(path)


def test_coco_non_utf8_file_is_named(tmp_path):
    path = tmp_path / "bad.json"
    text = json.dumps(coco(categories=[{"id": 1, "name": "souris \u00e9"}]), ensure_ascii=False)
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataFileError, match=r"bad\.json: is not UTF-8 text \(byte 0xe9"):
        read_coco(path)


def test_coco_refuses_to_write_non_finite_values(sample, tmp_path):
    write_coco(sample, tmp_path / "a.json")
    before = (tmp_path / "a.json").read_bytes()
    sample.boxes["score"] = [0.5, float("nan"), 1.0]
    with pytest.raises(ValueError, match="not JSON compliant"):
        write_coco(sample, tmp_path / "a.json")
    assert (tmp_path / "a.json").read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["a.json"]


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
