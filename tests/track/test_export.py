import importlib.util

import numpy as np
import pandas as pd
import pytest

from xaikit.track import export as export_module
from xaikit.track import save_table


def test_csv_round_trip(tmp_path):
    table = pd.DataFrame({"frame": [0, 1], "cx": [1.5, np.nan]})
    pd.testing.assert_frame_equal(pd.read_csv(save_table(table, tmp_path / "t.csv")), table)


def test_parquet_without_pyarrow_names_the_package(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        export_module.importlib.util, "find_spec",
        lambda name, *a: None if name == "pyarrow" else real(name, *a),
    )  # fmt: skip
    with pytest.raises(ImportError, match="pip install pyarrow"):
        save_table(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    assert not (tmp_path / "t.parquet").exists()


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow not installed")
def test_parquet_round_trip(tmp_path):
    table = pd.DataFrame({"frame": [0, 1], "cx": [1.5, 2.0]})
    pd.testing.assert_frame_equal(pd.read_parquet(save_table(table, tmp_path / "t.parquet")), table)


def test_bad_tables_and_suffixes(tmp_path):
    with pytest.raises(ValueError, match="unknown table format"):
        save_table(pd.DataFrame(), tmp_path / "t.xlsx")
    with pytest.raises(TypeError, match="DataFrame"):
        save_table({"a": [1]}, tmp_path / "t.csv")


def test_csv_is_written_atomically_into_a_new_folder(tmp_path):
    path = save_table(pd.DataFrame({"name": ["souris é"]}), tmp_path / "new" / "t.csv")
    assert path.read_bytes() == "name\nsouris é\n".encode()
    assert [p.name for p in path.parent.iterdir()] == ["t.csv"]
