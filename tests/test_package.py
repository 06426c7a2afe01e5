"""The package installs, imports lazily and reports one version."""

import importlib
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import xaikit as xk

SUBPACKAGES = ["data", "models", "explain", "metrics", "track", "study", "viz", "widgets"]


def test_version_has_one_source():
    assert xk.__version__ == importlib.metadata.version("xaikit")


def test_import_does_not_load_torch_or_widgets():
    code = "import sys, xaikit; print('torch' in sys.modules, 'ipywidgets' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_subpackages_load_on_attribute_access(name):
    assert getattr(xk, name) is importlib.import_module(f"xaikit.{name}")


def test_unknown_attribute_raises():
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        xk.nonexistent  # noqa: B018


def test_only_widgets_import_ipywidgets():
    root = Path(xk.__file__).parent
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] == "widgets":
            continue
        assert "import ipywidgets" not in path.read_text(), f"{path} imports ipywidgets"


class TestDevice:
    def test_none_picks_best_available(self):
        expected = "cuda" if torch.cuda.is_available() else None
        if expected is None:
            mps = getattr(torch.backends, "mps", None)
            expected = "mps" if mps is not None and mps.is_available() else "cpu"
        assert xk.device().type == expected

    def test_explicit_names(self):
        assert xk.device("cpu") == torch.device("cpu")
        assert xk.device(torch.device("cpu")) == torch.device("cpu")

    def test_unknown_name_raises(self):
        with pytest.raises(ValueError, match="got 'gpu0'"):
            xk.device("gpu0")

    @pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
    def test_missing_cuda_raises(self):
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            xk.device("cuda")

    @pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
    def test_cuda_index_out_of_range_raises(self):
        with pytest.raises(RuntimeError, match="CUDA device"):
            xk.device(f"cuda:{torch.cuda.device_count()}")


@pytest.mark.parametrize(
    ("smoke", "ci", "expected"),
    [
        (None, None, False),
        ("1", None, True),
        ("0", "true", False),
        (None, "true", True),
        (None, "false", False),
        ("yes", None, True),
        ("", "1", False),
    ],
)
def test_smoke_switch(monkeypatch, smoke, ci, expected):
    for name, value in (("XAIKIT_SMOKE", smoke), ("CI", ci)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert xk.is_smoke_run() is expected


def test_examples_leave_the_smoke_switch_as_they_found_it(monkeypatch):
    # The notebooks run after the doctests in one pytest call and read this switch.
    import doctest

    import xaikit._runtime

    monkeypatch.setenv("XAIKIT_SMOKE", "1")
    assert doctest.testmod(xaikit._runtime).failed == 0
    assert os.environ["XAIKIT_SMOKE"] == "1"
