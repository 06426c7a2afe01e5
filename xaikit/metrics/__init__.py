"""Scores for maps and detections.

Families, each a module of plain functions (numpy arrays or torch tensors in, floats out):
``saliency`` (maps vs human fixations), ``localization`` (maps vs boxes and masks),
``detection`` (detections vs boxes), ``faithfulness`` and ``sanity`` (maps vs the model itself),
``tracking`` (tracks vs ground truth). :data:`METRICS` (``xaikit.metrics.registry``) lists every
score of a map against a reference, declared next to its function; study tables
(:mod:`xaikit.study`) and widgets iterate it. Modules load on first use:

>>> import xaikit as xk
>>> xk.metrics.detection.box_iou([0, 0, 2, 2], [[0, 0, 2, 1]]).tolist()
[[0.5]]
>>> "AUC-Judd" in xk.metrics.METRICS
True
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
)

__all__ = [*FAMILIES, "METRICS", "registry"]


def __getattr__(name: str):
    if name in (*FAMILIES, "registry"):
        module = importlib.import_module(f"xaikit.metrics.{name}")
        globals()[name] = module
        return module
    if name == "METRICS":
        from xaikit.metrics.registry import METRICS

        globals()[name] = METRICS
        return METRICS
    raise AttributeError(f"module 'xaikit.metrics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
