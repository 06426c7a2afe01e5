"""A write_video killed mid-write (SIGKILL) costs neither the previous file nor leaves a video."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from xaikit._atomic import is_partial
from xaikit.data import VideoError, open_video, write_video

from .barcodes import barcode_frame, read_barcode

# Writes an endless video over the path given: the parent kills it once data is on disk.
WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from xaikit.data import write_video

    def frames():
        for number in range(10**6):
            if number == 30:
                print("writing", flush=True)
            if number >= 30:
                time.sleep(0.01)
            yield np.random.default_rng(number).integers(0, 256, (64, 96, 3), np.uint8)

    write_video(sys.argv[1], frames(), fps=30, keyframe_interval=5)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_write_keeps_the_previous_video(tmp_path):
    path = tmp_path / "session.mp4"
    write_video(path, np.stack([barcode_frame(n) for n in range(12)]), fps=10)
    before, frames_before = path.read_bytes(), open_video(path, use_cache=False)[:]
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        deadline = time.monotonic() + 30
        while not any(p.stat().st_size > 50_000 for p in tmp_path.iterdir() if is_partial(p)):
            assert time.monotonic() < deadline, "the writer wrote nothing to its temporary file"
            time.sleep(0.05)
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    assert writer.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    reader = open_video(path, use_cache=False)
    assert [read_barcode(frame) for frame in reader] == list(range(12))
    np.testing.assert_array_equal(reader[:], frames_before)
    leftovers = [p for p in tmp_path.iterdir() if p != path]
    assert leftovers and all(is_partial(p) and p.name.startswith(".") for p in leftovers)
    for leftover in leftovers:
        with pytest.raises(VideoError, match=r"unfinished write \(a temporary \.partial file"):
            open_video(leftover)
