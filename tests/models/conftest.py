"""Darknet cfgs and random .weights written by the tests themselves (no files downloaded).

``CfgBuilder`` writes a cfg line by line and keeps its own count of every conv layer's
parameters, so the tests know the exact .weights layout without asking xaikit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

COCO_ANCHORS = "10,13, 16,30, 33,23, 30,61, 62,45, 59,119, 116,90, 156,198, 373,326"
TINY_ANCHORS = "10,14, 23,27, 37,58, 81,82, 135,169, 344,319"


@dataclass
class CfgBuilder:
    width: int
    height: int
    channels: list[int] = field(default_factory=list)
    convs: list[tuple[int, int, int, bool]] = field(default_factory=list)  # in, out, k, bn
    lines: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.lines += [
            "[net]",
            "batch=1",
            f"width={self.width}",
            f"height={self.height}",
            "channels=3",
            "",
        ]

    @property
    def last(self) -> int:
        return self.channels[-1] if self.channels else 3

    def _add(self, kind: str, channels: int, **options) -> None:
        self.lines.append(f"[{kind}]")
        self.lines += [f"{key}={value}" for key, value in options.items()]
        self.lines.append("")
        self.channels.append(channels)

    def conv(self, filters, size=3, stride=1, bn=True, activation="leaky", groups=1):
        self.convs.append((self.last // groups, filters, size, bn))
        options = {"batch_normalize": 1} if bn else {}
        options.update(filters=filters, size=size, stride=stride, pad=1, activation=activation)
        if groups > 1:
            options["groups"] = groups
        self._add("convolutional", filters, **options)

    def maxpool(self, size=2, stride=2):
        self._add("maxpool", self.last, size=size, stride=stride)

    def upsample(self, stride=2):
        self._add("upsample", self.last, stride=stride)

    def route(self, *layers, groups=1, group_id=0):
        index = len(self.channels)
        absolute = [layer + index if layer < 0 else layer for layer in layers]
        options = {"layers": ",".join(str(layer) for layer in layers)}
        if groups > 1:
            options.update(groups=groups, group_id=group_id)
        self._add("route", sum(self.channels[a] // groups for a in absolute), **options)

    def shortcut(self, source=-3):
        self._add("shortcut", self.last, **{"from": source, "activation": "linear"})

    def yolo(self, mask, anchors, classes):
        num = len(anchors.split(",")) // 2
        self.conv(len(mask) * (5 + classes), size=1, bn=False, activation="linear")
        self._add(
            "yolo",
            self.last,
            mask=",".join(map(str, mask)),
            anchors=anchors,
            classes=classes,
            num=num,
            jitter=".3",
            ignore_thresh=".7",
            random=1,
        )

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    @property
    def num_params(self) -> int:
        return sum((4 * o if bn else o) + o * i * k * k for i, o, k, bn in self.convs)

    def random_weights(self, seed: int = 0) -> np.ndarray:
        """Values in file order, scaled so activations stay O(1); running_var > 0."""
        rng = np.random.default_rng(seed)
        parts = []
        for i, o, k, bn in self.convs:
            if bn:
                parts += [
                    rng.normal(0, 0.1, o),
                    rng.uniform(0.3, 0.7, o),
                    rng.normal(0, 0.1, o),
                    rng.uniform(0.5, 1.5, o),
                ]
            else:
                parts.append(rng.normal(0, 0.1, o))
            parts.append(rng.normal(0, 1.5 / np.sqrt(i * k * k), o * i * k * k))
        return np.concatenate(parts).astype("<f4")

    def write(self, folder: Path, name: str, seed: int = 0, version=(0, 2, 0)) -> tuple[Path, Path]:
        """Write ``name.cfg`` and ``name.weights`` (header of ``version``); return both paths."""
        cfg = folder / f"{name}.cfg"
        cfg.write_text(self.text)
        weights = folder / f"{name}.weights"
        major, minor, _ = version
        seen = np.array([12345], dtype="<u8" if major * 10 + minor >= 2 else "<i4")
        with weights.open("wb") as file:
            file.write(np.array(version, dtype="<i4").tobytes() + seen.tobytes())
            file.write(self.random_weights(seed).tobytes())
        return cfg, weights


def yolov3_tiny(width=640, height=480, classes=1, divisor=1, second_mask=(1, 2, 3)) -> CfgBuilder:
    """YOLOv3-tiny's topology (the mice paper's cfg when divisor=1), filters divided by divisor."""
    d = divisor
    b = CfgBuilder(width, height)
    for filters in (16, 32, 64, 128, 256):
        b.conv(filters // d)
        b.maxpool(2, 2)
    b.conv(512 // d)
    b.maxpool(2, 1)  # layer 11: the stride-1 maxpool
    b.conv(1024 // d)
    b.conv(256 // d, size=1)
    b.conv(512 // d)
    b.yolo((3, 4, 5), TINY_ANCHORS, classes)  # layers 15, 16
    b.route(-4)
    b.conv(128 // d, size=1)
    b.upsample(2)
    b.route(-1, 8)
    b.conv(256 // d)
    b.yolo(second_mask, TINY_ANCHORS, classes)  # layers 22, 23
    return b


def yolov3(width=416, height=416, classes=1, divisor=1) -> CfgBuilder:
    """YOLOv3's topology (Darknet-53 and three heads), filters divided by divisor."""
    d = divisor
    b = CfgBuilder(width, height)
    b.conv(32 // d)
    for filters, blocks in ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)):
        b.conv(filters // d, stride=2)
        for _ in range(blocks):
            b.conv(filters // 2 // d, size=1)
            b.conv(filters // d)
            b.shortcut(-3)
    for filters, mask, skip in ((512, (6, 7, 8), 61), (256, (3, 4, 5), 36), (128, (0, 1, 2), None)):
        for _ in range(3):
            b.conv(filters // d, size=1)
            b.conv(2 * filters // d)
        b.yolo(mask, COCO_ANCHORS, classes)
        if skip is not None:
            b.route(-4)
            b.conv(filters // 2 // d, size=1)
            b.upsample(2)
            b.route(-1, skip)
    return b


@pytest.fixture
def tiny_files(tmp_path):
    """A narrow YOLOv3-tiny at a non-square 160x96 input with 2 classes, and random weights."""
    builder = yolov3_tiny(width=160, height=96, classes=2, divisor=8)
    return builder, *builder.write(tmp_path, "tiny")
