"""The scrubbing proxy: every frame right (by its barcode), rebuilt when the video changes,
atomic when stopped, refused when damaged, and what a widget's frame source shows."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from xaikit.data.proxy import build_proxy, open_proxy, proxy_paths
from xaikit.widgets._frames import FrameSource

from .barcodes import HEIGHT, WIDTH, read_barcode, sequential_decode

SHAPE = (HEIGHT, WIDTH)


def test_every_proxy_frame_is_its_own_frame(barcode_video):
    proxy = build_proxy(barcode_video, SHAPE)
    original = sequential_decode(barcode_video)
    assert len(proxy) == len(original) == 30 and proxy.path == proxy_paths(barcode_video, SHAPE)[0]
    for index in np.random.default_rng(0).permutation(len(proxy)):
        frame = proxy[int(index)]
        assert read_barcode(frame) == index
        assert np.abs(frame.astype(int) - original[index]).mean() < 3  # JPEG at quality 90
    with pytest.raises(IndexError, match="out of range"):
        proxy[30]


def test_a_proxy_is_reused_and_rebuilt_once_the_video_changes(barcode_video):
    built = build_proxy(barcode_video, SHAPE)
    assert open_proxy(barcode_video, SHAPE).path == built.path
    assert open_proxy(barcode_video, (32, 48)) is None  # another display size
    stat = os.stat(barcode_video)
    os.utime(barcode_video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert open_proxy(barcode_video, SHAPE) is None
    assert build_proxy(barcode_video, SHAPE).fits(barcode_video)


def test_a_stopped_build_leaves_no_file(barcode_video):
    calls = []
    assert build_proxy(barcode_video, SHAPE, stop=lambda: calls.append(1) or len(calls) > 5) is None
    assert sorted(p.name for p in barcode_video.parent.iterdir()) == [
        ".fresh.mp4.xaikit-index.npz",
        "fresh.mp4",
    ]


def test_a_damaged_proxy_is_not_used(barcode_video):
    path = build_proxy(barcode_video, SHAPE).path
    path.write_bytes(path.read_bytes()[:-100])
    assert open_proxy(barcode_video, SHAPE) is None
    path.write_bytes(b"XKPROXY1" + (10**9).to_bytes(8, "little"))
    assert open_proxy(barcode_video, SHAPE) is None
    assert read_barcode(build_proxy(barcode_video, SHAPE)[7]) == 7  # built again


def test_a_read_only_folder_puts_the_proxy_in_the_user_cache(barcode_video, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    beside, cached = proxy_paths(barcode_video, SHAPE)
    writable = os.access
    # the video's folder reads as read-only (as root, chmod would not stop the write)
    monkeypatch.setattr(
        os, "access", lambda path, mode: path != beside.parent and writable(path, mode)
    )
    assert build_proxy(barcode_video, SHAPE).path == cached
    assert not beside.exists() and open_proxy(barcode_video, SHAPE).path == cached


def test_a_frame_source_shows_proxy_frames_once_built(barcode_video):
    source = FrameSource(barcode_video, width=48)
    assert source.proxy is None and read_barcode(_upscaled(source.display(3))) == 3
    assert source.build_proxy()
    assert source.proxy.shape == source.shape == (32, 48)
    assert all(read_barcode(_upscaled(source.display(i))) == i for i in (29, 0, 17))
    assert not FrameSource(np.zeros((3, 20, 40, 3), np.uint8)).build_proxy()


def test_the_original_decode_replaces_the_proxy_frame_once_asked(barcode_video):
    source = FrameSource(barcode_video, width=48)
    assert source.build_proxy()
    from_proxy = source.display(5)
    assert not source.is_original(5) and read_barcode(_upscaled(from_proxy)) == 5
    original = source.original(5)
    exact = FrameSource(barcode_video, width=48).display(5)  # no proxy: the video's decode
    assert np.array_equal(original, exact) and not np.array_equal(original, from_proxy)
    assert source.is_original(5) and source.display(5) is original


def test_the_explorer_shows_the_original_frame_once_paused(barcode_video):
    from xaikit.viz.encode import decode_image
    from xaikit.widgets import VideoExplorer

    explorer = VideoExplorer(barcode_video, width=48)
    try:
        deadline = time.monotonic() + 30
        while explorer.frames.proxy is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert explorer.frames.proxy is not None
        explorer.slider.value = 11
        assert explorer.wait(30)
        assert explorer.shown == 11 and explorer.frames.is_original(11)
        exact = FrameSource(barcode_video, width=48).display(11)
        shown = decode_image(explorer.image.value).astype(int)
        assert np.abs(shown - exact).mean() < 3 and read_barcode(_upscaled(exact)) == 11
        assert np.array_equal(explorer.picture(), exact)  # composed from the original
    finally:
        explorer.close()


def _upscaled(frame):
    import cv2

    return cv2.resize(frame, (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST)
