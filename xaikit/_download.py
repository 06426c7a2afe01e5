"""Fetching a file from the network, only when the user asks: hash-checked, atomic, with progress.

:func:`download` streams a URL into a temporary file beside the target, checks its hash (a full
SHA-256 or MD5, or torchvision's SHA-256 prefix that names its weight files) and only then moves
it into place, so a cut connection or a wrong file never leaves a half file that a later run
would trust. :func:`unpack` extracts a zip or tar archive into a folder the same way (into a
temporary sibling swapped in whole) and refuses members that would land outside it.

Setting ``XAIKIT_OFFLINE=1`` forbids every download; every failure is a :class:`DownloadError`
that names the file, the URL and the folder, so the user can fetch it by hand.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

from xaikit._atomic import atomic_folder, atomic_path

__all__ = ["DownloadError", "download", "extract", "offline", "unpack"]

OFFLINE_VARIABLE = "XAIKIT_OFFLINE"
_CHUNK = 1 << 20


class DownloadError(OSError):
    """A file could not be fetched; the message says which, from where, and where it belongs."""

    def __init__(self, path: str | os.PathLike, url: str, reason: str):
        path = Path(path)
        self.path, self.url, self.reason = path, url, reason
        super().__init__(
            f"could not download {path.name} from {url} ({reason}). On a machine with network "
            f"access, fetch that URL and put the file in {path.parent}"
        )


def offline() -> bool:
    """Whether the user forbade downloads (``XAIKIT_OFFLINE`` set to anything but 0/false/no).

    Examples:
        >>> from unittest import mock
        >>> with mock.patch.dict(os.environ, {OFFLINE_VARIABLE: "1"}):
        ...     offline()
        True
    """
    value = os.environ.get(OFFLINE_VARIABLE, "").strip().lower()
    return value not in ("", "0", "false", "no")


def download(
    url: str,
    path: str | os.PathLike,
    *,
    sha256: str | None = None,
    md5: str | None = None,
    progress: bool = True,
    timeout: float = 60,
) -> Path:
    """Fetch ``url`` into ``path`` atomically and check its hash; return ``path``.

    Args:
        url: Where the file is (``http(s)://`` or ``file://``).
        path: The file to write; its folder is created.
        sha256: The file's SHA-256 in hex, or a prefix of it (torchvision names its weight files
            ``<name>-<first 8 hex digits of the SHA-256>.pth``).
        md5: The file's MD5 in hex (what most datasets publish).
        progress: Show a progress bar (tqdm).
        timeout: Seconds to wait for the server before giving up.

    Raises:
        DownloadError: ``XAIKIT_OFFLINE`` is set, the server cannot be reached or answers with
            an error, the transfer is cut short, or the hash differs. ``path`` is then unchanged.

    Examples:
        >>> import tempfile
        >>> from unittest import mock
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "a.txt").write_text("hello")
        >>> url, md5 = (folder / "a.txt").as_uri(), "5d41402abc4b2a76b9719d911017c592"
        >>> with mock.patch.dict(os.environ, {OFFLINE_VARIABLE: "0"}):
        ...     download(url, folder / "b.txt", md5=md5, progress=False).read_text()
        'hello'
        >>> with mock.patch.dict(os.environ, {OFFLINE_VARIABLE: "1"}):
        ...     download(url, folder / "c.txt", md5=md5)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        xaikit._download.DownloadError: could not download c.txt ... (XAIKIT_OFFLINE is set, ...
    """
    path = Path(path)
    if offline():
        raise DownloadError(path, url, f"{OFFLINE_VARIABLE} is set, so nothing is downloaded")
    hashes = {"sha256": hashlib.sha256(), "md5": hashlib.md5()}
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_path(path) as part:
            expected = response.headers.get("Content-Length")
            expected = int(expected) if expected and expected.isdigit() else None
            received = _copy(response, part, hashes, expected, progress, path.name)
            if expected is not None and received != expected:
                raise DownloadError(path, url, f"received {received} of {expected} bytes")
            _check_hash(path, url, "sha256", sha256, hashes["sha256"].hexdigest())
            _check_hash(path, url, "md5", md5, hashes["md5"].hexdigest())
    except DownloadError:
        raise
    except urllib.error.HTTPError as error:
        raise DownloadError(path, url, f"HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        raise DownloadError(path, url, str(getattr(error, "reason", error))) from error
    return path


def _copy(response, part: Path, hashes: dict, total: int | None, progress: bool, name: str) -> int:
    from tqdm.auto import tqdm

    received = 0
    with (
        open(part, "wb") as stream,
        tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=name,
            disable=not progress,
        ) as bar,
    ):
        while chunk := response.read(_CHUNK):
            stream.write(chunk)
            for digest in hashes.values():
                digest.update(chunk)
            received += len(chunk)
            bar.update(len(chunk))
    return received


def _check_hash(path: Path, url: str, kind: str, expected: str | None, actual: str) -> None:
    if expected is not None and not actual.startswith(expected.lower()):
        raise DownloadError(
            path, url, f"{kind} {actual} does not match the expected {expected}: corrupt or changed"
        )


def unpack(archive: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """Extract a zip or tar archive into ``folder`` atomically; return ``folder``.

    The members are written into a temporary sibling of ``folder`` that replaces it whole once
    every member is out, so an interrupted unpack leaves ``folder`` as it was. A member whose
    path is absolute or climbs out with ``..`` is refused (a crafted archive cannot write
    elsewhere), as are links.

    Raises:
        ValueError: the archive is neither zip nor tar, or holds an unsafe member.

    Examples:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> with zipfile.ZipFile(root / "d.zip", "w") as z:
        ...     z.writestr("data/stimuli/1.jpg", b"jpeg")
        >>> folder = unpack(root / "d.zip", root / "d")
        >>> sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
        ['data', 'data/stimuli', 'data/stimuli/1.jpg']
    """
    archive, folder = Path(archive), Path(folder)
    _archive_kind(archive)
    with atomic_folder(folder) as part:
        extract(archive, part)
    return folder


def _archive_kind(archive: Path) -> str:
    if zipfile.is_zipfile(archive):
        return "zip"
    if tarfile.is_tarfile(archive):
        return "tar"
    raise ValueError(f"{archive} is neither a zip nor a tar archive")


def extract(archive: str | os.PathLike, folder: str | os.PathLike) -> None:
    """Extract a zip or tar archive into ``folder`` (not atomic: see :func:`unpack`).

    Every member is checked before any is written: absolute paths, ``..`` and links are
    refused with a ValueError.
    """
    archive, folder = Path(archive), Path(folder)
    if _archive_kind(archive) == "zip":
        with zipfile.ZipFile(archive) as opened:
            for member in opened.infolist():
                _check_member(archive, member.filename)
            opened.extractall(folder)
        return
    with tarfile.open(archive) as opened:
        members = opened.getmembers()
        for member in members:
            if not (member.isfile() or member.isdir()):
                raise ValueError(f"{archive}: member {member.name!r} is a link or device")
            _check_member(archive, member.name)
        for member in members:
            target = folder / member.name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with opened.extractfile(member) as source, open(target, "wb") as stream:
                shutil.copyfileobj(source, stream, _CHUNK)


def _check_member(archive: Path, name: str) -> None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        raise ValueError(f"{archive}: member {name!r} would be written outside the folder")
