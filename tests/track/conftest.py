"""Shared fixtures: synthetic arena ground truth and detector-like noisy detections of it."""

import functools

import numpy as np
import pandas as pd
import pytest

from xaikit.data.synthetic import arena
from xaikit.track.appearance import describe_detections


def noisy_detections(
    truth: pd.DataFrame,
    seed: int,
    *,
    shape=(240, 320),
    jitter: float = 0.06,
    miss: float = 0.05,
    weak: float = 0.1,
    spurious: float = 0.2,
) -> pd.DataFrame:
    """Detections a real detector might give for ``truth``.

    Each true box is dropped with probability ``miss``; otherwise its corners move by Gaussian
    noise of ``jitter`` x its width / height, and it scores in [0.6, 0.95], or in [0.15, 0.45]
    with probability ``weak`` (a blurred or occluded animal). Each frame also gets
    Poisson(``spurious``) boxes at random places scoring in [0.1, 0.4].
    """
    rng = np.random.default_rng(seed)
    keep = rng.random(len(truth)) >= miss
    kept = truth[keep]
    boxes = kept[["x0", "y0", "x1", "y1"]].to_numpy(float)
    scale = np.tile(boxes[:, 2:] - boxes[:, :2], 2)
    boxes = boxes + rng.normal(0, jitter, boxes.shape) * scale
    boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    weak_rows = rng.random(len(kept)) < weak
    scores = np.where(
        weak_rows, rng.uniform(0.15, 0.45, len(kept)), rng.uniform(0.6, 0.95, len(kept))
    )
    rows = [
        pd.DataFrame(
            {"frame": kept["frame"].to_numpy(), "time": kept["time"].to_numpy(),
             "x0": boxes[:, 0], "y0": boxes[:, 1], "x1": boxes[:, 2], "y1": boxes[:, 3],
             "score": scores}
        )
    ]  # fmt: skip
    times = truth.groupby("frame")["time"].first()
    height, width = shape
    side = float(np.median(scale))
    for frame, time in times.items():
        for _ in range(rng.poisson(spurious)):
            x, y = rng.uniform(0, width - side), rng.uniform(0, height - side)
            rows.append(
                pd.DataFrame(
                    {"frame": [frame], "time": [time], "x0": [x], "y0": [y], "x1": [x + side],
                     "y1": [y + side], "score": [rng.uniform(0.1, 0.4)]}
                )
            )  # fmt: skip
    table = pd.concat(rows, ignore_index=True)
    return table.sort_values(["frame", "score"], ascending=[True, False]).reset_index(drop=True)


@pytest.fixture(scope="session")
def crossing_clip():
    """Two mice that cross (resident-intruder, 320x240, 150 frames; seed 1: IoU up to 0.82)."""
    return crossing(1)[0]


NOISE_SEEDS = (0, 1, 2)


@functools.cache
def crossing(seed: int):
    """Resident-intruder clip (a dark and a light mouse), its descriptors per noise seed."""
    clip = arena("resident_intruder", frames=150, shape=(240, 320), seed=seed)
    runs = []
    for noise_seed in NOISE_SEEDS:
        detections = noisy_detections(clip.truth, noise_seed)
        runs.append((detections, describe_detections(clip.frames, detections)))
    return clip, runs


TINY_CFG = """[net]
width=64
height=64
channels=3
[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
filters=18
size=1
stride=1
activation=linear
[yolo]
mask=0,1,2
anchors=10,14, 23,27, 37,58
classes=1
num=3
"""


def write_tiny_darknet(folder):
    """Write ``(cfg, weights)`` of a tiny random-weight YOLO (64x64 input, 8x8 grid)."""
    import torch

    from xaikit.models import Darknet, save_darknet_weights

    cfg = folder / "tiny.cfg"
    cfg.write_text(TINY_CFG)
    torch.manual_seed(0)
    weights = save_darknet_weights(Darknet.from_cfg(TINY_CFG), folder / "tiny.weights")
    return cfg, weights


@pytest.fixture(scope="session")
def tiny_darknet_files(tmp_path_factory):
    """``(cfg, weights)`` paths of :func:`write_tiny_darknet`."""
    return write_tiny_darknet(tmp_path_factory.mktemp("darknet"))
