"""xaikit: explain what vision CNNs look at, in images and in video.

Subpackages load on first use, so ``import xaikit`` stays fast and does not import torch:

>>> import xaikit as xk
>>> xk.__version__
'0.1.0'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from xaikit._runtime import device, is_smoke_run

__version__ = "0.1.0"

_SUBPACKAGES = ("data", "models", "explain", "metrics", "track", "study", "viz", "widgets")

__all__ = ["__version__", "device", "is_smoke_run", *_SUBPACKAGES]

if TYPE_CHECKING:  # pragma: no cover
    from xaikit import data, explain, metrics, models, study, track, viz, widgets  # noqa: F401


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"xaikit.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'xaikit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
