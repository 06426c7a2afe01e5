"""End to end: a VideoExplorer in a real JupyterLab, driven in headless Chromium.

Writes one small notebook into the session's JupyterLab (see ``conftest.py``), opens it with
Playwright in Debian's Chromium, runs it, steps the frame slider with the arrow keys, presses
Play, turns on smooth playback, and checks that the picture changes and that no error shows.
Skips when Chromium or Playwright is missing.
"""

from __future__ import annotations

import pytest

from tests.browser.lab import open_notebook, run_all_cells, shutdown_kernel, write_notebook

pytestmark = pytest.mark.browser

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


def test_scrub_and_play_in_jupyterlab(lab, page):
    write_notebook(lab.root / "explorer.ipynb", NOTEBOOK_CELLS)
    try:
        drive(page, lab)
    finally:
        shutdown_kernel(page)


def drive(page, lab) -> None:
    """Open and run the notebook, scrub, play, and check the picture and the error line."""
    open_notebook(page, lab, "explorer.ipynb")
    run_all_cells(page, 180)

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
    assert page.xaikit_errors == []
