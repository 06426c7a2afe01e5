"""Where the demo zoo's files live, and its model cards (JSON beside the weights)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from xaikit._atomic import atomic_file

#: The folder of the shipped weights and cards.
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def reproduce_command(name: str) -> str:
    """The shell command that trains ``name`` and writes its files into the package."""
    return f"python -m xaikit.study.zoo {name}"


def require_file(path: Path, name: str) -> Path:
    """Return ``path`` if it is a file; else raise ``FileNotFoundError`` saying how to make it.

    Examples:
        >>> require_file(Path("/nonexistent/demo-shapes.pt"), "demo-shapes")
        Traceback (most recent call last):
        ...
        FileNotFoundError: demo model 'demo-shapes': file /nonexistent/demo-shapes.pt is missing. \
Reproduce it (from its seed, offline) with: python -m xaikit.study.zoo demo-shapes
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"demo model {name!r}: file {path} is missing. Reproduce it (from its seed, "
            f"offline) with: {reproduce_command(name)}"
        )
    return path


def card_path(name: str, folder: Path | None = None) -> Path:
    """``<folder>/<name>.json`` (``folder`` defaults to :data:`WEIGHTS_DIR`)."""
    return Path(folder or WEIGHTS_DIR) / f"{name}.json"


def read_card(name: str, folder: Path | None = None) -> dict:
    """The model card of ``name``, checked to exist (see :func:`require_file`)."""
    return json.loads(require_file(card_path(name, folder), name).read_text(encoding="utf-8"))


def write_card(card: dict, folder: Path | None = None) -> Path:
    """Write ``card`` (which has a ``"name"``) as indented JSON, atomically; return its path.

    A kill or a full disk mid-write leaves the previous card as it was (see
    :func:`xaikit._atomic.atomic_file`).

    Examples:
        >>> import tempfile
        >>> path = write_card({"name": "demo-x", "classes": ["a"]}, Path(tempfile.mkdtemp()))
        >>> path.name, read_card("demo-x", path.parent)["classes"]
        ('demo-x.json', ['a'])
    """
    path = card_path(card["name"], folder)
    with atomic_file(path, "w", encoding="utf-8") as stream:
        json.dump(card, stream, indent=2)
        stream.write("\n")
    return path


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file (recorded in the cards so a card names the exact weights)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
