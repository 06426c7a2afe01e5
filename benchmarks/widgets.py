"""Time the VideoExplorer against the issue's goals, in one run.

Run: ``python benchmarks/widgets.py [--frames 300]``. A 640x480 video of 300 frames (a textured
arena with a bright square crossing it, one tracked box) is written to an MP4 file and opened
from there, so frames are really decoded. Widgets have no kernel here (a dummy comm): the times
are what the kernel spends, not the wire.

(a) slider -> picture, maps not computed: the explorer explains a ResNet-18 (random weights,
    about 1.3 s per chunk of 8 frames on one core); right after it opens, the slider jumps to
    frames whose maps do not exist yet; timed from ``slider.value = i`` to the moment the
    picture of frame ``i`` is set (without its map, which follows). Goal: under 50 ms.
(b) Play, maps precomputed: a small CNN's maps for every frame computed first; then Play's value
    is set as the browser's Play timer would, 30 values a second for 3 s; counted: distinct frames
    whose picture (with its map) was actually set in those 3 s. Goal: at least 20 per second.
(c) smooth playback preparation (maps precomputed): from the toggle to the flipbook of every
    frame in place, per frame. Goal: at most 10 ms per frame.

Also printed, as before: what drawing one frame costs (map + blend + boxes + trail + JPEG) for a
frame never shown, for a frame shown before (bytes cached), and per opacity change.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from xaikit.data import write_video
from xaikit.widgets import VideoExplorer

HEIGHT, WIDTH, FPS = 480, 640, 30
SLIDER_GOAL_MS, PLAY_GOAL_FPS, SMOOTH_GOAL_MS, DRAW_BUDGET_MS = 50.0, 20.0, 10.0, 30.0


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


def resnet18() -> nn.Module:
    from torchvision.models import resnet18 as build

    torch.manual_seed(0)
    return build(weights=None).eval()


def scene(frames: int) -> tuple[np.ndarray, pd.DataFrame]:
    """A textured 640x480 video with a bright square crossing it, and its track table."""
    rng = np.random.default_rng(0)
    background = rng.integers(40, 120, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    video = np.repeat(background[None], frames, axis=0)
    rows = []
    for index in range(frames):
        x0 = 20 + (9 * index) % (WIDTH - 120)
        y0 = 200 + int(40 * np.sin(index / 6))
        video[index, y0 : y0 + 60, x0 : x0 + 80] = 230
        rows.append({"frame": index, "track": 1, "x0": x0, "y0": y0, "x1": x0 + 80, "y1": y0 + 60})
    return video, pd.DataFrame(rows)


class PictureLog:
    """Records ``(time, frame, with map)`` each time the explorer sets its picture."""

    def __init__(self, explorer: VideoExplorer):
        self.explorer, self.events = explorer, []
        self._changed = threading.Condition()
        explorer.image.observe(self._on_picture, names="value")

    def _on_picture(self, change) -> None:
        explorer = self.explorer
        index = explorer.shown  # set just before the picture
        with self._changed:
            self.events.append((time.perf_counter(), index, explorer._map_ready(index)))
            self._changed.notify_all()

    def wait_for(self, index: int, timeout: float = 10.0) -> float | None:
        """The time frame ``index``'s picture was set (waiting for it), ``None`` on timeout."""
        deadline = time.perf_counter() + timeout
        with self._changed:
            while True:
                for when, shown, _ in reversed(self.events):
                    if shown == index:
                        return when
                left = deadline - time.perf_counter()
                if left <= 0:
                    return None
                self._changed.wait(left)


def verdict(ok: bool) -> str:
    return "meets the goal" if ok else "MISSES the goal"


def jumps(explorer: VideoExplorer, log: PictureLog, targets) -> tuple[list[float], int]:
    """Slider jumps to ``targets``, 150 ms apart (a user's drag, not a burst): the time from
    each move to its picture, and how many showed before their map."""
    latencies, without_map = [], 0
    for index in targets:
        index = int(index)
        start = time.perf_counter()
        explorer.slider.value = index
        shown = log.wait_for(index)
        latencies.append(1000 * (shown - start))
        without_map += not next(m for _, i, m in reversed(log.events) if i == index)
        time.sleep(0.15)
    return latencies, without_map


def slider_line(name: str, latencies: list[float], without_map: int) -> None:
    median, p95 = np.median(latencies), np.percentile(latencies, 95)
    print(
        f"{name}: median {median:5.1f} ms, p95 {p95:5.1f} ms over {len(latencies)} jumps "
        f"({without_map} shown before their map); goal < {SLIDER_GOAL_MS:.0f} ms: p95 at "
        f"{p95 / SLIDER_GOAL_MS:.0%} of it, {verdict(p95 < SLIDER_GOAL_MS)}"
    )
    print("    each jump in order, ms: " + " ".join(f"{ms:.0f}" for ms in latencies))


def slider_latency(path: Path, tracks: pd.DataFrame, frames: int) -> None:
    explorer = VideoExplorer(
        path, resnet18(), methods=["gradcam"], layers=["layer4"], tracks=tracks, batch_size=8
    )
    log = PictureLog(explorer)
    targets = np.random.default_rng(1).permutation(np.arange(8, frames, 8))
    slider_line(
        "(a) slider -> new frame shown, maps not computed, right after opening",
        *jumps(explorer, log, targets[:15]),
    )
    time.sleep(2.0)  # a user looks at the first picture; the video is decoded meanwhile
    slider_line(
        "    same, 2 s after opening (maps still computing on the worker thread)",
        *jumps(explorer, log, targets[15:30]),
    )
    start = time.perf_counter()
    explorer._worker.ensure(explorer.slider.value)
    assert explorer.wait(10.0, maps=False)
    follow = time.perf_counter() - start
    print(f"    the last frame's map followed {follow:.1f} s later (ResNet-18 chunk of 8 frames)")
    assert explorer.error_message == "", explorer.error_message
    explorer.close()


def play_rate(explorer: VideoExplorer, log: PictureLog, seconds: float = 3.0) -> None:
    ticks = int(seconds * FPS)
    first = explorer.slider.value + 1
    explorer.play.playing = True
    start = time.perf_counter()
    for tick in range(ticks):
        time.sleep(max(0.0, start + tick / FPS - time.perf_counter()))
        explorer.play.value = (first + tick) % len(explorer.frames)
    end = start + seconds
    explorer.play.playing = False
    time.sleep(0.05)
    shown = {i for t, i, with_map in log.events if start <= t <= end + 0.05 and with_map}
    rate = len(shown) / seconds
    print(
        f"(b) Play at {FPS} fps for {seconds:.0f} s, maps precomputed: {len(shown)} distinct "
        f"frames shown with their map = {rate:4.1f} per second; goal >= {PLAY_GOAL_FPS:.0f}: "
        f"{rate / PLAY_GOAL_FPS:.0%} of it, {verdict(rate >= PLAY_GOAL_FPS)}"
    )


def smooth_preparation(explorer: VideoExplorer) -> None:
    count = len(explorer.frames)
    explorer.cmap.value = "inferno"  # a setting no picture was encoded with yet
    assert explorer.wait(60)
    start = time.perf_counter()
    explorer.smooth.value = True
    assert explorer.wait(600), "the flipbook was not built in 10 minutes"
    per_frame = 1000 * (time.perf_counter() - start) / count
    assert explorer._flipbook, explorer.error_message
    print(
        f"(c) smooth playback preparation, maps precomputed: {per_frame:5.2f} ms per frame "
        f"({count} frames, compose + JPEG + page widgets); goal <= {SMOOTH_GOAL_MS:.0f} ms: "
        f"{per_frame / SMOOTH_GOAL_MS:.0%} of it, {verdict(per_frame <= SMOOTH_GOAL_MS)}"
    )
    explorer.smooth.value = False


def timed(action, values) -> np.ndarray:
    times = []
    for value in values:
        start = time.perf_counter()
        action(value)
        times.append(1000 * (time.perf_counter() - start))
    return np.array(times)


def report(name: str, times: np.ndarray) -> None:
    median, p95 = np.median(times), np.percentile(times, 95)
    print(
        f"    {name:<44} median {median:6.2f} ms  p95 {p95:6.2f} ms  "
        f"({p95 / DRAW_BUDGET_MS:4.0%} of {DRAW_BUDGET_MS:.0f} ms)"
    )


def draw_costs(explorer: VideoExplorer, frames: int) -> None:
    print("per-change cost in the kernel (the renderer thread's work per picture):")
    explorer.cmap.value = "viridis"  # a setting no picture was encoded with yet
    assert explorer.wait(60)
    fresh = list(range(frames // 2, frames // 2 + 40))
    report("draw a frame never shown (map+blend+JPEG)", timed(explorer._draw, fresh))
    report("draw a frame shown before (bytes cached)", timed(explorer._draw, fresh[::-1]))

    def opacity(value: float) -> None:
        explorer.alpha.value = value
        explorer._draw(explorer.slider.value)

    report("opacity change (blend + JPEG)", timed(opacity, np.linspace(0.05, 0.95, 19)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    frames = parser.parse_args().frames
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"device: CPU ({platform.machine()}), {cores} usable cores, torch threads "
        f"{torch.get_num_threads()}; load average {os.getloadavg()[0]:.1f}"
    )
    video, tracks = scene(frames)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "arena.mp4"
        write_video(path, video, fps=FPS)
        size = path.stat().st_size >> 10
        print(f"video: {frames} frames of {WIDTH}x{HEIGHT} at {FPS} fps, MP4 ({size} KiB)")
        slider_latency(path, tracks, frames)
        explorer = VideoExplorer(
            path, small_cnn(), methods=["gradcam", "layercam"], layers=["1", "3"],
            tracks=tracks, batch_size=16,
        )  # fmt: skip
        start = time.perf_counter()
        explorer.precompute()
        print(
            f"    (maps of the small CNN for {frames} frames: {time.perf_counter() - start:.1f} s)"
        )
        log = PictureLog(explorer)
        play_rate(explorer, log)
        smooth_preparation(explorer)
        draw_costs(explorer, frames)
        print(f"picture {WIDTH}x{HEIGHT}, JPEG {len(explorer.image.value) / 1024:.0f} KiB")
        assert explorer.error_message == "", explorer.error_message
        explorer.close()


if __name__ == "__main__":
    main()
