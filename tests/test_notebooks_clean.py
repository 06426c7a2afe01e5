"""Notebooks are committed without outputs, except the cells nbval is told to check.

A cell keeps its outputs only when it is marked for nbval, by the tag ``nbval-check-output``
or a ``# NBVAL_CHECK_OUTPUT`` comment; such a cell also keeps its execution count, since nbval
skips the comparison for cells that look unrun.

Strip the rest in place:  python tests/test_notebooks_clean.py
"""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
EDITOR_METADATA = ("widgets", "vscode", "toc", "varInspector")


def is_checked(cell: dict) -> bool:
    source = "".join(cell.get("source", ""))
    return "nbval-check-output" in cell.get("metadata", {}).get("tags", []) or (
        "# NBVAL_CHECK_OUTPUT" in source
    )


def problems(notebook: dict) -> list[str]:
    found = [
        f"notebook metadata.{key} is stored"
        for key in EDITOR_METADATA
        if key in notebook.get("metadata", {})
    ]
    kernel = notebook.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        found.append(f"kernelspec is {kernel!r}, not 'python3'")
    for number, cell in enumerate(notebook["cells"], start=1):
        if cell["cell_type"] != "code":
            continue
        if is_checked(cell):
            if cell.get("outputs") and cell.get("execution_count") is None:
                found.append(f"cell {number} is checked by nbval but has no execution count")
        elif cell.get("outputs") or cell.get("execution_count") is not None:
            found.append(f"cell {number} keeps outputs or an execution count")
    return found


def strip(notebook: dict) -> dict:
    for key in EDITOR_METADATA:
        notebook.get("metadata", {}).pop(key, None)
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and not is_checked(cell):
            cell["outputs"] = []
            cell["execution_count"] = None
    return notebook


def test_there_is_a_quickstart():
    assert any(path.name == "00-quickstart.ipynb" for path in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_stored_clean(path):
    found = problems(json.loads(path.read_text()))
    assert not found, (
        f"{path.name}: {'; '.join(found)}. Run `python tests/test_notebooks_clean.py`."
    )


def test_a_notebook_with_outputs_is_caught():
    notebook = {
        "metadata": {"kernelspec": {"name": "python3"}, "widgets": {}},
        "cells": [
            {"cell_type": "code", "source": "1", "execution_count": 3, "outputs": [{"x": 1}]},
            {
                "cell_type": "code",
                "source": "# NBVAL_CHECK_OUTPUT\n2",
                "execution_count": 4,
                "outputs": [{"y": 2}],
                "metadata": {},
            },
        ],
    }
    assert problems(notebook) == [
        "notebook metadata.widgets is stored",
        "cell 1 keeps outputs or an execution count",
    ]
    assert problems(strip(notebook)) == []
    assert notebook["cells"][1]["outputs"] == [{"y": 2}]


if __name__ == "__main__":
    for path in NOTEBOOKS:
        notebook = json.loads(path.read_text())
        path.write_text(json.dumps(strip(notebook), indent=1, ensure_ascii=False) + "\n")
        print("stripped", path.name)
