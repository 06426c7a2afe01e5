"""Fixtures shared by every test folder: the tiny random CNNs of :mod:`tests.tiny_models`."""

import pytest
import torch

from tests.tiny_models import TinyCNN, TinyVideoCNN


@pytest.fixture
def tiny_cnn():
    torch.manual_seed(0)
    return TinyCNN().eval()


@pytest.fixture
def tiny_video_cnn():
    torch.manual_seed(0)
    return TinyVideoCNN().eval()
