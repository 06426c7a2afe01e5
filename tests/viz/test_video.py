"""The overlay video and its frames, drawn by xaikit.viz from a track table."""

import numpy as np
import pandas as pd
import pytest

from xaikit.data import open_video
from xaikit.data.synthetic import arena
from xaikit.viz import overlay_frames, write_overlay


def _tracks(frames: int) -> pd.DataFrame:
    tracks = pd.DataFrame({"frame": range(frames), "track": 0, "x0": 10.0 + 2 * np.arange(frames),
                           "y0": 10.0, "y1": 30.0})  # fmt: skip
    tracks["x1"] = tracks["x0"] + 20
    tracks["cx"], tracks["cy"] = (tracks.x0 + tracks.x1) / 2, 20.0
    return tracks


def test_overlay_video_has_every_frame_and_the_boxes(tmp_path):
    frames = np.full((4, 48, 64, 3), 255, np.uint8)
    path = tmp_path / "overlay.mp4"
    write_overlay(path, frames, _tracks(4), fps=10)
    video = open_video(path)
    assert video.shape == (4, 48, 64, 3) and video.fps == pytest.approx(10)
    # Left edge of the box in frame 3 (x = 16) is drawn in track 0's blue, not white.
    assert video[3][20, 16].astype(int).sum() < 600
    with pytest.raises(ValueError, match="trail"):
        write_overlay(path, frames, _tracks(4), fps=10, trail=-1)
    with pytest.raises(ValueError, match="fps > 0"):
        write_overlay(path, frames, _tracks(4))


def test_overlay_of_a_clip_or_a_file_takes_its_frame_rate(tmp_path):
    clip = arena("open_field", frames=3, shape=(48, 64), fps=12, seed=0)
    write_overlay(tmp_path / "clip.mp4", clip, _tracks(3))
    drawn = open_video(tmp_path / "clip.mp4")
    assert drawn.shape == clip.shape and drawn.fps == pytest.approx(12)
    write_overlay(tmp_path / "again.mp4", tmp_path / "clip.mp4", _tracks(3), trail=0)
    assert open_video(tmp_path / "again.mp4").fps == pytest.approx(12)


def test_overlay_frames_draw_only_the_frames_tracks():
    frames = np.zeros((3, 40, 60, 3), np.uint8)
    tracks = _tracks(3).iloc[[1]]  # track 0 seen in frame 1 only
    drawn = list(overlay_frames(frames, tracks, trail=0))
    assert not drawn[0].any() and not drawn[2].any() and drawn[1].any()
    assert not frames.any()  # the input is not drawn on
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['cx', 'cy'\]"):
        list(overlay_frames(frames, tracks.drop(columns=["cx", "cy"])))


def test_detection_cam_grid_has_a_panel_per_method_and_layer(tmp_path):
    from tests.track.conftest import write_tiny_darknet
    from xaikit.models import load_darknet
    from xaikit.viz import crop_window, detection_cam_grid

    model = load_darknet(*write_tiny_darknet(tmp_path), device="cpu")
    clip = arena("resident_intruder", frames=2, shape=(72, 96), seed=4)
    boxes = clip.truth[["frame", "track", "x0", "y0", "x1", "y1"]]
    options = dict(
        methods=("gradcam", "layercam"), layers=["module_list.0", "module_list.2"],
        cache=tmp_path / "maps", device="cpu",
    )  # fmt: skip
    figure = detection_cam_grid(clip, model, boxes, 1, crop=False, **options)
    titles = [axis.get_title() for axis in figure.axes[:4]]
    assert titles == ["gradcam · module_list.0", "gradcam · module_list.2",
                      "layercam · module_list.0", "layercam · module_list.2"]  # fmt: skip
    assert figure.axes[0].get_images()[0].get_array().shape[:2] == (72, 96)
    assert figure.axes[-1].get_ylabel().startswith("map value")  # the shared colorbar

    # By default every panel zooms to the same window around the frame's detections.
    x0, y0, x1, y1 = crop_window(boxes[boxes.frame == 1].iloc[:, 2:].to_numpy(), (72, 96))
    zoomed = detection_cam_grid(clip, model, boxes, 1, **options)
    shapes = {axis.get_images()[0].get_array().shape for axis in zoomed.axes[:4]}
    assert shapes == {(y1 - y0, x1 - x0, 3)} and (y1 - y0, x1 - x0) != (72, 96)
    whole = figure.axes[0].get_images()[0].get_array()
    assert np.array_equal(zoomed.axes[0].get_images()[0].get_array(), whole[y0:y1, x0:x1])
    zoomed.savefig(tmp_path / "grid.svg")
    assert "gradcam · module_list.0</text>" in (tmp_path / "grid.svg").read_text()


def test_crop_window_keeps_the_boxes_with_a_margin_inside_the_frame():
    from xaikit.viz import crop_window

    # the 50 x 50 union widened by 25 px a side, shifted in to start at the frame's corner
    assert crop_window([[10, 10, 30, 20], [50, 40, 60, 60]], (480, 640), 0.5, 0) == (0, 0, 100, 100)
    # at the far corner: shifted in, not cut
    assert crop_window([[600, 450, 640, 480]], (480, 640), 0.5, 0) == (560, 420, 640, 480)
    assert crop_window([[100, 100, 102, 102]], (480, 640), 0.5, 48) == (77, 77, 125, 125)
    assert crop_window([[0, 0, 640, 480]], (480, 640)) == (0, 0, 640, 480)
