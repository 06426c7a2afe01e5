"""SLEAP labels as boxes, from an .slp file written by sleap-io itself."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit as xk
from xaikit.data import DataFileError
from xaikit.data.sleap import read_sleap

sio = pytest.importorskip("sleap_io")


@pytest.fixture
def slp(tmp_path):
    video_path = tmp_path / "flies.mp4"
    xk.data.write_video(video_path, np.zeros((6, 64, 96, 3), np.uint8), fps=10)
    video = sio.Video.from_filename(str(video_path))
    skeleton = sio.Skeleton(["head", "thorax", "abdomen"])
    male, female = sio.Track("male"), sio.Track("female")

    def user(points, track=None):
        return sio.Instance.from_numpy(np.array(points, float), skeleton=skeleton, track=track)

    predicted = sio.PredictedInstance.from_numpy(
        np.array([[1.0, 1.0], [2, 2], [3, 3]]), skeleton=skeleton, point_scores=np.ones(3), score=1
    )
    frames = [
        sio.LabeledFrame(video, 0, [user([[10, 10], [20, 30], [np.nan, np.nan]], male),
                                    user([[90, 50], [94, 60], [95, 63]], female)]),
        sio.LabeledFrame(video, 2, [predicted]),  # predictions only: not a label
        sio.LabeledFrame(video, 3, [], is_negative=True),  # nothing there
        sio.LabeledFrame(video, 4, [user([[np.nan, np.nan]] * 3)]),
    ]  # fmt: skip
    labels = sio.Labels(frames, videos=[video], skeletons=[skeleton], tracks=[male, female])
    path = tmp_path / "labels.slp"
    sio.save_slp(labels, str(path))
    return path


def test_user_instances_become_boxes_with_their_tracks(slp):
    with pytest.warns(UserWarning) as caught:
        ann = read_sleap(slp, margin=0.5)
    messages = " ".join(str(w.message) for w in caught)
    assert "1 frames with predictions only" in messages
    assert "1 user instances without a visible keypoint" in messages
    assert ann.images["image"].tolist() == ["flies.mp4:0", "flies.mp4:3"]  # 4: nothing visible
    assert ann.images["frame"].tolist() == [0, 3]
    assert set(ann.images["width"]) == {96} and set(ann.images["height"]) == {64}
    # male: extent 10 x 20, +10 each side; female: extent 5 x 13, +6.5, cut at the right edge
    assert ann.boxes[["x0", "y0", "x1", "y1"]].values.tolist() == [
        [0.0, 0.0, 30.0, 40.0], [83.5, 43.5, 96.0, 64.0]
    ]  # fmt: skip
    assert ann.boxes["track"].tolist() == ["male", "female"]
    assert ann.boxes_of("flies.mp4:3").empty  # the negative frame: an image with no box


def test_a_file_sleap_cannot_read_is_named(tmp_path):
    bad = tmp_path / "broken.slp"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(DataFileError, match="broken.slp: not a SLEAP .slp file"):
        read_sleap(bad)
