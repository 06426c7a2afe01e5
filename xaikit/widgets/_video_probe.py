"""What the VideoExplorer's click readout says: map values at a point, the detection under it."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd


def sample_map(heatmap: np.ndarray, x: float, y: float, shape: tuple[int, int]) -> float:
    """Bilinear value of a map (any resolution) at pixel ``(x, y)`` of a picture of ``shape``.

    Args:
        heatmap: ``(h, w)`` map.
        x, y: pixel coordinates in the picture (0 = left / top edge).
        shape: ``(H, W)`` of the picture the map is drawn on.

    Examples:
        >>> sample_map(np.array([[0.0, 1.0]]), x=2.0, y=0.0, shape=(2, 4))
        0.75
    """
    h, w = heatmap.shape
    height, width = shape
    u = float(np.clip((x + 0.5) * w / width - 0.5, 0, w - 1))
    v = float(np.clip((y + 0.5) * h / height - 0.5, 0, h - 1))
    u0, v0 = int(u), int(v)
    u1, v1 = min(u0 + 1, w - 1), min(v0 + 1, h - 1)
    du, dv = u - u0, v - v0
    values = heatmap.astype(np.float64)
    top = values[v0, u0] * (1 - du) + values[v0, u1] * du
    bottom = values[v1, u0] * (1 - du) + values[v1, u1] * du
    return float(top * (1 - dv) + bottom * dv)


def detection_at(table: pd.DataFrame, frame: int, x: float, y: float) -> str | None:
    """Name the detection of ``frame`` whose box holds the point ``(x, y)`` (frame pixels).

    Where boxes overlap the smallest one wins (the object in front, usually). The name reads
    ``"track 3 · mouse · score 0.91"`` with whichever of ``label`` and ``score`` the table has
    (``"detection · score 0.91"`` without a ``track``).

    Args:
        table: ``frame, x0, y0, x1, y1`` and optional ``track``, ``label``, ``score``.
        frame: frame number.
        x, y: continuous pixel coordinates (a box covers ``x0 <= x < x1``).

    Returns:
        The name, or ``None`` when no box holds the point.

    Examples:
        >>> table = pd.DataFrame({"frame": [0, 0], "track": [1, 2], "x0": [0, 4], "y0": 0,
        ...                       "x1": [10, 6], "y1": 10, "score": [0.5, 0.912]})
        >>> [detection_at(table, 0, x, 5) for x in (5, 2, 20)]
        ['track 2 · score 0.91', 'track 1 · score 0.50', None]
        >>> detection_at(table.drop(columns="track"), 0, 5, 5)
        'detection · score 0.91'
    """
    rows = table[table["frame"] == frame]
    inside = rows[(rows.x0 <= x) & (x < rows.x1) & (rows.y0 <= y) & (y < rows.y1)]
    if inside.empty:
        return None
    row = inside.loc[((inside.x1 - inside.x0) * (inside.y1 - inside.y0)).idxmin()]
    has_track = "track" in row and pd.notna(row["track"])
    parts = [f"track {int(row['track'])}" if has_track else "detection"]
    if "label" in row and pd.notna(row["label"]):
        parts.append(str(row["label"]))
    if "score" in row and pd.notna(row["score"]):
        parts.append(f"score {float(row['score']):.2f}")
    return " · ".join(parts)


def probe_html(
    frame: int, x: float, y: float, values: dict[str, float] | None, detection: str | None
) -> str:
    """The readout: the point and frame, the detection under it, a table of map values
    (``values=None``: the maps of this frame are still being computed).

    Examples:
        >>> text = probe_html(3, 10.2, 5.0, {"gradcam · layer4": 0.25}, "track 1")
        >>> "x=10, y=5 (frame 3)" in text, "track 1" in text, "0.250" in text
        (True, True, True)
    """
    head = f"<b>maps at x={x:.0f}, y={y:.0f} (frame {frame})</b>"
    if detection is not None:
        head += f" · on {html.escape(detection)}"
    if values is None:
        return f"{head}<br><i>the maps of this frame are being computed</i>"
    rows = "".join(
        f"<tr><td style='padding:0 8px 0 0'>{html.escape(name)}</td>"
        f"<td style='padding:0'>{value:.3f}</td></tr>"
        for name, value in values.items()
    )
    return f"{head}<table style='border-collapse:collapse;line-height:1.3'>{rows}</table>"
