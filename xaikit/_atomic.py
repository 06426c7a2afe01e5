"""The one way xaikit writes a file: atomically, so that a crash never costs the previous file.

:func:`atomic_file` writes into a temporary file in the target's own folder, named
``.<name>.<random>.partial`` (hidden, and with an ending no xaikit reader takes), flushes and
fsyncs it, then moves it over the target with ``os.replace`` and fsyncs the folder. Whatever goes
wrong before the move (an exception, a full disk, a kill) leaves the previous file as it was; an
exception also removes the temporary file. :func:`atomic_folder` does the same for a set of files
that must change together: they are written into a temporary sibling folder that is swapped in
whole. :func:`atomic_set` publishes a set of files into a folder that also holds other files
(a YOLO label folder beside the images): staged whole, then moved in under a journal, so that an
interrupted move is detectable (:func:`interrupted_set`) and completed by the next write.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
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


def _fsync_file(path: Path) -> None:
    """Flush ``path``'s data to the disk."""
    with open(path, "rb+") as stream:
        os.fsync(stream.fileno())


def _fsync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be opened
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _shared(path: Path, folder: bool = False) -> Path:
    """Give a temporary file (or folder) the mode a plain ``open`` (``mkdir``) would: the
    user's umask applied to 0o666 (0o777), not ``mkstemp``'s private 0o600 (0o700), so that
    results on a shared server stay readable by the group."""
    os.chmod(path, (0o777 if folder else 0o666) & ~_umask())
    return path


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
    temporary = _shared(Path(name))
    try:
        yield temporary
        _fsync_file(temporary)
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
    temporary = _shared(
        Path(tempfile.mkdtemp(dir=path.parent, prefix=_temporary_name(path), suffix=PARTIAL)),
        folder=True,
    )
    try:
        yield temporary
        for file in temporary.rglob("*"):
            if file.is_file():
                _fsync_file(file)
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


# -------------------------------------------------------------- a set of files in a shared folder


def _set_files(folder: Path, name: str) -> tuple[Path, Path]:
    """The manifest and the journal of the file set ``name`` in ``folder``."""
    return folder / f".xaikit-{name}.json", folder / f".xaikit-{name}{PARTIAL}"


def _plain_names(names, source: Path) -> list[str]:
    """``names`` if each is a plain file name (no folder part, not hidden), else raise."""
    names = list(names)
    for name in names:
        if not isinstance(name, str) or Path(name).name != name or name.startswith("."):
            raise ValueError(f"{source}: {name!r} is not a plain file name; the file is damaged")
    return names


def _manifest_names(manifest: Path) -> list[str]:
    if not manifest.is_file():
        return []
    try:
        names = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{manifest}: not a file-set manifest ({error!r}); remove it") from error
    return _plain_names(names, manifest)


def _finish_publish(folder: Path, manifest: Path, journal: Path) -> None:
    """Carry out the journal's plan; safe to repeat after a kill (every step is idempotent)."""
    plan = json.loads(journal.read_text(encoding="utf-8"))
    staging = folder / plan["staging"]
    if staging.name != plan["staging"] or not is_partial(staging):
        raise ValueError(f"{journal}: {plan['staging']!r} is not a staging folder; it is damaged")
    for name in _plain_names(plan["remove"], journal):
        (folder / name).unlink(missing_ok=True)
    for name in _plain_names(plan["files"], journal):
        if (staging / name).exists():  # else moved in already, before a kill
            os.replace(staging / name, folder / name)
    write_text(manifest, json.dumps({"files": plan["files"]}))
    journal.unlink()
    shutil.rmtree(staging, ignore_errors=True)
    _fsync_folder(folder)


def interrupted_set(folder: str | os.PathLike, name: str) -> Path | None:
    """The journal of an interrupted publish of file set ``name`` into ``folder``, or ``None``.

    While it exists, the folder may hold files of two writes of the set (see
    :func:`atomic_set`); the next :func:`atomic_set` on the folder completes the interrupted one.
    """
    journal = _set_files(Path(folder), name)[1]
    return journal if journal.exists() else None


@contextlib.contextmanager
def atomic_set(folder: str | os.PathLike, name: str) -> Iterator[Path]:
    """A staging folder for a set of files that replaces the set ``name`` in ``folder`` together.

    For exports that share a folder with files they must never touch (a YOLO label folder
    beside the user's images), so the folder cannot be swapped whole. The files are written
    into the staging folder ``folder/.xaikit-<name>.<random>.partial/`` and fsynced; a kill or
    an error until then leaves the previous set as it was (an error also removes the staging
    folder). Then a journal ``folder/.xaikit-<name>.partial`` is written atomically: the plan
    (the files to move in, and the previous set's files that the new one lacks, to remove).
    Then the plan runs, the manifest ``folder/.xaikit-<name>.json`` is rewritten and the
    journal removed. A kill while the plan runs leaves the journal, so the mixed state is
    detectable (:func:`interrupted_set`; readers refuse such a folder), and the next
    :func:`atomic_set` on the folder first completes the interrupted plan (the new set's files
    are all complete by then). Only files of earlier writes of set ``name`` (those its
    manifest lists) are ever removed. One writer per folder and set at a time.

    Examples:
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "photo.jpg").write_bytes(b"user's")
        >>> with atomic_set(folder, "labels") as staging:
        ...     _ = (staging / "a.txt").write_text("1")
        ...     _ = (staging / "b.txt").write_text("2")
        >>> with atomic_set(folder, "labels") as staging:
        ...     _ = (staging / "a.txt").write_text("3")
        >>> sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        ['a.txt', 'photo.jpg']
        >>> (folder / "a.txt").read_text(), interrupted_set(folder, "labels")
        ('3', None)
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest, journal = _set_files(folder, name)
    if journal.exists():
        _finish_publish(folder, manifest, journal)
    for stale in folder.glob(f".xaikit-{name}.*{PARTIAL}"):  # staging folders of killed writes
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=f".xaikit-{name}.", suffix=PARTIAL))
    _shared(staging, folder=True)
    try:
        yield staging
        files = sorted(path.name for path in staging.iterdir())
        for file in files:
            _fsync_file(staging / file)  # a folder inside fails here
        _plain_names(files, staging)
        previous = _manifest_names(manifest)
        plan = {
            "staging": staging.name,
            "files": files,
            "remove": sorted(set(previous) - set(files)),
        }
        write_text(journal, json.dumps(plan))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _finish_publish(folder, manifest, journal)
