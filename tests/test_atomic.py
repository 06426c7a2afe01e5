"""Every writer of xaikit keeps the previous file (or file set) when it is killed or the disk fills.

Kill tests: a forked process writes a large output over a small one and is SIGKILLed once its
temporary ``.partial`` file (or staging folder) exists and grows; the previous output must read
back byte for byte, and everything new in the folder must carry a ``.partial`` name. Full-disk
tests: ``fsync`` raises ``ENOSPC``; the previous output survives and nothing is left behind.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from xaikit import _atomic
from xaikit.data.annotations import (
    Annotations,
    read_coco,
    read_voc,
    read_yolo,
    write_coco,
    write_voc,
    write_yolo,
)
from xaikit.explain.cache import ChunkStore
from xaikit.models.zoo.cards import read_card, write_card
from xaikit.study.zoo import save_weights

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the kill tests fork a writer (Linux)"
)


# ------------------------------------------------------------------------------ the writers


def table(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(rows)
    return pd.DataFrame({"frame": np.arange(rows), "cx": rng.random(rows), "cy": rng.random(rows)})


def annotations(images: int, boxes_per_image: int = 1) -> Annotations:
    """Boxes of mice and rats; the class order flips with the parity of ``images``, so that a
    re-export with another count swaps the class ids (a mixed set would swap labels)."""
    names = [f"frame{number:06d}.jpg" for number in range(images)]
    image_column = np.repeat(names, boxes_per_image)
    boxes = pd.DataFrame(
        {
            "image": image_column,
            "label": ["mouse", "rat"] * (len(image_column) // 2)
            + ["mouse"] * (len(image_column) % 2),
            "x0": 10.0,
            "y0": 20.0,
            "x1": 50.0,
            "y1": 60.0,
        }
    )
    images_table = pd.DataFrame({"image": names, "width": 640, "height": 480})
    return Annotations(images_table, boxes, ["mouse", "rat"] if images % 2 else ["rat", "mouse"])


def darknet(filters: int, layers: int):
    from xaikit.models.darknet import Darknet

    conv = f"[convolutional]\nfilters={filters}\nsize=3\nbatch_normalize=1\nactivation=leaky\n"
    head = "[convolutional]\nfilters=6\nsize=1\nactivation=linear\n[yolo]\nanchors=4,4\nclasses=1\n"
    return Darknet.from_cfg("[net]\nwidth=32\nheight=32\nchannels=3\n" + conv * layers + head)


def canonical(value):
    """A value comparable with ``==``: tables and annotations become plain dicts and lists."""
    if isinstance(value, pd.DataFrame):
        return value.to_dict("list")
    if isinstance(value, Annotations):
        return canonical(value.images), canonical(value.boxes), value.classes
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.tolist()
    return value


class Writer:
    """One writer: ``make(size)`` builds its input, ``write(value, folder)`` writes it and
    ``read(folder)`` reads the result back."""

    def __init__(self, make, write, read, small, large):
        self.make, self.write, self.read = make, write, read
        self.small, self.large = small, large


WRITERS = {
    "save_table csv": Writer(
        table,
        lambda value, folder: _save_table(value, folder / "t.csv"),
        lambda folder: pd.read_csv(folder / "t.csv"),
        10,
        1_500_000,
    ),
    "save_table parquet": Writer(
        table,
        lambda value, folder: _save_table(value, folder / "t.parquet"),
        lambda folder: pd.read_parquet(folder / "t.parquet"),
        10,
        6_000_000,
    ),
    "write_coco": Writer(
        lambda size: annotations(size, 20),
        lambda value, folder: write_coco(value, folder / "a.json"),
        lambda folder: read_coco(folder / "a.json"),
        3,
        1_500,
    ),
    "write_yolo": Writer(
        annotations,
        write_yolo,
        lambda folder: read_yolo(folder, (480, 640)),
        3,
        4_000,
    ),
    "write_voc": Writer(annotations, write_voc, read_voc, 3, 3_000),
    "ChunkStore.save": Writer(
        lambda size: {
            f"maps{number}": np.full((size, 256), number, np.float32) for number in range(400)
        },
        lambda value, folder: ChunkStore(folder, {"video": "v"}).save(0, value),
        lambda folder: ChunkStore(folder, {"video": "v"}).load(0),
        1,
        1024,
    ),
    "write_card": Writer(
        lambda size: {"name": "demo-x", "scores": [{"item": n, "score": 0.5} for n in range(size)]},
        write_card,
        lambda folder: read_card("demo-x", folder),
        3,
        600_000,
    ),
    "save_weights pt": Writer(
        lambda size: torch.nn.Sequential(*(torch.nn.Linear(size, size) for _ in range(200))),
        lambda value, folder: save_weights(value, folder / "m.pt"),
        lambda folder: torch.load(folder / "m.pt", weights_only=True),
        2,
        300,
    ),
    "save_weights darknet": Writer(
        lambda size: darknet(size, 8),
        lambda value, folder: save_weights(value, folder / "m.weights"),
        lambda folder: (folder / "m.weights").read_bytes(),
        4,
        512,
    ),
}


def _save_table(value, path):
    from xaikit.track import save_table

    return save_table(value, path)


# ------------------------------------------------------------------------------ helpers


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` outside ``.partial`` entries, with its bytes."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not any(_atomic.is_partial(part) for part in path.parts)
    }


def files(folder: Path) -> set[Path]:
    """Every file under ``folder``, relative to it."""
    return {path.relative_to(folder) for path in folder.rglob("*") if path.is_file()}


def partial_size(folder: Path) -> int:
    """Bytes plus files of the ``.partial`` entries under ``folder`` (how far a write has got)."""
    total = 0
    for file in files(folder):
        if any(_atomic.is_partial(part) for part in file.parts):
            try:
                total += (folder / file).stat().st_size + 1
            except FileNotFoundError:  # moved or removed meanwhile
                pass
    return total


def kill_mid_write(write, folder: Path, timeout: float = 30.0) -> None:
    """Run ``write()`` in a forked process; SIGKILL it once its partial output grows."""
    process = multiprocessing.get_context("fork").Process(target=write, daemon=True)
    process.start()
    deadline, last = time.monotonic() + timeout, 0
    try:
        while time.monotonic() < deadline:
            size = partial_size(folder)
            if last > 0 and size > last:
                break
            last = size
            assert process.is_alive(), "the write ended before it could be killed: make it larger"
            time.sleep(0.002)
        else:
            raise AssertionError(f"no growing .partial output in {timeout} s")
    finally:
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
        process.join()
    assert process.exitcode == -signal.SIGKILL, "killed after it had finished: make it larger"


@pytest.fixture(params=list(WRITERS), ids=list(WRITERS))
def writer(request) -> Writer:
    return WRITERS[request.param]


@pytest.fixture
def written(writer, tmp_path):
    """A folder holding the small output of ``writer`` and a file of the user's."""
    (tmp_path / "photo.jpg").write_bytes(b"the user's own image")
    writer.write(writer.make(writer.small), tmp_path)
    return tmp_path


# ------------------------------------------------------------------------------ the tests


def test_a_killed_write_keeps_the_previous_output(writer, written):
    before, names, read = snapshot(written), files(written), writer.read(written)
    large = writer.make(writer.large)
    kill_mid_write(lambda: writer.write(large, written), written)
    assert snapshot(written) == before
    assert canonical(writer.read(written)) == canonical(read)
    left = files(written) - names
    assert left and all(any(_atomic.is_partial(part) for part in path.parts) for path in left)


def test_a_full_disk_keeps_the_previous_output(writer, written, monkeypatch):
    before, names, read = snapshot(written), files(written), writer.read(written)

    def full(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    value = writer.make(writer.small + 1)
    monkeypatch.setattr(_atomic.os, "fsync", full)
    with pytest.raises(OSError) as raised:
        writer.write(value, written)
    monkeypatch.undo()
    assert raised.value.errno == errno.ENOSPC
    assert snapshot(written) == before and files(written) == names
    assert canonical(writer.read(written)) == canonical(read)


def test_the_next_write_succeeds_after_a_kill(writer, written):
    large = writer.make(writer.large)
    kill_mid_write(lambda: writer.write(large, written), written)
    newer = writer.make(writer.small + 1)
    writer.write(newer, written)
    assert (written / "photo.jpg").read_bytes() == b"the user's own image"
    fresh = written / "fresh"
    writer.write(newer, fresh)
    assert canonical(writer.read(written)) == canonical(writer.read(fresh))


def test_written_files_and_folders_follow_the_umask(tmp_path):
    import os
    import stat

    from xaikit._atomic import atomic_file, atomic_folder

    previous = os.umask(0o022)
    try:
        with atomic_file(tmp_path / "a.csv", "w") as stream:
            stream.write("x")
        with atomic_folder(tmp_path / "model") as folder:
            (folder / "card.json").write_text("{}")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == 0o755
