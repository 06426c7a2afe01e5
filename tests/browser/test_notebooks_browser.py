"""Each of the six notebooks, run in a real JupyterLab in Chromium and used as a person would.

For every notebook: open it, "Run All Cells" (kernels run with ``XAIKIT_SMOKE=1``), wait until
every code cell has run, and check that no cell shows an error. For every xaikit widget it
shows: it renders (contract classes, a loaded picture), has no error line, and nothing in it
overflows a 1366x768 window; then step the frame slider, Play for 2 s, choose another option in
every dropdown (method, layer, colormap, ...) and click the picture, checking after each action
that no error shows and that the picture changed. Screenshots of every widget and of the window
at 1366x768 and 1920x1080 are saved as
``<notebook>-<widget>-<width>x<height>-<step>.png`` under ``tmp_path/screenshots`` (and under
``$XAIKIT_SCREENSHOTS`` when set). All problems of a notebook are reported together.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from tests.browser import widgets as W
from tests.browser.lab import (
    DESKTOP,
    LAPTOP,
    Screenshots,
    height_problem,
    layout_problems,
    notebook_errors,
    open_notebook,
    picture_signatures,
    run_all_cells,
    shutdown_kernel,
)

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("0[0-5]-*.ipynb"))
#: Longest a smoke run of one notebook may take in the browser on a loaded 2-core machine.
RUN_TIMEOUT_S = 420.0
#: A widget the notebook builds: ``xk.widgets.VideoExplorer(`` and the like.
WIDGET_CALL = re.compile(r"widgets\.(\w+)\(")
#: What a VideoExplorer shows besides its picture: frame label, status line, click readout.
VIEWER_PARTS = ("xaikit-frame-info", "xaikit-status", "xaikit-probe")


def expected_widgets(path: Path) -> list[str]:
    """Names of the widgets the notebook's code cells build, in order."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    return [
        name
        for cell in notebook.cells
        if cell.cell_type == "code"
        for name in WIDGET_CALL.findall(cell.source)
    ]


def test_six_notebooks_found():
    assert [path.name[:2] for path in NOTEBOOKS] == ["00", "01", "02", "03", "04", "05"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_and_widgets_respond(path, lab, page, screenshot_dirs):
    shutil.copy(path, lab.root / path.name)
    shots = Screenshots(*screenshot_dirs)
    problems: list[str] = []
    started = time.monotonic()
    open_notebook(page, lab, path.name)
    try:
        state = run_all_cells(page, RUN_TIMEOUT_S)
        print(
            f"{path.stem}: ran {state['run']} of {state['total']} code cells in "
            f"{time.monotonic() - started:.0f} s"
        )
        problems += [f"cell output: {text}" for text in notebook_errors(page)]
        assert state["run"] == state["total"], (
            f"{state['run']} of {state['total']} code cells ran; errors: {problems}"
        )
        problems += check_widgets(page, path.stem, expected_widgets(path), shots)
        after = [text for text in notebook_errors(page) if f"cell output: {text}" not in problems]
        problems += [f"notebook output after using the widgets: {text}" for text in after]
        problems += [f"JavaScript error: {error}" for error in page.xaikit_errors]
    finally:
        shots.page(page, path.stem, "end")
        shutdown_kernel(page)
    print(f"{len(shots.saved)} screenshots in {screenshot_dirs[0]}")
    assert not problems, f"{path.name}:\n- " + "\n- ".join(problems)


def check_widgets(page, stem: str, expected: list[str], shots: Screenshots) -> list[str]:
    """Render, layout and interaction problems of every widget in the page."""
    classes = W.mark_widgets(page)
    problems = []
    if len(classes) != len(expected):
        problems.append(
            f"the notebook builds {expected} but the page shows {len(classes)} "
            f"widget roots: {classes}"
        )
    for index, names in enumerate(classes):
        widget = W.widget_locator(page, index)
        label = f"widget {index} ({expected[index] if index < len(expected) else names})"
        problems += [f"{label}: {text}" for text in check_one(page, widget, stem, index, shots)]
    for size in (LAPTOP, DESKTOP):
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.wait_for_timeout(800)  # JupyterLab lays out again
        shots.page(page, stem, "rendered")
        for index in range(len(classes)):
            widget = W.widget_locator(page, index)
            shots.widget(page, widget, stem, index, "final")
            problems += [
                f"widget {index} at {size[0]}x{size[1]}: {text}" for text in layout_problems(widget)
            ]
    page.set_viewport_size({"width": LAPTOP[0], "height": LAPTOP[1]})
    return problems


def check_one(page, widget, stem: str, index: int, shots: Screenshots) -> list[str]:
    """Problems of one widget at 1366x768: rendering, layout, and each action in turn."""
    widget.scroll_into_view_if_needed()
    problems = rendering_problems(widget)
    shots.widget(page, widget, stem, index, "rendered")
    problems += layout_problems(widget)
    if "xaikit-viewer" in (widget.get_attribute("class") or ""):
        problems += [text for text in [height_problem(widget)] if text]
    actions = [("step", W.step), ("play", W.play)]
    actions += [
        (f"choose-{name or n}", lambda widget, n=n: W.choose_another(widget, n))
        for n, name in enumerate(W.dropdowns(widget))
    ]
    actions.append(("click", W.click_picture))
    for name, action in actions:
        started = time.monotonic()
        problem = action(widget)
        took = time.monotonic() - started
        print(f"{stem} widget {index}: {name} took {took:.2f} s{': ' + problem if problem else ''}")
        problems += [f"{name}: {problem}"] if problem else []
        problems += [f"{name}: error shown: {text}" for text in W.errors_now(widget)]
        shots.widget(page, widget, stem, index, re.sub(r"\W+", "_", name))
    return problems


def rendering_problems(widget) -> list[str]:
    """Missing contract classes, error lines, pictures that did not load."""
    problems = []
    classes = (widget.get_attribute("class") or "").split()
    if "xaikit-panel" not in classes:
        problems.append(f"root lacks the class xaikit-panel (has {classes})")
    if not widget.locator(".xaikit-picture").count():
        problems.append("no element with the class xaikit-picture")
    if "xaikit-viewer" in classes:
        missing = [name for name in VIEWER_PARTS if not widget.locator(f".{name}").count()]
        problems += [f"a VideoExplorer without an element of the class {name}" for name in missing]
    problems += [f"error shown: {text}" for text in W.errors_now(widget)]
    signatures = picture_signatures(widget, everything=True)
    if not signatures or any(s.startswith("unloaded:") for s in signatures):
        problems.append(f"pictures not loaded: {signatures}")
    return problems
