"""Where the real data folder is (``XAIKIT_REAL_DATA``, default ``../shared/realdata``), for the
tests marked ``realdata``: they skip, naming the folder, when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(
    os.environ.get("XAIKIT_REAL_DATA", Path(__file__).resolve().parents[1] / "../shared/realdata")
)


def real_path(*parts: str) -> Path:
    """``ROOT / parts``; skips the test when it does not exist."""
    path = ROOT.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not found: {path} (set XAIKIT_REAL_DATA)")
    return path
