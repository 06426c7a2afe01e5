"""Writing track and behaviour tables as CSV or Parquet."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pandas as pd

from xaikit._atomic import atomic_file

__all__ = ["TABLE_FORMATS", "check_format", "save_table"]

TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet"}


def check_format(kind: str) -> None:
    """Raise unless ``kind`` (``"csv"`` or ``"parquet"``) can be written here.

    Examples:
        >>> check_format("csv")
        >>> check_format("xlsx")
        Traceback (most recent call last):
        ...
        ValueError: unknown table format 'xlsx'; use 'csv' or 'parquet'
    """
    if kind not in TABLE_FORMATS.values():
        raise ValueError(f"unknown table format {kind!r}; use 'csv' or 'parquet'")
    if kind == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise ImportError(
            "writing Parquet needs the 'pyarrow' package, which is not installed: "
            "pip install pyarrow (or write csv)"
        )


def save_table(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table; the suffix picks the format (``.csv`` or ``.parquet``), without the index.

    The file is written atomically (:mod:`xaikit._atomic`): a kill or a full disk mid-write
    leaves the previous file as it was, never a truncated table.

    Parquet needs the ``pyarrow`` package (``pip install pyarrow``); without it an
    ``ImportError`` says so before anything is written.

    Args:
        table: the DataFrame.
        path: output file; its folder is created if missing.

    Returns:
        The path written.

    Raises:
        TypeError: ``table`` is not a DataFrame.
        ValueError: an unknown suffix.
        ImportError: Parquet was asked for and pyarrow is not installed.

    Examples:
        >>> import tempfile, pandas as pd
        >>> path = save_table(pd.DataFrame({"frame": [0, 1]}), tempfile.mkdtemp() + "/t.csv")
        >>> path.read_text().splitlines()
        ['frame', '0', '1']
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame; got {type(table).__name__}")
    path = Path(path)
    kind = TABLE_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"unknown table format {path.suffix!r} in {path}; use .csv or .parquet")
    check_format(kind)
    if kind == "csv":
        with atomic_file(path, "w", encoding="utf-8", newline="") as stream:
            table.to_csv(stream, index=False)
    else:
        with atomic_file(path, "wb") as stream:
            table.to_parquet(stream, index=False)
    return path
