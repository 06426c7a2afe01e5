"""Frame <-> input mappings on hand-worked cases and through real torchvision presets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models import ResNet18_Weights

from xaikit.models import InputMapping
from xaikit.models.torchvision_preprocess import PresetPreprocess


def test_resize_crop_matches_torchvision_arithmetic():
    # resize shorter side 480 -> 256: 640 -> int(256 * 640 / 480) = 341; crop 224 starts at
    # round((256 - 224) / 2) = 16 and round((341 - 224) / 2) = round(58.5) = 58.
    m = InputMapping.resize_crop((480, 640), [256], [224])
    assert m.scale == (256 / 480, 341 / 640) and m.offset == (-16.0, -58.0)
    assert m.input_size == (224, 224)


def test_letterbox_hand_worked():
    m = InputMapping.letterbox((64, 128), (32, 32))  # new size 16x32, 8 px bars top and bottom
    assert m.scale == (0.25, 0.25) and m.offset == (8, 0)
    assert m.valid_region == (0.0, 8.0, 32.0, 24.0)
    boxes = np.array([[0.0, 8.0, 32.0, 24.0, 0.9, 1.0]])
    assert m.boxes_to_frame(boxes).tolist() == [[0.0, 0.0, 128.0, 64.0, 0.9, 1.0]]


def test_boxes_round_trip_and_clip_for_tensors_and_arrays():
    m = InputMapping.resize((100, 200), (50, 50))
    boxes = torch.tensor([[10.0, 20.0, 30.0, 40.0]])
    torch.testing.assert_close(m.boxes_to_frame(m.boxes_to_input(boxes)), boxes)
    assert m.boxes_to_input(boxes).tolist() == [[2.5, 10.0, 7.5, 20.0]]
    assert m.boxes_to_frame(np.array([[-5.0, -5.0, 60.0, 60.0]])).tolist() == [
        [0.0, 0.0, 200.0, 100.0]
    ]
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        m.boxes_to_frame(np.zeros((2, 3)))


def test_map_to_frame_hand_worked_and_fill():
    # Input twice the frame's width: frame pixel centre x + 0.5 samples input x = 2x + 1, halfway
    # between input pixels 2x and 2x + 1, so a column ramp 0..7 comes back as 0.5, 2.5, ...
    m = InputMapping.resize((1, 4), (1, 8))
    ramp = torch.arange(8.0).view(1, 8)
    assert m.map_to_frame(ramp).tolist() == [[0.5, 2.5, 4.5, 6.5]]
    crop = InputMapping.resize_crop((2, 6), [2, 6], (2, 2))  # keeps frame columns 2 and 3
    assert crop.map_to_frame(torch.ones(2, 2), fill=-1.0).tolist() == [[-1, -1, 1, 1, -1, -1]] * 2
    with pytest.raises(ValueError, match=r"input size \(2, 2\)"):
        crop.map_to_frame(torch.ones(3, 2))


def test_preset_geometry_puts_a_marker_where_the_mapping_says():
    frame = np.zeros((300, 500, 3), np.uint8)
    frame[100:160, 250:330] = 255  # a bright box right of centre
    preprocess = PresetPreprocess(ResNet18_Weights.DEFAULT.transforms(), "classification")
    x, (mapping,) = preprocess(frame, device="cpu")
    bright = (x[0, 0] > 0).nonzero()
    found = [bright[:, 1].min(), bright[:, 0].min(), bright[:, 1].max() + 1, bright[:, 0].max() + 1]
    expected = mapping.boxes_to_input(np.array([[250.0, 100.0, 330.0, 160.0]]))[0]
    np.testing.assert_allclose(np.array(found, float), expected, atol=1.5)
    # And back: a map that is 1 on the marker in input space is 1 on the marker in the frame.
    marker = (x[0, 0] > 0).float()
    back = mapping.map_to_frame(marker)
    assert back.shape == (300, 500)
    assert back[110:150, 260:320].min() > 0.99 and back[:, :60].max() == 0  # left edge cropped
