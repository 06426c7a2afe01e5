"""The overlay video: each frame with its tracks' boxes, identities and recent trails."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pandas as pd

from xaikit.track._tables import check_table

__all__ = ["detection_cam_grid", "overlay_frames", "write_overlay"]


def overlay_frames(frames, tracks: pd.DataFrame, trail: int = 30) -> Iterator[np.ndarray]:
    """Yield each frame with the boxes (labelled ``id <track>``) and the last ``trail`` frames
    of each track's centroid path drawn on it, one frame at a time (memory flat in length).

    Args:
        frames: an iterable of ``(H, W, 3)`` uint8 RGB frames, frame 0 first.
        tracks: a track table (``frame, track, x0, y0, x1, y1, cx, cy``).
        trail: frames of path drawn behind each animal (0: none).

    Examples:
        >>> import numpy as np, pandas as pd
        >>> tracks = pd.DataFrame({"frame": [1], "track": [2], "x0": [2.0], "y0": [2.0],
        ...                        "x1": [12.0], "y1": [12.0], "cx": [7.0], "cy": [7.0]})
        >>> drawn = list(overlay_frames(np.zeros((2, 16, 16, 3), np.uint8), tracks))
        >>> int(drawn[0].max()), drawn[1][2, 7].tolist()  # frame 1: track 2's colour
        (0, [44, 160, 44])
    """
    from xaikit.viz import draw_boxes, draw_trail

    table = check_table(tracks, ("frame", "track", "x0", "y0", "x1", "y1", "cx", "cy"), "tracks")
    if not isinstance(trail, (int, np.integer)) or trail < 0:
        raise ValueError(f"trail must be an int >= 0; got {trail!r}")
    by_frame = table.groupby("frame").indices
    paths = {
        identity: rows.set_index("frame")[["cx", "cy"]] for identity, rows in table.groupby("track")
    }
    boxes = table[["x0", "y0", "x1", "y1"]].to_numpy(np.float64)
    identities = table["track"].to_numpy()
    for number, frame in enumerate(frames):
        picture = np.asarray(frame)
        rows = by_frame.get(number, np.zeros(0, dtype=np.int64))
        if trail:
            for identity in identities[rows]:
                recent = paths[identity].reindex(range(max(0, number - trail), number + 1))
                picture = draw_trail(picture, recent.to_numpy(), identity=int(identity))
        labels = [f"id {identity}" for identity in identities[rows]]
        yield draw_boxes(picture, boxes[rows], labels=labels, identities=identities[rows].tolist())


def write_overlay(
    path: str | os.PathLike, frames, tracks: pd.DataFrame, fps: float, trail: int = 30
) -> None:
    """Write :func:`overlay_frames` to a video file (H.264 mp4 by default, see
    :func:`xaikit.data.write_video`)."""
    from xaikit.data import write_video

    write_video(path, overlay_frames(frames, tracks, trail), fps)


def detection_cam_grid(
    video,
    model,
    detections: pd.DataFrame,
    frame: int,
    methods=("gradcam",),
    layers=None,
    *,
    cache_dir=None,
    alpha: float = 0.5,
    cmap: str = "jet",
    fps: float | None = None,
    device=None,
    chunk: int = 8,
):
    """Per-detection maps of one frame for every method (rows) and layer (columns).

    Each panel is the frame with each detection's own map inside its box
    (:meth:`~xaikit.track.DetectionCAMCache.frame_map`) and the boxes drawn; the maps come
    from (and go to) the on-disk cache, so the widgets and this figure share them.

    Args:
        video: a path, a VideoReader, an ArenaClip or a ``(T, H, W, 3)`` uint8 array.
        model: a Darknet-style detector.
        detections: ``frame, x0, y0, x1, y1`` (and optionally ``track``) table.
        frame: the frame shown.
        methods: method names that read a layer.
        layers: layer names; ``None`` takes the cache's default layer.
        cache_dir: folder of the CAM cache (``None``: ``~/.cache/xaikit/cams``).
        alpha, cmap: opacity and colormap of the maps.
        fps: frame rate of an array of frames.
        device: where to compute.
        chunk: frames per cache file (computed together; 8 shares the maps of a
            :class:`~xaikit.widgets.VideoExplorer` with its default ``batch_size``).

    Returns:
        A :class:`~xaikit.viz.figures.SavableFigure`, panels titled ``method · layer``.
    """
    from xaikit.track.cam_cache import DetectionCAMCache
    from xaikit.viz.compose import compose_frame
    from xaikit.viz.figures import figure_grid

    methods = [methods] if isinstance(methods, str) else list(methods)
    layers = [None] if layers is None else [layers] if isinstance(layers, str) else list(layers)
    panels, titles = [], []
    for method in methods:
        for layer in layers:
            cache = DetectionCAMCache(
                video, model, detections, method, layer, cache_dir=cache_dir, device=device,
                chunk=chunk, fps=fps,
            )  # fmt: skip
            entries = cache.maps(frame)
            boxes = np.array([box for _, box, _ in entries]).reshape(-1, 4)
            identities = [0 if track is None else track for track, _, _ in entries]
            panels.append(
                compose_frame(
                    np.asarray(cache.frames[frame]), cache.frame_map(frame), alpha=alpha,
                    cmap=cmap, boxes=boxes, identities=identities,
                )
            )  # fmt: skip
            titles.append(f"{method} · {cache.layer}")
    width = np.asarray(panels[0]).shape[1]
    return figure_grid(panels, titles, ncols=len(layers), panel_size=min(4.0, width / 100))
