"""DeepLabCut labelled frames (``CollectedData_<scorer>.csv`` / ``.h5``) as boxes.

A DeepLabCut project labels keypoints, not boxes. :func:`read_deeplabcut` turns the keypoints of
each animal in each labelled frame into one box: the extent of its visible keypoints, widened on
every side by ``margin`` times the extent's longer side (keypoints lie inside the body, so their
extent is smaller than the animal), and cut to the image. Boxes are xaikit's continuous
``x0, y0, x1, y1`` (DeepLabCut's keypoints are continuous pixel coordinates already).

File layout (both DeepLabCut versions): header rows ``scorer``, optionally ``individuals``
(multi-animal projects), ``bodyparts`` and ``coords`` (``x``, ``y``, and in machine-labelled
files ``likelihood``); then one row per frame, indexed by the image path, either one column
(``labeled-data/video/img0001.png``) or three (``labeled-data``, ``video``, ``img0001.png``).
An empty cell is a keypoint not visible.
"""

from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from xaikit.data.annotations import Annotations
from xaikit.data.errors import DataFileError, check_readable_file
from xaikit.data.keypoints import MARGIN, keypoint_box

HEADER_NAMES = ("scorer", "individuals", "bodyparts", "coords")

#: The most labelled rows a file may hold (a damaged file is refused rather than read whole).
MAX_ROWS = 1_000_000


def read_deeplabcut(
    path: str | os.PathLike,
    images: str | os.PathLike | None = None,
    margin: float = MARGIN,
    label: str = "animal",
) -> Annotations:
    """Read a DeepLabCut ``CollectedData_*.csv`` (or ``.h5``) into boxes, one per animal and
    labelled frame.

    Args:
        path: The ``.csv`` or ``.h5`` file (the ``.h5`` needs ``pandas``' HDF5 reader,
            ``tables``).
        images: The folder the image paths are relative to; ``None`` tries the project folder
            (two levels above a ``labeled-data/<video>/`` file) and then the file's own folder
            (the image file name alone).
        margin: Each box is the visible keypoints' extent widened by ``margin`` times its longer
            side on every side (``0`` keeps the bare extent), then cut to the image.
        label: The class name of single-animal boxes; multi-animal projects use the
            individual's name as ``track`` and ``label`` stays ``label``.

    Returns:
        :class:`~xaikit.data.annotations.Annotations` with one image row per labelled frame
        (``width``/``height`` read from the image file, ``path`` the file found) and one box
        per animal with at least one visible keypoint, with extra columns ``track`` (the
        individual; ``0`` in single-animal projects) and ``keypoints`` (how many were visible:
        an animal with one visible keypoint gets a box of no extent at it, which a filter on
        ``keypoints`` drops).

    Raises:
        DataFileError: the file is missing, not DeepLabCut's layout, a value is not a number
            (file and line named), an image is missing, or no frame has a visible keypoint.

    Warns:
        UserWarning: frames whose keypoints are all missing (counted; they get no box and are
            left out, since an unlabelled frame is not known to be empty).

    Examples:
        >>> import tempfile, cv2, numpy as np
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = cv2.imwrite(str(folder / "img0.png"), np.zeros((100, 200, 3), np.uint8))
        >>> _ = (folder / "CollectedData_me.csv").write_text(
        ...     "scorer,me,me,me,me\\nbodyparts,nose,nose,tail,tail\\ncoords,x,y,x,y\\n"
        ...     "labeled-data/v/img0.png,50,40,90,60\\n")
        >>> ann = read_deeplabcut(folder / "CollectedData_me.csv", margin=0.1)
        >>> ann.boxes[["x0", "y0", "x1", "y1"]].values.tolist()  # extent 40 x 20, +4 each side
        [[46.0, 36.0, 94.0, 64.0]]
    """
    path = Path(path)
    check_readable_file(path)
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0; got {margin}")
    table = _read_h5(path) if path.suffix.lower() in (".h5", ".hdf5") else _read_csv(path)
    folder = _image_folder(path, images, table.index[0])
    image_rows, box_rows, blank = [], [], 0
    for image, values in table.iterrows():
        file, (height, width) = _image_file(path, folder, image)
        boxes = _boxes(values, margin, (height, width))
        if not boxes:
            blank += 1
            continue
        image_rows.append({"image": image, "width": width, "height": height, "path": str(file)})
        box_rows += [{"image": image, "label": label, **box} for box in boxes]
    if blank:
        warnings.warn(
            f"{path}: {blank} of {len(table)} labelled frames have no visible keypoint; they "
            "are left out (an unlabelled frame is not known to be empty)",
            stacklevel=2,
        )
    if not box_rows:
        raise DataFileError(path, "no labelled frame has a visible keypoint")
    return Annotations(pd.DataFrame(image_rows), pd.DataFrame(box_rows), classes=[label])


def _boxes(values: pd.Series, margin: float, shape: tuple[int, int]) -> list[dict]:
    found = []
    for individual, points in values.groupby(level="individuals", sort=False):
        box = keypoint_box(points.unstack("coords")[["x", "y"]].to_numpy(float), margin, shape)
        if box is not None:
            found.append({**box, "track": individual})
    return found


def _read_csv(path: Path) -> pd.DataFrame:
    """``(frames, (individuals, bodyparts, coords))`` values, indexed by image path."""
    with open(path, newline="", encoding="utf-8", errors="strict") as file:
        try:
            rows = []
            for number, row in enumerate(csv.reader(file), start=1):
                if number > MAX_ROWS:
                    raise DataFileError(path, f"more than {MAX_ROWS:,} rows")
                rows.append(row)
        except UnicodeDecodeError as error:
            raise DataFileError(path, f"not UTF-8 text ({error.reason})") from None
    headers = {}
    for row in rows:
        if not row or row[0].strip().lower() not in HEADER_NAMES:
            break
        headers[row[0].strip().lower()] = row
    if not {"scorer", "bodyparts", "coords"} <= set(headers):
        raise DataFileError(
            path,
            "not a DeepLabCut CollectedData file: the first rows must be 'scorer', "
            "('individuals'), 'bodyparts' and 'coords'",
        )
    scorer = headers["scorer"]
    index_columns = 1 + next(
        (i for i, cell in enumerate(scorer[1:]) if cell.strip()), len(scorer) - 1
    )
    width = len(scorer)
    columns = pd.MultiIndex.from_arrays(
        [
            headers.get("individuals", ["0"] * width)[index_columns:],
            headers["bodyparts"][index_columns:],
            [cell.strip().lower() for cell in headers["coords"][index_columns:]],
        ],
        names=["individuals", "bodyparts", "coords"],
    )
    names, values = [], []
    for number, row in enumerate(rows[len(headers) :], start=len(headers) + 1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            raise DataFileError(path, f"line {number} has {len(row)} cells; the header {width}")
        names.append("/".join(cell.strip() for cell in row[:index_columns] if cell.strip()))
        try:
            values.append([float(cell) if cell.strip() else np.nan for cell in row[index_columns:]])
        except ValueError:
            bad = next(c for c in row[index_columns:] if c.strip() and not _is_number(c))
            raise DataFileError(path, f"line {number}: {bad!r} is not a number") from None
    if not names:
        raise DataFileError(path, "no labelled frame: the file has headers only")
    table = pd.DataFrame(values, index=names, columns=columns)
    return _checked(path, table)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_h5(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_hdf(path)
    except ImportError as error:
        raise ImportError(
            f"reading {path} needs PyTables (pip install tables); or read the .csv DeepLabCut "
            "writes next to it"
        ) from error
    except (KeyError, ValueError, OSError) as error:
        raise DataFileError(path, f"not a DeepLabCut .h5 file ({error})") from None
    if not isinstance(table, pd.DataFrame) or table.columns.nlevels not in (3, 4):
        raise DataFileError(path, "not a DeepLabCut .h5 file: expected 3 or 4 column levels")
    if table.columns.nlevels == 3:  # scorer, bodyparts, coords
        table.columns = pd.MultiIndex.from_arrays(
            [["0"] * table.shape[1], *(table.columns.get_level_values(i) for i in (1, 2))]
        )
    else:
        table.columns = table.columns.droplevel(0)
    table.columns = table.columns.set_names(["individuals", "bodyparts", "coords"])
    if table.index.nlevels > 1:
        table.index = ["/".join(str(part) for part in parts) for parts in table.index]
    table.index = [str(name).replace("\\", "/") for name in table.index]
    return _checked(path, table.astype(float))


def _checked(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    coords = set(table.columns.get_level_values("coords"))
    if not {"x", "y"} <= coords:
        raise DataFileError(path, f"the coords row needs x and y; got {sorted(coords)}")
    if table.index.duplicated().any():
        raise DataFileError(path, f"image {table.index[table.index.duplicated()][0]} twice")
    return table


def _image_folder(path: Path, images, first: str) -> Path:
    if images is not None:
        return Path(images)
    project = path.parent.parent.parent if path.parent.parent.name == "labeled-data" else None
    if project is not None and (project / first).is_file():
        return project
    return path.parent


def _image_file(path: Path, folder: Path, image: str) -> tuple[Path, tuple[int, int]]:
    """The labelled image's file and its ``(height, width)``."""
    import cv2

    for candidate in (folder / image, folder / Path(image).name):
        if candidate.is_file():
            frame = cv2.imread(str(candidate), cv2.IMREAD_UNCHANGED)
            if frame is None:
                raise DataFileError(candidate, "not an image OpenCV can read")
            return candidate, frame.shape[:2]
    raise DataFileError(
        path, f"labelled image {image} not found under {folder} (pass images=the folder)"
    )
