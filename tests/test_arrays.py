"""The shared helpers every subpackage uses: one normalisation, one frames check, one device."""

import numpy as np
import pytest
import torch
from torch import nn

from xaikit._arrays import check_frames, minmax
from xaikit._runtime import model_device


@pytest.mark.parametrize("as_type", [np.asarray, torch.as_tensor])
def test_minmax_constant_nan_and_empty_outcomes(as_type):
    maps = as_type(np.array([[[1.0, 3.0], [2.0, np.nan]], [[5.0, 5.0], [5.0, 5.0]]]))
    out = minmax(maps)
    assert type(out) is type(maps)
    values = np.asarray(out)
    assert values[0].tolist()[0] == [0.0, 1.0] and values[0, 1, 0] == 0.5
    assert np.isnan(values[0, 1, 1])  # NaN stays NaN
    assert values[1].tolist() == [[0.0, 0.0], [0.0, 0.0]]  # constant -> zeros
    assert np.isnan(np.asarray(minmax(as_type(np.full((1, 2), np.nan))))).all()


def test_minmax_treats_float_rounding_as_constant_and_keeps_dtype():
    flat = np.array([[1.0, 1.0 + 1e-9]])
    assert minmax(flat).tolist() == [[0.0, 0.0]]
    assert minmax(np.array([[0, 2]], np.uint8)).dtype == np.float32
    assert minmax(np.array([[0.0, 2.0]])).dtype == np.float64
    single = minmax(np.array([[0.0, 1.0], [2.0, 4.0]]), batched=False)
    assert single.tolist() == [[0.0, 0.25], [0.5, 1.0]]


def test_check_frames_says_what_came_and_what_was_expected():
    frames = np.zeros((2, 4, 6, 3), np.uint8)
    assert check_frames(frames) is frames
    with pytest.raises(
        ValueError, match=r"a \(T, H, W, 3\) uint8 RGB array; got shape \(4, 6, 3\)"
    ):
        check_frames(frames[0])
    with pytest.raises(ValueError, match="dtype float64"):
        check_frames(frames.astype(float))
    with pytest.raises(ValueError, match=r"got shape \(0, 4, 6, 3\)"):
        check_frames(frames[:0])
    assert check_frames(frames[0], "image", single=True).shape == (4, 6, 3)


def test_model_device_reads_parameters_then_buffers():
    assert model_device(nn.Linear(2, 1)) == torch.device("cpu")
    assert model_device(nn.BatchNorm1d(2).requires_grad_(False)) == torch.device("cpu")
    assert model_device(nn.ReLU()).type in {"cpu", "cuda", "mps"}
