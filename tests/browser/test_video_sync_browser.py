"""During Play, the slider, the frame label and the picture of a VideoExplorer name one frame.

The video's frames carry their own number as a barcode (:mod:`tests.data.barcodes`, upscaled
to 320x240 so the JPEG picture keeps the bars sharp), so the page can read which frame the
picture shows: on every animation frame during Play it draws the picture into a canvas, reads
the bars, and records it with the slider's readout and the label's "frame N / M". Maps of a
small CNN are computed beforehand and drawn at opacity 0.3, so a bar stays brighter (white) or
darker (black) than mid-grey whatever colour the heatmap adds.

Tolerances, on a shared 2-core machine:
- label and picture come from one render, so they must agree exactly; a sample may fall
  between the two updates reaching the page (the label's text and the picture's decode are
  applied in separate browser tasks), so up to LABEL_MISMATCH of the samples may differ.
- the slider moves in the browser (the Play timer) and the picture follows after a round trip
  to the kernel, so the picture may trail the slider by one frame; more than one frame apart is
  allowed in up to SLIDER_MISMATCH of the samples (a load spike, a garbage collection).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.browser.lab import open_notebook, run_all_cells, shutdown_kernel, write_notebook

pytestmark = pytest.mark.browser

REPOSITORY = Path(__file__).resolve().parents[2]
FRAMES, FPS = 150, 25
#: How much further Play may get between reading the frame and the Stop click taking effect.
STOP_SLACK_S = 0.4
NOTEBOOK_CELLS = [
    f"""\
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, {str(REPOSITORY)!r})
from tests.data.barcodes import barcode_frame
from xaikit.widgets import VideoExplorer

rows, columns = np.arange(240) * 64 // 240, np.arange(320) * 96 // 320
video = np.stack([barcode_frame(n)[rows][:, columns] for n in range({FRAMES})])
torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)).eval()""",
    f"""\
explorer = VideoExplorer(video, model, methods=["gradcam"], layers=["1"], fps={FPS}, alpha=0.3)
explorer.precompute()
explorer""",
]

#: Fractions of the Play samples allowed to disagree (see the module's docstring).
LABEL_MISMATCH, SLIDER_MISMATCH = 0.05, 0.10
#: Play must show at least this many distinct frames per second (a functional floor; the speed
#: targets live in benchmarks/widgets.py).
MIN_SHOWN_PER_S = 5.0
PLAY_S = 3.0

# Reads the three frame numbers on every animation frame for ``duration`` ms. The picture's
# number comes from its barcode: BARS bars across the width, white = 1, most significant first.
SAMPLER = """([duration, bars]) => new Promise((resolve) => {
    const root = document.querySelector('.xaikit-viewer');
    const canvas = document.createElement('canvas');
    const context = canvas.getContext('2d', {willReadFrequently: true});
    const picture = () => [...root.querySelectorAll('.xaikit-picture img, img.xaikit-picture, img')]
        .find((node) => node.offsetParent !== null);
    const slider = () => {
        const sliders = [...root.querySelectorAll('.widget-slider')];
        const frame = sliders.find((node) =>
            node.querySelector('.widget-label')?.textContent.trim() === 'frame') || sliders[0];
        const text = frame?.querySelector('.widget-readout')?.textContent;
        return text === undefined ? null : parseInt(text, 10);
    };
    const label = () => {
        const match = /frame (\\d+) \\/ (\\d+)/.exec(
            root.querySelector('.xaikit-frame-info')?.textContent || '');
        return match ? parseInt(match[1], 10) : null;
    };
    const decode = (img) => {
        if (!img || !img.complete || !img.naturalWidth) return null;
        const width = img.naturalWidth, height = img.naturalHeight;
        canvas.width = width; canvas.height = height;
        context.drawImage(img, 0, 0);
        let number = 0;
        for (let bar = 0; bar < bars; bar++) {
            const x0 = Math.round((bar + 0.25) * width / bars);
            const x1 = Math.round((bar + 0.75) * width / bars);
            const data = context.getImageData(x0, 0, x1 - x0, height).data;
            let sum = 0;
            for (let i = 0; i < data.length; i += 4) sum += data[i] + data[i + 1] + data[i + 2];
            number = (number << 1) | (sum / (data.length / 4) / 3 > 127 ? 1 : 0);
        }
        return number;
    };
    const samples = [];
    const end = performance.now() + duration;
    const sample = () => {
        const img = picture();
        samples.push({t: performance.now(), slider: slider(), label: label(),
                      picture: decode(img), width: img ? img.naturalWidth : null});
        if (performance.now() < end) requestAnimationFrame(sample); else resolve(samples);
    };
    requestAnimationFrame(sample);
})"""


def read_once(page) -> dict:
    """One sample of slider, label and picture (the sampler for one animation frame)."""
    return page.evaluate(SAMPLER, [0, 8])[-1]


def wait_until_agreed(page, frame: int | None = None, timeout: float = 10.0) -> dict:
    """Wait until slider, label and picture name one frame (``frame`` if given)."""
    deadline = time.monotonic() + timeout
    sample = read_once(page)
    while time.monotonic() < deadline:
        sample = read_once(page)
        names = {sample["slider"], sample["label"], sample["picture"]}
        if len(names) == 1 and (frame is None or names == {frame}):
            return sample
        page.wait_for_timeout(100)
    raise AssertionError(f"slider, label and picture never agreed on frame {frame}: {sample}")


def mismatch_summary(samples: list[dict]) -> dict:
    """Counts of the Play samples: both numbers read, label != picture, |slider - picture| > 1."""
    both = [s for s in samples if s["label"] is not None and s["picture"] is not None]
    with_slider = [s for s in samples if s["slider"] is not None and s["picture"] is not None]
    return {
        "samples": len(samples),
        "label_read": len(both),
        "label_off": sum(s["label"] != s["picture"] for s in both),
        "slider_read": len(with_slider),
        "slider_off": sum(abs(s["slider"] - s["picture"]) > 1 for s in with_slider),
        "shown": len({s["picture"] for s in samples if s["picture"] is not None}),
    }


def test_slider_label_and_picture_agree_during_play(lab, page, tmp_path):
    write_notebook(lab.root / "sync.ipynb", NOTEBOOK_CELLS)
    open_notebook(page, lab, "sync.ipynb")
    try:
        state = run_all_cells(page, 180)
        assert state["run"] == state["total"] and not state["errors"], state
        page.wait_for_selector(".xaikit-viewer img", timeout=60_000)
        first = wait_until_agreed(page, 0)
        assert first["width"] == 320, (
            f"the picture is {first['width']} px wide, not the video's 320"
        )

        handle = page.locator(".xaikit-viewer .widget-slider .noUi-handle").first
        handle.focus()
        for _ in range(3):
            handle.press("ArrowRight")
        wait_until_agreed(page, 3)

        page.locator(".xaikit-viewer .widget-play button").first.click()
        samples = page.evaluate(SAMPLER, [int(PLAY_S * 1000), 8])
        before_stop = read_once(page)
        stop = page.locator(".xaikit-viewer .widget-play button:has(.fa-stop)")
        stop.first.click()
        page.wait_for_timeout(1000)
        stopped = wait_until_agreed(page)
        page.wait_for_timeout(1000)
        later = read_once(page)
    finally:
        shutdown_kernel(page)

    (tmp_path / "play-samples.json").write_text(json.dumps(samples))
    counts = mismatch_summary(samples)
    print(
        f"Play for {PLAY_S:.0f} s: {counts}; {counts['shown'] / PLAY_S:.1f} distinct frames/s; "
        f"before Stop {before_stop}, after Stop {stopped}"
    )
    assert counts["label_read"] >= 0.8 * counts["samples"], (
        f"the label or the picture could not be read in most samples: {counts}"
    )
    assert counts["label_off"] <= LABEL_MISMATCH * counts["label_read"], (
        f"label and picture disagree in {counts['label_off']} of {counts['label_read']} samples"
    )
    assert counts["slider_off"] <= SLIDER_MISMATCH * counts["slider_read"], (
        f"slider and picture are more than one frame apart in {counts['slider_off']} of "
        f"{counts['slider_read']} samples"
    )
    assert counts["shown"] >= MIN_SHOWN_PER_S * PLAY_S, (
        f"Play showed {counts['shown']} distinct frames in {PLAY_S:.0f} s"
    )
    # Play runs on until the click lands and the kernel then shows the frame it reached: the
    # frame kept is the one read before the click or up to STOP_SLACK_S of playing later.
    ahead = stopped["slider"] - before_stop["slider"]
    assert stopped["slider"] != 0 and 0 <= ahead <= STOP_SLACK_S * FPS, (
        f"Stop moved the frame from {before_stop['slider']} to {stopped['slider']}"
    )
    assert later["slider"] == later["picture"] == stopped["slider"], (
        f"after Stop the frame went on from {stopped} to {later}"
    )
    assert page.xaikit_errors == []
