"""Bounding-box annotations: Darknet/YOLO txt, Pascal VOC XML and COCO JSON.

Every reader returns, and every writer takes, one :class:`Annotations` value, so any format
converts to any other. Box convention inside xaikit: ``x0, y0, x1, y1`` in continuous pixel
coordinates, pixel ``(r, c)`` covering ``[c, c + 1) x [r, r + 1)``; a box covering pixel
columns 10..19 has ``x0 = 10, x1 = 20`` (width 10). The formats map to it as follows:

* YOLO txt: ``class cx cy w h`` normalised by the image size -> exact up to the 6 decimals
  written.
* VOC XML: 1-based inclusive pixel indices -> ``x0 = xmin - 1``, ``x1 = xmax`` (as detectron2).
* COCO JSON: ``[x, y, w, h]`` -> ``x0 = x``, ``x1 = x + w``.

Writers never destroy the previous export (:mod:`xaikit._atomic`): a COCO file is replaced
atomically; a YOLO or VOC export is a set of files in a folder that may also hold the user's
images, so it is published with :func:`xaikit._atomic.atomic_set` (staged whole, moved in under a
journal). A kill or a full disk while writing leaves the previous export readable as it was; a
kill while the files are moved in leaves the journal, which the readers refuse (naming it) and the
next write of the same format into the folder completes. Readers are strict and bounded: class
ids above :data:`MAX_CLASSES`, duplicate ids, malformed entries, non-finite values and
non-UTF-8 text are errors naming the file and the entry.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xaikit._arrays import height_width
from xaikit._atomic import atomic_file, atomic_set, interrupted_set
from xaikit.data.errors import DataFileError, check_readable_file

__all__ = [
    "Annotations",
    "read_coco",
    "read_voc",
    "read_yolo",
    "write_coco",
    "write_voc",
    "write_yolo",
]

BOX_COLUMNS = ("image", "label", "x0", "y0", "x1", "y1")
IMAGE_COLUMNS = ("image", "width", "height")
CLASS_FILES = ("classes.txt", "obj.names")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

#: The most classes a YOLO folder without a class-name file may number (ids 0 .. 9999): a
#: larger id is taken for a damaged file rather than allocating names for it.
MAX_CLASSES = 10_000


@dataclass
class Annotations:
    """Boxes on a set of images.

    Attributes:
        images: One row per image: ``image`` (file name, unique), ``width``, ``height`` (pixels).
            Images without boxes are listed here and nowhere else.
        boxes: One row per box: ``image``, ``label`` (a name from ``classes``), ``x0``, ``y0``,
            ``x1``, ``y1`` (float pixels, see the module docstring) and any extra columns
            (e.g. ``track``, ``difficult``; COCO keeps them, VOC keeps ``difficult`` and
            ``truncated``, YOLO keeps none).
        classes: Class names; a label's class id is its position here (0-based).

    Raises:
        ValueError: a required column is missing, a box names an unknown image or label, or a
            box has ``x1 < x0`` or ``y1 < y0``.

    Examples:
        >>> import pandas as pd
        >>> ann = Annotations(
        ...     images=pd.DataFrame({"image": ["a.jpg"], "width": [640], "height": [480]}),
        ...     boxes=pd.DataFrame({"image": ["a.jpg"], "label": ["mouse"],
        ...                         "x0": [10.0], "y0": [20.0], "x1": [50.0], "y1": [40.0]}),
        ...     classes=["mouse"])
        >>> ann.class_ids().tolist()
        [0]
    """

    images: pd.DataFrame
    boxes: pd.DataFrame
    classes: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.classes = [str(name) for name in self.classes]
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"class names must be unique; got {self.classes}")
        _require(self.images, IMAGE_COLUMNS, "images")
        _require(self.boxes, BOX_COLUMNS, "boxes")
        if self.images["image"].duplicated().any():
            repeated = self.images["image"][self.images["image"].duplicated()].tolist()
            raise ValueError(f"image names must be unique; repeated: {repeated[:5]}")
        unknown_images = set(self.boxes["image"]) - set(self.images["image"])
        if unknown_images:
            raise ValueError(f"boxes refer to images not in `images`: {sorted(unknown_images)[:5]}")
        unknown_labels = set(self.boxes["label"].astype(str)) - set(self.classes)
        if unknown_labels:
            raise ValueError(
                f"labels {sorted(unknown_labels)} are not among the classes {self.classes}"
            )
        boxes = self.boxes[["x0", "y0", "x1", "y1"]].to_numpy(float)
        inverted = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
        if not np.isfinite(boxes).all() or inverted.any():
            raise ValueError("every box needs finite x0 <= x1 and y0 <= y1")

    def class_ids(self) -> np.ndarray:
        """(N,) int64 class id of each box (its label's position in ``classes``)."""
        lookup = {name: number for number, name in enumerate(self.classes)}
        return np.array([lookup[str(label)] for label in self.boxes["label"]], dtype=np.int64)

    def subset(self, images) -> Annotations:
        """The images named in ``images`` (any iterable of names) and their boxes, classes
        unchanged (to hold frames out, for instance)."""
        keep = set(images)
        return Annotations(
            self.images[self.images["image"].isin(keep)].reset_index(drop=True),
            self.boxes[self.boxes["image"].isin(keep)].reset_index(drop=True),
            list(self.classes),
        )

    def boxes_of(self, image: str) -> pd.DataFrame:
        """The rows of ``boxes`` on ``image`` (possibly none)."""
        return self.boxes[self.boxes["image"] == image].reset_index(drop=True)


def _require(table, columns, name: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {type(table).__name__}")
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; needs {list(columns)}")


def _empty_boxes() -> pd.DataFrame:
    return pd.DataFrame({"image": [], "label": [], "x0": [], "y0": [], "x1": [], "y1": []}).astype(
        {"image": object, "label": object}
    )


def _read_text(path: Path) -> str:
    """The UTF-8 text of an annotation file; a :class:`DataFileError` naming it otherwise."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataFileError(
            path, f"is not UTF-8 text (byte {error.object[error.start]:#04x} at offset "
            f"{error.start}); save it as UTF-8"
        ) from None  # fmt: skip


def _check_not_interrupted(folder: Path, kind: str, writer: str) -> None:
    journal = interrupted_set(folder, kind)
    if journal is not None:
        raise DataFileError(
            journal,
            f"an export into {folder} was interrupted while its files were moved in, so the "
            f"folder may mix two exports; write the annotations again with {writer} (which "
            "first completes the interrupted export)",
        )


# ------------------------------------------------------------------------------ YOLO


def write_yolo(annotations: Annotations, folder: str | os.PathLike) -> None:
    """Write Darknet/YOLO labels: ``<image stem>.txt`` per image plus ``classes.txt``.

    Each line is ``class_id cx cy w h`` with the centre and size divided by the image width
    and height, written with 6 decimals; an image without boxes gets an empty file.

    The label files and ``classes.txt`` are one set (see the module docstring): they are
    staged whole and moved in together, label files of an earlier ``write_yolo`` into
    ``folder`` that this export lacks are removed, and nothing else in ``folder`` (images) is
    touched. A reader never takes label files of one export with the classes of another.

    Examples:
        >>> import tempfile, pandas as pd
        >>> ann = Annotations(pd.DataFrame({"image": ["f.png"], "width": [200], "height": [100]}),
        ...                   pd.DataFrame({"image": ["f.png"], "label": ["mouse"], "x0": [10.0],
        ...                                 "y0": [20.0], "x1": [50.0], "y1": [60.0]}), ["mouse"])
        >>> folder = tempfile.mkdtemp()
        >>> write_yolo(ann, folder)
        >>> open(folder + "/f.txt").read()
        '0 0.150000 0.400000 0.200000 0.400000\\n'
    """
    stems = [Path(str(name)).stem for name in annotations.images["image"]]
    if len(set(stems)) != len(stems):
        raise ValueError("YOLO label files are named by image stem, and two images share a stem")
    if CLASS_FILES[0][: -len(".txt")] in stems:
        raise ValueError(f"an image named 'classes' would overwrite {CLASS_FILES[0]}")
    with atomic_set(folder, "yolo") as staging:
        _write_yolo_files(annotations, stems, staging)


def _write_yolo_files(annotations: Annotations, stems: list[str], folder: Path) -> None:
    ids = annotations.class_ids()
    for (image, width, height), stem in zip(
        annotations.images[list(IMAGE_COLUMNS)].itertuples(index=False), stems, strict=True
    ):
        on_image = (annotations.boxes["image"] == image).to_numpy()
        lines = []
        for class_id, (x0, y0, x1, y1) in zip(
            ids[on_image],
            annotations.boxes.loc[on_image, ["x0", "y0", "x1", "y1"]].to_numpy(float),
            strict=True,
        ):
            values = ((x0 + x1) / 2 / width, (y0 + y1) / 2 / height)
            values += ((x1 - x0) / width, (y1 - y0) / height)
            lines.append(f"{class_id} " + " ".join(f"{value:.6f}" for value in values) + "\n")
        (folder / f"{stem}.txt").write_text("".join(lines), encoding="utf-8")
    classes = "".join(f"{name}\n" for name in annotations.classes)
    (folder / CLASS_FILES[0]).write_text(classes, encoding="utf-8")


def read_yolo(
    folder: str | os.PathLike,
    shapes: tuple[int, int] | Mapping[str, tuple[int, int]] | None = None,
    classes: Sequence[str] | str | os.PathLike | None = None,
) -> Annotations:
    """Read every ``*.txt`` label file of a Darknet/YOLO folder.

    Args:
        folder: Folder of label files (class-name files such as ``classes.txt`` are skipped).
        shapes: Image sizes, needed to undo the normalisation: one ``(height, width)`` for all
            images, or a mapping from image file name to ``(height, width)`` (label ``x.txt``
            matches the name whose stem is ``x``; the name becomes ``image``). ``None`` reads
            the size of the image file with the same stem in ``folder``.
        classes: Class names, or a ``.names``/``.txt`` file of them (one per line). ``None``
            reads ``classes.txt`` or ``obj.names`` in ``folder`` if present, else names the
            classes ``"0"``, ``"1"``, ... (at most :data:`MAX_CLASSES` of them).

    Raises:
        DataFileError: the folder does not exist or holds an interrupted :func:`write_yolo`,
            a file is not UTF-8, a line is not ``id cx cy w h`` with finite values in [0, 1],
            a class id has no name (or is :data:`MAX_CLASSES` or more without class names),
            or an image's size cannot be found. The message names the file and the line.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "f.txt").write_text("99999999 0.5 0.5 0.1 0.1\\n")
        >>> read_yolo(folder, (10, 10))
        Traceback (most recent call last):
        ...
        xaikit.data.errors.DataFileError: .../f.txt: line 1: class id 99999999 is not below 10000 \
(the most classes without a class-name file): '99999999 0.5 0.5 0.1 0.1'
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFileError(folder, "the label folder does not exist")
    _check_not_interrupted(folder, "yolo", "write_yolo")
    names = _yolo_class_names(folder, classes)
    label_files = sorted(path for path in folder.glob("*.txt") if path.name not in CLASS_FILES)
    images, boxes, largest_id = [], [], -1
    for path in label_files:
        image, width, height = _yolo_image(path, folder, shapes)
        images.append((image, width, height))
        for number, line in enumerate(_read_text(path).splitlines(), start=1):
            if not line.strip():
                continue
            class_id, cx, cy, w, h = _yolo_line(line, number, path, names)
            largest_id = max(largest_id, class_id)
            x0, x1 = (cx - w / 2) * width, (cx + w / 2) * width
            y0, y1 = (cy - h / 2) * height, (cy + h / 2) * height
            boxes.append((image, class_id, x0, y0, x1, y1))
    if names is None:
        names = [str(number) for number in range(largest_id + 1)]
    table = pd.DataFrame(boxes, columns=["image", "label", "x0", "y0", "x1", "y1"])
    table["label"] = [names[class_id] for class_id in table["label"]]
    if table.empty:
        table = _empty_boxes()
    return Annotations(pd.DataFrame(images, columns=list(IMAGE_COLUMNS)), table, names)


def _yolo_class_names(folder: Path, classes) -> list[str] | None:
    if classes is not None and not isinstance(classes, (str, os.PathLike)):
        return [str(name) for name in classes]
    if classes is not None:
        path = Path(classes)
        check_readable_file(path)
    else:
        found = [folder / name for name in CLASS_FILES if (folder / name).is_file()]
        found = found or sorted(folder.glob("*.names"))
        if not found:
            return None
        path = found[0]
    return [line.strip() for line in _read_text(path).splitlines() if line.strip()]


def _yolo_image(path: Path, folder: Path, shapes) -> tuple[str, int, int]:
    """``(image name, width, height)`` of a label file's image (an ``images`` table row)."""
    if isinstance(shapes, Mapping):
        matches = [name for name in shapes if Path(str(name)).stem == path.stem]
        if not matches:
            raise DataFileError(path, "no shape given for this label file's image")
        height, width = height_width(shapes[matches[0]], f"shapes[{matches[0]!r}]", image=False)
        return str(matches[0]), width, height
    image_file = next(
        (folder / (path.stem + s) for s in IMAGE_SUFFIXES if (folder / (path.stem + s)).is_file()),
        None,
    )
    if shapes is not None:
        height, width = height_width(shapes, "shapes", image=False)
        return (image_file.name if image_file else path.stem), width, height
    if image_file is None:
        raise DataFileError(path, "no image with this stem beside it, and no `shapes` given")
    import cv2

    image = cv2.imread(str(image_file), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise DataFileError(image_file, "cannot be read as an image")
    return image_file.name, int(image.shape[1]), int(image.shape[0])


def _yolo_line(line: str, number: int, path: Path, names: list[str] | None):
    """``(class_id, cx, cy, w, h)`` of label line ``number``, checked (ids bounded by ``names``
    or :data:`MAX_CLASSES`)."""
    fields = line.split()
    try:
        if len(fields) != 5:
            raise ValueError
        class_id = int(fields[0])
        values = [float(value) for value in fields[1:]]
    except ValueError:
        raise DataFileError(
            path, f"line {number} is not 'class_id cx cy w h': {line.strip()!r}"
        ) from None
    if class_id < 0 or not all(-1e-6 <= value <= 1 + 1e-6 for value in values):
        raise DataFileError(
            path, f"line {number} needs a class id >= 0 and values in [0, 1]: {line.strip()!r}"
        )
    if names is not None and class_id >= len(names):
        raise DataFileError(
            path,
            f"line {number}: class id {class_id} appears but only {len(names)} class names are "
            f"known: {line.strip()!r}",
        )
    if names is None and class_id >= MAX_CLASSES:
        raise DataFileError(
            path,
            f"line {number}: class id {class_id} is not below {MAX_CLASSES} (the most classes "
            f"without a class-name file): {line.strip()!r}",
        )
    return (class_id, *values)


# ------------------------------------------------------------------------------ VOC


def write_voc(annotations: Annotations, folder: str | os.PathLike) -> None:
    """Write one Pascal VOC ``<image stem>.xml`` per image into ``folder``.

    Boxes are written as ``xmin = x0 + 1``, ``ymin = y0 + 1``, ``xmax = x1``, ``ymax = y1``
    (1-based inclusive pixels); whole numbers are written without decimals, others with up to
    3. ``difficult`` and ``truncated`` columns are written when present (else 0).

    The XML files are one set, written like :func:`write_yolo`'s (staged whole, moved in
    together; files of an earlier ``write_voc`` into ``folder`` that this export lacks are
    removed; nothing else is touched).

    Examples:
        >>> import tempfile, pandas as pd
        >>> ann = Annotations(pd.DataFrame({"image": ["f.png"], "width": [200], "height": [100]}),
        ...                   pd.DataFrame({"image": ["f.png"], "label": ["mouse"], "x0": [10.0],
        ...                                 "y0": [20.0], "x1": [50.0], "y1": [60.0]}), ["mouse"])
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_voc(ann, folder)
        >>> read_voc(folder).boxes[["x0", "y0", "x1", "y1"]].to_numpy().tolist()
        [[10.0, 20.0, 50.0, 60.0]]
    """
    stems = [Path(str(name)).stem for name in annotations.images["image"]]
    if len(set(stems)) != len(stems):
        raise ValueError("VOC files are named by image stem, and two images share a stem")
    folder = Path(folder)
    with atomic_set(folder, "voc") as staging:
        _write_voc_files(annotations, folder.name, staging)


def _write_voc_files(annotations: Annotations, folder_name: str, staging: Path) -> None:
    for image, width, height in annotations.images[list(IMAGE_COLUMNS)].itertuples(index=False):
        root = ElementTree.Element("annotation")
        ElementTree.SubElement(root, "folder").text = folder_name
        ElementTree.SubElement(root, "filename").text = str(image)
        size = ElementTree.SubElement(root, "size")
        for tag, value in (("width", width), ("height", height), ("depth", 3)):
            ElementTree.SubElement(size, tag).text = str(int(value))
        for box in annotations.boxes_of(image).itertuples(index=False):
            item = ElementTree.SubElement(root, "object")
            ElementTree.SubElement(item, "name").text = str(box.label)
            ElementTree.SubElement(item, "pose").text = "Unspecified"
            for flag in ("truncated", "difficult"):
                ElementTree.SubElement(item, flag).text = str(int(getattr(box, flag, 0)))
            corners = ElementTree.SubElement(item, "bndbox")
            values = (box.x0 + 1, box.y0 + 1, box.x1, box.y1)
            for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), values, strict=True):
                ElementTree.SubElement(corners, tag).text = _number_text(value)
        ElementTree.indent(root)
        ElementTree.ElementTree(root).write(
            staging / f"{Path(str(image)).stem}.xml", encoding="utf-8", xml_declaration=True
        )


def _number_text(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.3f}".rstrip("0")


def read_voc(path: str | os.PathLike, classes: Sequence[str] | None = None) -> Annotations:
    """Read one Pascal VOC XML file, or every ``*.xml`` file of a folder.

    Args:
        path: An ``.xml`` file or a folder of them.
        classes: Class names in id order; ``None`` uses the sorted names found.

    Raises:
        DataFileError: a file is missing, empty or not XML (non-UTF-8 bytes in a UTF-8 file
            included), lacks ``filename``/``size``/a box corner, has a non-numeric or
            non-finite value, or names a class not in ``classes``; a folder holds an
            interrupted :func:`write_voc`.
    """
    path = Path(path)
    if path.is_dir():
        _check_not_interrupted(path, "voc", "write_voc")
    files = sorted(path.glob("*.xml")) if path.is_dir() else [path]
    images, boxes = [], []
    for file in files:
        image, width, height, objects = _parse_voc(file)
        images.append((image, width, height))
        boxes.extend((image, *item) for item in objects)
    table = pd.DataFrame(
        boxes, columns=["image", "label", "x0", "y0", "x1", "y1", "difficult", "truncated"]
    )
    found = sorted(set(table["label"]))
    if classes is None:
        classes = found
    elif set(found) - set(classes):
        raise DataFileError(path, f"class(es) {sorted(set(found) - set(classes))} not in {classes}")
    if table.empty:
        table = _empty_boxes()
    return Annotations(pd.DataFrame(images, columns=list(IMAGE_COLUMNS)), table, list(classes))


def _parse_voc(file: Path):
    check_readable_file(file)
    try:
        root = ElementTree.parse(file).getroot()
    except ElementTree.ParseError as error:
        raise DataFileError(file, f"is not valid XML ({error})") from error

    def number(node, tag, where):
        text = node.findtext(tag)
        if text is None:
            raise DataFileError(file, f"<{tag}> is missing in <{where}>")
        try:
            value = float(text)
        except ValueError:
            raise DataFileError(file, f"<{tag}> in <{where}> is not a number: {text!r}") from None
        if not np.isfinite(value):
            raise DataFileError(file, f"<{tag}> in <{where}> is not finite: {text!r}")
        return value

    image = root.findtext("filename")
    size = root.find("size")
    if image is None or size is None:
        raise DataFileError(file, "a VOC annotation needs <filename> and <size>")
    width, height = int(number(size, "width", "size")), int(number(size, "height", "size"))
    objects = []
    for item in root.iter("object"):
        corners = item.find("bndbox")
        label = item.findtext("name")
        if corners is None or label is None:
            raise DataFileError(file, "every <object> needs <name> and <bndbox>")
        xmin, ymin, xmax, ymax = (
            number(corners, tag, "bndbox") for tag in ("xmin", "ymin", "xmax", "ymax")
        )
        flags = [int(float(item.findtext(tag) or 0)) for tag in ("difficult", "truncated")]
        objects.append((label.strip(), xmin - 1, ymin - 1, xmax, ymax, *flags))
    return image, width, height, objects


# ------------------------------------------------------------------------------ COCO

_COCO_KEYS = {"id", "image_id", "category_id", "bbox", "area", "iscrowd", "segmentation"}


def write_coco(annotations: Annotations, path: str | os.PathLike) -> None:
    """Write a COCO detection JSON file (images, annotations, categories).

    Image ids count from 1 in ``images`` order, category ids from 1 in ``classes`` order,
    ``bbox`` is ``[x0, y0, x1 - x0, y1 - y0]``, ``area`` is the box area, ``iscrowd`` 0.
    Extra box columns are written as extra keys of each annotation (``track`` becomes
    ``track_id``), which COCO tools ignore and :func:`read_coco` reads back. The file is
    replaced atomically: a kill or a full disk mid-write leaves the previous file as it was.
    """
    image_ids = {image: number for number, image in enumerate(annotations.images["image"], 1)}
    category_ids = annotations.class_ids() + 1
    extra = [column for column in annotations.boxes.columns if column not in BOX_COLUMNS]
    records = []
    for number, (row, category) in enumerate(
        zip(annotations.boxes.itertuples(index=False), category_ids, strict=True), start=1
    ):
        width, height = float(row.x1 - row.x0), float(row.y1 - row.y0)
        record = {
            "id": number,
            "image_id": image_ids[row.image],
            "category_id": int(category),
            "bbox": [float(row.x0), float(row.y0), width, height],
            "area": width * height,
            "iscrowd": 0,
        }
        for column in extra:
            key = "track_id" if column == "track" else column
            record[key] = _json_value(getattr(row, column))
        records.append(record)
    document = {
        "images": [
            {"id": image_ids[image], "file_name": str(image), "width": int(w), "height": int(h)}
            for image, w, h in annotations.images[list(IMAGE_COLUMNS)].itertuples(index=False)
        ],
        "annotations": records,
        "categories": [
            {"id": number, "name": name} for number, name in enumerate(annotations.classes, 1)
        ],
    }
    with atomic_file(path, "w", encoding="utf-8") as stream:
        json.dump(document, stream, allow_nan=False)


def _json_value(value):
    return value.item() if isinstance(value, np.generic) else value


def read_coco(path: str | os.PathLike) -> Annotations:
    """Read a COCO detection JSON file.

    Classes are the category names ordered by category id. Non-standard annotation keys
    become extra box columns (``track_id`` becomes ``track``); segmentations are ignored.

    Raises:
        DataFileError: the file is missing, empty, not UTF-8 or not JSON; lacks ``images``,
            ``annotations`` or ``categories``; an entry is not an object or lacks a key; two
            images or two categories share an id, or two images a file name (naming both
            entries); an annotation refers to an unknown image or category, or its ``bbox`` is
            not 4 finite numbers with ``w, h >= 0``. The message names the file and the entry
            (``images[3]``, ``annotations[7] (id 12)``). Non-finite boxes are an error, never
            dropped.

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "a.json"
        >>> _ = path.write_text(json.dumps({"images": [
        ...     {"id": 1, "file_name": "a.jpg", "width": 4, "height": 4},
        ...     {"id": 1, "file_name": "b.jpg", "width": 4, "height": 4}],
        ...     "annotations": [], "categories": []}))
        >>> read_coco(path)
        Traceback (most recent call last):
        ...
        xaikit.data.errors.DataFileError: .../a.json: images[0] and images[1] both have id 1
    """
    check_readable_file(path)
    path = Path(path)
    try:
        document = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise DataFileError(path, f"is not valid JSON ({error})") from error
    if not isinstance(document, dict):
        raise DataFileError(path, f"a COCO file is a JSON object; got {type(document).__name__}")
    missing = [key for key in ("images", "annotations", "categories") if key not in document]
    if missing:
        raise DataFileError(path, f"a COCO file needs the key(s) {missing}")
    categories = _coco_table(path, document, "categories", ("id", "name"), ("id",))
    images = _coco_table(
        path, document, "images", ("id", "file_name", "width", "height"), ("id", "file_name")
    )
    category_names = {entry["id"]: str(entry["name"]) for entry in categories}
    image_rows = {}
    for number, entry in enumerate(images):
        try:
            image_rows[entry["id"]] = (
                str(entry["file_name"]),
                int(entry["width"]),
                int(entry["height"]),
            )
        except (TypeError, ValueError):
            raise DataFileError(
                path, f"images[{number}]: width and height must be integers; got {entry!r}"
            ) from None
    rows = [
        _coco_box(path, number, record, image_rows, category_names)
        for number, record in enumerate(
            _coco_table(path, document, "annotations", ("image_id", "category_id", "bbox"), ())
        )
    ]
    boxes = pd.DataFrame(rows) if rows else _empty_boxes()
    classes = [category_names[number] for number in sorted(category_names)]
    image_table = pd.DataFrame(list(image_rows.values()), columns=list(IMAGE_COLUMNS))
    return Annotations(image_table, boxes, classes)


def _coco_table(path: Path, document: dict, section: str, keys, unique) -> list[dict]:
    """The entries of ``document[section]``: objects with ``keys``, no two sharing a value of a
    key in ``unique``."""
    entries = document[section]
    if not isinstance(entries, list):
        raise DataFileError(path, f"{section!r} must be a list; got {type(entries).__name__}")
    seen = {key: {} for key in unique}
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise DataFileError(
                path, f"{section}[{number}] must be an object; got {type(entry).__name__}"
            )
        lacking = [key for key in keys if key not in entry]
        if lacking:
            raise DataFileError(path, f"{section}[{number}] lacks the key(s) {lacking}: {entry!r}")
        for key, first in seen.items():
            value = entry[key]
            if not isinstance(value, (str, int, float, bool, type(None))):
                raise DataFileError(path, f"{section}[{number}]: {key} must be a number or text")
            if value in first:
                raise DataFileError(
                    path, f"{section}[{first[value]}] and {section}[{number}] both have {key} "
                    f"{value!r}"
                )  # fmt: skip
            first[value] = number
    return entries


def _coco_box(path: Path, number: int, record: dict, images: dict, categories: dict) -> dict:
    """One ``boxes`` row from ``annotations[number]``, checked."""
    where = f"annotations[{number}] (id {record.get('id')})"
    if record["image_id"] not in images:
        raise DataFileError(path, f"{where} refers to an unknown image {record['image_id']!r}")
    if record["category_id"] not in categories:
        raise DataFileError(
            path, f"{where} refers to an unknown category {record['category_id']!r}"
        )
    bbox = record["bbox"]
    if (
        not isinstance(bbox, list)
        or len(bbox) != 4
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)
    ):
        raise DataFileError(path, f"{where}: bbox must be 4 numbers [x, y, w, h]; got {bbox!r}")
    x, y, w, h = (float(value) for value in bbox)
    if not np.isfinite([x, y, w, h]).all() or w < 0 or h < 0:
        raise DataFileError(path, f"{where}: bbox needs finite values and w, h >= 0; got {bbox!r}")
    row = {
        "image": images[record["image_id"]][0],
        "label": categories[record["category_id"]],
        "x0": x,
        "y0": y,
        "x1": x + w,
        "y1": y + h,
    }
    for key, value in record.items():
        if key not in _COCO_KEYS:
            row["track" if key == "track_id" else key] = value
    return row
