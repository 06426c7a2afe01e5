"""Segments of a video: detected apart and joined, they equal one run over the whole."""

import numpy as np
import pandas as pd
import pytest
import torch

from xaikit.data.synthetic import arena
from xaikit.track import detect_video
from xaikit.track.detection import join_detections
from xaikit.track.segments import detect_in_segments, segment_ranges


class Brightest:
    """A stand-in detector: one box at the brightest pixel of each frame, scored by it."""

    def detect(self, frames, conf_threshold, iou_threshold):
        found = []
        for frame in frames:
            grey = np.asarray(frame).sum(axis=2)
            y, x = np.unravel_index(grey.argmax(), grey.shape)
            score = grey.max() / (3 * 255)
            found.append(torch.tensor([[x - 4.0, y - 4.0, x + 4.0, y + 4.0, score, 0.0]]))
        return found


def test_segments_joined_equal_one_run_over_the_whole():
    clip = arena("resident_intruder", frames=11, shape=(96, 128), seed=3)
    whole = detect_video(Brightest(), clip, batch_size=2, progress=False)
    joined = detect_in_segments(Brightest(), clip, 3, batch_size=2, progress=False)
    pd.testing.assert_frame_equal(whole.table, joined.table, check_exact=True)
    np.testing.assert_array_equal(whole.times, joined.times)
    np.testing.assert_array_equal(whole.appearance, joined.appearance)
    assert joined.shape == whole.shape and joined.start == 0


def test_segments_must_follow_each_other():
    clip = arena("resident_intruder", frames=6, shape=(96, 128), seed=3)
    first, _, last = (
        detect_video(Brightest(), clip, start=a, stop=b, progress=False)
        for a, b in ((0, 2), (2, 4), (4, 6))
    )
    assert first.table["frame"].tolist() == [0, 1] and last.table["frame"].tolist() == [4, 5]
    with pytest.raises(ValueError, match="starts at frame 4, expected 2"):
        join_detections([first, last])
    with pytest.raises(ValueError, match="not a segment of a video of 6 frames"):
        detect_video(Brightest(), clip, start=4, stop=9, progress=False)
    with pytest.raises(ValueError, match="segment length must be an int >= 1"):
        segment_ranges(6, 0)
