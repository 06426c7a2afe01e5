"""Frame-exact video reading: speed against raw PyAV and OpenCV, and exactness against OpenCV.

Writes two 640x480 H.264 test videos whose frames show their own number as a barcode: a
constant-rate one with x264's default settings (B-frames, keyframe every 250 frames) and a
variable-rate one (one timestamp slot skipped every 25 frames, as a camera dropping frames)
with B-frames and a keyframe every 30 frames; and the constant-rate one in AVI, whose stamps
count packets, so that the index is built by decoding the stream once. For each it prints:

* index build time (first open) and cached open time;
* sequential frames/s of ``xaikit`` iteration, raw PyAV decoding and OpenCV ``read()``;
* random-access frames/s and wrong frames for ``xaikit`` ``reader[i]`` and for OpenCV
  ``CAP_PROP_POS_FRAMES`` + ``read()``, on the same shuffled frame numbers.

Then scrubbing a long video as the widgets do: a ``--proxy-minutes`` (10) minute 640x480 H.264
file with a keyframe every 250 frames, random frames at display size before and after its
proxy pass (:func:`xaikit.data.proxy.build_proxy`), their p95 against the 30 ms goal, and the
proxy pass's frames/s against the 150 frames/s goal.

Run: ``python benchmarks/video.py [--proxy-minutes 10]`` (CPU only; video decoding does not
use the GPU here).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from xaikit.data import open_video

WIDTH, HEIGHT, BARS, FRAMES, RANDOM_READS = 640, 480, 10, 600, 150


def barcode(number: int) -> np.ndarray:
    bits = np.array([(number >> (BARS - 1 - bar)) & 1 for bar in range(BARS)], np.uint8) * 255
    row = np.repeat(bits, WIDTH // BARS)
    frame = np.repeat(row[None, :, None], HEIGHT, axis=0).repeat(3, axis=2)
    noise = np.random.default_rng(number).integers(0, 40, (HEIGHT, WIDTH, 1), dtype=np.uint8)
    return np.where(frame > 0, frame - noise, frame + noise)  # texture for the encoder


def read_barcode(frame: np.ndarray) -> int:
    bar = WIDTH // BARS
    values = [frame[:, k * bar + 8 : (k + 1) * bar - 8].mean() > 127 for k in range(BARS)]
    return int("".join("1" if v else "0" for v in values), 2)


def write(path: Path, variable_rate: bool, gop: int | None, frames: int = FRAMES) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 30)
        options = {"crf": "23", "preset": "veryfast"}
        if gop is not None:
            options.update(g=str(gop), keyint_min=str(gop))
        stream.options = options
        slot = 0
        for number in range(frames):
            frame = av.VideoFrame.from_ndarray(barcode(number), format="rgb24")
            frame.pts, frame.time_base = slot, Fraction(1, 30)
            slot += 2 if variable_rate and number % 25 == 24 else 1
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def pyav_sequential(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(
            1 for frame in container.decode(stream) if frame.to_ndarray(format="rgb24") is not None
        )


def opencv_sequential(path: Path) -> int:
    capture, count = cv2.VideoCapture(str(path)), 0
    while True:
        ok, frame = capture.read()
        if not ok:
            return count
        cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        count += 1


def opencv_random(path: Path, order) -> list:
    capture, frames = cv2.VideoCapture(str(path)), []
    for number in order:
        capture.set(cv2.CAP_PROP_POS_FRAMES, number)
        ok, frame = capture.read()
        frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if ok else None)
    return frames


def measure(path: Path, label: str) -> None:
    cache = path.parent / f".{path.name}.xaikit-index.npz"
    cache.unlink(missing_ok=True)
    reader, first_open = timed(lambda: open_video(path))
    _, cached_open = timed(lambda: open_video(path))
    frames = len(reader)
    order = random.Random(0).sample(range(frames), RANDOM_READS)

    ours_sequential, ours_seq_time = timed(lambda: list(open_video(path)))
    ours_sequential = [read_barcode(frame) for frame in ours_sequential]
    pyav_count, pyav_time = timed(lambda: pyav_sequential(path))
    cv_count, cv_time = timed(lambda: opencv_sequential(path))
    random_reader = open_video(path)
    ours_random, ours_random_time = timed(lambda: [random_reader[i] for i in order])
    ours_random = [read_barcode(frame) for frame in ours_random]
    cv_frames, cv_random_time = timed(lambda: opencv_random(path, order))
    cv_wrong = sum(f is None or read_barcode(f) != n for f, n in zip(cv_frames, order, strict=True))

    ours_wrong = sum(a != b for a, b in zip(ours_random, order, strict=True))
    ours_seq_wrong = sum(a != b for a, b in zip(ours_sequential, range(frames), strict=True))
    print(f"\n{label}: {frames} frames {WIDTH}x{HEIGHT}, {len(reader.keyframes)} keyframes")
    print(
        f"  index: first open {first_open * 1000:.0f} ms, cached open {cached_open * 1000:.0f} ms"
    )
    print("  sequential frames/s (incl. RGB conversion):")
    print(f"    xaikit   {frames / ours_seq_time:7.1f}   wrong frames {ours_seq_wrong}")
    print(
        f"    PyAV raw {pyav_count / pyav_time:7.1f}   "
        f"xaikit/PyAV  {pyav_time / ours_seq_time:.2f}x"
    )
    print(f"    OpenCV   {cv_count / cv_time:7.1f}   xaikit/OpenCV {cv_time / ours_seq_time:.2f}x")
    print(f"  random access frames/s ({RANDOM_READS} shuffled reads):")
    print(f"    xaikit   {RANDOM_READS / ours_random_time:7.1f}   wrong frames {ours_wrong}")
    print(
        f"    OpenCV   {RANDOM_READS / cv_random_time:7.1f}   wrong frames {cv_wrong}"
        f"   xaikit/OpenCV {cv_random_time / ours_random_time:.2f}x"
    )


def read_times(source, order) -> tuple[list[float], int]:
    """Milliseconds of each ``source.display(i)`` over ``order``, and the wrong frames."""
    times, wrong = [], 0
    for number in order:
        start = time.perf_counter()
        frame = source.display(number)
        times.append((time.perf_counter() - start) * 1000)
        wrong += read_barcode(frame) != number % (1 << BARS)  # the barcode has BARS bits
    return times, wrong


def measure_proxy(folder: Path, minutes: float) -> None:
    from xaikit.widgets._frames import FrameSource

    frames = round(minutes * 60 * 30)
    path = folder / "long_gop250.mp4"
    _, written = timed(lambda: write(path, variable_rate=False, gop=250, frames=frames))
    print(f"\nscrubbing {minutes:g} min ({frames} frames) 640x480 H.264, GOP 250 "
          f"(written in {written:.0f} s)")  # fmt: skip
    before, wrong_before = read_times(FrameSource(path), random.Random(1).sample(range(frames), 40))
    print(f"  before the proxy: random frame p95 {np.percentile(before, 95):.0f} ms "
          f"(median {np.median(before):.0f} ms), wrong frames {wrong_before}")  # fmt: skip
    source = FrameSource(path)
    _, built = timed(source.build_proxy)
    rate = frames / built
    print(f"  proxy pass: {rate:.0f} frames/s ({built:.0f} s); goal 150 frames/s: "
          f"{'met' if rate >= 150 else 'missed'}")  # fmt: skip
    after, wrong_after = read_times(source, random.Random(2).sample(range(frames), 500))
    p95, verdict = np.percentile(after, 95), "met" if np.percentile(after, 95) <= 30 else "missed"
    print(f"  after the proxy: random frame p95 {p95:.1f} ms (median {np.median(after):.1f} ms), "
          f"wrong frames {wrong_after}; goal 30 ms: {verdict}")  # fmt: skip


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy-minutes", type=float, default=10.0)
    arguments = parser.parse_args()
    print(f"python {sys.version.split()[0]}, PyAV {av.__version__}, OpenCV {cv2.__version__}, CPU")
    folder = Path(tempfile.mkdtemp(prefix="xaikit-video-bench-"))
    constant, variable = folder / "cfr_default_x264.mp4", folder / "vfr_bframes_gop30.mp4"
    write(constant, variable_rate=False, gop=None)
    write(variable, variable_rate=True, gop=30)
    avi = folder / "cfr_bframes_gop30.avi"
    write(avi, variable_rate=False, gop=30)
    measure(constant, "CFR, x264 defaults (B-frames, GOP 250)")
    measure(variable, "VFR (a dropped slot every 25 frames), B-frames, GOP 30")
    measure(avi, "AVI (stamps in decode order: indexed by decoding), B-frames, GOP 30")
    measure_proxy(folder, arguments.proxy_minutes)


if __name__ == "__main__":
    main()
