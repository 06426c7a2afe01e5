"""Labelled frames in any of the formats users have them, as one
:class:`~xaikit.data.annotations.Annotations` table.

:func:`read_labels` reads YOLO txt folders, COCO JSON, Pascal VOC XML, DeepLabCut
``CollectedData_*.csv`` / ``.h5``, SLEAP ``.slp`` and a plain CSV of boxes (:func:`read_box_csv`),
telling them apart by their contents when no ``format`` is given.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

from xaikit.data.annotations import Annotations, read_coco, read_voc, read_yolo
from xaikit.data.deeplabcut import HEADER_NAMES, MAX_ROWS, read_deeplabcut
from xaikit.data.errors import DataFileError, check_readable_file
from xaikit.data.keypoints import MARGIN
from xaikit.data.sleap import read_sleap

FORMATS = ("yolo", "coco", "voc", "deeplabcut", "sleap", "csv")
BOX_CSV_COLUMNS = ("x0", "y0", "x1", "y1")


def read_labels(
    path: str | os.PathLike,
    format: str | None = None,
    *,
    video: str | os.PathLike | None = None,
    images: str | os.PathLike | None = None,
    margin: float = MARGIN,
) -> Annotations:
    """Read labelled frames, whatever tool made them.

    Args:
        path: A YOLO label folder, a VOC ``.xml`` file or folder, a COCO ``.json``, a
            DeepLabCut ``CollectedData_*.csv``/``.h5``, a SLEAP ``.slp``, or a box CSV.
        format: One of :data:`FORMATS`; ``None`` tells by the file: a folder of ``.xml`` is
            VOC, else YOLO; ``.json`` COCO; ``.slp`` SLEAP; ``.h5`` and a CSV whose first cell
            is ``scorer`` DeepLabCut; any other CSV a box CSV.
        video: For a box CSV with a ``frame`` column: the video the frames come from.
        images: The folder image names are relative to (DeepLabCut, box CSV with ``image``).
        margin: For keypoints (DeepLabCut, SLEAP): the widening of each animal's keypoint
            extent (:func:`~xaikit.data.keypoints.keypoint_box`).

    Returns:
        One :class:`~xaikit.data.annotations.Annotations`.

    Raises:
        ValueError: an unknown ``format``.
        DataFileError: the file is missing or malformed (named with its line).
    """
    path = Path(path)
    kind = format or guess_format(path)
    if kind not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}; got {format!r}")
    if kind == "yolo":
        return read_yolo(path)
    if kind == "voc":
        return read_voc(path)
    if kind == "coco":
        return read_coco(path)
    if kind == "sleap":
        return read_sleap(path, margin=margin)
    if kind == "deeplabcut":
        return read_deeplabcut(path, images=images, margin=margin)
    return read_box_csv(path, video=video, images=images)


def guess_format(path: str | os.PathLike) -> str:
    """The label format of ``path`` (one of :data:`FORMATS`), told by the file as
    :func:`read_labels` does when no ``format`` is given."""
    path = Path(path)
    if path.is_dir():
        return "voc" if any(path.glob("*.xml")) else "yolo"
    check_readable_file(path)
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5"):
        return "deeplabcut"
    known = {".json": "coco", ".slp": "sleap", ".xml": "voc"}
    if suffix in known:
        return known[suffix]
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8", errors="replace") as file:
            first = next(csv.reader(file), [""])
        return "deeplabcut" if first and first[0].strip().lower() in HEADER_NAMES else "csv"
    raise DataFileError(path, f"cannot tell the label format; pass format= one of {FORMATS}")


def read_box_csv(
    path: str | os.PathLike,
    video: str | os.PathLike | None = None,
    images: str | os.PathLike | None = None,
) -> Annotations:
    """Read a plain CSV of boxes: ``frame`` (with ``video``) or ``image``, ``x0, y0, x1, y1``
    (continuous pixels), optional ``label`` (default ``"animal"``) and ``track``; any other
    column is kept.

    Frames come from ``video`` (named ``<video file name>:<frame>``, with ``video`` and
    ``frame`` columns in ``images``; every labelled frame must exist in it); image names are
    files under ``images`` (default: the CSV's folder), whose sizes are read.

    Raises:
        DataFileError: a missing column, a value that is not a finite number, a box with
            ``x1 <= x0`` or ``y1 <= y0`` or outside the image, a frame past the video's end, an
            image file missing, or no row; each named with the file and line.

    Examples:
        >>> import tempfile, cv2, numpy as np
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = cv2.imwrite(str(folder / "a.png"), np.zeros((40, 60, 3), np.uint8))
        >>> _ = (folder / "boxes.csv").write_text("image,x0,y0,x1,y1,track\\na.png,1,2,30,20,7\\n")
        >>> ann = read_box_csv(folder / "boxes.csv")
        >>> ann.boxes[["label", "x1", "track"]].values.tolist(), ann.images["width"].tolist()
        ([['animal', 30.0, 7]], [60])
    """
    path = Path(path)
    check_readable_file(path)
    try:
        table = pd.read_csv(path, nrows=MAX_ROWS + 1)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise DataFileError(path, f"not a CSV table ({error})") from None
    if len(table) > MAX_ROWS:
        raise DataFileError(path, f"more than {MAX_ROWS:,} rows")
    key = "frame" if "frame" in table.columns else "image"
    missing = [c for c in (key, *BOX_CSV_COLUMNS) if c not in table.columns]
    if missing:
        raise DataFileError(
            path, f"needs columns frame (or image), x0, y0, x1, y1; missing {missing}"
        )
    if table.empty:
        raise DataFileError(path, "no box rows")
    line = np.arange(len(table)) + 2  # the header is line 1
    values = table[list(BOX_CSV_COLUMNS)].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    bad = ~np.isfinite(values).all(axis=1)
    bad |= (values[:, 2] <= values[:, 0]) | (values[:, 3] <= values[:, 1])
    _refuse(path, line, bad, lambda row: (
        f"box {table.loc[row, list(BOX_CSV_COLUMNS)].tolist()} needs finite numbers with "
        f"x1 > x0 and y1 > y0 ({int(bad.sum())} such row(s))"
    ))  # fmt: skip
    boxes = table.copy()
    boxes[list(BOX_CSV_COLUMNS)] = values
    if "label" not in boxes.columns:
        boxes["label"] = "animal"
    boxes["label"] = boxes["label"].astype(str)
    if key == "frame":
        image_table, names = _video_frames(path, boxes["frame"], line, video)
    else:
        image_table, names = _image_files(path, boxes["image"].astype(str), line, images)
    boxes["image"] = names
    shapes = image_table.set_index("image")[["width", "height"]].loc[names].to_numpy(float)
    outside = (values[:, 0] >= shapes[:, 0]) | (values[:, 1] >= shapes[:, 1])
    outside |= (values[:, 2] <= 0) | (values[:, 3] <= 0)
    _refuse(path, line, outside, lambda row: (
        f"box {values[row].tolist()} lies outside its {int(shapes[row, 0])}x"
        f"{int(shapes[row, 1])} image (W x H)"
    ))  # fmt: skip
    classes = sorted(set(boxes["label"]))
    columns = ["image", "label", *BOX_CSV_COLUMNS]
    boxes = boxes[columns + [c for c in boxes.columns if c not in columns and c != "frame"]]
    return Annotations(image_table, boxes.reset_index(drop=True), classes=classes)


def _refuse(path: Path, line: np.ndarray, bad: np.ndarray, describe) -> None:
    """Raise for the first row flagged ``bad``, named with its line."""
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataFileError(path, f"line {line[row]}: {describe(row)}")


def _video_frames(path: Path, frames: pd.Series, line: np.ndarray, video):
    if video is None:
        raise DataFileError(path, "the rows name frames: pass video= the video they come from")
    from xaikit.data.video import open_video

    numbers = pd.to_numeric(frames, errors="coerce").to_numpy(float)
    whole = np.isfinite(numbers) & (numbers == np.round(numbers)) & (numbers >= 0)
    _refuse(path, line, ~whole,
            lambda row: f"frame {frames.iloc[row]} is not a whole number >= 0")  # fmt: skip
    reader = open_video(video)
    count, height, width = reader.shape[0], reader.height, reader.width
    past = numbers >= count
    _refuse(path, line, past, lambda row: (
        f"frame {int(numbers[row])} is past the end of {video} ({count} frames; "
        f"{int(past.sum())} row(s) past it)"
    ))  # fmt: skip
    name = Path(video).name
    unique = sorted(set(numbers.astype(int).tolist()))
    table = pd.DataFrame(
        {"image": [f"{name}:{f}" for f in unique], "width": width, "height": height,
         "video": str(video), "frame": unique}
    )  # fmt: skip
    return table, [f"{name}:{int(f)}" for f in numbers]


def _image_files(path: Path, names: pd.Series, line: np.ndarray, images):
    import cv2

    folder = Path(images) if images is not None else path.parent
    rows = []
    for name in dict.fromkeys(names):
        file = folder / name
        frame = cv2.imread(str(file), cv2.IMREAD_UNCHANGED) if file.is_file() else None
        if frame is None:
            row = int(np.flatnonzero(names.to_numpy() == name)[0])
            raise DataFileError(path, f"line {line[row]}: image {file} is missing or unreadable")
        rows.append(
            {"image": name, "width": frame.shape[1], "height": frame.shape[0], "path": str(file)}
        )
    return pd.DataFrame(rows), names.tolist()
