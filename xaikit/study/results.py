"""What a study notebook hands to ``python -m xaikit.study.run``: its tables, as CSV and
Markdown, and a line that says how large the run was.

A notebook reads :func:`results_folder` in its parameters cell. Run by hand it gets ``None``
and :func:`save_table` writes nothing; run by :mod:`xaikit.study.run` it gets the folder the
runner collects (``XAIKIT_RESULTS``), which the runner stamps with the commit, date, machine
and run time and moves into ``docs/results/<notebook>/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from xaikit._atomic import write_text
from xaikit._runtime import is_smoke_run

__all__ = ["RESULTS_VARIABLE", "results_folder", "run_size", "save_table"]

#: The environment variable naming the folder a study writes its tables into.
RESULTS_VARIABLE = "XAIKIT_RESULTS"


def results_folder() -> Path | None:
    """The folder ``python -m xaikit.study.run`` collects tables in, or ``None`` outside it."""
    folder = os.environ.get(RESULTS_VARIABLE)
    return Path(folder) if folder else None


def run_size(**counts) -> str:
    """A line naming the run: smoke (``XAIKIT_SMOKE``) or full, and its sample counts.

    Every results cell of a study prints it, so a stored output says what run it shows.

    Examples:
        >>> import os
        >>> from unittest import mock
        >>> with mock.patch.dict(os.environ, {"XAIKIT_SMOKE": "1"}):
        ...     print(run_size(images=8, observers=15))
        smoke run (XAIKIT_SMOKE=1, shortened): 8 images, 15 observers
    """
    kind = "smoke run (XAIKIT_SMOKE=1, shortened)" if is_smoke_run() else "full run"
    return f"{kind}: " + ", ".join(
        f"{value} {name.replace('_', ' ')}" for name, value in counts.items()
    )


def _file_stem(name: str) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not stem:
        raise ValueError(f"a table needs a name with letters or digits, got {name!r}")
    return stem


def save_table(folder: Path | None, name: str, table: pd.DataFrame | pd.Series, caption: str = ""):
    """Write ``table`` as ``<name>.csv`` and ``<name>.md`` into ``folder`` (nothing when ``None``).

    Args:
        folder: :func:`results_folder`'s value.
        name: The table's name ("hit point (Table 3)"); the files are named after it in
            lower case with dashes.
        table: A DataFrame or Series; its index is written too.
        caption: A sentence written above the Markdown table (e.g. :func:`run_size`).

    Returns:
        The CSV path, or ``None`` when ``folder`` is ``None``.

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> hits = pd.Series({"gradcam": 0.5}, name="hit point")
        >>> path = save_table(folder, "Hit point (Table 3)", hits)
        >>> path.name, sorted(p.name for p in folder.iterdir())
        ('hit-point-table-3.csv', ['hit-point-table-3.csv', 'hit-point-table-3.md'])
        >>> save_table(None, "anything", pd.Series(dtype=float)) is None
        True
    """
    if folder is None:
        return None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = _file_stem(name)
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    write_text(folder / f"{stem}.csv", frame.to_csv())
    text = f"## {name}\n\n" + (f"{caption}\n\n" if caption else "")
    write_text(folder / f"{stem}.md", text + frame.to_markdown() + "\n")
    return folder / f"{stem}.csv"
