"""The 3D ResNet of demo-actions: the stem's map before its max pool (the 3D-CAM paper's "conv"
row), the paper's layer-wise gating shapes (Sec. 3.9), and clip-wise against video-wise accuracy
(Table 9) on a hand-built classifier."""

import numpy as np
import pytest
import torch
from torch import nn

import xaikit as xk
from xaikit.models.zoo.resnet3d import STAGES, GatedResNet3D, ResNet3D, stage_frames


def test_the_stem_layer_is_the_convolution_unit_before_the_max_pool():
    model = ResNet3D(4, widths=(4, 4, 8, 8, 8)).eval()
    x = torch.randn(1, 3, 8, 64, 64)
    seen = {}
    model.stem.register_forward_hook(lambda module, args, out: seen.setdefault("stem", out))
    model(x)
    assert seen["stem"].shape == (1, 4, 8, 32, 32)  # stride 2 of the conv only, not the pool's
    unit = model.stem[2](model.stem[1](model.stem[0](x)))  # Conv3d, batch norm, ReLU
    torch.testing.assert_close(seen["stem"], unit)
    assert list(model.state_dict())[:2] == ["stem.0.weight", "stem.1.weight"]  # files still load


def test_gated_network_pools_every_stage_to_time_bins_only():
    model = GatedResNet3D(3, widths=(4, 4, 8, 8, 8), frames=8).eval()
    x = torch.randn(2, 3, 8, 64, 64)
    pooled = model.pooled(x)
    # B x T/t x 1 x 1 x 1 with t = 2: channels and space pooled entirely
    assert [tuple(p.shape) for p in pooled] == [(2, 4, 1, 1, 1)] * 2 + [(2, 2, 1, 1, 1)] + [
        (2, 1, 1, 1, 1)
    ] * 2
    stem = torch.relu(model.stages(x)[0]).mean(dim=(1, 3, 4))  # (B, T)
    torch.testing.assert_close(pooled[0][:, :, 0, 0, 0], stem.reshape(2, 4, 2).mean(dim=2))
    assert {name: head.in_features for name, head in model.heads.items()} == dict(
        zip(STAGES, [4, 4, 2, 1, 1], strict=True)
    )
    assert stage_frames(16) == [16, 16, 8, 4, 2]
    with pytest.raises(ValueError, match="take clips of 8 frames; got 16"):
        model(torch.zeros(1, 3, 16, 64, 64))


def test_gated_output_is_the_baseline_head_plus_gated_stage_logits():
    model = GatedResNet3D(3, widths=(4, 4, 8, 8, 8), frames=4).eval()
    for gate in model.gates.values():  # gates shut: the network is its baseline head
        nn.init.zeros_(gate.weight)
        nn.init.constant_(gate.bias, -1e4)
    x = torch.randn(2, 3, 4, 32, 32)
    baseline = model.fc(torch.flatten(model.avgpool(model.stages(x)[-1]), 1))
    torch.testing.assert_close(model(x), baseline)
    assert torch.all(model.last_gates == 0)


def _preprocess(items, device=None):
    return torch.from_numpy(items).float().div(255).movedim(-1, 1), None


class _Fixed(nn.Module):
    """Class 0 for clips whose mean is below 0.5, else class 1 (confident)."""

    def forward(self, x):
        bright = (x.mean(dim=(1, 2, 3, 4)) > 0.5).float()
        return torch.stack([1 - bright, bright], dim=1) * 10


def test_video_accuracy_clip_wise_and_video_wise():
    model = _Fixed()
    model.xaikit_info = xk.models.ModelInfo(
        name="fixed",
        task="video",
        preprocess=_preprocess,
        categories=["dark", "bright"],
        weights=None,
    )
    videos = np.zeros((3, 13, 4, 4, 3), np.uint8)  # 3 clips of 4 frames each, 1 frame dropped
    videos[1, 4:] = 255  # video 1 (label 1): clips dark, bright, bright -> video bright
    videos[2, :4] = 255  # video 2 (label 0): bright, dark, dark -> video dark
    result = xk.models.video_accuracy(model, videos, [0, 1, 0], clip_frames=4)
    assert result.clip_correct.tolist() == [[True] * 3, [False, True, True], [False, True, True]]
    assert result.video_correct.tolist() == [True, True, True]
    assert result.clip_wise == pytest.approx(7 / 9) and result.video_wise == 1.0
    with pytest.raises(ValueError, match="hold no clip of 16"):
        xk.models.video_accuracy(model, videos, [0, 1, 0], clip_frames=16)


def test_interleaved_clips_take_every_kth_frame():
    model = _Fixed()
    model.xaikit_info = xk.models.ModelInfo(
        name="fixed", task="video", preprocess=_preprocess, categories=["d", "b"], weights=None
    )
    video = np.zeros((1, 8, 4, 4, 3), np.uint8)
    video[0, ::2] = 255  # frames 0, 2, 4, 6 bright
    interleaved = xk.models.video_accuracy(model, video, [1], 4, sampling="interleaved")
    consecutive = xk.models.video_accuracy(model, video, [1], 4)
    assert interleaved.clip_correct.tolist() == [[True, False]]  # frames 0,2,4,6 | 1,3,5,7
    assert consecutive.clip_correct.tolist() == [[False, False]]  # frames 0-3 | 4-7: half bright
    with pytest.raises(ValueError, match="sampling must be"):
        xk.models.video_accuracy(model, video, [1], 4, sampling="random")
