"""Tiny random models and a tiny synthetic video that every widget test reuses."""

import numpy as np
import pandas as pd
import pytest
from ipywidgets.widgets.widget import _instances


def moving_square(frames: int = 10, height: int = 48, width: int = 64) -> np.ndarray:
    """(T, H, W, 3) uint8: a grey background and a white 12x12 square moving right 4 px a frame."""
    video = np.full((frames, height, width, 3), 60, np.uint8)
    for index in range(frames):
        x0 = 4 + 4 * index
        video[index, 18:30, x0 : x0 + 12] = 255
    return video


@pytest.fixture
def video():
    return moving_square()


@pytest.fixture
def tracks():
    """The square's box as a one-track table (track 3)."""
    rows = [
        {"frame": i, "track": 3, "x0": 4 + 4 * i, "y0": 18, "x1": 16 + 4 * i, "y1": 30}
        for i in range(10)
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def no_leaks():
    """Yields a function returning the widgets created since the test started and still open."""
    before = set(_instances)

    def alive():
        return set(_instances) - before

    return alive
