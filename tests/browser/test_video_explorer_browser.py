"""End to end: a VideoExplorer in a real JupyterLab, driven in headless Chromium.

Starts JupyterLab on 127.0.0.1 (free port, random token, a temporary root folder holding one
small notebook), opens the notebook with Playwright in Debian's Chromium, runs it, steps the
frame slider with the arrow keys, presses Play, and checks that the picture changes and that no
error shows. Skips when Chromium or Playwright is missing; the server is always shut down.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

pytestmark = pytest.mark.browser

# XAIKIT_CHROMIUM points at another Chromium build; by default Debian's package.
CHROMIUM = os.environ.get("XAIKIT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

NOTEBOOK_CELLS = [
    """\
import numpy as np
import torch
from torch import nn

from xaikit.widgets import VideoExplorer

video = np.full((60, 120, 160, 3), 60, np.uint8)
for index in range(60):
    video[index, 40:70, 5 + 2 * index : 35 + 2 * index] = 255
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)).eval()""",
    """\
explorer = VideoExplorer(video, model, methods=["gradcam"], layers=["1"], fps=30)
explorer.precompute()
explorer""",
]


# Smooth playback plays: at least this many distinct frames in 1.5 s. A functional floor, not a
# speed target (those live in benchmarks/; a shared CI box must not fail on a slow second); the
# rate is printed, 26-29 frames/s on a quiet 2-core machine against the Play timer's 30.
MIN_FLIPBOOK_FRAMES = 10
# Counts the distinct frames the flipbook shows, sampled on every animation frame.
FLIPBOOK_SAMPLER = """(duration) => new Promise((resolve) => {
    const seen = new Set();
    const end = performance.now() + duration;
    const sample = () => {
        const img = document.querySelector('.xaikit-viewer .xaikit-flipbook img');
        if (img) seen.add(img.src);
        if (performance.now() < end) requestAnimationFrame(sample); else resolve(seen.size);
    };
    requestAnimationFrame(sample);
})"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_server(url: str, server: subprocess.Popen, log, timeout: float = 60.0) -> None:
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


@pytest.fixture
def jupyterlab(tmp_path):
    """``(base url, token)`` of a JupyterLab serving ``tmp_path/root``; stopped afterwards."""
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, root / "explorer.ipynb")

    port, token = free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        MPLBACKEND="Agg",
    )
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", f"--LabApp.workspaces_dir={home / 'workspaces'}",
        f"--LabApp.user_settings_dir={home / 'settings'}", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly", "--allow-root",
    ]  # fmt: skip
    log_path = tmp_path / "jupyterlab.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    server = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(f"{base}/api/status?token={token}", server, log_path)
        yield base, token
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)
        log.close()


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install -y chromium)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="Playwright for Python is not installed (pip install playwright)",
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


KERNEL_IDLE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel?.sessionContext?.session?.kernel;
    return kernel?.status === 'idle' && kernel?.connectionStatus === 'connected';
}"""


def wait_for_kernel(page, timeout: float = 60.0) -> None:
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


def test_scrub_and_play_in_jupyterlab(browser, jupyterlab, tmp_path):
    base, token = jupyterlab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page_errors = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        drive(page, base, token, page_errors)
    except Exception:
        page.screenshot(path=tmp_path / "failure.png")
        print(f"screenshot of the page: {tmp_path / 'failure.png'}")
        raise
    finally:
        page.close()


def drive(page, base: str, token: str, page_errors: list) -> None:
    """Open and run the notebook, scrub, play, and check the picture and the error line."""
    page.goto(f"{base}/lab/tree/explorer.ipynb?token={token}")
    page.wait_for_function("window.jupyterapp !== undefined", timeout=60_000)
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    wait_for_kernel(page)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    viewer = ".xaikit-viewer"
    picture, info = f"{viewer} img", f"{viewer} .xaikit-frame-info"
    page.wait_for_selector(picture, timeout=60_000)
    page.wait_for_function(
        f"document.querySelector('{picture}').naturalWidth === 160", timeout=30_000
    )
    assert page.inner_text(info).startswith("frame 0 / 59")
    first_src = page.get_attribute(picture, "src")

    # Step the slider with the keyboard (the slider's handle takes the arrow keys).
    handle = page.locator(f"{viewer} .widget-slider .noUi-handle").first
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight")
    page.wait_for_function(
        f"document.querySelector('{info}').textContent.startsWith('frame 3 /')", timeout=15_000
    )
    page.wait_for_function(
        f"document.querySelector('{picture}').src !== {first_src!r}", timeout=15_000
    )

    # Press Play and count the picture's changes.
    page.evaluate(
        f"""() => {{
            window.xaikitSwaps = 0;
            new MutationObserver(() => window.xaikitSwaps++).observe(
                document.querySelector('{picture}'),
                {{attributes: true, attributeFilter: ['src']}});
        }}"""
    )
    page.locator(f"{viewer} .widget-play button").first.click()
    page.wait_for_timeout(1500)
    swaps = page.evaluate("window.xaikitSwaps")
    assert swaps >= 5, f"only {swaps} picture changes in 1.5 s of playback"
    assert not page.inner_text(info).startswith("frame 3 /")

    # Smooth playback: the browser flips through pre-encoded frames; count what it shows.
    page.locator(f"{viewer} .widget-play button").nth(1).click()  # stop: back to frame 0
    page.locator(f"{viewer} .widget-toggle-button").click()
    page.wait_for_selector(f"{viewer} .xaikit-flipbook img", timeout=30_000)
    page.locator(f"{viewer} .widget-play button").first.click()
    shown = page.evaluate(FLIPBOOK_SAMPLER, 1500)
    print(f"smooth playback: {shown / 1.5:.1f} frames shown per second")
    assert shown >= MIN_FLIPBOOK_FRAMES, f"smooth playback showed {shown} frames in 1.5 s"

    assert page.inner_text(f"{viewer} .xaikit-error").strip() == ""
    tracebacks = page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
    )
    assert tracebacks.count() == 0, tracebacks.first.inner_text()
    assert page_errors == []
