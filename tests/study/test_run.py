"""``python -m xaikit.study.run``: a real notebook executed in a real kernel, its tables, printed
lines and figures collected with the run's header, and a failed run that keeps the old results."""

import io

import nbformat
import pandas as pd
import pytest
from PIL import Image

from xaikit.study import run as study_run

CELLS = [
    "import matplotlib.pyplot as plt\n"
    "import pandas as pd\nimport xaikit as xk\nRESULTS = xk.study.results_folder()",
    "table = pd.DataFrame({'score': [0.25, 0.5]}, index=['gradcam', '3dcam'])\n"
    "print(xk.study.run_size(clips=2))\n"
    "xk.study.save_table(\n"
    "    RESULTS, 'Hit point (Table 3)', table, caption=xk.study.run_size(clips=2)\n"
    ")",
    "figure, axes = plt.subplots(figsize=(2, 1))\naxes.plot([0, 1])\nplt.show()",
]


def _notebook(folder, name, cells):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# A study")]
    notebook.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def test_run_writes_tables_outputs_and_figures_with_the_header(tmp_path):
    _notebook(tmp_path, "07-toy-study", CELLS)
    out = tmp_path / "results"
    assert study_run.main(["07", "--notebooks", str(tmp_path), "--out", str(out), "--smoke"]) == 0

    folder = out / "07-toy-study"
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert names == [
        "figures/cell-03.png",
        "hit-point-table-3.csv",
        "hit-point-table-3.md",
        "outputs.md",
    ]
    csv = (folder / "hit-point-table-3.csv").read_text()
    header = [line for line in csv.splitlines() if line.startswith("# ")]
    assert [line.split(":")[0] for line in header] == [
        "# study",
        "# commit",
        "# date",
        "# machine",
        "# run time",
    ]
    assert "07-toy-study (smoke run)" in header[0] and "CPU cores" in header[3]
    table = pd.read_csv(folder / "hit-point-table-3.csv", comment="#", index_col=0)
    assert table["score"].to_dict() == {"gradcam": 0.25, "3dcam": 0.5}
    markdown = (folder / "hit-point-table-3.md").read_text()
    assert markdown.startswith("> study: 07-toy-study (smoke run)")
    assert (
        "smoke run (XAIKIT_SMOKE=1, shortened): 2 clips" in markdown and "| 3dcam   |" in markdown
    )
    outputs = (folder / "outputs.md").read_text()
    assert "# A study" in outputs and "smoke run (XAIKIT_SMOKE=1, shortened): 2 clips" in outputs
    picture = Image.open(io.BytesIO((folder / "figures" / "cell-03.png").read_bytes()))
    assert picture.text["study"] == "07-toy-study (smoke run)" and picture.text[
        "run time"
    ].endswith(" s")
    index = (out / "README.md").read_text()
    assert "[07-toy-study](07-toy-study/outputs.md) | smoke run |" in index
    assert "[hit-point-table-3](07-toy-study/hit-point-table-3.md)" in index


def test_a_failed_run_keeps_the_previous_results(tmp_path, capsys):
    out = tmp_path / "results"
    path = _notebook(tmp_path, "07-toy-study", CELLS)
    assert (
        study_run.main([str(path.stem), "--notebooks", str(tmp_path), "--out", str(out), "--smoke"])
        == 0
    )
    before = sorted(p.name for p in (out / "07-toy-study").rglob("*"))
    _notebook(tmp_path, "07-toy-study", [*CELLS[:1], "raise RuntimeError('broken study')"])
    assert study_run.main(["07", "--notebooks", str(tmp_path), "--out", str(out), "--smoke"]) == 1
    assert "broken study" in capsys.readouterr().err
    assert sorted(p.name for p in (out / "07-toy-study").rglob("*")) == before
    assert [p.name for p in out.iterdir() if p.name.endswith(".partial")] == []


def test_unknown_study_names_the_notebooks(tmp_path):
    _notebook(tmp_path, "07-toy-study", CELLS[:1])
    with pytest.raises(SystemExit, match="no single notebook named '09'.*07-toy-study"):
        study_run.main(["09", "--notebooks", str(tmp_path), "--out", str(tmp_path / "r")])


@pytest.mark.parametrize("study", study_run.STUDIES)
def test_the_repository_holds_a_full_run_of_every_study(study):
    folder = study_run._REPOSITORY / "docs" / "results" / study
    header = study_run._header(folder / "outputs.md")
    assert header["study"] == f"{study} (full run)", (
        "commit the output of python -m xaikit.study.run"
    )
    for path in [*folder.glob("*.md"), *folder.glob("*.csv")]:
        first = path.read_text().splitlines()[0]
        assert first.lstrip("#> ").startswith(f"study: {study} (full run)"), path
    assert "smoke run" not in (folder / "outputs.md").read_text()
