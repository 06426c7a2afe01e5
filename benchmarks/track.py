"""Frames per second of detection alone and of detection + per-detection Grad-CAM, CPU.

Runs demo-mice (or, while its weights are missing, its cfg with random weights — the speed is
the same, the boxes are not) over a 640x480 synthetic resident-intruder video. Per-detection
Grad-CAM explains every detection above 0.25 of each frame through ``xk.explain.frames`` with
the detection table as the target, on the conv layer feeding the first (stride-32) head: once
with one frame per explain call and once with ``--batch-size`` frames per call (all their
detections in one forward and one backward), and prints the ratio.

    python benchmarks/track.py [--frames 60] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import time

import torch

import xaikit as xk
from xaikit.data.synthetic import arena
from xaikit.track import detect_video


def load_detector():
    try:
        return xk.models.load("demo-mice", device="cpu"), "demo-mice (trained)"
    except FileNotFoundError:
        from xaikit.models.zoo import cards

        model = xk.models.load_darknet(cards.WEIGHTS_DIR.parent / "demo-mice.cfg", None, "cpu")
        return model, "demo-mice cfg, RANDOM weights (trained weights missing)"


def gradcam_per_detection(model, frames, layer: str, batch_size: int) -> tuple[float, int]:
    """Seconds to detect and explain every detection (score > 0.25) of every frame, with
    ``batch_size`` frames per explain call; number of detections explained."""
    began = time.perf_counter()
    run = detect_video(model, frames, fps=25, batch_size=batch_size, device="cpu",
                       describe=False, progress=False)  # fmt: skip
    table = run.table[run.table["score"] > 0.25]
    maps = xk.explain.frames(model, frames, "gradcam", layer, table, batch_size=batch_size)
    maps.compute(progress=False)
    return time.perf_counter() - began, len(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10 if xk.is_smoke_run() else 60)
    parser.add_argument("--batch-size", type=int, default=8)
    arguments = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model, name = load_detector()
    clip = arena("resident_intruder", frames=arguments.frames, shape=(480, 640), seed=90_001)
    run = detect_video(model, clip, batch_size=arguments.batch_size, device="cpu", progress=False)
    timing = run.timing()
    single = detect_video(model, clip.frames[:10], fps=clip.fps, batch_size=1, device="cpu",
                          progress=False).timing()  # fmt: skip
    print(f"model: {name}; video 640x480, {arguments.frames} frames; CPU threads "
          f"{torch.get_num_threads()}")  # fmt: skip
    print(f"detection, batch {arguments.batch_size}: {timing['frames_per_second']:.1f} frames/s "
          f"({timing['mean_s'] * 1000:.1f} ms/frame)")  # fmt: skip
    print(f"detection, batch 1 (mice paper Fig. 5 style): {single['mean_s'] * 1000:.1f} "
          f"+- {single['std_s'] * 1000:.1f} ms/frame")  # fmt: skip
    # The 3x3 conv feeding the first (stride-32) head: two layers before its [yolo] layer.
    layer = f"module_list.{int(model.head_layer_names[0].split('.')[1]) - 2}"
    frames = clip.frames[:16]
    one, explained = gradcam_per_detection(model, frames, layer, batch_size=1)
    batched, _ = gradcam_per_detection(model, frames, layer, batch_size=arguments.batch_size)
    print(f"detection + per-detection Grad-CAM ({layer}, {explained} boxes in {len(frames)} "
          f"frames): {len(frames) / one:.2f} frames/s one frame per call, "
          f"{len(frames) / batched:.2f} frames/s {arguments.batch_size} frames per call "
          f"(x{one / batched:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
