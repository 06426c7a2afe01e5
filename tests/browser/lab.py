"""A real JupyterLab driven in headless Chromium: the server, the notebook, the page checks.

The browser tests share this harness: :func:`serve_lab` starts JupyterLab on 127.0.0.1 (a free
port, a random token, a temporary root folder, kernels with ``XAIKIT_SMOKE=1``),
:func:`open_notebook` opens a notebook in a Playwright page and waits for its kernel,
:func:`run_all_cells` runs it and waits until every code cell has run, and the ``*_errors`` and
``layout_problems`` functions read what a user would see as wrong. Pages are driven with
Playwright's sync API in Debian's Chromium (``/usr/bin/chromium``, or ``XAIKIT_CHROMIUM``).

The widget contract the checks rely on (see ``xaikit/widgets``): every widget's root element has
the class ``xaikit-panel``, its main picture ``xaikit-picture``, its error line ``xaikit-error``;
a VideoExplorer's root also has ``xaikit-viewer`` and shows ``xaikit-frame-info`` ("frame N / M
..."), ``xaikit-status`` and ``xaikit-probe``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# XAIKIT_CHROMIUM points at another Chromium build; by default Debian's package.
CHROMIUM = os.environ.get("XAIKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

#: (width, height) of the windows a person shows the widgets in: a laptop and a desktop.
LAPTOP, DESKTOP = (1366, 768), (1920, 1080)

#: Class names of the widget contract.
PANEL, PICTURE, ERROR = ".xaikit-panel", ".xaikit-picture", ".xaikit-error"
#: Root classes of the individual widgets: found even before they carry ``xaikit-panel``.
WIDGET_ROOTS = (
    ".xaikit-panel, .xaikit-viewer, .xaikit-compare-grid, .xaikit-fixation-compare, "
    ".xaikit-clip-explorer"
)

#: A Python exception or traceback in text a notebook shows.
ERROR_TEXT = re.compile(
    r"Traceback \(most recent call last\)|\b[A-Z]\w*(Error|Exception)\b:|Error displaying widget"
)


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: its base URL, token and the folder it serves."""

    base: str
    token: str
    root: Path

    def url(self, path: str) -> str:
        """``path`` opened alone in a fresh workspace of its own (no tabs restored from an
        earlier page), with the token: ready for ``page.goto``."""
        workspace = re.sub(r"\W+", "-", path)
        return f"{self.base}/lab/workspaces/{workspace}/tree/{path}?reset&token={self.token}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on (now)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_server(url: str, server: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    """Poll ``url`` until it answers 200; raise with the log's tail if the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"JupyterLab exited with code {server.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer {url} within {timeout:.0f} s")


def lab_command(port: int, token: str, root: Path, home: Path) -> list[str]:
    """The ``jupyter lab`` command line: local only, no news, no update check, app exposed as
    ``window.jupyterapp`` so tests can run its commands."""
    return [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", f"--LabApp.workspaces_dir={home / 'workspaces'}",
        f"--LabApp.user_settings_dir={home / 'settings'}", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly", "--allow-root",
    ]  # fmt: skip


@contextlib.contextmanager
def serve_lab(folder: Path, env: dict[str, str] | None = None):
    """Run JupyterLab serving ``folder/root`` (created) until the block ends.

    Args:
        folder: an empty temporary folder; holds ``root/``, ``home/`` (config, runtime,
            settings) and ``jupyterlab.log``.
        env: extra environment variables for the server and its kernels.

    Yields:
        :class:`Lab`. The server and every kernel it started are stopped afterwards.
    """
    root, home = folder / "root", folder / "home"
    root.mkdir()
    home.mkdir()
    write_settings(home / "settings")
    port, token = free_port(), secrets.token_hex(16)
    server_env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        **(env or {}),
    )
    log_path = folder / "jupyterlab.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            lab_command(port, token, root, home),
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_server(f"{base}/api/status?token={token}", server, log_path)
            yield Lab(base, token, root)
        finally:
            stop_process_group(server)


#: JupyterLab user settings: no "get notified about news" toast over the widgets.
SETTINGS = {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false"}}


def write_settings(folder: Path) -> None:
    """Write :data:`SETTINGS` as JupyterLab user settings under ``folder``."""
    for name, values in SETTINGS.items():
        path = folder / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def stop_process_group(server: subprocess.Popen) -> None:
    """SIGTERM the server's process group (it and its kernels), SIGKILL after 15 s."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


# ---------------------------------------------------------------------- the notebook


KERNEL_IDLE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel?.sessionContext?.session?.kernel;
    return kernel?.status === 'idle' && kernel?.connectionStatus === 'connected';
}"""

# What the notebook's code cells say: how many have run, which are waiting, the kernel's state.
CELL_STATE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = panel.content.widgets.filter((cell) => cell.model.type === 'code'
        && cell.model.sharedModel.getSource().trim() !== '');
    const kernel = panel.sessionContext?.session?.kernel;
    return {
        total: cells.length,
        run: cells.filter((cell) => cell.model.executionCount !== null).length,
        busy: cells.filter((cell) => cell.promptNode?.textContent?.includes('*')).length,
        kernel: kernel ? kernel.status : 'none',
        errors: document.querySelectorAll(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]').length,
    };
}"""


def wait_for_kernel(page, timeout: float = 90.0) -> None:
    """Wait until the notebook's kernel is connected and idle, choosing the preselected kernel
    (Python 3) when JupyterLab asks which one to start."""
    accept = page.locator(".jp-Dialog .jp-mod-accept")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if accept.count() and accept.first.is_visible():
            accept.first.click()
        if page.evaluate(KERNEL_IDLE):
            return
        page.wait_for_timeout(250)
    raise TimeoutError(f"the notebook's kernel was not idle within {timeout:.0f} s")


def open_notebook(page, lab: Lab, path: str) -> None:
    """Open ``path`` (relative to the lab's root) and wait until its kernel is idle."""
    page.goto(lab.url(path))
    page.wait_for_function("window.jupyterapp !== undefined", timeout=90_000)
    page.wait_for_function(
        f"""window.jupyterapp.shell.currentWidget?.context?.path === {json.dumps(path)}
            && window.jupyterapp.shell.currentWidget.content?.widgets?.length > 0""",
        timeout=90_000,
    )
    wait_for_kernel(page)


def run_all_cells(page, timeout: float) -> dict:
    """Run every cell (the "Run All Cells" command) and wait until all code cells have an
    execution count and the kernel is idle, or a cell shows an error (JupyterLab then stops).

    Returns:
        The last :data:`CELL_STATE` (``total``, ``run``, ``kernel``, ``errors``).
    """
    page.evaluate(
        """async () => {
            await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');
            await window.jupyterapp.commands.execute('notebook:run-all-cells');
        }"""
    )
    deadline = time.monotonic() + timeout
    state = page.evaluate(CELL_STATE)
    while time.monotonic() < deadline:
        state = page.evaluate(CELL_STATE)
        settled = state["kernel"] == "idle" and state["busy"] == 0
        if settled and (state["run"] == state["total"] or state["errors"]):
            page.wait_for_timeout(500)  # the last outputs and widget views render
            return page.evaluate(CELL_STATE)
        page.wait_for_timeout(500)
    raise TimeoutError(f"the notebook did not finish within {timeout:.0f} s: {state}")


def shutdown_kernel(page) -> None:
    """Shut the current notebook's kernel down (frees its memory before the next notebook)."""
    page.evaluate(
        "async () => { await window.jupyterapp.shell.currentWidget?.sessionContext?.shutdown(); }"
    )


def write_notebook(path: Path, cells: list[str]) -> None:
    """Write a Python 3 notebook of code ``cells`` to ``path``."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, path)


# ---------------------------------------------------------------------- what a user sees

# Every output of every code cell, from the notebook's model (cells scrolled out of view may
# not be in the page), plus the rendered text of the widget outputs (a view that failed says
# "Error displaying widget").
OUTPUT_TEXTS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const texts = [];
    for (const cell of panel.content.widgets) {
        if (cell.model.type !== 'code') continue;
        for (const output of cell.model.outputs.toJSON()) {
            if (output.output_type === 'error')
                texts.push({error: true, text: `${output.ename}: ${output.evalue}`});
            else if (output.output_type === 'stream')
                texts.push({error: false, text: [].concat(output.text).join('')});
            else {
                const plain = output.data?.['text/plain'] || [];
                texts.push({error: false, text: [].concat(plain).join('')});
            }
        }
    }
    for (const node of document.querySelectorAll(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]'))
        texts.push({error: false, text: node.textContent || ''});
    return texts;
}"""


def notebook_errors(page) -> list[str]:
    """Error outputs, and any output text with a Python exception, as text (500 chars each)."""
    return [
        output["text"].strip()[:500]
        for output in page.evaluate(OUTPUT_TEXTS)
        if output["error"] or ERROR_TEXT.search(output["text"])
    ]


WIDGET_ERRORS = f"""(root) => [...root.querySelectorAll('{ERROR}')]
    .filter((node) => node.offsetParent !== null && node.innerText.trim() !== '')
    .map((node) => node.innerText.trim())"""


def widget_errors(widget) -> list[str]:
    """Texts of the visible, non-empty ``xaikit-error`` lines inside ``widget`` (a locator)."""
    return widget.evaluate(WIDGET_ERRORS)


# A signature per picture of the widget: every <img> (and <canvas>) in its picture elements
# (``xaikit-picture``), or in the whole widget when it has none; the pixels, hashed after
# drawing the image into a canvas, with the src's length as a fallback for images not loaded.
PICTURE_SIGNATURES = f"""(root, everything) => {{
    const marked = [...root.querySelectorAll('{PICTURE}')];
    if (root.matches('{PICTURE}')) marked.push(root);
    const scopes = (marked.length && !everything) ? marked : [root];
    const nodes = new Set();
    for (const scope of scopes) {{
        if (scope.matches('img, canvas')) nodes.add(scope);
        scope.querySelectorAll('img, canvas').forEach((node) => nodes.add(node));
    }}
    const hash = (data) => {{
        let h = 2166136261;
        for (let i = 0; i < data.length; i += 7) {{ h ^= data[i]; h = Math.imul(h, 16777619); }}
        return (h >>> 0).toString(16);
    }};
    return [...nodes].filter((node) => node.offsetParent !== null).map((node) => {{
        const width = node.naturalWidth ?? node.width, height = node.naturalHeight ?? node.height;
        if (!width || !height || (node.complete === false)) return 'unloaded:' + (node.src || '');
        const canvas = document.createElement('canvas');
        canvas.width = width; canvas.height = height;
        const context = canvas.getContext('2d');
        context.drawImage(node, 0, 0);
        return width + 'x' + height + ':' + hash(context.getImageData(0, 0, width, height).data);
    }});
}}"""


def picture_signatures(widget, everything: bool = False) -> list[str]:
    """Hashes of the pixels of the widget's pictures (``everything``: of all its images)."""
    return widget.evaluate(PICTURE_SIGNATURES, everything)


# Horizontal overflow and cut controls, measured in the page (CSS pixels).
LAYOUT = """(root) => {
    const problems = [];
    const doc = document.documentElement;
    if (doc.scrollWidth > window.innerWidth)
        problems.push(`the page scrolls sideways: ${doc.scrollWidth} px `
            + `> ${window.innerWidth}`);
    const notebook = root.closest('.jp-WindowedPanel-outer, .jp-Notebook') || doc;
    const visible = notebook.getBoundingClientRect();
    const box = root.getBoundingClientRect();
    if (box.right > visible.right + 1)
        problems.push(`the widget ends at x=${box.right.toFixed(0)}, past the notebook's `
            + `visible right edge ${visible.right.toFixed(0)}`);
    if (root.scrollWidth > root.clientWidth + 1)
        problems.push(`the widget's content is ${root.scrollWidth} px wide in a `
            + `${root.clientWidth} px box`);
    const name = (node) => (node.innerText || node.getAttribute('title') || node.className
        || node.tagName).toString().trim().slice(0, 40);
    const controls = root.querySelectorAll('button, select, input, .widget-slider, img');
    for (const node of controls) {
        if (node.offsetParent === null) continue;  // hidden
        const r = node.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        if (r.left < box.left - 1 || r.right > box.right + 1 || r.right > visible.right + 1)
            problems.push(`${node.tagName.toLowerCase()} "${name(node)}" spans `
                + `x=${r.left.toFixed(0)}..${r.right.toFixed(0)}, outside the widget `
                + `${box.left.toFixed(0)}..${Math.min(box.right, visible.right).toFixed(0)}`);
    }
    // A button's ellipsis does not show in its scrollWidth: measure an unconstrained copy
    // (Chromium cuts the text when it is wider by any fraction of a pixel).
    const natural = (node) => {
        const copy = node.cloneNode(true);
        Object.assign(copy.style, {width: 'auto', maxWidth: 'none', minWidth: '0',
            position: 'absolute', visibility: 'hidden', flex: 'none'});
        node.parentElement.appendChild(copy);
        const width = copy.getBoundingClientRect().width;
        copy.remove();
        return width;
    };
    for (const node of root.querySelectorAll('button, .widget-label, label')) {
        if (node.offsetParent === null || !node.innerText.trim()) continue;
        const [needed, shown] = node.tagName === 'BUTTON'
            ? [natural(node), node.getBoundingClientRect().width]
            : [node.scrollWidth, node.clientWidth];
        if (needed > shown + 0.1)
            problems.push(`the text "${name(node)}" is cut: ${needed.toFixed(1)} px in `
                + `${shown.toFixed(1)} px`);
    }
    return problems;
}"""

# Whether the widget fits the notebook's visible height (all controls on one screen).
FITS_HEIGHT = """(root) => {
    const notebook = root.closest('.jp-WindowedPanel-outer, .jp-Notebook');
    const visible = (notebook || document.documentElement).getBoundingClientRect().height;
    const height = root.getBoundingClientRect().height;
    return height <= visible + 1 ? '' :
        `the widget is ${height.toFixed(0)} px tall; the notebook shows ${visible.toFixed(0)} px`;
}"""


def layout_problems(widget) -> list[str]:
    """What overflows or is cut in ``widget`` (a locator) at the page's current size."""
    return widget.evaluate(LAYOUT)


def height_problem(widget) -> str:
    """``""`` when ``widget`` fits the notebook's visible height, else what does not fit."""
    return widget.evaluate(FITS_HEIGHT)


# Scrolls the widget's top into view; returns the part of it the notebook shows (page pixels).
VISIBLE_PART = """(root) => {
    root.scrollIntoView({block: 'start'});
    const box = root.getBoundingClientRect();
    const notebook = root.closest('.jp-WindowedPanel-outer, .jp-Notebook') || document.body;
    const visible = notebook.getBoundingClientRect();
    const x0 = Math.max(box.left, visible.left), y0 = Math.max(box.top, visible.top);
    const x1 = Math.min(box.right, visible.right), y1 = Math.min(box.bottom, visible.bottom);
    return {x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0)};
}"""


class Screenshots:
    """Saves PNGs as ``<prefix>-<part>-<width>x<height>-<step>.png`` under ``folders``.

    Args:
        folders: where to write (e.g. pytest's ``tmp_path``, and ``XAIKIT_SCREENSHOTS``).
    """

    def __init__(self, *folders: Path):
        self.folders = [Path(folder) for folder in folders]
        for folder in self.folders:
            folder.mkdir(parents=True, exist_ok=True)
        self.saved: list[Path] = []

    @staticmethod
    def name(prefix: str, part: str, page, step: str) -> str:
        size = page.viewport_size
        return f"{prefix}-{part}-{size['width']}x{size['height']}-{step}.png"

    def widget(self, page, widget, prefix: str, index: int, step: str) -> None:
        """What the window shows of the widget, scrolled to its top (``<step>``), and the
        whole window around it (``<step>-page``)."""
        clip = widget.evaluate(VISIBLE_PART)
        if clip["width"] >= 1 and clip["height"] >= 1:
            self._write(page.screenshot(clip=clip), self.name(prefix, str(index), page, step))
        self._write(page.screenshot(), self.name(prefix, str(index), page, f"{step}-page"))

    def page(self, page, prefix: str, step: str) -> None:
        """The whole window."""
        self._write(page.screenshot(), self.name(prefix, "page", page, step))

    def _write(self, data: bytes, name: str) -> None:
        for folder in self.folders:
            (folder / name).write_bytes(data)
        self.saved.append(self.folders[0] / name)


def screenshot_folders(tmp_path: Path) -> list[Path]:
    """``tmp_path/screenshots``, and the folder ``XAIKIT_SCREENSHOTS`` names, if set."""
    folders = [tmp_path / "screenshots"]
    if os.environ.get("XAIKIT_SCREENSHOTS"):
        folders.append(Path(os.environ["XAIKIT_SCREENSHOTS"]))
    return folders
