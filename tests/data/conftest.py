"""Fixtures for the data tests: tiny barcode videos written with PyAV (see barcodes.py)."""

import pytest

from .barcodes import FLAVOURS, Flavour, write_barcode_video


@pytest.fixture(scope="session")
def barcode_videos(tmp_path_factory) -> dict[str, tuple]:
    """{flavour name: (path, flavour)} for every flavour in FLAVOURS."""
    folder = tmp_path_factory.mktemp("videos")
    videos = {}
    for flavour in FLAVOURS:
        path = folder / f"{flavour.name}{flavour.suffix}"
        write_barcode_video(path, flavour)
        videos[flavour.name] = (path, flavour)
    return videos


@pytest.fixture
def barcode_video(tmp_path):
    """A fresh H.264 video with B-frames in its own folder (for tests that touch the cache)."""
    flavour = Flavour("fresh", b_frames=2, frames=30)
    path = tmp_path / "fresh.mp4"
    write_barcode_video(path, flavour)
    return path
