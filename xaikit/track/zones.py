"""User-drawn zones (rectangle, circle, polygon) and the time an animal spends in them."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

__all__ = ["ZONE_KINDS", "Zone", "open_field_centre", "read_zones", "zone_visits"]

ZONE_KINDS = ("rectangle", "circle", "polygon")


@dataclass(frozen=True)
class Zone:
    """A named region of the frame, in pixels.

    Build one with :meth:`rectangle`, :meth:`circle`, :meth:`polygon` or :meth:`from_dict`.

    Attributes:
        name: label used in the summary columns.
        kind: ``"rectangle"`` (``points`` = two corners), ``"circle"`` (``points`` = the centre,
            ``radius``) or ``"polygon"`` (``points`` = the vertices, at least 3).
        points: ``(K, 2)`` coordinates ``x, y``.
        radius: radius of a circle.

    Examples:
        >>> zone = Zone.rectangle("left", 0, 0, 10, 20)
        >>> zone.contains([[5, 5], [15, 5], [10, 20]]).tolist()  # edges count as inside
        [True, False, True]
        >>> Zone.circle("dish", 0, 0, 5).contains([[3, 4], [4, 4]]).tolist()
        [True, False]
        >>> Zone.polygon("tri", [[0, 0], [10, 0], [0, 10]]).contains([[2, 2], [8, 8]]).tolist()
        [True, False]
    """

    name: str
    kind: str
    points: tuple[tuple[float, float], ...]
    radius: float = 0.0

    def __post_init__(self):
        if self.kind not in ZONE_KINDS:
            raise ValueError(f"unknown zone kind {self.kind!r}; choose one of {ZONE_KINDS}")
        points = np.asarray(self.points, dtype=np.float64)
        least = {"rectangle": 2, "circle": 1, "polygon": 3}[self.kind]
        exact = self.kind != "polygon"
        if (
            points.ndim != 2
            or points.shape[1] != 2
            or not np.isfinite(points).all()
            or (len(points) != least if exact else len(points) < least)
        ):
            count = "exactly" if exact else "at least"
            raise ValueError(
                f"a {self.kind} zone needs {count} {least} finite (x, y) point(s); got "
                f"{points.tolist()}"
            )
        if self.kind == "circle" and not self.radius > 0:
            raise ValueError(f"a circle zone needs a radius > 0; got {self.radius}")
        object.__setattr__(self, "points", tuple(map(tuple, points.tolist())))

    @classmethod
    def rectangle(cls, name: str, x0: float, y0: float, x1: float, y1: float) -> Zone:
        """The rectangle with corners ``(x0, y0)`` and ``(x1, y1)``."""
        return cls(name, "rectangle", ((x0, y0), (x1, y1)))

    @classmethod
    def circle(cls, name: str, cx: float, cy: float, radius: float) -> Zone:
        """The disc of centre ``(cx, cy)``."""
        return cls(name, "circle", ((cx, cy),), float(radius))

    @classmethod
    def polygon(cls, name: str, vertices) -> Zone:
        """The polygon through ``vertices`` ``(K, 2)``, K >= 3."""
        return cls(name, "polygon", tuple(map(tuple, np.asarray(vertices, float).tolist())))

    @classmethod
    def from_dict(cls, spec: dict) -> Zone:
        """A zone from ``{"name", "kind", ...}``: rectangle ``x0, y0, x1, y1``; circle
        ``cx, cy, radius``; polygon ``vertices`` (the JSON form the CLI reads).

        Examples:
            >>> Zone.from_dict({"name": "c", "kind": "circle", "cx": 1, "cy": 2, "radius": 3})
            Zone(name='c', kind='circle', points=((1.0, 2.0),), radius=3.0)
        """
        kind = spec.get("kind")
        fields = {"rectangle": ("x0", "y0", "x1", "y1"), "circle": ("cx", "cy", "radius"),
                  "polygon": ("vertices",)}  # fmt: skip
        if kind not in fields:
            raise ValueError(f"unknown zone kind {kind!r}; choose one of {ZONE_KINDS}")
        missing = [key for key in ("name", *fields[kind]) if key not in spec]
        if missing:
            raise ValueError(f"a {kind} zone needs the key(s) {missing}; got {sorted(spec)}")
        builder = getattr(cls, kind)
        return builder(str(spec["name"]), *(spec[key] for key in fields[kind]))

    def contains(self, points) -> np.ndarray:
        """Which of the ``(N, 2)`` points ``x, y`` lie inside (boundary included); NaN: False."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        finite = np.isfinite(points).all(axis=1)
        inside = np.zeros(len(points), dtype=bool)
        shape = np.asarray(self.points)
        if self.kind == "rectangle":
            low, high = shape.min(axis=0), shape.max(axis=0)
            inside[finite] = ((points[finite] >= low) & (points[finite] <= high)).all(axis=1)
        elif self.kind == "circle":
            inside[finite] = np.linalg.norm(points[finite] - shape[0], axis=1) <= self.radius
        else:
            contour = shape.astype(np.float32).reshape(-1, 1, 2)
            inside[finite] = [
                cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0
                for x, y in points[finite]
            ]
        return inside


def read_zones(path: str | os.PathLike) -> list[Zone]:
    """The zones of a JSON file: a list of :meth:`Zone.from_dict` objects (what
    ``xaikit track --zones`` reads).

    Raises:
        FileNotFoundError: no such file.
        ValueError: naming the file, when it is not UTF-8 JSON, not a list of objects, or an
            entry is not a valid zone (with its position).

    Examples:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "zones.json"
        >>> _ = path.write_text('[{"name": "c", "kind": "circle", "cx": 1, "cy": 2, "radius": 3}]')
        >>> [zone.name for zone in read_zones(path)]
        ['c']
        >>> _ = path.write_text("name,kind")
        >>> read_zones(path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: .../zones.json is not a JSON zones file (Expecting value: ...); expected ...
    """
    path = Path(path)
    example = '[{"name": "left", "kind": "rectangle", "x0": 0, "y0": 0, "x1": 80, "y1": 120}]'
    if not path.is_file():
        raise FileNotFoundError(f"no such zones file: {path}")
    try:
        specs = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{path} is not a JSON zones file ({error}); expected a JSON list of zones such as "
            f"{example}"
        ) from None
    if not isinstance(specs, list):
        raise ValueError(
            f"{path} must hold a JSON list of zones such as {example}; got a JSON "
            f"{type(specs).__name__}"
        )
    zones = []
    for index, spec in enumerate(specs):
        try:
            if not isinstance(spec, dict):
                raise TypeError(f"expected a JSON object; got {spec!r}")
            zones.append(Zone.from_dict(spec))
        except (ValueError, TypeError) as error:
            raise ValueError(f"{path}, zone {index}: {error}") from None
    return zones


def open_field_centre(arena, fraction: float = 0.5, name: str = "centre") -> Zone:
    """The centre zone of an open field: the arena shrunk about its centre by ``fraction``.

    The mice-tracking group's apps use the inner 50 % of the arena radius; for a rectangular
    arena each side is scaled (``fraction=0.5`` covers a quarter of the area).

    Args:
        arena: ``(x0, y0, x1, y1)`` of a rectangular arena, or a circle :class:`Zone`.
        fraction: in (0, 1].
        name: the zone's name.

    Examples:
        >>> open_field_centre((0, 0, 400, 200))
        Zone(name='centre', kind='rectangle', points=((100.0, 50.0), (300.0, 150.0)), radius=0.0)
        >>> open_field_centre(Zone.circle("arena", 50, 50, 40)).radius
        20.0
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1]; got {fraction}")
    if isinstance(arena, Zone):
        if arena.kind != "circle":
            raise ValueError(
                "open_field_centre takes a circle Zone or a rectangle (x0, y0, x1, y1)"
            )
        ((cx, cy),) = arena.points
        return Zone.circle(name, cx, cy, arena.radius * fraction)
    corners = np.asarray(arena, dtype=np.float64)
    if corners.shape != (4,) or corners[2] <= corners[0] or corners[3] <= corners[1]:
        raise ValueError(f"arena must be (x0, y0, x1, y1) with x1 > x0, y1 > y0; got {arena}")
    centre, half = (corners[:2] + corners[2:]) / 2, (corners[2:] - corners[:2]) * fraction / 2
    return Zone.rectangle(name, *(centre - half), *(centre + half))


def zone_visits(points, times, zone: Zone) -> dict[str, float]:
    """Time in a zone, entries and latency to the first entry, for one animal.

    Conventions: each frame with a position counts its duration (the median time step) when
    the point is inside; frames without a position (NaN) count neither inside nor outside and
    do not break a visit. An entry is an outside → inside change; an animal inside at its first
    position has entered at that time. Latency is measured from ``times[0]``.

    Args:
        points: ``(N, 2)`` centroids ``x, y`` per frame (NaN where unknown).
        times: ``(N,)`` seconds, increasing.
        zone: the :class:`Zone`.

    Returns:
        ``{"time_s", "entries", "latency_s"}``; latency is NaN when the animal never enters.

    Examples:
        >>> import numpy as np
        >>> points = [[0, 0], [5, 5], [5, 6], [20, 20], [np.nan, np.nan], [5, 5]]
        >>> zone_visits(points, np.arange(6) / 10, Zone.rectangle("box", 0, 0, 10, 10))
        {'time_s': 0.4, 'entries': 2, 'latency_s': 0.0}
    """
    points = np.asarray(points, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or times.shape != (len(points),):
        raise ValueError(
            f"points must be (N, 2) and times (N,); got {points.shape} and {times.shape}"
        )
    known = np.isfinite(points).all(axis=1)
    if not known.any():
        return {"time_s": 0.0, "entries": 0, "latency_s": float("nan")}
    step = float(np.median(np.diff(times))) if len(times) > 1 else 0.0
    inside = zone.contains(points[known])
    entries = int(inside[0]) + int(np.sum(inside[1:] & ~inside[:-1]))
    latency = float(times[known][np.argmax(inside)] - times[0]) if inside.any() else float("nan")
    return {"time_s": round(float(inside.sum()) * step, 12), "entries": entries,
            "latency_s": latency}  # fmt: skip
