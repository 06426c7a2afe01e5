"""The ground truth of a study: boxes per image or per clip and frame, human fixation maps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["clip_boxes", "human_references", "image_boxes"]

BOX_COLUMNS = ["x0", "y0", "x1", "y1"]


def _boxes(rows: pd.DataFrame) -> np.ndarray:
    """``(K, 4)`` float64 boxes from the ``x0, y0, x1, y1`` columns, unchanged (continuous)."""
    return rows[BOX_COLUMNS].to_numpy(np.float64).reshape(-1, 4)


def clip_boxes(table: pd.DataFrame, clips: int | None = None, frames: int | None = None) -> list:
    """Per clip, per frame, the ``(K, 4)`` boxes of an actions box table.

    Args:
        table: ``ActionSet.boxes`` of :func:`xaikit.data.synthetic.actions`: columns ``clip``,
            ``frame``, ``x0, y0, x1, y1`` (continuous pixels, passed on as they are).
        clips: number of clips B (default: the largest clip index + 1).
        frames: frames per clip T (default: the largest frame index + 1).

    Returns:
        A list of B lists of T arrays ``(K, 4)`` (``K = 0`` where a frame has no box): the
        layout the localization metrics take for clips ``(B, T, H, W)``.

    Examples:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"clip": [0, 0], "frame": [0, 1], "x0": [2.0, 3.0],
        ...                       "y0": [1.0, 1.0], "x1": [6.0, 7.0], "y1": [4.0, 4.0]})
        >>> [frame.tolist() for frame in clip_boxes(table)[0]]
        [[[2.0, 1.0, 6.0, 4.0]], [[3.0, 1.0, 7.0, 4.0]]]
    """
    missing = {"clip", "frame", *BOX_COLUMNS} - set(table.columns)
    if missing:
        raise ValueError(
            f"the box table lacks column(s) {sorted(missing)}; has {list(table.columns)}"
        )
    clips = int(table["clip"].max()) + 1 if clips is None else clips
    frames = int(table["frame"].max()) + 1 if frames is None else frames
    groups = {key: _boxes(rows) for key, rows in table.groupby(["clip", "frame"])}
    empty = np.zeros((0, 4))
    return [[groups.get((c, f), empty) for f in range(frames)] for c in range(clips)]


def image_boxes(annotations, classes=None) -> list[np.ndarray]:
    """Per image, the ``(K, 4)`` boxes of an :class:`Annotations` set (continuous, unchanged).

    Args:
        annotations: :class:`~xaikit.data.annotations.Annotations` (e.g. ``ShapeSet.annotations``);
            images in the order of ``annotations.images``.
        classes: ``None`` keeps every box; else one class index per image, and only the boxes
            of that class are kept (the objects the image-level label names).

    Returns:
        One ``(K, 4)`` array per image.

    Examples:
        >>> import pandas as pd
        >>> from xaikit.data.annotations import Annotations
        >>> ann = Annotations(
        ...     images=pd.DataFrame({"image": ["a", "b"], "width": [8, 8], "height": [8, 8]}),
        ...     boxes=pd.DataFrame({"image": ["a", "a"], "label": ["dot", "bar"],
        ...                         "x0": [0.0, 4.0], "y0": [0.0, 4.0],
        ...                         "x1": [2.0, 8.0], "y1": [2.0, 5.0]}),
        ...     classes=["dot", "bar"])
        >>> [b.tolist() for b in image_boxes(ann)]
        [[[0.0, 0.0, 2.0, 2.0], [4.0, 4.0, 8.0, 5.0]], []]
        >>> [b.tolist() for b in image_boxes(ann, classes=[1, 0])]
        [[[4.0, 4.0, 8.0, 5.0]], []]
    """
    names = list(annotations.images["image"])
    if classes is not None and len(classes) != len(names):
        raise ValueError(
            f"classes must give one class per image ({len(names)}); got {len(classes)}"
        )
    result = []
    for index, name in enumerate(names):
        rows = annotations.boxes[annotations.boxes["image"] == name]
        if classes is not None:
            rows = rows[rows["label"] == annotations.classes[int(classes[index])]]
        result.append(_boxes(rows))
    return result


def human_references(
    fixations: pd.DataFrame,
    images: Sequence[str],
    shape,
    *,
    sigma: float | None = None,
    kernel: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per image, the human fixation map and the fixated pixels: the ground truth of
    :func:`~xaikit.study.fixation_scores`.

    Args:
        fixations: fixation table with ``x, y, duration`` and ``image`` columns (image pixels),
            e.g. from :func:`xaikit.data.synthetic.observers` or
            :func:`xaikit.data.fixations.read_fixations`; all subjects are pooled.
        images: image names in the order of the maps (``annotations.images["image"]``).
        shape: ``(height, width)`` of every image.
        sigma, kernel: the Gaussian of :func:`xaikit.data.fixation_map`, passed through:
            ``None`` takes its defaults, sigma 20 pixels and kernel ``round(4 * sigma)`` (the
            paper's 20 and 80, for images about 400 pixels wide; scale them with the image).

    Returns:
        ``(human_maps, masks)``: ``(B, H, W)`` float64 maps in [0, 1]
        (:func:`~xaikit.data.fixations.fixation_map`) and ``(B, H, W)`` bool fixated pixels
        (:func:`~xaikit.data.fixations.fixation_mask`). An image without fixations gets an
        all-zero map and mask (with the warning of ``fixation_map``).

    Examples:
        >>> import pandas as pd
        >>> table = pd.DataFrame({"x": [0.5, 2.5], "y": [0.5, 0.5], "duration": [100.0, 300.0],
        ...                       "image": ["a", "b"]})
        >>> maps, masks = human_references(table, ["a", "b"], (1, 3), sigma=1, kernel=1)
        >>> maps.tolist(), masks.astype(int).tolist()
        ([[[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]]], [[[1, 0, 0]], [[0, 0, 1]]])
    """
    from xaikit.data.fixations import fixation_map, fixation_mask

    missing = {"x", "y", "duration", "image"} - set(fixations.columns)
    if missing:
        raise ValueError(
            f"the fixation table lacks column(s) {sorted(missing)}; has {list(fixations.columns)}"
        )
    groups = dict(tuple(fixations.groupby("image", sort=False)))
    empty = fixations.iloc[:0]
    per_image = [groups.get(name, empty) for name in images]
    maps = [fixation_map(rows, shape, sigma, kernel) for rows in per_image]
    masks = [fixation_mask(rows, shape) for rows in per_image]
    return np.stack(maps), np.stack(masks)
