"""VideoExplorer while work goes on: frames at once, maps later, Play that skips, Stop that stays,
a readout that follows the frame, and a layout that wraps."""

import threading
import time

import numpy as np
import pytest

import xaikit.widgets.video_explorer as video_explorer
from xaikit.explain import FrameMaps
from xaikit.viz.encode import decode_image
from xaikit.widgets import VideoExplorer

LAYERS = ["features.3"]


def shown(explorer) -> np.ndarray:
    return decode_image(explorer.image.value).astype(int)


@pytest.fixture
def gate(monkeypatch):
    """Map computation waits until ``gate.set()``."""
    gate = threading.Event()
    original = FrameMaps._compute

    def held(self, chunk, methods):
        assert gate.wait(30), "the test never opened the gate"
        return original(self, chunk, methods)

    monkeypatch.setattr(FrameMaps, "_compute", held)
    yield gate
    gate.set()


def test_the_frame_shows_at_once_and_its_map_follows(video, tiny_cnn, gate):
    explorer = VideoExplorer(
        video, tiny_cnn, layers=LAYERS, batch_size=4, fps=10, alpha=1.0, cmap="gray"
    )
    explorer.slider.value = 5
    assert explorer._renderer.wait(10)  # drawn while no map is computed
    assert explorer.shown == 5 and explorer.info.value.startswith("frame 5 / 9")
    assert np.abs(shown(explorer) - video[5]).max() <= 12  # the frame itself, no map yet
    assert explorer.status.value == "computing maps 0/3 chunks · the map of frame 5 follows"
    assert (
        explorer.status.layout.display is None and "xaikit-status" in explorer.status._dom_classes
    )
    explorer.handle_event({"type": "click", "dataX": 30.0, "dataY": 24.0})  # returns at once
    assert explorer._renderer.wait(10)
    assert "(frame 5)" in explorer.probe_label.value
    assert "being computed" in explorer.probe_label.value
    gate.set()
    assert explorer.wait(30)
    assert "gradcam · features.3" in explorer.probe_label.value  # the values came with the maps
    heat = explorer.maps.get(5, "gradcam", LAYERS[0])
    change = np.abs(explorer.picture().astype(int) - video[5]).max(axis=2)
    change[22:27, 28:33] = 0  # the probe's marker
    assert change[heat > 0.5].mean() > 30  # redrawn with its map once it came
    assert np.abs(shown(explorer) - explorer.picture()).mean() < 4
    assert explorer.status.value == "" and explorer.status.layout.display == "none"
    explorer.close()


def test_a_burst_of_slider_moves_shows_the_last_frame_not_a_queue(video, monkeypatch):
    explorer = VideoExplorer(video, fps=10)
    drawn = []
    compose = explorer._compose

    def slow(index, *args):
        drawn.append(index)
        time.sleep(0.03)  # a slow kernel
        return compose(index, *args)

    monkeypatch.setattr(explorer, "_compose", slow)
    for index in range(1, 10):
        explorer.slider.value = index  # returns at once: nothing is drawn here
    assert explorer.wait(10)
    assert drawn[-1] == 9 and len(drawn) < 9  # frames it never reached were dropped
    assert explorer.shown == 9 and explorer.info.value.startswith("frame 9 / 9")
    assert explorer.image.value == explorer.encoded(9)  # label and picture name one frame
    explorer.close()


def test_stop_keeps_the_frame_it_stopped_on(video):
    explorer = VideoExplorer(video, fps=10)
    explorer.play.playing = True
    explorer.play.value = 6  # the browser's Play timer
    assert explorer.wait(10) and explorer.slider.value == 6
    explorer.play.playing = False  # Stop pauses first...
    explorer.play.value = 0  # ...then jumps to the first frame
    assert explorer.play.value == 6 and explorer.slider.value == 6
    assert explorer.wait(10) and explorer.shown == 6
    explorer.slider.value = 0  # going to frame 0 is the user's choice
    assert explorer.wait(10) and explorer.shown == 0 and explorer.play.value == 0
    explorer.close()


def test_the_readout_follows_the_frame_marks_the_point_and_names_the_detection(
    video, tiny_cnn, tracks
):
    detections = tracks.assign(label="square", score=0.875)
    explorer = VideoExplorer(
        video, tiny_cnn, layers=LAYERS, detections=detections, batch_size=4, fps=10
    )
    explorer.slider.value = 5  # the square's box: x 24..36, y 18..30
    values = explorer.probe(30, 24)
    assert "x=30, y=24 (frame 5)" in explorer.probe_label.value
    assert "track 3 · square · score 0.88" in explorer.probe_label.value
    assert f"{values['gradcam · features.3']:.3f}" in explorer.probe_label.value
    assert "xaikit-probe" in explorer.probe_label._dom_classes
    explorer.show_map.value = explorer.show_boxes.value = False
    explorer.slider.value = 8  # the square has moved on (x 36..48): nothing under the point
    assert explorer.wait(30)
    assert "(frame 8)" in explorer.probe_label.value and "track" not in explorer.probe_label.value
    heat = explorer.maps.get(8, "gradcam", "features.3")
    assert f"{video_explorer.sample_map(heat, 30, 24, (48, 64)):.3f}" in explorer.probe_label.value
    picture = explorer.picture()
    assert picture[24, 30].tolist() == [255, 255, 255]  # the cross on the grey background
    assert picture[23, 31].tolist() == [0, 0, 0]  # with its dark outline
    assert shown(explorer)[24, 30].min() > 180
    explorer.close()


def test_layout_wraps_and_the_picture_never_grows_beyond_its_pixels(video, tiny_cnn):
    explorer = VideoExplorer(video, tiny_cnn, layers=LAYERS, fps=10)
    assert {"xaikit-viewer", "xaikit-panel"} <= set(explorer.box._dom_classes)
    assert "xaikit-picture" in explorer.image._dom_classes
    layout = explorer.image.layout
    assert (layout.width, layout.max_width, layout.height) == ("64px", "100%", "auto")
    main = explorer.box.children[0]
    picture_column, controls = main.children
    assert main.layout.flex_flow == "row wrap"  # controls beside the picture, or below it
    rows = [w for w in (*picture_column.children, *controls.children) if hasattr(w, "children")]
    assert all(row.layout.flex_flow == "row wrap" for row in rows if row is not explorer.view)
    assert explorer.smooth.description == "smooth playback" and explorer.smooth.tooltip
    assert explorer.smooth.layout.width == "auto"  # the label is never cut
    assert explorer.progress_row.layout.display == "none"  # no empty bar before any work
    explorer.close()


def test_the_colorbar_follows_the_colormap_and_states_the_normalisation(video, tiny_cnn):
    explorer = VideoExplorer(video, tiny_cnn, layers=LAYERS, fps=10, cmap="jet")
    assert "min-max per frame" in explorer.colorbar.value
    assert "rgb(0,0,128)" in explorer.colorbar.value  # jet starts dark blue
    explorer.cmap.value = "gray"
    assert "rgb(0,0,0)" in explorer.colorbar.value and "rgb(0,0,128)" not in explorer.colorbar.value
    explorer.show_map.value = False
    assert explorer.colorbar.layout.display == "none"
    explorer.close()
    plain = VideoExplorer(video, fps=10)
    assert plain.colorbar.layout.display == "none"
    plain.close()


def test_smooth_playback_encodes_in_the_background_with_a_labelled_bar(video, tiny_cnn):
    explorer = VideoExplorer(video, tiny_cnn, layers=LAYERS, batch_size=4, fps=10)
    labels = []
    explorer.progress_label.observe(lambda change: labels.append(change["new"]), names="value")
    explorer.smooth.value = True
    assert explorer.wait(30)
    assert "encoding frames 10/10" in labels
    assert all(label.split()[0] in ("computing", "encoding") for label in labels)
    assert explorer.progress_row.layout.display == "none"  # hidden again when done
    assert explorer.view.children[0] is explorer._flipbook[-2]  # the stack of pages
    explorer.close()


def test_close_stops_the_threads(video, tiny_cnn):
    explorer = VideoExplorer(video, tiny_cnn, layers=LAYERS, batch_size=2, fps=10)
    explorer.close()
    assert not explorer._renderer._thread.is_alive()
    assert not explorer._worker._thread.is_alive()
    assert explorer.closed
