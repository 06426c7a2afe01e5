"""The one way xaikit writes a file: atomically, so that a crash never costs the previous file.

:func:`atomic_file` writes into a temporary file in the target's own folder, named
``.<name>.<random>.partial`` (hidden, and with an ending no xaikit reader takes), flushes and
fsyncs it, then moves it over the target with ``os.replace`` and fsyncs the folder. Whatever goes
wrong before the move (an exception, a full disk, a kill) leaves the previous file as it was; an
exception also removes the temporary file. :func:`atomic_folder` does the same for a set of files
that must change together: they are written into a temporary sibling folder that is swapped in
whole.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: The ending of every temporary file and folder; readers refuse it.
PARTIAL = ".partial"


def is_partial(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a temporary file or folder of an unfinished write.

    Examples:
        >>> is_partial("out/.tracks.csv.k2j4.partial"), is_partial("out/tracks.csv")
        (True, False)
    """
    return Path(path).name.endswith(PARTIAL)


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _temporary_name(path: Path) -> str:
    return f".{path.name}."


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path to write ``path`` through (for writers that want a file name, such as
    video encoders): on success it is fsynced and moved over ``path``; on any error it is removed
    and ``path`` keeps its previous content.

    Examples:
        >>> folder = Path(tempfile.mkdtemp())
        >>> with atomic_path(folder / "a.txt") as temporary:
        ...     _ = temporary.write_text("new")
        >>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
        ('new', ['a.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=_temporary_name(path), suffix=PARTIAL)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", **open_options) -> Iterator:
    """Open a stream that writes ``path`` atomically (see :func:`atomic_path`).

    Args:
        path: the file to write.
        mode: ``"wb"`` or ``"w"`` (text; ``open_options`` such as ``encoding``, ``newline``).

    Examples:
        >>> folder = Path(tempfile.mkdtemp())
        >>> (folder / "t.csv").write_text("old")
        3
        >>> try:
        ...     with atomic_file(folder / "t.csv", "w") as stream:
        ...         _ = stream.write("half a tab")
        ...         raise OSError("disk full")
        ... except OSError:
        ...     pass
        >>> (folder / "t.csv").read_text(), len(list(folder.iterdir()))
        ('old', 1)
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w'; got {mode!r}")
    with atomic_path(path) as temporary, open(temporary, mode, **open_options) as stream:
        yield stream
        stream.flush()


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``."""
    with atomic_file(path, "wb") as stream:
        stream.write(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; return ``path``."""
    with atomic_file(path, "w", encoding=encoding, newline="") as stream:
        stream.write(text)
    return Path(path)


_RENAME_EXCHANGE = 2  # Linux renameat2 flag: swap two paths in one step


def _exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths atomically where the system can (Linux ``renameat2``)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_cwd = -100
    result = renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), _RENAME_EXCHANGE)
    return result == 0


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder to write a set of files into; on success it replaces ``path`` whole.

    The new folder is swapped in with one atomic exchange where the system has one (Linux),
    else by two renames (the old folder is kept under a ``.partial`` name between them); on
    any error the temporary folder is removed and ``path`` keeps its previous content.

    Examples:
        >>> root = Path(tempfile.mkdtemp())
        >>> with atomic_folder(root / "labels") as folder:
        ...     _ = (folder / "classes.txt").write_text("mouse")
        >>> sorted(p.name for p in (root / "labels").iterdir()), len(list(root.iterdir()))
        (['classes.txt'], 1)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(
        tempfile.mkdtemp(dir=path.parent, prefix=_temporary_name(path), suffix=PARTIAL)
    )
    try:
        yield temporary
        for file in temporary.rglob("*"):
            if file.is_file():
                with open(file, "rb+") as stream:
                    os.fsync(stream.fileno())
        if path.exists() and _exchange(temporary, path):
            shutil.rmtree(temporary)  # now the old content
        elif path.exists():
            old = Path(
                tempfile.mkdtemp(dir=path.parent, prefix=_temporary_name(path), suffix=PARTIAL)
            )
            os.replace(path, old / path.name)
            os.replace(temporary, path)
            shutil.rmtree(old)
        else:
            os.replace(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    _fsync_folder(path.parent)
