"""Frames, clips, synthetic scenes, annotations and eye-tracking fixations.

Everything here returns plain values: frames as (H, W, 3) uint8 RGB numpy arrays, clips as
(T, H, W, 3) arrays, tables as pandas DataFrames.
"""

from xaikit.data import annotations, datasets, eyelink, fixations, proxy, synthetic
from xaikit.data.deeplabcut import read_deeplabcut
from xaikit.data.errors import DataFileError, VideoError
from xaikit.data.fixations import fixation_map
from xaikit.data.labels import read_labels
from xaikit.data.sleap import read_sleap
from xaikit.data.video import VideoReader, open_video, write_video

__all__ = [
    "DataFileError",
    "VideoError",
    "VideoReader",
    "annotations",
    "datasets",
    "eyelink",
    "fixation_map",
    "fixations",
    "open_video",
    "proxy",
    "read_deeplabcut",
    "read_labels",
    "read_sleap",
    "synthetic",
    "write_video",
]
