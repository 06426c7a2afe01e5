"""docs/pictures.py: the README's pictures come from one tagged cell of each notebook."""

import base64
import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("pictures", ROOT / "docs" / "pictures.py")
pictures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pictures)


def png_output(data: bytes):
    return nbformat.v4.new_output(
        "display_data", data={"image/png": base64.b64encode(data).decode(), "text/plain": "<Fig>"}
    )


def test_the_tagged_cells_last_png_is_taken():
    notebook = nbformat.v4.new_notebook()
    untagged, tagged = nbformat.v4.new_code_cell("a"), nbformat.v4.new_code_cell("b")
    untagged.outputs = [png_output(b"not this")]
    tagged.metadata["tags"] = [pictures.TAG]
    tagged.outputs = [png_output(b"first"), png_output(b"last")]
    notebook.cells = [untagged, tagged]
    assert pictures.tagged_png(notebook) == b"last"


def test_a_missing_tag_or_picture_is_an_error():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("a")]
    with pytest.raises(ValueError, match="found 0"):
        pictures.tagged_png(notebook)
    notebook.cells[0].metadata["tags"] = [pictures.TAG]
    with pytest.raises(ValueError, match="no PNG"):
        pictures.tagged_png(notebook)


@pytest.mark.parametrize("path", sorted(pictures.NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_notebook_tags_its_readme_picture(path):
    notebook = nbformat.read(path, as_version=4)
    tagged = [c for c in notebook.cells if pictures.TAG in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: tag the cell whose figure the README shows"
    picture = pictures.picture_path(path)
    assert picture.exists()
    assert picture.relative_to(ROOT).as_posix() in (ROOT / "README.md").read_text()
