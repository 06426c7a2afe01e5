"""What the dataset readers share: finding image files, reading ``.mat`` files, counting gaps."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from xaikit.data.datasets._dataset import IMAGE_SUFFIXES
from xaikit.data.errors import DataFileError, check_readable_file


def image_files(folder: Path, recursive: bool = False) -> dict[str, Path]:
    """``{name: path}`` of the images in ``folder``, ``name`` relative to it with ``/``, sorted.

    Raises:
        DataFileError: the folder does not exist or holds no image.
    """
    if not folder.is_dir():
        raise DataFileError(folder, "the image folder does not exist")
    pattern = "**/*" if recursive else "*"
    files = {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.glob(pattern))
        if path.suffix.lower() in IMAGE_SUFFIXES
        and path.is_file()
        and not path.name.startswith(".")
    }
    if not files:
        raise DataFileError(folder, f"holds no image ({', '.join(IMAGE_SUFFIXES)})")
    return files


def read_mat(path: Path) -> dict:
    """The variables of a MATLAB ``.mat`` file (v4 to v7.2; scipy cannot read v7.3 / HDF5)."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    check_readable_file(path)
    try:
        contents = loadmat(path, squeeze_me=False, struct_as_record=True)
    except (MatReadError, ValueError, NotImplementedError, OSError) as error:
        hint = " (a v7.3 file: save it with -v7 in MATLAB)" if "7.3" in str(error) else ""
        raise DataFileError(path, f"cannot be read as a MATLAB .mat file{hint}: {error}") from error
    return {key: value for key, value in contents.items() if not key.startswith("__")}


def skip_missing(names: Sequence[str], present, dataset: str, folder: Path) -> list[str]:
    """``names`` that are in ``present``; one warning counts the others (a partial copy)."""
    if not names:
        raise DataFileError(folder, f"{dataset}: its files hold no fixation")
    kept = [name for name in names if name in present]
    missing = len(names) - len(kept)
    if not kept:
        raise DataFileError(
            folder,
            f"holds none of the {len(names)} {dataset} images its fixations name, e.g. "
            f"{list(names)[:3]}",
        )
    if missing:
        warnings.warn(
            f"{dataset}: skipped {missing} of {len(names)} images that have fixations but are "
            f"not in {folder}",
            stacklevel=3,
        )
    return kept
