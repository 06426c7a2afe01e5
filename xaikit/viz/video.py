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

import numpy as np
import pandas as pd

from xaikit.viz.boxes import draw_boxes, draw_trail
from xaikit.viz.compose import compose_frame
from xaikit.viz.figures import figure_grid

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
):
    """Per-detection maps of one frame for every method (rows) and layer (columns).

    Each panel is the frame with each detection's own map inside its box and the boxes drawn;
    the maps come from :func:`xaikit.explain.frames` with the detections as the target, and
    from (and go to) its disk cache, so the widgets and this figure share them.

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

    Returns:
        A :class:`~xaikit.viz.figures.SavableFigure`, panels titled ``method · layer``.
    """
    from xaikit.explain import frames

    maps = frames(
        model, video, methods, layers, detections, cache=cache, device=device,
        batch_size=batch_size,
    )  # fmt: skip
    picture = maps.source[frame]
    panels, titles = [], []
    for method in maps.methods:
        for layer in maps.layers:
            entries = maps.detections(frame, method, layer)
            boxes = np.array([box for _, box, _ in entries]).reshape(-1, 4)
            identities = [0 if track is None else track for track, _, _ in entries]
            panels.append(
                compose_frame(
                    picture, maps.get(frame, method, layer), alpha=alpha, cmap=cmap,
                    boxes=boxes, identities=identities,
                )
            )  # fmt: skip
            titles.append(f"{method} · {layer}")
    width = picture.shape[1]
    return figure_grid(panels, titles, ncols=len(maps.layers), panel_size=min(4.0, width / 100))
