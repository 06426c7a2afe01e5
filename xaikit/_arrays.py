"""Small conversions shared across subpackages."""

from __future__ import annotations

import numpy as np


def to_numpy(array) -> np.ndarray:
    """Return ``array`` as a numpy array; torch tensors on any device come back as float32."""
    if hasattr(array, "detach"):
        array = array.detach().float().cpu().numpy()
    return np.asarray(array)
