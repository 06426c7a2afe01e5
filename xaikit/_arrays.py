"""Small conversions and checks shared across subpackages: one of each, used everywhere.

Image sizes are numpy's ``(height, width)`` (:func:`height_width`), frames ``(H, W, 3)`` uint8 RGB
(:func:`check_frames`), and maps are normalised one way (:func:`minmax`).
"""

from __future__ import annotations

import numpy as np

#: A sample whose spread is at most this fraction of its magnitude is constant (float rounding).
RELATIVE_FLATNESS = 1e-6


def to_numpy(array) -> np.ndarray:
    """Return ``array`` as a numpy array; torch tensors on any device come back as float32."""
    if hasattr(array, "detach"):
        array = array.detach().float().cpu().numpy()
    return np.asarray(array)


def minmax(maps, batched: bool = True):
    """Min-max normalise each sample of ``maps`` to [0, 1]: the one normalisation of xaikit.

    Convention: NaN (and infinite) entries are ignored when finding the range and stay NaN; a
    sample that is constant (its spread is at most ``RELATIVE_FLATNESS`` of its magnitude, i.e.
    constant up to float rounding) becomes all zeros, since it highlights nothing; a sample
    with no finite value stays all NaN.

    Args:
        maps: numpy array or torch tensor (any device). With ``batched=True`` the first axis
            indexes samples ``(B, ...)``, each normalised on its own; with ``batched=False`` the
            whole array is one map.
        batched: whether the first axis is the batch axis.

    Returns:
        The same type as ``maps`` (a tensor stays on its device; a numpy array keeps a float
        dtype, ``float32`` for integer input), of the same shape.

    Examples:
        >>> minmax(np.array([[1.0, 3.0, np.nan], [2.0, 2.0, 2.0]])).tolist()
        [[0.0, 1.0, nan], [0.0, 0.0, 0.0]]
        >>> minmax([[1.0, 3.0], [2.0, 2.0]], batched=False).tolist()
        [[0.0, 1.0], [0.5, 0.5]]
        >>> import torch
        >>> minmax(torch.tensor([[4.0, 4.0]]))
        tensor([[0., 0.]])
    """
    if hasattr(maps, "detach"):  # a torch tensor (numpy input never imports torch)
        values, ops = (maps if maps.is_floating_point() else maps.float()), _torch_ops()
    else:
        values, ops = np.asarray(maps), _NUMPY
        if not np.issubdtype(values.dtype, np.floating):
            values = values.astype(np.float32)
    flat = values.reshape(values.shape[0] if batched and values.ndim else 1, -1)
    low, high = ops.min_rows(flat), ops.max_rows(flat)
    every = bool(ops.isfinite(low).all()) and bool(ops.isfinite(high).all())
    if not every:  # NaN or inf somewhere: find the range of the finite values only
        finite = ops.isfinite(flat)
        low = ops.min_rows(ops.where(finite, flat, np.inf))
        high = ops.max_rows(ops.where(finite, flat, -np.inf))
    span = high - low
    constant = (span <= RELATIVE_FLATNESS * ops.maximum(abs(low), abs(high))) | ~ops.isfinite(span)
    scaled = flat - ops.where(ops.isfinite(low), low, 0.0)
    scaled /= ops.where(constant, 1.0, span)
    scaled *= ~constant  # a constant sample highlights nothing
    return (scaled if every else ops.where(finite, scaled, np.nan)).reshape(values.shape)


class _Ops:
    """The few array operations :func:`minmax` needs, for numpy or for torch (so a tensor stays
    on its device and a numpy array never pays torch's overhead)."""

    def __init__(self, isfinite, where, maximum, min_rows, max_rows):
        self.isfinite, self.where, self.maximum = isfinite, where, maximum
        self.min_rows, self.max_rows = min_rows, max_rows


def _torch_ops() -> _Ops:
    import torch

    return _Ops(
        torch.isfinite,
        lambda c, a, b: torch.where(c, a, b),
        torch.maximum,
        lambda a: a.amin(dim=1, keepdim=True),
        lambda a: a.amax(dim=1, keepdim=True),
    )


def _numpy_where(condition, a, b):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(condition, a, b)


_NUMPY = _Ops(
    np.isfinite,
    _numpy_where,
    np.maximum,
    lambda a: a.min(axis=1, keepdims=True),
    lambda a: a.max(axis=1, keepdims=True),
)


class VideoShape:
    """``height`` and ``width`` of anything with a video's ``shape`` ``(T, H, W, 3)``."""

    @property
    def height(self) -> int:
        """Frame height H in pixels."""
        return int(self.shape[1])

    @property
    def width(self) -> int:
        """Frame width W in pixels."""
        return int(self.shape[2])


def check_frames(frames, name: str = "frames", *, single: bool = False) -> np.ndarray:
    """``frames`` as a numpy array, checked to be ``(T, H, W, 3)`` (or ``(H, W, 3)``) uint8 RGB.

    Args:
        frames: array-like of frames.
        name: what the caller calls it, for the message.
        single: expect one ``(H, W, 3)`` frame instead of a ``(T, H, W, 3)`` stack.

    Returns:
        The array (not copied when it already is one).

    Raises:
        ValueError: another shape or dtype, or no frame at all; the message says what came and
            what was expected.

    Examples:
        >>> check_frames(np.zeros((2, 4, 6, 3), np.uint8)).shape
        (2, 4, 6, 3)
        >>> check_frames(np.zeros((4, 6), np.uint8), "image", single=True)
        Traceback (most recent call last):
        ...
        ValueError: image must be an (H, W, 3) uint8 RGB array; got shape (4, 6), dtype uint8
    """
    array = np.asarray(frames)
    layout = "an (H, W, 3)" if single else "a (T, H, W, 3)"
    ndim = 3 if single else 4
    if array.ndim != ndim or array.shape[-1] != 3 or array.dtype != np.uint8 or not array.size:
        raise ValueError(
            f"{name} must be {layout} uint8 RGB array; got shape {array.shape}, dtype {array.dtype}"
        )
    return array


def height_width(
    shape, name: str = "shape", *, minimum: tuple[int, int] = (1, 1), image: bool = True
) -> tuple[int, int]:
    """``(height, width)`` of ``shape``: a pair of ints, or (with ``image``) an image array.

    Args:
        shape: ``(height, width)`` in pixels (a tuple, list or 1-D array of two ints), or,
            when ``image`` is true, an ``(H, W)`` or ``(H, W, C)`` array or tensor whose first
            two axes give it (so ``image.shape[:2]`` and ``image`` are the same size).
        name: what the caller calls it, for the message.
        minimum: the least ``(height, width)`` accepted.
        image: whether an image array may stand for its shape.

    Returns:
        ``(height, width)`` as Python ints.

    Raises:
        ValueError: anything else, or a side below ``minimum``; the message says what came.

    Examples:
        >>> height_width((240, 320)), height_width(np.zeros((240, 320, 3), np.uint8))
        ((240, 320), (240, 320))
        >>> height_width((20, 64), minimum=(32, 32))
        Traceback (most recent call last):
        ...
        ValueError: shape must be (height, width) in pixels, at least (32, 32); got (20, 64)
    """
    dimensions = getattr(shape, "ndim", None)
    if image and dimensions in (2, 3):
        height, width = (int(side) for side in shape.shape[:2])
    elif _is_pair_of_ints(shape):
        height, width = (int(side) for side in shape)
    else:
        also = ", or an (H, W[, C]) image array" if image else ""
        raise ValueError(
            f"{name} must be (height, width) in pixels, two ints{also}; got {_describe(shape)}"
        )
    if height < minimum[0] or width < minimum[1]:
        raise ValueError(
            f"{name} must be (height, width) in pixels, at least {tuple(minimum)}; "
            f"got {(height, width)}"
        )
    return height, width


def _is_pair_of_ints(value) -> bool:
    if isinstance(value, np.ndarray):
        value = value.tolist() if value.ndim == 1 else None
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return False
    return all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)


def _describe(value) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"a {type(value).__name__} of shape {tuple(shape)}"
    return repr(value)
