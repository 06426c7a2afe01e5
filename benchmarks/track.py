"""Frames per second of detection alone and of detection + per-detection Grad-CAM.

Runs demo-mice (or, while its weights are missing, its cfg with random weights — the speed is
the same, the boxes are not) over a 640x480 synthetic resident-intruder video, on CUDA when
present. Per-detection Grad-CAM explains every detection above 0.25 of each frame through
``xk.explain.frames`` with the detection table as the target, at two layers feeding both heads
(module_list.13 at stride 32 and module_list.8 at stride 16): once with one frame per
explain call and once with ``--batch-size`` frames per call. Each frame is forwarded once and
all its detections share one backward per box rank, so the goal is detection + maps at 0.5x
or more of the frames/s of detection alone; the maps are checked against explaining one box
at a time (within 1e-5). Every figure is the best of three runs in this process.

    python benchmarks/track.py [--frames 60] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import time

import torch

import xaikit as xk
from xaikit.data.synthetic import arena
from xaikit.track import detect_video


def load_detector(device: str):
    try:
        return xk.models.load("demo-mice", device=device), "demo-mice (trained)"
    except FileNotFoundError:
        from xaikit.models.zoo import cards

        model = xk.models.load_darknet(cards.WEIGHTS_DIR.parent / "demo-mice.cfg", None, device)
        return model, "demo-mice cfg, RANDOM weights (trained weights missing)"


def best_of(repeats: int, work) -> float:
    """The shortest of ``repeats`` runs of ``work()``, in seconds."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times)


def detect(model, frames, batch_size: int, device: str):
    return detect_video(model, frames, fps=25, batch_size=batch_size, device=device,
                        describe=False, progress=False)  # fmt: skip


def gradcam_per_detection(model, frames, layers, batch_size: int, device: str) -> int:
    """Detect and explain every detection (score > 0.25) of every frame, ``batch_size``
    frames per call; the number of detections explained."""
    table = detect(model, frames, batch_size, device).table
    table = table[table["score"] > 0.25]
    maps = xk.explain.frames(model, frames, "gradcam", layers, table, batch_size=batch_size,
                             device=device)  # fmt: skip
    maps.compute(progress=False)
    return len(table)


def largest_difference(model, frames, layers, device: str) -> float:
    """Largest difference between the maps of all detections of a few frames explained
    together and those of each detection explained on its own."""
    x, _ = model.preprocess(frames, device=device)
    rows = [found[found[:, 4] > 0.25] for found in model.detect(x)]
    together = xk.explain(model, x, "gradcam", layers, target=rows, progress=False)
    largest, sample = 0.0, 0
    for index, found in enumerate(rows):
        for row in found:
            alone = xk.explain(model, x[index : index + 1], "gradcam", layers, target=row[None],
                               progress=False)  # fmt: skip
            for layer in layers:
                gap = (together.maps[layer][sample] - alone.maps[layer][0]).abs().max()
                largest = max(largest, float(gap))
            sample += 1
    return largest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10 if xk.is_smoke_run() else 60)
    parser.add_argument("--batch-size", type=int, default=8)
    arguments = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, name = load_detector(device)
    clip = arena("resident_intruder", frames=arguments.frames, shape=(480, 640), seed=90_001)
    run = detect_video(model, clip, batch_size=arguments.batch_size, device=device, progress=False)
    timing = run.timing()
    single = detect_video(model, clip.frames[:10], fps=clip.fps, batch_size=1, device=device,
                          progress=False).timing()  # fmt: skip
    print(f"model: {name}; video 640x480, {arguments.frames} frames; device {device}, CPU "
          f"threads {torch.get_num_threads()}")  # fmt: skip
    print(f"detection, batch {arguments.batch_size}: {timing['frames_per_second']:.1f} frames/s "
          f"({timing['mean_s'] * 1000:.1f} ms/frame)")  # fmt: skip
    print(f"detection, batch 1 (mice paper Fig. 5 style): {single['mean_s'] * 1000:.1f} "
          f"+- {single['std_s'] * 1000:.1f} ms/frame")  # fmt: skip
    # Two layers that feed both heads of demo-mice's YOLOv3-tiny: the deepest (stride 32) and
    # the last conv at stride 16 (module_list.8), whose maps are twice as fine.
    layers = [model.default_explain_layer, "module_list.8"]
    frames = clip.frames[:16]
    size = arguments.batch_size
    alone = best_of(3, lambda: detect(model, frames, size, device))
    explained = gradcam_per_detection(model, frames, layers, size, device)
    one = best_of(3, lambda: gradcam_per_detection(model, frames, layers, 1, device))
    batched = best_of(3, lambda: gradcam_per_detection(model, frames, layers, size, device))
    ratio = alone / batched
    print(f"detection alone, {len(frames)} frames, batch {size}: {len(frames) / alone:.1f} "
          "frames/s")  # fmt: skip
    print(f"detection + per-detection Grad-CAM ({', '.join(layers)}; {explained} boxes in "
          f"{len(frames)} frames): {len(frames) / one:.1f} frames/s one frame per call, "
          f"{len(frames) / batched:.1f} frames/s {size} frames per call")  # fmt: skip
    verdict = "met" if ratio >= 0.5 else "missed"
    print(f"goal: detection + maps at >= 0.5x detection alone: {ratio:.2f}x, {verdict}")
    gap = largest_difference(model, frames[:4], layers, device)
    print(
        f"maps of all boxes together vs one box at a time: largest difference {gap:.1e} "
        f"({'within' if gap <= 1e-5 else 'beyond'} 1e-5)"
    )


if __name__ == "__main__":
    main()
