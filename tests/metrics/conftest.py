"""Fixtures for the metric tests: reference implementations loaded from their files, tiny models."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn


def _load_module_file(package: str, filename: str, name: str):
    """Load one file of an installed package without running the package's ``__init__``.

    ``import pysaliency`` pulls in optional model code (``pkg_resources``, deep models); its
    ``metrics.py`` and ``numba_utils.py`` only need numpy and numba.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"{package} is not installed (dev dependency of the metric tests)")
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def pysaliency_metrics():
    """``pysaliency/metrics.py`` (NSS, CC, SIM, KL divergences)."""
    return _load_module_file("pysaliency", "metrics.py", "_reference_pysaliency_metrics")


@pytest.fixture(scope="session")
def pysaliency_roc():
    """``pysaliency/numba_utils.py`` (ROC curves); numpy 2 renamed the ``trapz`` it calls."""
    pytest.importorskip("numba")
    module = _load_module_file("pysaliency", "numba_utils.py", "_reference_pysaliency_roc")
    if not hasattr(module.np, "trapz"):
        module.np = _NumpyWithTrapz()
    return module


class _NumpyWithTrapz:
    """numpy as pysaliency 0.2.22 expects it: ``np.trapz`` is ``np.trapezoid`` in numpy 2."""

    trapz = staticmethod(np.trapezoid)

    def __getattr__(self, name):
        return getattr(np, name)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


class TinyCNN(nn.Module):
    """3x16x16 images -> 3 classes: two convolutions, global average pooling, a linear head."""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(6, 8, 3, padding=1),
            nn.ReLU(),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        pooled = self.features(x).mean(dim=(2, 3))
        return self.head(self.dropout(pooled))


@pytest.fixture
def tiny_cnn():
    torch.manual_seed(0)
    return TinyCNN().eval()


@pytest.fixture
def images():
    generator = torch.Generator().manual_seed(1)
    return torch.rand(2, 3, 16, 16, generator=generator)
