"""Regenerate the README's pictures from the notebooks.

Run: ``python docs/pictures.py [NOTEBOOK ...] [--smoke]``. Each notebook is executed in a
fresh kernel (nbclient, working folder ``notebooks/``, nothing written back into it); the PNG
output of its cell tagged ``readme-figure`` becomes ``docs/notebooks/<notebook>.png``
(the quick start's ``docs/quickstart.png``), written atomically. ``--smoke`` runs the
notebooks shortened (``XAIKIT_SMOKE=1``), as the tests do; by default they run in full.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from pathlib import Path

import nbformat

from xaikit._atomic import write_bytes

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PICTURES = ROOT / "docs" / "notebooks"
TAG = "readme-figure"
QUICKSTART = ROOT / "docs" / "quickstart.png"  # the quick start's picture heads the README


def tagged_png(notebook: nbformat.NotebookNode, tag: str = TAG) -> bytes:
    """The last PNG output of the cell tagged ``tag`` in an executed notebook.

    Raises:
        ValueError: no cell or more than one carries the tag, or the cell showed no PNG.
    """
    cells = [cell for cell in notebook.cells if tag in cell.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"expected exactly one cell tagged {tag!r}; found {len(cells)}")
    pngs = [
        out["data"]["image/png"] for out in cells[0].outputs if "image/png" in out.get("data", {})
    ]
    if not pngs:
        raise ValueError(f"the cell tagged {tag!r} showed no PNG picture")
    return base64.b64decode(pngs[-1])


def picture_path(notebook: Path) -> Path:
    """Where the README expects the picture of ``notebook``."""
    return QUICKSTART if notebook.stem == "00-quickstart" else PICTURES / f"{notebook.stem}.png"


def execute(path: Path, timeout: float = 1800) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh ``python3`` kernel, in its own folder."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": path.parent}},
    ).execute()
    return notebook


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebook names (default: all)")
    parser.add_argument("--smoke", action="store_true", help="run shortened (XAIKIT_SMOKE=1)")
    args = parser.parse_args(argv)
    os.environ["XAIKIT_SMOKE"] = "1" if args.smoke else os.environ.get("XAIKIT_SMOKE", "0")
    os.environ.setdefault("MPLBACKEND", "Agg")
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.notebooks:
        wanted = {Path(name).stem for name in args.notebooks}
        paths = [path for path in paths if path.stem in wanted]
    for path in paths:
        print(f"running {path.name} ...", flush=True)
        picture = tagged_png(execute(path))
        target = picture_path(path)
        write_bytes(target, picture)
        print(f"  wrote {target.relative_to(ROOT)} ({len(picture) / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
