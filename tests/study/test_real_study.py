"""Notebook 02 on a real fixation dataset (OSIE) with a torchvision classifier: the whole study
path a researcher takes with their own data, through ``python -m xaikit.study.run``'s runner."""

from pathlib import Path

import pandas as pd
import pytest

from tests.realdata import real_path
from xaikit.study import BASELINE_METHODS
from xaikit.study.run import run_notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02-humans-vs-cnn-attention.ipynb"


def _read_table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, comment="#")


@pytest.mark.realdata
def test_notebook_02_runs_on_osie_with_a_torchvision_vgg(tmp_path):
    osie = real_path("eyetracking", "osie")
    environment = {
        "XAIKIT_FIXATION_DATASET": str(osie),
        "XAIKIT_FIXATION_LAYOUT": "osie",
        # VGG-11 with random weights: the path of a real model; no download in the tests
        "XAIKIT_STUDY_MODEL": "vgg11",
        "XAIKIT_STUDY_WEIGHTS": "none",
    }
    run_notebook(NOTEBOOK, tmp_path, smoke=True, timeout=900, environment=environment)
    folder = tmp_path / NOTEBOOK.stem
    outputs = (folder / "outputs.md").read_text()
    assert "8 images, 15 observers" in outputs
    assert "conv1 = features.1" in outputs  # VGG-11's first block, found by stage_layers
    assert "cam left out" in outputs  # VGG has no global-pooling head for CAM
    (table_file,) = folder.glob("*.csv")
    table = _read_table(table_file)
    methods = set(table["method"])
    assert {"gradcam", "guided_gradcam", "dense_attention", "guided_backprop"} <= methods
    assert {"conv1", "conv5", "conv5+conv4"} <= set(table["layer"].dropna())
    floor, ceiling = (table[table["method"] == name].iloc[0] for name in BASELINE_METHODS)
    # real observers agree with each other far better than with a centre blob, and a
    # random-weight VGG lies below both on the fixation metrics
    assert ceiling["NSS"] > floor["NSS"] + 1 and ceiling["AUC-Judd"] > floor["AUC-Judd"] + 0.1
    cnn = table[~table["method"].isin(BASELINE_METHODS)]
    assert cnn["AUC-Judd"].max() < ceiling["AUC-Judd"]
