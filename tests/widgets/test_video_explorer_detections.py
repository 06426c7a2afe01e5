"""VideoExplorer with a detector: each detection's own map, from the on-disk map cache."""

import numpy as np
import pytest
import torch

from tests.track.conftest import TINY_CFG
from xaikit.explain import FrameMaps
from xaikit.viz.encode import decode_image
from xaikit.widgets import VideoExplorer
from xaikit.widgets.video_explorer import is_detector

LAYERS = ["module_list.0", "module_list.2"]


def shown(explorer) -> np.ndarray:
    """The picture the widget shows once the background work is done."""
    assert explorer.wait(30)
    return decode_image(explorer.image.value).astype(int)


@pytest.fixture
def detector():
    from xaikit.models import Darknet

    torch.manual_seed(0)
    return Darknet.from_cfg(TINY_CFG).eval()


@pytest.fixture
def explorer(video, detector, tracks, tmp_path):
    explorer = VideoExplorer(
        video, detector, methods=["gradcam", "layercam"], layers=LAYERS,
        tracks=tracks, batch_size=4, fps=10, cache=tmp_path, alpha=1.0, cmap="gray",
    )  # fmt: skip
    yield explorer
    explorer.close()


def test_a_darknet_model_is_a_detector(detector, tiny_cnn):
    assert is_detector(detector) and not is_detector(tiny_cnn)


def test_the_heat_sits_on_the_detected_box(explorer, video):
    assert isinstance(explorer.maps, FrameMaps) and explorer.maps.per_detection
    assert explorer.in_boxes.value and not explorer.in_boxes.disabled  # default for detectors
    assert explorer.error_message == ""
    explorer.show_boxes.value = explorer.show_trails.value = False
    explorer.slider.value = 5  # the square's box: x 24..36, y 18..30
    picture = shown(explorer).mean(axis=2)  # gray colormap, opaque where the map is 1
    change = np.abs(picture - video[5].mean(axis=2))
    inside, outside = np.zeros(picture.shape, bool), np.ones(picture.shape, bool)
    inside[18:30, 24:36] = True
    outside[15:33, 21:39] = False  # the box and a margin for the JPEG's ringing
    heat = explorer.maps.get(5, explorer.method.value, explorer.layer.value)
    assert np.median(change[inside & (heat > 0.5)]) > 20  # the map shows inside the box
    assert change[outside].max() < 8  # no detection there: the frame as it is


def test_whole_frame_maps_when_not_kept_inside_the_boxes(explorer):
    explorer.slider.value = 5
    layer = explorer.layer.value
    (_, box, heat), = explorer.maps.detections(5, "gradcam", layer)  # fmt: skip
    x0, y0, x1, y1 = box.astype(int)
    outside = np.ones(heat.shape, bool)
    outside[y0:y1, x0:x1] = False
    spill = outside & (heat > 0.15)
    assert spill.sum() > 20  # this detection's evidence spills out of its box
    explorer.cmap.value = "jet"  # its low values are blue, far from the grey frame
    inside_only = shown(explorer)
    explorer.in_boxes.value = False
    whole = shown(explorer)
    assert np.abs(whole - inside_only).max(axis=2)[spill].mean() > 10
    assert np.abs(whole - inside_only).max(axis=2)[~outside].mean() < 3  # same inside
    assert "min-max per detection" in explorer.colorbar.value


def test_the_map_is_the_cached_detection_map(explorer):
    explorer.slider.value = 3
    layer = explorer.layer.value
    (track, box, heat), = explorer.maps.detections(3, "gradcam", layer)  # fmt: skip
    assert track == 3 and box.tolist() == [16, 18, 28, 30] and heat.shape == (48, 64)
    expected = np.zeros_like(heat)
    expected[18:30, 16:28] = heat[18:30, 16:28]
    assert np.array_equal(explorer.maps.get(3, "gradcam", layer), expected)


def test_method_and_layer_pickers_switch_the_map(explorer, video):
    explorer.show_boxes.value = explorer.show_trails.value = False
    explorer.slider.value = 4  # the square's box: x 20..32, y 18..30
    inside = (slice(18, 30), slice(20, 32))
    pictures = {}
    for method in ("gradcam", "layercam"):
        for layer in LAYERS:
            explorer.method.value, explorer.layer.value = method, layer
            picture = shown(explorer).mean(axis=2)[inside]  # gray, opaque where the map is 1
            heat = explorer.maps.get(4, method, layer)[inside]
            expected = video[4].mean(axis=2)[inside] * (1 - heat) + 255 * heat * heat
            assert np.abs(picture - expected).mean() < 8, (method, layer)
            pictures[method, layer] = picture
    assert explorer.error_message == ""
    for a in pictures:
        for b in pictures:
            if a < b:
                assert np.abs(pictures[a] - pictures[b]).mean() > 5, (a, b)
    labels = [label for label, _ in explorer.layer.options]
    assert labels[0].startswith("module_list.0 · stride 1 · 8 ch")


def test_maps_persist_on_disk_across_explorers(video, detector, tracks, tmp_path, monkeypatch):
    calls = []
    original = FrameMaps._compute
    monkeypatch.setattr(
        FrameMaps, "_compute", lambda self, *a: (calls.append(a[0]), original(self, *a))[1]
    )
    for _ in range(2):
        explorer = VideoExplorer(
            video, detector, layers=LAYERS[:1], tracks=tracks, batch_size=5, fps=10,
            cache=tmp_path,
        )  # fmt: skip
        explorer.precompute()
        assert explorer.progress.value == 1.0
        explorer.close()
    assert calls == [0, 1]  # one call per chunk of 5 frames, the first time only


def test_without_a_table_the_detector_finds_the_boxes(video, detector, tmp_path):
    explorer = VideoExplorer(
        video, detector, layers=LAYERS[:1], fps=10, cache=tmp_path, score_threshold=0.0
    )
    boxes, _, _ = explorer.detections.boxes(0)
    assert len(boxes) > 0 and explorer.error_message == ""
    entries = explorer.maps.detections(0, "gradcam", LAYERS[0])
    assert np.allclose([box for _, box, _ in entries], boxes)
    explorer.close()


def test_click_reads_the_detection_maps(explorer):
    explorer.slider.value = 5
    values = explorer.probe(30, 24)
    assert set(values) == {f"{m} · {layer}" for m in ("gradcam", "layercam") for layer in LAYERS}
    assert explorer.probe(2, 2) == dict.fromkeys(values, 0.0)  # outside every box


def test_pixel_methods_are_refused_with_the_valid_ones(video, detector, tracks, no_leaks):
    with pytest.raises(ValueError, match="read none.*gradcam"):
        VideoExplorer(video, detector, methods=["rise"], tracks=tracks)
    assert no_leaks() == set()
