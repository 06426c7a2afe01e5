"""Every Darknet cfg option is read, known to be training-only, or refused with its line."""

from __future__ import annotations

import pytest
import torch

from xaikit.models import Darknet
from xaikit.models.darknet_cfg import parse_cfg

BASE = """[net]
width=32
height=32
channels=3
[convolutional]
filters=8
size=3
stride=1
pad=1
batch_normalize=1
activation=leaky
[maxpool]
size=2
stride=2
[convolutional]
filters=12
size=1
activation=linear
[yolo]
mask=0,1
anchors=4,4, 8,8
classes=1
num=2
"""


def _with(section: str, line: str) -> str:
    """BASE with ``line`` added at the end of the first ``[section]``."""
    lines = BASE.splitlines()
    start = lines.index(f"[{section}]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    return "\n".join(lines[:end] + [line] + lines[end:]) + "\n", end + 1


@pytest.mark.parametrize(
    "section, line",
    [
        ("convolutional", "antialiasing=1"),
        ("convolutional", "xnor=1"),
        ("convolutional", "binary=1"),
        ("convolutional", "flipped=1"),
        ("maxpool", "antialiasing=1"),
    ],
)
def test_options_that_change_the_network_are_refused(section, line):
    text, number = _with(section, line)
    key, value = line.split("=")
    with pytest.raises(
        ValueError,
        match=rf"\[{section}\] \(line \d+\): option '{key}={value}' on line {number} "
        "changes the network, and xaikit does not implement it",
    ):
        Darknet.from_cfg(text)


@pytest.mark.parametrize(
    "section, line", [("convolutional", "filtres=8"), ("yolo", "clases=3"), ("net", "widht=32")]
)
def test_unknown_options_are_refused_with_their_line(section, line):
    text, number = _with(section, line)
    with pytest.raises(ValueError, match=rf"option '{line}' on line {number} is not an option"):
        Darknet.from_cfg(text)


@pytest.mark.parametrize(
    "section, line",
    [
        ("convolutional", "dilation=1"),
        ("convolutional", "antialiasing=0"),
        ("yolo", "new_coords=0"),
        ("yolo", "jitter=.3"),
        ("yolo", "ignore_thresh=.7"),
        ("net", "learning_rate=0.001"),
        ("net", "burn_in=1000"),
        ("convolutional", "stopbackward=1"),
    ],
)
def test_neutral_and_training_only_options_build_the_same_network(section, line):
    torch.manual_seed(0)
    plain = Darknet.from_cfg(BASE).eval()
    torch.manual_seed(0)
    other = Darknet.from_cfg(_with(section, line)[0]).eval()
    x = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(other(x), plain(x))


def test_an_option_given_twice_names_both_lines():
    text, number = _with("convolutional", "filters=16")
    with pytest.raises(
        ValueError, match=rf"line {number}: option 'filters' is given twice.*line 6"
    ):
        parse_cfg(text)


def test_letter_box_in_the_cfg_sets_the_preprocessing_default():
    assert not Darknet.from_cfg(BASE).letterbox
    boxed = _with("net", "letter_box=1")[0]
    assert Darknet.from_cfg(boxed).letterbox
    assert not Darknet.from_cfg(boxed, letterbox=False).letterbox
