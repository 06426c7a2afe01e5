"""Box-aware augmentation: boxes follow the pixels exactly through flips, quarter turns,
zooms and shifts; edge cases are cut, marked or dropped; draws repeat from the seed."""

from __future__ import annotations

import pytest
import torch

from xaikit.models.augment import Augmentation, augment

GEOMETRY_ONLY = dict(brightness=0.0, contrast=1.0, gamma=1.0, colour=0.0, greyscale=0.0,
                     blur=0.0, noise=0.0)  # fmt: skip


def scene(height=48, width=64, box=(10, 6, 30, 18)):
    """A white rectangle (its box) on black."""
    x0, y0, x1, y1 = box
    image = torch.zeros(1, 3, height, width)
    image[0, :, y0:y1, x0:x1] = 1.0
    return image, [torch.tensor([box], dtype=torch.float32)]


def bright_extent(image: torch.Tensor) -> list[float]:
    rows, cols = torch.nonzero(image[0, 0] > 0.5, as_tuple=True)
    return [cols.min().item(), rows.min().item(), cols.max().item() + 1, rows.max().item() + 1]


@pytest.mark.parametrize("seed", range(12))
def test_boxes_follow_flips_and_quarter_turns_exactly(seed):
    image, boxes = scene(48, 48)
    settings = Augmentation(flip=0.5, rotate90=0.5, zoom=1.0, shift=0.0, **GEOMETRY_ONLY)
    out, mapped, hard = augment(image, boxes, torch.Generator().manual_seed(seed), settings)
    assert mapped[0].tolist()[0] == pytest.approx(bright_extent(out), abs=1e-4)
    assert not hard[0].any()


@pytest.mark.parametrize("seed", range(12))
def test_boxes_follow_zoom_and_shift_to_a_pixel(seed):
    image, boxes = scene()
    settings = Augmentation(flip=0.5, rotate90=0.5, zoom=1.3, shift=0.1, **GEOMETRY_ONLY)
    out, mapped, _ = augment(image, boxes, torch.Generator().manual_seed(seed), settings)
    assert mapped[0].tolist()[0] == pytest.approx(bright_extent(out), abs=1.0)


def test_photometric_changes_leave_boxes_alone_and_stay_in_range():
    image, boxes = scene()
    image = image * 0.6 + 0.2
    settings = Augmentation(flip=0.0, rotate90=0.0, zoom=1.0, shift=0.0, greyscale=1.0, blur=1.0)
    out, mapped, _ = augment(image, boxes, torch.Generator().manual_seed(0), settings)
    assert torch.equal(mapped[0], boxes[0])
    assert 0.0 <= out.min() and out.max() <= 1.0 and not torch.equal(out, image)
    assert torch.equal(out[:, 0], out[:, 1])  # greyscale


def test_boxes_cut_by_the_edge_are_kept_marked_or_dropped():
    image = torch.zeros(1, 3, 40, 40)
    boxes = [torch.tensor([[0.0, 0, 10, 10], [30.0, 30, 40, 40], [18.0, 18, 22, 22]])]
    # a shift by a quarter of the width and height to the right and down
    settings = Augmentation(flip=0.0, rotate90=0.0, zoom=1.0, shift=0.25, **GEOMETRY_ONLY)
    generator = torch.Generator()
    for seed in range(50):  # find a draw that shifts right and down by > 6 px
        out, mapped, hard = augment(image, boxes, generator.manual_seed(seed), settings)
        if len(mapped[0]) == 2 and hard[0].any():
            break
    else:
        pytest.fail("no draw pushed a box out")
    assert (mapped[0][:, 2:] <= 40).all()  # cut to the frame
    assert hard[0].tolist() == [False, True] or hard[0].tolist() == [True, False]


def test_a_seed_repeats_the_batch():
    image, boxes = scene()
    image = image * 0.5 + 0.25
    first = augment(image, boxes, torch.Generator().manual_seed(5))
    second = augment(image, boxes, torch.Generator().manual_seed(5))
    assert torch.equal(first[0], second[0]) and torch.equal(first[1][0], second[1][0])
    third = augment(image, boxes, torch.Generator().manual_seed(6))
    assert not torch.equal(first[0], third[0])


def test_an_image_without_boxes():
    out, mapped, hard = augment(torch.rand(2, 3, 16, 16), [torch.zeros(0, 4)] * 2,
                                torch.Generator())  # fmt: skip
    assert out.shape == (2, 3, 16, 16) and [len(m) for m in mapped] == [0, 0]
    assert [len(h) for h in hard] == [0, 0]
