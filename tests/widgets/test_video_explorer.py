"""VideoExplorer: drive it by setting values and check the pictures it puts in the widget."""

import ipywidgets as W
import numpy as np
import pytest
from ipywidgets.widgets.widget_link import Link

from xaikit.explain import FrameMaps
from xaikit.viz.boxes import identity_color
from xaikit.viz.encode import decode_image
from xaikit.widgets import VideoExplorer

LAYERS = ["features.1", "features.3"]


def shown(explorer) -> np.ndarray:
    """The picture the widget shows once the background work is done."""
    assert explorer.wait(30)
    return decode_image(explorer.image.value).astype(int)


def close_to(pixel, colour, tolerance=40):
    return bool(np.all(np.abs(np.asarray(pixel) - np.asarray(colour)) <= tolerance))


@pytest.fixture
def explorer(video, tiny_cnn, tracks):
    explorer = VideoExplorer(
        video, tiny_cnn, methods=["gradcam", "layercam"], layers=LAYERS, tracks=tracks,
        batch_size=4, fps=10,
    )  # fmt: skip
    yield explorer
    explorer.close()


class TestScrubbing:
    def test_slider_shows_the_frame_and_its_time(self, video):
        explorer = VideoExplorer(video, fps=10)
        assert close_to(shown(explorer)[24, 30], (60, 60, 60))  # square not there yet
        explorer.slider.value = 5  # square now covers x 24..35
        assert close_to(shown(explorer)[24, 30], (255, 255, 255))
        assert explorer.info.value == "frame 5 / 9 · 0.50 s"
        explorer.close()

    def test_arrow_keys_step_and_stop_at_the_ends(self, video):
        explorer = VideoExplorer(video)
        explorer.handle_event({"type": "keydown", "key": "ArrowRight"})
        assert explorer.slider.value == 1
        explorer.handle_event({"type": "keydown", "key": "ArrowLeft"})
        explorer.handle_event({"type": "keydown", "key": "ArrowLeft"})
        assert explorer.slider.value == 0
        explorer.close()

    def test_play_moves_the_slider_to_the_frame_it_shows(self, explorer):
        explorer.play.playing = True
        explorer.play.value = 7  # the browser's Play timer
        assert explorer.wait(30)
        assert explorer.shown == 7 and explorer.slider.value == 7
        assert explorer.info.value.startswith("frame 7 /")
        explorer.play.playing = False
        explorer.slider.value = 3  # the user's move, not playing: Play goes on from there
        assert explorer.play.value == 3

    def test_reads_a_video_file(self, video, tmp_path):
        from xaikit.data import write_video

        path = tmp_path / "square.mp4"
        write_video(path, video, fps=10)
        explorer = VideoExplorer(path)
        explorer.slider.value = 5
        assert close_to(shown(explorer)[24, 30], (255, 255, 255))
        assert explorer.info.value.endswith("0.50 s")
        explorer.close()


class TestOverlays:
    def test_the_map_tints_only_where_it_is_high(self, explorer, video):
        explorer.show_boxes.value = explorer.show_trails.value = False
        explorer.slider.value = 2
        explorer.alpha.value = 0.8
        heat = explorer.maps.get(2, explorer.method.value, explorer.layer.value)
        change = np.abs(explorer.picture().astype(int) - video[2]).max(axis=2)
        hot, zero = heat > 0.5, heat < 0.5 / 255  # zero after quantising to 256 levels
        assert hot.any() and zero.any()
        assert change[hot].mean() > 40  # the map shows where it is high
        assert change[zero].max() <= 1  # and leaves the frame as it is where it is 0
        explorer.cmap.value = "gray"  # JPEG keeps brightness; it blurs small colour spots
        with_map = shown(explorer)
        explorer.show_map.value = False
        plain = shown(explorer)
        assert np.abs(with_map - plain).max(axis=2)[hot].mean() > 15  # also in the widget
        explorer.cmap.value = "jet"
        explorer.show_map.value = True
        explorer.alpha.value = 0.0
        assert np.abs(shown(explorer) - plain).max() <= 6  # a transparent map shows the frame
        explorer.alpha.value = 0.8
        jet = shown(explorer)
        explorer.cmap.value = "gray"
        grey = shown(explorer)
        assert np.abs(jet - grey)[hot].mean() > 10
        spread = np.abs(grey[..., 0] - grey[..., 2])[hot].mean()
        assert spread < np.abs(jet[..., 0] - jet[..., 2])[hot].mean()  # gray is colourless

    def test_layer_and_method_pick_their_own_map(self, explorer, video):
        explorer.slider.value = 2
        explorer.show_boxes.value = explorer.show_trails.value = False
        explorer.alpha.value = 1.0
        explorer.cmap.value = "gray"
        frame = video[2, ..., 0] / 255.0
        for method in ("gradcam", "layercam"):
            explorer.method.value = method
            for layer in LAYERS:
                explorer.layer.value = layer
                heat = explorer.maps.get(2, method, layer).astype(np.float32)
                # Opaque where the map is 1: each pixel is frame x (1 - m) + gray(m) x m.
                expected = frame * (1 - heat) + heat * heat
                picture = shown(explorer)[..., 0] / 255.0
                assert np.abs(picture - expected).mean() < 0.03, (method, layer)

    def test_layer_picker_shows_readable_labels(self, explorer):
        labels = [label for label, _ in explorer.layer.options]
        assert labels == [
            "features.1 · stride 1 · 6 ch · 48x64",
            "features.3 · stride 2 · 8 ch · 24x32",
        ]

    def test_boxes_and_trails_in_identity_colour(self, explorer):
        explorer.show_map.value = False
        explorer.slider.value = 5  # box x 24..36, trail through centres x 10..30 at y 24
        picture = shown(explorer)
        colour = identity_color(3)
        assert close_to(picture[18, 28], colour, 60)  # top edge of the box
        assert close_to(picture[24, 14], colour, 60)  # on the trail
        explorer.show_trails.value = False
        assert close_to(shown(explorer)[24, 14], (60, 60, 60))
        explorer.show_boxes.value = False
        assert close_to(shown(explorer)[18, 28], (255, 255, 255))

    def test_detections_without_tracks(self, video, tracks):
        detections = tracks.drop(columns="track").assign(label="square")
        explorer = VideoExplorer(video, detections=detections)
        assert explorer.show_trails.disabled and explorer.show_boxes.value
        assert not close_to(shown(explorer)[18, 6], (255, 255, 255))  # box edge drawn
        explorer.close()


class TestMaps:
    def test_maps_are_computed_in_the_background_in_batches(self, explorer, monkeypatch):
        calls = []
        original = FrameMaps._compute
        monkeypatch.setattr(
            FrameMaps, "_compute", lambda self, b, m: (calls.append(b), original(self, b, m))
        )
        assert explorer.wait(30)  # chunks 0-2 of 4 frames, computed without being asked
        assert sorted(set(calls)) == sorted(calls) and set(calls) <= {0, 1, 2}  # each once
        assert explorer.maps.has(9) and explorer.status.value == ""
        assert explorer.status.layout.display == "none"
        computed = list(calls)
        explorer.precompute()  # nothing left to compute
        assert calls == computed and explorer.progress.value == 1.0
        explorer.method.value = "layercam"
        explorer.slider.value = 9
        assert explorer.wait(30) and calls == computed
        assert explorer.maps.get(9, "gradcam", "features.3").shape == (48, 64)

    def test_click_reads_the_map_values(self, explorer):
        explorer.slider.value = 3
        explorer.handle_event({"type": "click", "dataX": 30.0, "dataY": 20.0})
        values = explorer.probe(30.0, 20.0)
        assert set(values) == {
            f"{m} · {layer}" for m in ("gradcam", "layercam") for layer in LAYERS
        }
        assert all(0.0 <= value <= 1.0 for value in values.values())
        assert "x=30, y=20" in explorer.probe_label.value
        assert f"{values['gradcam · features.3']:.3f}" in explorer.probe_label.value

    def test_unknown_method_or_layer_lists_valid_names(self, video, tiny_cnn, no_leaks):
        with pytest.raises(
            ValueError, match=r"unknown method 'gradkam' \(did you mean gradcam.*; valid methods"
        ):
            VideoExplorer(video, tiny_cnn, methods=["gradkam"])
        with pytest.raises(ValueError, match=r"unknown layer 'layer9'; .*'features.3'"):
            VideoExplorer(video, tiny_cnn, layers=["layer9"])
        assert no_leaks() == set()

    def test_bad_tables_say_what_is_missing(self, video, tracks):
        with pytest.raises(ValueError, match=r"tracks lacks column\(s\) \['track'\]"):
            VideoExplorer(video, tracks=tracks.drop(columns="track"))


class TestErrorsAndLifecycle:
    def test_errors_show_inside_the_widget_and_clear(self, explorer, monkeypatch):
        def broken(*args):
            raise RuntimeError("map store exploded")

        assert explorer.wait(30)  # every map stored: the picture reads them
        monkeypatch.setattr(explorer.maps, "get", broken)
        before = explorer.image.value
        explorer.slider.value = 7
        assert explorer.wait(30)
        assert explorer.error_message == "RuntimeError: map store exploded"
        assert "map store exploded" in explorer.error.value
        assert explorer.error.layout.display is None and explorer.error in explorer.box.children
        assert explorer.image.value == before
        monkeypatch.undo()
        explorer.slider.value = 8
        assert explorer.wait(30)
        assert explorer.error_message == "" and explorer.error.layout.display == "none"

    def test_probe_outside_the_picture_shows_an_error(self, explorer):
        explorer.probe(500, 5)
        assert "outside the 64x48 picture" in explorer.error_message

    def test_close_frees_every_widget(self, video, tiny_cnn, no_leaks):
        explorer = VideoExplorer(video, tiny_cnn, layers=["features.3"])
        explorer.smooth.value = True
        assert explorer.wait(30)
        assert len(no_leaks()) > 20
        explorer.close()
        assert no_leaks() == set()
        assert explorer.closed

    def test_saves_the_current_figure(self, explorer, tmp_path):
        explorer.slider.value = 4
        figure = explorer.figure()
        drawn = figure.axes[0].get_images()[0].get_array()
        assert np.array_equal(np.asarray(drawn), explorer.picture())
        assert "frame 4" in figure.axes[0].get_title()
        for suffix, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")):
            path = explorer.save(tmp_path / f"frame{suffix}")
            assert path.read_bytes()[: len(magic)] == magic
        with pytest.raises(ValueError, match="unknown figure format"):
            explorer.save(tmp_path / "frame.gif")


class TestSmoothPlayback:
    def test_flipbook_holds_every_frame_linked_to_play(self, explorer):
        explorer.slider.value = 2
        explorer.smooth.value = True
        assert explorer.wait(30)
        (stack,) = explorer.view.children
        assert isinstance(stack, W.Stack) and len(stack.children) == 10
        assert stack.selected_index == 2
        for index in (0, 5, 9):
            assert stack.children[index].value == explorer.encoded(index)
        assert any(
            isinstance(w, Link) and w.source == (explorer.play, "value") and w.target[0] is stack
            for w in explorer._flipbook
        )
        explorer.cmap.value = "gray"  # a new setting re-encodes the flipbook
        assert explorer.wait(30)
        (restyled,) = explorer.view.children
        assert restyled is not stack and stack.children == () or stack.comm is None
        explorer.smooth.value = False
        assert explorer.view.children == (explorer.image,)
        assert explorer._flipbook == []

    def test_too_long_for_a_flipbook_says_so(self, video):
        explorer = VideoExplorer(video, max_flipbook_frames=5)
        explorer.smooth.value = True
        assert "max_flipbook_frames=5" in explorer.error_message
        assert explorer.smooth.value is False
        explorer.close()


def test_clicks_and_keys_on_the_picture_reach_the_explorer(video, tiny_cnn):
    ipyevents = pytest.importorskip("ipyevents", reason="click-to-probe needs ipyevents")
    explorer = VideoExplorer(video, tiny_cnn, layers=["features.3"])
    events = explorer._events
    assert isinstance(events, ipyevents.Event) and events.source is explorer.image
    assert set(events.watched_events) == {"click", "keydown"}
    assert events.xy_coordinate_system == "data"  # picture pixels, whatever its CSS size
    events._handle_mouse_msg(None, {"type": "keydown", "key": "ArrowRight"}, [])
    events._handle_mouse_msg(None, {"type": "click", "dataX": 10, "dataY": 12}, [])
    assert explorer.wait(30)  # a click does not wait for the maps: the readout fills in
    assert explorer.slider.value == 1 and "x=10, y=12 (frame 1)" in explorer.probe_label.value
    explorer.close()


def test_empty_tracks_show_the_frames_without_boxes(video, tracks):
    explorer = VideoExplorer(video, tracks=tracks.iloc[:0], fps=10)
    explorer.slider.value = 5
    assert close_to(shown(explorer)[24, 30], (255, 255, 255))  # the frame, nothing drawn
    explorer.close()
