"""Where computations run, and whether this is a shortened (smoke) run."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch

_SMOKE_VARIABLES = ("XAIKIT_SMOKE", "CI")
_FALSE_WORDS = {"", "0", "false", "no", "off"}


def device(device: str | torch.device | None = None) -> torch.device:
    """Return the torch device to compute on.

    Every xaikit function that touches a model takes ``device=None`` and passes it here.

    Args:
        device: ``None`` picks the best available device: CUDA, then Apple MPS, then CPU.
            A string or ``torch.device`` is checked and returned as a ``torch.device``.

    Returns:
        The resolved ``torch.device``.

    Raises:
        ValueError: ``device`` is not a device name torch understands.
        RuntimeError: the requested device type is not available on this machine.

    Examples:
        >>> import xaikit as xk
        >>> xk.device("cpu")
        device(type='cpu')
        >>> xk.device().type in {"cuda", "mps", "cpu"}
        True
    """
    import torch

    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")

    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"device must be None, 'cpu', 'cuda', 'cuda:N' or 'mps'; got {device!r}"
        ) from error

    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} was requested but CUDA is not available here")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"device {device!r} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) are present"
            )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError(f"device {device!r} was requested but MPS is not available here")
    return resolved


def model_device(model) -> torch.device:
    """The device ``model`` lives on: that of its first parameter, else its first buffer, else
    :func:`device` (the best available) for a model that holds no tensor.

    Examples:
        >>> from torch import nn
        >>> model_device(nn.Linear(2, 1))
        device(type='cpu')
    """
    import itertools

    tensor = next(itertools.chain(model.parameters(), model.buffers()), None)
    return tensor.device if tensor is not None else device()


def is_smoke_run() -> bool:
    """True when ``XAIKIT_SMOKE`` (or, if that is unset, ``CI``) asks for a shortened run.

    Notebooks and benchmarks read this to shrink their workload: fewer frames, fewer
    images, smaller models. ``XAIKIT_SMOKE=0`` forces a full run even on CI.

    Examples:
        >>> import os, xaikit as xk
        >>> from unittest import mock
        >>> with mock.patch.dict(os.environ, {"XAIKIT_SMOKE": "1"}):
        ...     xk.is_smoke_run()
        True
        >>> with mock.patch.dict(os.environ, {"XAIKIT_SMOKE": "0", "CI": "true"}):
        ...     xk.is_smoke_run()
        False
    """
    for name in _SMOKE_VARIABLES:
        value = os.environ.get(name)
        if value is not None:
            return value.strip().lower() not in _FALSE_WORDS
    return False
