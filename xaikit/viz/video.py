"""Drawing over video: the overlay video of tracks and the per-detection CAM grid of a frame.

:func:`overlay_frames` draws each frame with its tracks' boxes, identities and recent trails;
:func:`write_overlay` writes them as a video (what ``xaikit track`` writes as
``overlay.mp4``); :func:`detection_cam_grid` shows each detection's own map in its box.
They read tables and videos through :mod:`xaikit.track`, imported on first call so that
``import xaikit.viz`` stays free of torch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import matplotlib as mpl
import numpy as np
import pandas as pd

from xaikit.viz.boxes import draw_boxes, draw_trail
from xaikit.viz.compose import compose_frame
from xaikit.viz.figures import figure_grid, no_signal
from xaikit.viz.styles import styled

__all__ = ["crop_window", "detection_cam_grid", "overlay_frames", "write_overlay"]


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
        (0, [0, 158, 115])
    """
    from xaikit.track._tables import check_table  # track loads torch: only when drawing

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
    path: str | os.PathLike,
    video,
    tracks: pd.DataFrame,
    fps: float | None = None,
    trail: int = 30,
) -> None:
    """Write :func:`overlay_frames` of a whole video to a video file (H.264 mp4 by default, see
    :func:`xaikit.data.write_video`), at the video's frame rate.

    Args:
        path: output file.
        video: a path, a :class:`~xaikit.data.VideoReader`, an
            :class:`~xaikit.data.synthetic.ArenaClip` or a ``(T, H, W, 3)`` uint8 array.
        tracks: a track table (:attr:`xaikit.track.TrackingResult.tracks`).
        fps: frame rate of an array of frames (a file or a clip has its own).
        trail: frames of path drawn behind each animal (0: none).

    Examples:
        >>> import tempfile, numpy as np, pandas as pd
        >>> from xaikit.data import open_video
        >>> tracks = pd.DataFrame({"frame": [0, 1], "track": 0, "x0": 2.0, "y0": 2.0,
        ...                        "x1": 12.0, "y1": 12.0, "cx": 7.0, "cy": 7.0})
        >>> path = tempfile.mkdtemp() + "/overlay.mp4"
        >>> write_overlay(path, np.zeros((2, 16, 16, 3), np.uint8), tracks, fps=10)
        >>> open_video(path).shape
        (2, 16, 16, 3)
    """
    from xaikit.data import write_video
    from xaikit.data.source import open_frames

    source = open_frames(video, fps)
    write_video(path, overlay_frames(source.frames, tracks, trail), source.require_fps())


def crop_window(boxes, shape, margin: float = 0.5, minimum: int = 48) -> tuple[int, int, int, int]:
    """The pixel window ``(x0, y0, x1, y1)`` around all ``boxes``, widened by ``margin``.

    Args:
        boxes: ``(N, 4)`` ``x0, y0, x1, y1`` in pixels; with no finite box the whole frame.
        shape: ``(height, width)`` of the frame.
        margin: added on every side, as a share of the boxes' joint width and height.
        minimum: smallest side of the window in pixels (tiny boxes keep some context).

    Returns:
        Integer corners inside the frame, for ``frame[y0:y1, x0:x1]``.

    Examples:
        >>> crop_window([[100, 100, 120, 140]], (480, 640), margin=0.5, minimum=0)
        (90, 80, 130, 160)
        >>> crop_window(np.zeros((0, 4)), (480, 640))
        (0, 0, 640, 480)
    """
    height, width = shape
    corners = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    corners = corners[np.isfinite(corners).all(axis=1)]
    if len(corners) == 0:
        return 0, 0, width, height
    x0, y0 = corners[:, 0].min(), corners[:, 1].min()
    x1, y1 = corners[:, 2].max(), corners[:, 3].max()
    centre_x, centre_y = (x0 + x1) / 2, (y0 + y1) / 2
    half_w = max((x1 - x0) * (1 + 2 * margin), minimum) / 2
    half_h = max((y1 - y0) * (1 + 2 * margin), minimum) / 2
    left, right = _span(centre_x, half_w, width)
    top, bottom = _span(centre_y, half_h, height)
    return left, top, right, bottom


def _span(centre: float, half: float, size: int) -> tuple[int, int]:
    """``[centre - half, centre + half)`` in whole pixels, shifted (not cut) into ``[0, size)``."""
    length = min(size, int(np.ceil(2 * half)))
    start = int(np.floor(centre - length / 2))
    start = min(max(start, 0), size - length)
    return start, start + length


@styled
def detection_cam_grid(
    video,
    model,
    detections: pd.DataFrame,
    frame: int,
    methods=("gradcam",),
    layers=None,
    *,
    cache=True,
    alpha: float = 0.5,
    cmap: str = "jet",
    device=None,
    batch_size: int = 8,
    crop: bool = True,
    margin: float = 0.5,
    panel_size: float = 3.0,
    colorbar: bool = True,
):
    """Per-detection maps of one frame for every method (rows) and layer (columns).

    Each panel is the frame with each detection's own map inside its box and the boxes drawn;
    the maps come from :func:`xaikit.explain.frames` with the detections as the target, and
    from (and go to) its disk cache, so the widgets and this figure share them. By default
    every panel shows the same window around the frame's detections (``crop``), so boxes of
    20 px on a 640x480 frame fill the panel; a panel whose map is empty says so.

    Args:
        video: a path, a VideoReader, an ArenaClip or a ``(T, H, W, 3)`` uint8 array.
        model: a detector (a Darknet model).
        detections: ``frame, x0, y0, x1, y1`` (and optionally ``track``) table.
        frame: the frame shown.
        methods: method names that read a layer.
        layers: layer names; ``None`` takes the model card's or the layer before the first head.
        cache: as for :func:`xaikit.explain.frames` (default ``~/.cache/xaikit/maps``).
        alpha, cmap: opacity and colormap of the maps.
        device: where to compute.
        batch_size: frames explained together (8 shares the maps of a
            :class:`~xaikit.widgets.VideoExplorer` with its default ``batch_size``).
        crop: zoom to the detections (see :func:`crop_window`); ``False``: the whole frame.
        margin: context around the detections when cropping, as a share of their extent.
        panel_size: width of one panel in inches.
        colorbar: add one colorbar for the maps.

    Returns:
        A :class:`~xaikit.viz.figures.SavableFigure`, panels titled ``method · layer`` (and the
        crop window named in the figure's title when cropped).
    """
    from xaikit.explain import frames

    maps = frames(
        model, video, methods, layers, detections, cache=cache, device=device,
        batch_size=batch_size,
    )  # fmt: skip
    picture = maps.source[frame]
    height, width = picture.shape[:2]
    panels, titles, notes = [], [], []
    for method in maps.methods:
        for layer in maps.layers:
            entries = maps.detections(frame, method, layer)
            boxes = np.array([box for _, box, _ in entries], dtype=np.float64).reshape(-1, 4)
            identities = [0 if track is None else track for track, _, _ in entries]
            window = crop_window(boxes, (height, width), margin) if crop else (0, 0, width, height)
            heatmap = maps.get(frame, method, layer)
            x0, y0, x1, y1 = window
            blended = compose_frame(picture, heatmap, alpha=alpha, cmap=cmap)[y0:y1, x0:x1]
            shifted = boxes - np.array([x0, y0, x0, y0], dtype=np.float64)
            panels.append(draw_boxes(blended, shifted, identities=identities, thickness=1))
            titles.append(f"{method} · {layer}")
            reason = no_signal(heatmap)
            notes.append(f"no signal:\n{reason}" if reason else None)
    figure = figure_grid(
        panels, titles, ncols=len(maps.layers), panel_size=panel_size, cmap=cmap,
        colorbar=colorbar, colorbar_label="map value (per detection, in [0, 1])", notes=notes,
    )  # fmt: skip
    if crop and (x1 - x0, y1 - y0) != (width, height):
        figure.suptitle(
            f"frame {frame}, window x {x0}-{x1}, y {y0}-{y1} of {width}x{height} px",
            fontsize=mpl.rcParams["axes.labelsize"],
        )
    return figure
