"""The one error raised for files the data layer cannot use."""

from __future__ import annotations

import os


class DataFileError(ValueError):
    """A data file is missing, empty, corrupt or in a format xaikit cannot read.

    The message always names the file and the problem; both are also kept as attributes.

    Attributes:
        path: The offending file, as given.
        problem: What is wrong with it, in words.

    Examples:
        >>> error = DataFileError("clip.mp4", "the file is empty (0 bytes)")
        >>> str(error)
        'clip.mp4: the file is empty (0 bytes)'
        >>> isinstance(error, ValueError)
        True
    """

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):
        return (type(self), (self.path, self.problem))


class VideoError(DataFileError):
    """A video file cannot be opened, indexed or decoded (see :class:`DataFileError`)."""


def check_readable_file(path: str | os.PathLike, error: type[DataFileError] = DataFileError):
    """Raise ``error`` unless ``path`` is an existing, non-empty regular file.

    Args:
        path: The file to check.
        error: The :class:`DataFileError` subclass to raise.

    Raises:
        DataFileError: (or ``error``) the path does not exist, is a folder, or is empty.

    Examples:
        >>> check_readable_file("no/such/file.csv")
        Traceback (most recent call last):
        ...
        xaikit.data.errors.DataFileError: no/such/file.csv: the file does not exist
    """
    if not os.path.exists(path):
        raise error(path, "the file does not exist")
    if os.path.isdir(path):
        raise error(path, "this is a folder, not a file")
    if os.path.getsize(path) == 0:
        raise error(path, "the file is empty (0 bytes)")
