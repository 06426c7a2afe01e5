"""ClipExplorer: frames of a clip, top-k classes, 3DCAM, Sum-3DCAM and the counterfactual."""

import numpy as np
import pytest
import torch

from xaikit.viz.encode import decode_image
from xaikit.widgets import ClipExplorer

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


def test_scrubbing_and_map_choice_change_the_picture(explorer):
    explorer.cmap.value, explorer.alpha.value = "gray", 1.0
    labels = [label for label, _ in explorer.map_choice.options]
    assert labels == [
        "3DCAM · features.1", "3DCAM · features.3", "Sum-3DCAM · all layers",
        "counterfactual 3DCAM · features.1", "counterfactual 3DCAM · features.3",
    ]  # fmt: skip
    maps = explorer.maps_for(explorer.target.value)
    for label, key in explorer.map_choice.options:
        explorer.map_choice.value = key
        for frame in (0, 3):
            explorer.slider.value = frame
            picture = decode_image(explorer.image.value)[..., 0] / 255.0
            volume = maps[key]
            expected = volume[min(frame * volume.shape[0] // 4, volume.shape[0] - 1)]
            assert np.abs(picture - expected).mean() < 0.05, (label, frame)
    assert explorer.info.value == "frame 3 / 3"
    assert not np.allclose(
        maps[("3dcam", "features.3")], maps[("3dcam_counterfactual", "features.3")]
    )


def test_each_class_gets_its_own_maps(explorer):
    first, second = (index for _, index in explorer.target.options[:2])
    explorer.target.value = second
    key = ("3dcam", "features.3")
    assert set(explorer._maps) == {first, second}
    assert not np.allclose(explorer._maps[first][key], explorer._maps[second][key])


def test_figure_errors_and_close(explorer, no_leaks, monkeypatch, tmp_path):
    assert "frame 0" in explorer.figure().axes[0].get_title()
    assert explorer.save(tmp_path / "clip.png").read_bytes()[:4] == b"\x89PNG"
    monkeypatch.setattr(explorer, "maps_for", lambda index: {})
    explorer.slider.value = 1
    assert explorer.error_message.startswith("KeyError")


def test_needs_a_clip_and_a_3d_model(clip, tiny_cnn, tiny_video_cnn, no_leaks):
    with pytest.raises(ValueError, match=r"clip must be \(T, H, W, 3\) uint8"):
        ClipExplorer(clip[0], tiny_video_cnn)
    with pytest.raises(ValueError, match="unknown layer 'layer4'"):
        ClipExplorer(clip, tiny_video_cnn, ["layer4"])
    explorer = ClipExplorer(clip, tiny_video_cnn)
    explorer.close()
    assert no_leaks() == set()
