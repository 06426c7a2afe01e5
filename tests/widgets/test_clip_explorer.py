"""ClipExplorer: frames of a clip, top-k classes, 3DCAM, Sum-3DCAM and the counterfactual."""

import numpy as np
import pytest
import torch

from xaikit.viz.boxes import draw_boxes
from xaikit.viz.compose import blend_map
from xaikit.viz.encode import decode_image
from xaikit.widgets import ClipExplorer
from xaikit.widgets.clip_explorer import BOX_COLOUR

LAYERS = ["features.1", "features.3"]


@pytest.fixture
def clip(video):
    return video[:4, :32, :32].copy()


@pytest.fixture
def explorer(clip, tiny_video_cnn):
    explorer = ClipExplorer(clip, tiny_video_cnn, LAYERS, k=3, categories=["a", "b", "c", "d"])
    yield explorer
    explorer.close()


def test_top_k_classes_match_the_model(explorer, clip, tiny_video_cnn):
    x = torch.from_numpy(clip).permute(3, 0, 1, 2)[None].float() / 255
    probabilities = tiny_video_cnn(x).softmax(dim=1)[0]
    expected = probabilities.argsort(descending=True)[:3].tolist()
    assert [index for _, index in explorer.target.options] == expected
    assert explorer.target.options[0][0].startswith(f"1. {'abcd'[expected[0]]} (")
    assert "top-3 classes" in explorer.top_k.value


def test_scrubbing_and_map_choice_change_the_picture(explorer, clip):
    explorer.cmap.value, explorer.alpha.value = "gray", 1.0
    labels = [label for label, _ in explorer.map_choice.options]
    assert labels == [
        "3DCAM · features.1", "3DCAM · features.3", "Sum-3DCAM · all layers",
        "counterfactual 3DCAM · features.1", "counterfactual 3DCAM · features.3",
    ]  # fmt: skip
    maps = explorer.maps_for(explorer.target.value)
    for label, (which, layer) in explorer.map_choice.options:
        explorer.map_choice.value = (which, layer)
        for frame in (0, 3):
            explorer.slider.value = frame
            picture = decode_image(explorer.image.value)
            heatmap = maps[which].get(frame, "3dcam", layer)
            scaled = heatmap / heatmap.max() if heatmap.max() > 0 else heatmap
            assert (picture == blend_map(clip[frame], scaled, 1.0, "gray")).all(), (label, frame)
    assert explorer.info.value.startswith("frame 3 / 3")
    plain, against = (maps[which].get(2, "3dcam", "features.1") for which in maps)
    assert not np.allclose(plain, against)
    # features.3 feeds global average pooling: its gradient is one number per channel and
    # position-free, so Eq. 2 gives ReLU(alpha / max alpha) for the class and against it alike
    plain, against = (maps[which].get(2, "3dcam", "features.3") for which in maps)
    np.testing.assert_allclose(plain, against, atol=1e-6)


def test_scale_per_frame_or_per_clip_is_stated_in_the_colorbar(explorer):
    explorer.map_choice.value = ("class", "features.1")
    raw = [explorer.heatmap(frame) for frame in range(4)]
    peaks = [float(m.max()) for m in raw]
    assert explorer.scale.value == "frame"  # the default: each frame at its own maximum
    for frame in range(4):
        assert explorer.scaled_map(frame) == pytest.approx(raw[frame] / peaks[frame])
    explorer.slider.value = 2
    assert "scaled per frame" in explorer.colorbar.value
    assert f">{peaks[2]:.3g}<" in explorer.colorbar.value  # the top colour's value
    explorer.scale.value = "clip"
    for frame in range(4):
        assert explorer.scaled_map(frame) == pytest.approx(raw[frame] / max(peaks))
    assert "scaled per clip" in explorer.colorbar.value
    assert f">{max(peaks):.3g}<" in explorer.colorbar.value
    assert "3DCAM scaled per clip" in explorer.figure().axes[0].get_title()


def test_a_zero_map_leaves_the_frame_unchanged_and_says_so(explorer, clip, monkeypatch):
    monkeypatch.setattr(explorer, "heatmap", lambda frame=None: np.zeros(clip.shape[1:3]))
    explorer.slider.value = 1
    assert (decode_image(explorer.image.value) == clip[1]).all()
    assert explorer.info.value == "frame 1 / 3 · no signal: map is all zero"


def test_actor_box_is_drawn_on_every_frame(clip, tiny_video_cnn):
    boxes = [[[2 + frame, 4, 20 + frame, 24]] for frame in range(4)]
    explorer = ClipExplorer(clip, tiny_video_cnn, ["features.3"], boxes=boxes, alpha=0.0)
    for frame in (0, 3):
        explorer.slider.value = frame
        picture = decode_image(explorer.image.value)
        expected = draw_boxes(clip[frame], boxes[frame], identities=[BOX_COLOUR], thickness=1)
        assert (picture == expected).all()
        assert (picture[10, 2 + frame] != clip[frame, 10, 2 + frame]).any()  # the left edge
    explorer.close()
    with pytest.raises(ValueError, match="one entry per frame"):
        ClipExplorer(clip, tiny_video_cnn, ["features.3"], boxes=boxes[:2])


def test_picture_scale_classes_and_probability_digits(explorer):
    assert explorer.zoom == 8 and explorer.image.layout.width == "256px"  # 32 px at 8x
    assert {"xaikit-picture", "xaikit-pixelated"} <= set(explorer.image._dom_classes)
    assert {"xaikit-panel", "xaikit-clip-explorer"} <= set(explorer.box._dom_classes)
    for (label, _), (_, value) in zip(explorer.target.options, explorer.top, strict=True):
        assert label.endswith(f"({value:.3f})") and f"<td>{value:.3f}</td>" in explorer.top_k.value


def test_maps_are_the_direct_explanations(explorer, clip, tiny_video_cnn):
    import xaikit as xk

    x = torch.from_numpy(clip).permute(3, 0, 1, 2)[None].float() / 255
    target = explorer.target.value
    direct = xk.explain(tiny_video_cnn, x, method="3dcam", layers=LAYERS, target=target)
    counter = xk.explain(
        tiny_video_cnn, x, method="3dcam", layers=LAYERS,
        target=xk.explain.targets.Counterfactual(target),
    )  # fmt: skip
    maps = explorer.maps_for(target)
    for frame in range(4):
        for layer, expected in (
            ("features.3", direct.maps["features.3"][0, frame]),
            ("features.1+features.3", direct.combine(LAYERS)[0, frame]),
        ):
            got = maps["class"].get(frame, "3dcam", layer)
            assert np.abs(got - expected.numpy()).max() < 0.05, (frame, layer)
        got = maps["counterfactual"].get(frame, "3dcam", "features.1")
        assert np.abs(got - counter.maps["features.1"][0, frame].numpy()).max() < 0.05


def test_each_class_gets_its_own_maps(explorer):
    first, second = (index for _, index in explorer.target.options[:2])
    explorer.target.value = second
    assert set(explorer._maps) == {first, second}
    maps = [
        explorer._maps[index]["class"].get(1, "3dcam", "features.1") for index in (first, second)
    ]
    assert not np.allclose(*maps)


def test_figure_errors_and_close(explorer, no_leaks, monkeypatch, tmp_path):
    assert "frame 0" in explorer.figure().axes[0].get_title()
    assert explorer.save(tmp_path / "clip.png").read_bytes()[:4] == b"\x89PNG"
    monkeypatch.setattr(explorer, "maps_for", lambda index: {})
    explorer.slider.value = 1
    assert explorer.error_message.startswith("KeyError")


def test_needs_a_clip_and_a_3d_model(clip, tiny_cnn, tiny_video_cnn, no_leaks):
    with pytest.raises(ValueError, match=r"clip must be a \(T, H, W, 3\) uint8"):
        ClipExplorer(clip[0], tiny_video_cnn)
    with pytest.raises(ValueError, match="unknown layer 'layer4'"):
        ClipExplorer(clip, tiny_video_cnn, ["layer4"])
    explorer = ClipExplorer(clip, tiny_video_cnn)
    explorer.close()
    assert no_leaks() == set()
