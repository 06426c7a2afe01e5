"""Scores for maps and detections.

Families, each a module of plain functions (numpy arrays or torch tensors in, floats out):
``saliency`` (maps vs human fixations), ``localization`` (maps vs boxes and masks),
``detection`` (detections vs boxes), ``faithfulness`` and ``sanity`` (maps vs the model itself),
``tracking`` (tracks vs ground truth); ``tables`` gathers them into tidy tables per method and
layer for studies. Modules load on first use:

>>> import xaikit as xk
>>> xk.metrics.detection.box_iou([0, 0, 2, 2], [[0, 0, 2, 1]]).tolist()
[[0.5]]
"""

from __future__ import annotations

import importlib

FAMILIES = (
    "saliency",
    "localization",
    "detection",
    "faithfulness",
    "sanity",
    "tracking",
    "tables",
)

__all__ = list(FAMILIES)


def __getattr__(name: str):
    if name in FAMILIES:
        module = importlib.import_module(f"xaikit.metrics.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'xaikit.metrics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
