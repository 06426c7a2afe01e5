"""Explanation methods: the CAM family, perturbation and pixel methods, Dense Attention and
Hessian-CIAM, all behind one engine.

``xaikit.explain`` is both this subpackage and a function: ``xk.explain(model, x, ...)`` calls
:func:`xaikit.explain.engine.explain`, and ``xk.explain.targets`` holds the target objects.

Examples:
    >>> import xaikit as xk
    >>> callable(xk.explain), xk.explain.targets.TopK(2).k
    (True, 2)
    >>> "gradcam" in xk.explain.METHODS
    True

``xk.explain.frames(model, video, ...)`` explains the frames of a video (or one image) and gives
the maps on the frames' pixels, cached (:mod:`xaikit.explain.frame_maps`).
"""

from __future__ import annotations

import sys
import types

from xaikit.explain import (  # noqa: F401  (importing registers the methods)
    dense_attention,
    factorization,
    gradient,
    hessian,
    noisy,
    perturbation,
    pixel,
    targets,
)
from xaikit.explain.engine import explain
from xaikit.explain.explanation import Explanation
from xaikit.explain.frame_maps import FrameMaps, frames
from xaikit.explain.registry import METHODS, LayerMap, Method, check_methods, register

__all__ = [
    "METHODS",
    "Explanation",
    "FrameMaps",
    "LayerMap",
    "Method",
    "check_methods",
    "explain",
    "frames",
    "register",
    "targets",
]


class _CallableModule(types.ModuleType):
    """Module type whose instances forward calls to :func:`explain`."""

    def __call__(self, *args, **kwargs):
        return explain(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
