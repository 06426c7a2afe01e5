"""Private helpers shared by the fixation readers (:mod:`xaikit.data.fixations`,
:mod:`xaikit.data.eyelink`): the required columns and the checks every table goes through."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("x", "y", "duration")


def _drop_incomplete(table: pd.DataFrame, source: str) -> pd.DataFrame:
    """Drop rows whose ``x``, ``y`` or ``duration`` is NaN or infinite, warning with the counts.

    The warnings point at the caller of the reader that calls this (``stacklevel=3``).

    Examples:
        >>> import warnings, pandas as pd
        >>> table = pd.DataFrame({"x": [1.0, float("nan")], "y": [2.0, 3.0], "duration": 9.0})
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     kept = _drop_incomplete(table, "f.csv")
        >>> len(kept), str(caught[0].message)
        (1, 'f.csv: dropped 1 fixation(s) without a position or duration')
    """
    values = table[list(REQUIRED_COLUMNS)].to_numpy(dtype=float)
    incomplete = np.isnan(values).any(axis=1)
    infinite = np.isinf(values).any(axis=1) & ~incomplete
    if incomplete.any():
        warnings.warn(
            f"{source}: dropped {int(incomplete.sum())} fixation(s) without a position or duration",
            stacklevel=3,
        )
    if infinite.any():
        warnings.warn(
            f"{source}: dropped {int(infinite.sum())} fixation(s) with an infinite position or "
            "duration",
            stacklevel=3,
        )
    return table[~(incomplete | infinite)].reset_index(drop=True)


def _require_columns(table, columns) -> None:
    """Raise unless ``table`` is a DataFrame holding every name in ``columns``.

    Raises:
        TypeError: ``table`` is not a DataFrame.
        ValueError: a column is missing (the message lists the ones it has).

    Examples:
        >>> import pandas as pd
        >>> _require_columns(pd.DataFrame({"x": [1.0]}), ("x", "y"))
        Traceback (most recent call last):
        ...
        ValueError: the fixation table lacks column(s) ['y']; has ['x']
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of fixations; got {type(table).__name__}")
    missing = [name for name in columns if name not in table.columns]
    if missing:
        raise ValueError(f"the fixation table lacks column(s) {missing}; has {list(table.columns)}")


def _number_or_nan(text: str) -> float:
    """``float(text)``, or NaN for text that is not a number (EyeLink writes ``.`` for missing).

    Examples:
        >>> _number_or_nan("512.5"), _number_or_nan(".")
        (512.5, nan)
    """
    try:
        return float(text)
    except ValueError:
        return math.nan
