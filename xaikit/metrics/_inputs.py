"""Input checks shared by the metric families: maps, masks, boxes and names."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np

from xaikit._arrays import to_numpy

#: Box conventions of every metric that reads boxes (``box_convention=``): ``"continuous"``
#: (pixel i covers [i, i + 1), xaikit's convention) or ``"pixel"`` (inclusive pixel indices).
BOX_CONVENTIONS = ("continuous", "pixel")


def as_maps(maps, name: str, dtype=np.float64) -> tuple[np.ndarray, bool]:
    """Return ``maps`` as a ``(B, H, W)`` array of ``dtype`` and whether the input was a stack.

    ``dtype=None`` keeps the input's dtype (booleans included), which spares a float64 copy of a
    mask. A single ``(H, W)`` map becomes a stack of one; anything else raises ``ValueError``.
    """
    array = np.asarray(to_numpy(maps))
    if not (array.dtype == bool or np.issubdtype(array.dtype, np.number)):
        raise ValueError(f"{name} must hold numbers; got dtype {array.dtype}")
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    if array.ndim == 2:
        return array[None], False
    if array.ndim == 3 and array.shape[2] in (3, 4) and min(array.shape[:2]) > 4:
        raise ValueError(
            f"{name} has shape {array.shape}, which looks like an RGB(A) image (H, W, "
            f"{array.shape[2]}), not maps: a map is (H, W) or a stack of maps (B, H, W); pass "
            "the map itself (e.g. explanation.maps[layer]), not an overlay"
        )
    if array.ndim == 3:
        return array, True
    raise ValueError(
        f"{name} must be a map (H, W) or a stack of maps (B, H, W); got shape {array.shape}"
    )


def check_not_empty(maps: np.ndarray, name: str) -> None:
    """Raise when a ``(B, H, W)`` stack holds no map or maps without pixels."""
    if maps.size == 0:
        raise ValueError(f"{name} is empty; got shape {maps.shape}")


def check_finite_maps(maps: np.ndarray, name: str, *, nan_rule: str | None = None) -> None:
    """Refuse infinite values in a ``(B, H, W)`` stack, naming where the first one is.

    Args:
        maps: the stack.
        name: the argument's name, for messages.
        nan_rule: ``None`` refuses NaN too; else what a map with a NaN gives (e.g. ``"NaN"``),
            said in a warning that counts those maps.

    Examples:
        >>> check_finite_maps(np.array([[[0.0, np.inf]]]), "saliency")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: saliency must be finite; got 1 infinite value(s), the first at (map 0, ...
    """
    infinite = np.isinf(maps)
    if infinite.any():
        first = tuple(int(i) for i in np.argwhere(infinite)[0])
        raise ValueError(
            f"{name} must be finite; got {int(infinite.sum())} infinite value(s), the first at "
            f"(map {first[0]}, row {first[1]}, column {first[2]}): {maps[first]}"
        )
    with_nan = np.isnan(maps).any(axis=(1, 2))
    if not with_nan.any():
        return
    if nan_rule is None:
        raise ValueError(f"{name} must not contain NaN ({int(with_nan.sum())} map(s) do)")
    warnings.warn(
        f"{int(with_nan.sum())} of {len(maps)} {name} map(s) contain NaN and score {nan_rule}",
        stacklevel=3,
    )


def check_same_shape(first: np.ndarray, second: np.ndarray, first_name: str, second_name: str):
    """Raise when two stacks differ in shape (no implicit resizing: it changes every score)."""
    if first.shape != second.shape:
        raise ValueError(
            f"{first_name} and {second_name} must have the same shape; got {first.shape} and "
            f"{second.shape} (resize the saliency map to the ground truth first, e.g. cv2.resize)"
        )


def as_mask(maps, name: str) -> tuple[np.ndarray, bool]:
    """Return a boolean ``(B, H, W)`` mask: pixels > 0 are set; NaN and negatives raise."""
    array, batched = as_maps(maps, name)
    if np.isnan(array).any():
        raise ValueError(f"{name} must not contain NaN")
    if (array < 0).any():
        raise ValueError(
            f"{name} must be non-negative (0 = off, > 0 = on); got a minimum {array.min()}"
        )
    return array > 0, batched


def check_choice(value: str, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise with the valid names."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_fraction(value: float, name: str, *, closed_low: bool = True) -> float:
    """Return ``value`` as a float if it lies in [0, 1] (or (0, 1] when ``closed_low`` is False)."""
    value = float(value)
    low_ok = value >= 0 if closed_low else value > 0
    if not (low_ok and value <= 1):
        interval = "[0, 1]" if closed_low else "(0, 1]"
        raise ValueError(f"{name} must lie in {interval}; got {value}")
    return value


def as_boxes(boxes, name: str, columns: int = 4) -> np.ndarray:
    """Return ``boxes`` as a float64 ``(N, columns)`` array of rows ``x0, y0, x1, y1, ...``.

    An empty input gives a ``(0, columns)`` array; ``x1 < x0`` or ``y1 < y0`` raises.
    """
    array = np.asarray(to_numpy(boxes), dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, columns))
    if array.ndim == 1 and array.shape[0] == columns:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != columns:
        raise ValueError(
            f"{name} must be an array (N, {columns}) of rows x0, y0, x1, y1"
            f"{', ...' if columns > 4 else ''}; got shape {array.shape}"
        )
    if np.isnan(array).any():
        raise ValueError(f"{name} must not contain NaN")
    if (array[:, 2] < array[:, 0]).any() or (array[:, 3] < array[:, 1]).any():
        raise ValueError(f"{name} must have x1 >= x0 and y1 >= y0 in every row (x0, y0, x1, y1)")
    return array


def as_box_lists(boxes, name: str, count: int, columns: int = 4) -> list[np.ndarray]:
    """Return one ``(N_i, columns)`` box array per image; the number of images must be ``count``."""
    if hasattr(boxes, "shape") and getattr(boxes, "ndim", 0) == 2:
        boxes = [boxes]
    boxes = list(boxes)
    if len(boxes) != count:
        raise ValueError(f"{name} must hold one box array per image ({count}); got {len(boxes)}")
    return [as_boxes(item, f"{name}[{index}]", columns) for index, item in enumerate(boxes)]


def is_constant(maps: np.ndarray) -> np.ndarray:
    """``(B,)`` bool: the map has a single value (NaN maps are not constant)."""
    return maps.max(axis=(1, 2)) == maps.min(axis=(1, 2))


def has_nan(maps: np.ndarray) -> np.ndarray:
    """``(B,)`` bool: the map contains a NaN."""
    return np.isnan(maps).any(axis=(1, 2))


def unstack(scores: np.ndarray, batched: bool):
    """Return the ``(B,)`` scores as they came: a float for one map, an array for a stack."""
    scores = np.asarray(scores, dtype=np.float64)
    return scores if batched else float(scores[0])
