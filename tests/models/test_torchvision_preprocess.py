import numpy as np
import pytest
import torch
from torchvision.models import ResNet18_Weights
from torchvision.transforms import functional

from xaikit.models.torchvision_preprocess import PresetPreprocess


def test_stretched_keeps_the_preset_values_and_drops_its_crop():
    preset = ResNet18_Weights.DEFAULT.transforms()
    frame = np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    x, mappings = PresetPreprocess(preset, "classification").stretched((32, 48))(frame, "cpu")
    tensor = torch.from_numpy(frame).permute(2, 0, 1)
    resized = functional.resize(tensor, [32, 48], antialias=True)
    expected = functional.normalize(resized.float() / 255, preset.mean, preset.std)
    torch.testing.assert_close(x[0], expected, atol=1e-6, rtol=0)
    assert mappings[0].valid_region == (0.0, 0.0, 48.0, 32.0)  # the whole frame, no crop
    assert preset.crop_size == [224]  # the original preset is untouched


def test_stretched_is_for_classification():
    preset = ResNet18_Weights.DEFAULT.transforms()
    with pytest.raises(ValueError, match="classification"):
        PresetPreprocess(preset, "video").stretched((32, 32))
