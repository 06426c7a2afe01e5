"""Time VideoExplorer's slider handler at 640x480 with maps cached (budget: 30 ms a change).

Run: ``python benchmarks/widgets.py``. The explorer shows a 640x480 video with a heatmap (maps
of a small random CNN, computed for every frame beforehand, as "compute all maps" does), one
tracked box and its trail. The script then times what one slider change costs in the kernel:
``explorer.slider.value = i`` runs the observer, which blends the cached feature-resolution map,
draws box and trail, JPEG-encodes and sets ``Image.value`` (with a dummy comm, so the time on
the wire is not included). It reports the median and 95th percentile over frames never shown
before (nothing cached but the maps), over frames shown before (the encoded bytes cached), and
over opacity changes, each against the 30 ms budget.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np
import pandas as pd
import torch
from torch import nn

from xaikit.widgets import VideoExplorer

BUDGET_MS = 30.0
HEIGHT, WIDTH, FRAMES = 480, 640, 60


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=4, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 4),
    ).eval()


def scene() -> tuple[np.ndarray, pd.DataFrame]:
    """A textured 640x480 video with a bright square crossing it, and its track table."""
    rng = np.random.default_rng(0)
    background = rng.integers(40, 120, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    video = np.repeat(background[None], FRAMES, axis=0)
    rows = []
    for index in range(FRAMES):
        x0, y0 = 20 + 9 * index, 200 + int(40 * np.sin(index / 6))
        video[index, y0 : y0 + 60, x0 : x0 + 80] = 230
        rows.append({"frame": index, "track": 1, "x0": x0, "y0": y0, "x1": x0 + 80, "y1": y0 + 60})
    return video, pd.DataFrame(rows)


def timed(action, values) -> np.ndarray:
    times = []
    for value in values:
        start = time.perf_counter()
        action(value)
        times.append(1000 * (time.perf_counter() - start))
    return np.array(times)


def report(name: str, times: np.ndarray) -> None:
    median, p95 = np.median(times), np.percentile(times, 95)
    verdict = "within" if p95 <= BUDGET_MS else "OVER"
    print(
        f"{name:<42} median {median:6.2f} ms  p95 {p95:6.2f} ms  "
        f"({p95 / BUDGET_MS:4.0%} of the {BUDGET_MS:.0f} ms budget: {verdict})"
    )


def main() -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"device: CPU ({platform.machine()}), {cores} usable cores, torch threads "
        f"{torch.get_num_threads()}; load average {os.getloadavg()[0]:.1f}"
    )
    video, tracks = scene()
    explorer = VideoExplorer(
        video,
        small_cnn(),
        methods=["gradcam", "layercam"],
        layers=["1", "3"],
        tracks=tracks,
        batch_size=16,
        fps=30,
    )
    explorer.precompute()  # every map cached at feature resolution
    assert explorer.maps.get(0, "gradcam", "3").shape == (HEIGHT // 8, WIDTH // 8)
    frames = list(range(1, FRAMES))
    report(
        "slider, new frame (blend + draw + JPEG)",
        timed(lambda i: setattr(explorer.slider, "value", i), frames),
    )
    report(
        "slider, frame seen before (bytes cached)",
        timed(lambda i: setattr(explorer.slider, "value", i), frames[::-1]),
    )
    opacities = [round(a, 2) for a in np.linspace(0.05, 0.95, 19)]
    report(
        "opacity slider (blend + draw + JPEG)",
        timed(lambda a: setattr(explorer.alpha, "value", a), opacities),
    )
    print(f"picture {WIDTH}x{HEIGHT}, JPEG {len(explorer.image.value) / 1024:.0f} KiB")
    assert explorer.error_message == "", explorer.error_message
    explorer.close()


if __name__ == "__main__":
    main()
