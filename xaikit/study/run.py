"""Run the study notebooks at full size and write their results: ``python -m xaikit.study.run``.

Each notebook is executed in a fresh kernel with ``XAIKIT_SMOKE=0`` (``--smoke`` for the short
run). What it produced goes into ``docs/results/<notebook>/``, swapped in whole when the notebook
has finished (a failed run leaves the previous results as they were):

* the tables it saved with :func:`xaikit.study.results.save_table`, as CSV and Markdown;
* ``outputs.md``: every line the notebook printed, in order (run sizes, tables, findings);
* ``figures/cell-NN.png``: every figure it drew, NN the cell's number.

Every file begins with the run's header: the commit, the date, the machine and the run time
(CSV and Markdown as ``#`` comment lines or a quoted block, PNG figures as text chunks).
``docs/results/README.md`` lists the runs.

Examples:
    ``python -m xaikit.study.run`` (all studies), ``python -m xaikit.study.run 03 04``,
    ``python -m xaikit.study.run --smoke --out /tmp/results``.

    The kernel inherits the environment, so notebook 02 runs on a real fixation dataset and
    a torchvision model with ``XAIKIT_FIXATION_DATASET=~/data/osie XAIKIT_STUDY_MODEL=vgg16
    python -m xaikit.study.run 02 --out ~/results-osie`` (another ``--out``, so the committed
    results of the offline run stay as they are).
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from xaikit._atomic import atomic_folder, write_bytes, write_text
from xaikit.study.results import RESULTS_VARIABLE

__all__ = ["STUDIES", "Run", "main", "run_notebook"]

#: The study notebooks, one per paper (00 is the quick start, 05 the figure export).
STUDIES = (
    "01-mice-tracking",
    "02-humans-vs-cnn-attention",
    "03-video-3dcam",
    "04-category-independent",
)
_REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    """The header every result file carries."""

    notebook: str
    size: str
    commit: str
    date: str
    machine: str
    seconds: float

    def lines(self) -> list[str]:
        return [
            f"study: {self.notebook} ({self.size} run)",
            f"commit: {self.commit}",
            f"date: {self.date}",
            f"machine: {self.machine}",
            f"run time: {self.seconds:.0f} s",
        ]


def _commit(repository: Path) -> str:
    def git(*args):
        return subprocess.run(
            ["git", "-C", str(repository), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "xaikit", "notebooks")
    return f"{commit} (with uncommitted changes)" if dirty else commit


def _machine() -> str:
    import torch

    from xaikit._runtime import device

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    where = device()
    name = torch.cuda.get_device_name(where) if where.type == "cuda" else "no GPU"
    return (
        f"{platform.machine()}, {cores} CPU cores, {where.type} ({name}), "
        f"torch {torch.__version__}, Python {platform.python_version()}"
    )


def _stamp_png(data: bytes, run: Run) -> bytes:
    import io

    from PIL import Image, PngImagePlugin

    image = Image.open(io.BytesIO(data))
    info = PngImagePlugin.PngInfo()
    for line in run.lines():
        key, value = line.split(": ", 1)
        info.add_text(key, value)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _stamp(folder: Path, run: Run) -> None:
    """Put ``run``'s header at the top of every CSV and Markdown file in ``folder``."""
    for path in sorted(folder.glob("*.csv")):
        header = "".join(f"# {line}\n" for line in run.lines())
        write_text(path, header + path.read_text())
    for path in sorted(folder.glob("*.md")):
        header = "".join(f"> {line}  \n" for line in run.lines())
        write_text(path, header + "\n" + path.read_text())


def _outputs(notebook) -> tuple[str, dict[int, list[bytes]]]:
    """The printed text of an executed notebook, and its PNG figures by cell number."""
    text, figures = [], {}
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("#"):
            text.append("\n" + cell.source.splitlines()[0] + "\n")
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stdout":
                text.append("```\n" + output.text.rstrip("\n") + "\n```\n")
            data = output.get("data", {})
            if "image/png" in data:
                figures.setdefault(number, []).append(base64.b64decode(data["image/png"]))
            elif "text/plain" in data and "text/html" in data:  # a table shown as a cell value
                text.append("```\n" + data["text/plain"].rstrip("\n") + "\n```\n")
    return "\n".join(text), figures


def run_notebook(
    path: Path,
    out: Path,
    *,
    smoke: bool = False,
    timeout: int = 3600,
    environment: Mapping[str, str] | None = None,
) -> Run:
    """Execute one notebook and write its results into ``out / <notebook name>``.

    ``environment`` adds variables for the kernel, e.g. notebook 02's
    ``XAIKIT_FIXATION_DATASET`` (a dataset folder) and ``XAIKIT_STUDY_MODEL``.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell failed (its error names the cell);
            the previous results stay.
    """
    import nbformat
    from nbclient import NotebookClient
    from tqdm.auto import tqdm

    notebook = nbformat.read(path, as_version=4)
    with atomic_folder(out / path.stem) as folder:
        tables = folder / ".tables"
        environment = {
            **(environment or {}),
            "XAIKIT_SMOKE": "1" if smoke else "0",
            RESULTS_VARIABLE: str(tables),
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",  # figures as outputs
        }
        saved = {key: os.environ.get(key) for key in environment}
        os.environ.update(environment)  # the kernel inherits this process's environment
        client = NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        tick = time.perf_counter()
        try:
            with client.setup_kernel():
                for index, cell in enumerate(tqdm(notebook.cells, desc=path.stem, unit="cell")):
                    client.execute_cell(cell, index)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        run = Run(
            path.stem,
            "smoke" if smoke else "full",
            _commit(_REPOSITORY),
            datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            _machine(),
            time.perf_counter() - tick,
        )
        text, figures = _outputs(notebook)
        if tables.exists():
            for table in tables.iterdir():
                table.rename(folder / table.name)
            tables.rmdir()
        write_text(folder / "outputs.md", f"# {path.stem}: what the notebook printed\n\n{text}")
        _stamp(folder, run)
        for number, pictures in figures.items():
            for k, picture in enumerate(pictures):
                suffix = "" if len(pictures) == 1 else f"-{k + 1}"
                write_bytes(
                    folder / "figures" / f"cell-{number:02d}{suffix}.png", _stamp_png(picture, run)
                )
    return run


def _header(path: Path) -> dict[str, str]:
    """The ``> key: value`` lines :func:`_stamp` put at the top of a Markdown file."""
    header = {}
    for line in path.read_text().splitlines():
        if not line.startswith("> "):
            break
        key, _, value = line[2:].rstrip().partition(": ")
        header[key] = value
    return header


def _index(out: Path) -> None:
    """``out/README.md``: one row per study folder, from the headers of its outputs."""
    rows = []
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and (p / "outputs.md").exists()):
        header = _header(folder / "outputs.md")
        size = header.get("study", "").rpartition("(")[2].rstrip(")")
        tables = ", ".join(
            f"[{p.stem}]({folder.name}/{p.name})"
            for p in sorted(folder.glob("*.md"))
            if p.name != "outputs.md"
        )
        cells = [f"[{folder.name}]({folder.name}/outputs.md)", size, header.get("run time", "")]
        cells += [header.get("date", ""), header.get("commit", ""), tables]
        rows.append("| " + " | ".join(cells) + " |")
    text = (
        "# Study results\n\n"
        "Written by `python -m xaikit.study.run`: each study notebook run at full size in a "
        "fresh kernel. Every file starts with the commit, date, machine and run time of its "
        "run.\n\n| study | run | run time | date | commit | tables |\n"
        "| --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
    )
    write_text(out / "README.md", text)


def _resolve(names: list[str], notebooks: Path) -> list[Path]:
    chosen = []
    for name in names or STUDIES:
        matches = sorted(
            p for p in notebooks.glob("*.ipynb") if p.stem == name or p.stem.startswith(f"{name}-")
        )
        if len(matches) != 1:
            known = ", ".join(sorted(p.stem for p in notebooks.glob("*.ipynb")))
            raise SystemExit(
                f"no single notebook named {name!r} in {notebooks}; there are: {known}"
            )
        chosen.append(matches[0])
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m xaikit.study.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "studies",
        nargs="*",
        help=f"notebook names or numbers (default: {' '.join(s[:2] for s in STUDIES)})",
    )
    parser.add_argument(
        "--notebooks", type=Path, default=_REPOSITORY / "notebooks", help="folder of the notebooks"
    )
    parser.add_argument(
        "--out", type=Path, default=_REPOSITORY / "docs" / "results", help="results folder"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="the short run (XAIKIT_SMOKE=1), for a quick check"
    )
    parser.add_argument("--timeout", type=int, default=3600, help="seconds a cell may take")
    args = parser.parse_args(argv)
    failed = []
    for path in _resolve(args.studies, args.notebooks):
        try:
            run = run_notebook(path, args.out, smoke=args.smoke, timeout=args.timeout)
        except Exception as error:  # one failed study does not stop the others
            failed.append(path.stem)
            print(f"{path.stem}: failed, its previous results are kept: {error}", file=sys.stderr)
            continue
        print(f"{path.stem}: {run.size} run in {run.seconds:.0f} s -> {args.out / path.stem}")
        _index(args.out)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
