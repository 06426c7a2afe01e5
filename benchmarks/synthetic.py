"""Speed of the synthetic generators, against the issue's target (a 300-frame 640x480 arena
clip in under 10 s) and against plain frame copying as a floor.

Run: ``python benchmarks/synthetic.py`` (CPU only; the generators use numpy and OpenCV).
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from xaikit.data.synthetic import actions, arena, observers, shapes

TARGET_SECONDS = 10.0


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def main() -> None:
    print("CPU; every figure is one run, so expect some noise on a shared machine")
    floor_frames = np.zeros((300, 480, 640, 3), np.uint8)
    _, copy_time = timed(lambda: [floor_frames[i].copy() for i in range(300)])
    print(f"floor: copying 300 frames of 640x480 takes {copy_time * 1000:.0f} ms")

    for setup in ("open_field", "resident_intruder", "home_cage"):
        clip, seconds = timed(lambda setup=setup: arena(setup, frames=300, seed=0))
        height, width = clip.frames.shape[1:3]
        verdict = "meets" if seconds < TARGET_SECONDS else "MISSES"
        print(
            f"arena {setup:18s} 300 frames {width}x{height}: {seconds:5.2f} s "
            f"({300 / seconds:6.1f} frames/s), {verdict} the {TARGET_SECONDS:.0f} s target "
            f"by {TARGET_SECONDS / seconds:.1f}x"
        )

    clip = arena("resident_intruder", frames=300, seed=0)
    with tempfile.TemporaryDirectory() as folder:
        _, export_time = timed(lambda: clip.save(folder, formats=("yolo", "coco")))
    print(f"export of that clip (mp4 + YOLO txt + COCO JSON): {export_time:.2f} s")

    data, seconds = timed(lambda: shapes(100, (224, 224), seed=0))
    print(f"shapes  100 images 224x224: {seconds:5.2f} s ({100 / seconds:6.1f} images/s)")
    _, seconds = timed(lambda: actions(32, frames=16, shape=(112, 112), seed=0))
    print(f"actions 32 clips 16x112x112: {seconds:5.2f} s ({32 / seconds:6.1f} clips/s)")
    table, seconds = timed(lambda: observers(data, subjects=15, seed=0))
    print(f"observers 15 subjects x 100 images: {seconds:5.2f} s, {len(table)} fixations")


if __name__ == "__main__":
    main()
