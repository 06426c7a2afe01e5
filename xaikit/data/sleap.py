"""SLEAP labels (``.slp``) as boxes, read with ``sleap-io``, the SLEAP team's own reader.

Only what a person labelled counts: the user instances of each labelled frame (predictions are
left out), each as one box around its visible keypoints (:func:`~xaikit.data.keypoints.
keypoint_box`), with its SLEAP track as ``track``; a frame marked negative (nothing to find
there) is an image without boxes.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd

from xaikit.data.annotations import Annotations
from xaikit.data.errors import DataFileError, check_readable_file
from xaikit.data.keypoints import MARGIN, keypoint_box


def read_sleap(
    path: str | os.PathLike, margin: float = MARGIN, label: str = "animal"
) -> Annotations:
    """Read the user-labelled instances of a SLEAP ``.slp`` file into boxes.

    Args:
        path: The ``.slp`` file; its videos must be where the file says (or next to it), for
            the frames' sizes and, later, their pixels.
        margin: Each box is the visible keypoints' extent widened by ``margin`` times its longer
            side on every side, then cut to the image.
        label: The class name of every box.

    Returns:
        :class:`~xaikit.data.annotations.Annotations`: one image per labelled or negative frame,
        named ``<video file name>:<frame index>``, with extra columns ``video`` (the path) and
        ``frame``; one box per user instance with a visible keypoint, with ``track`` (the SLEAP
        track's name, ``""`` without one) and ``keypoints`` (how many were visible).

    Raises:
        ImportError: ``sleap-io`` is not installed.
        DataFileError: the file cannot be read, a video's size is unknown (file missing), or
            no frame has a user instance.

    Warns:
        UserWarning: frames with predictions only, and user instances without a visible
            keypoint (counted, left out; a frame left with no box is left out too, since it is
            not known to be empty).
    """
    try:
        import sleap_io
    except ImportError as error:
        raise ImportError(f"reading {path} needs sleap-io (pip install sleap-io)") from error
    path = Path(path)
    check_readable_file(path)
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0; got {margin}")
    try:
        labels = sleap_io.load_slp(str(path))
    except Exception as error:  # sleap-io raises h5py, KeyError, ValueError ... by file kind
        raise DataFileError(path, f"not a SLEAP .slp file sleap-io can read ({error})") from None
    images, boxes, predicted_only, invisible = [], [], 0, 0
    for frame in labels.labeled_frames:
        users = frame.user_instances
        if not users and not frame.is_negative:
            predicted_only += 1
            continue
        video = frame.video
        shape = _frame_shape(path, video)
        name = f"{Path(video.filename).name}:{frame.frame_idx}"
        found = []
        for instance in users:
            box = keypoint_box(instance.numpy(), margin, shape)
            if box is None:
                invisible += 1
                continue
            track = instance.track.name if instance.track is not None else ""
            found.append({"image": name, "label": label, **box, "track": track})
        if not found and not frame.is_negative:
            continue  # labelled, but nothing visible: not known to be empty
        images.append(
            {"image": name, "width": shape[1], "height": shape[0],
             "video": str(video.filename), "frame": int(frame.frame_idx)}
        )  # fmt: skip
        boxes += found
    for count, what in ((predicted_only, "frames with predictions only"),
                        (invisible, "user instances without a visible keypoint")):  # fmt: skip
        if count:
            warnings.warn(f"{path}: {count} {what} left out", stacklevel=2)
    if not boxes:
        raise DataFileError(path, "no frame has a user-labelled instance")
    table = pd.DataFrame(images).drop_duplicates("image")
    return Annotations(table.reset_index(drop=True), pd.DataFrame(boxes), classes=[label])


def _frame_shape(path: Path, video) -> tuple[int, int]:
    shape = getattr(video, "shape", None)
    if shape is None or len(shape) < 3:
        raise DataFileError(
            path,
            f"the size of video {video.filename} is unknown: the video is not where the "
            ".slp file says; put it there or next to the .slp file",
        )
    return int(shape[1]), int(shape[2])
