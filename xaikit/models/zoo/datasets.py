"""Training and held-out data for the demo zoo, generated from seeds by ``xaikit.data.synthetic``.

A set of ``n`` items is made in chunks: chunk ``k`` is one call of the generator with seed
``seed + k``. Training sets start at :data:`TRAINING_SEED` and may use seeds up to
:data:`HELD_OUT_SEED` (excluded); every held-out set (the model cards', the tests') starts at or
above it, which :func:`check_held_out` enforces, so no held-out item was ever seen in training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xaikit.data import synthetic

#: First seed of every training set.
TRAINING_SEED = 1_000
#: Seeds from here on are held out: never used for training.
HELD_OUT_SEED = 100_000
#: Held-out seed the model cards are scored on (tests use others, further up).
CARD_SEED = HELD_OUT_SEED


def chunk_seeds(n: int, seed: int, chunk: int) -> list[tuple[int, int]]:
    """``(seed, size)`` of each generator call making ``n`` items in chunks of ``chunk``.

    Examples:
        >>> chunk_seeds(5, 1_000, 2)
        [(1000, 2), (1001, 2), (1002, 1)]
    """
    if n < 1 or chunk < 1:
        raise ValueError(f"n and chunk must be >= 1; got n={n}, chunk={chunk}")
    return [(seed + k, min(chunk, n - k * chunk)) for k in range(-(-n // chunk))]


def check_held_out(seed: int) -> int:
    """Return ``seed`` if it is a held-out seed, else raise ``ValueError``.

    Examples:
        >>> check_held_out(123_456)
        123456
    """
    if seed < HELD_OUT_SEED:
        raise ValueError(
            f"held-out seeds start at {HELD_OUT_SEED} (below it are training seeds); got {seed}"
        )
    return seed


def check_training(n: int, seed: int, chunk: int) -> None:
    """Raise ``ValueError`` unless every chunk seed of a training set is a training seed."""
    last = chunk_seeds(n, seed, chunk)[-1][0]
    if seed < TRAINING_SEED or last >= HELD_OUT_SEED:
        raise ValueError(
            f"a training set must use seeds in [{TRAINING_SEED}, {HELD_OUT_SEED}); "
            f"this one uses {seed}..{last}"
        )


def shape_set(
    n: int,
    shape: tuple[int, int],
    seed: int,
    chunk: int = 256,
    objects: tuple[int, int] = (1, 4),
    dominance: float | None = None,
):
    """``n`` images of :func:`~xaikit.data.synthetic.shapes`, in chunks of ``chunk`` seeds.

    ``shape`` is the ``(height, width)`` of every image; ``objects`` the generator's inclusive
    range of objects per image. With ``dominance``, only images whose second-largest object
    covers at most that fraction of the largest one's area are kept (more chunks are generated
    until there are ``n``), so the label, the class of the largest object, is never a near tie.

    Returns:
        ``(images, labels, classes)``: ``(N, H, W, 3)`` uint8, ``(N,)`` int64 (class of the
        largest object), the class names.

    Examples:
        >>> images, labels, classes = shape_set(3, (32, 32), seed=100_000, chunk=2)
        >>> images.shape, labels.shape, classes[0]
        ((3, 32, 32, 3), (3,), 'circle')
        >>> images, labels, _ = shape_set(4, (32, 32), seed=100_000, chunk=4, dominance=0.5)
        >>> len(images)
        4
    """
    if n < 1 or chunk < 1:
        raise ValueError(f"n and chunk must be >= 1; got n={n}, chunk={chunk}")
    images, labels, classes, kept, k = [], [], None, 0, 0
    while kept < n:
        if seed < HELD_OUT_SEED <= seed + k:
            raise ValueError(f"a training set starting at seed {seed} ran into held-out seeds")
        part = synthetic.shapes(
            chunk if dominance else min(chunk, n - kept),
            shape,
            objects=tuple(objects),
            seed=seed + k,
        )
        keep = np.ones(len(part), bool) if dominance is None else dominant(part.masks, dominance)
        keep &= np.cumsum(keep) <= n - kept
        images.append(part.images[keep])
        labels.append(part.labels[keep])
        classes, kept, k = part.classes, kept + int(keep.sum()), k + 1
    return np.concatenate(images), np.concatenate(labels), classes


def dominant(masks: np.ndarray, ratio: float) -> np.ndarray:
    """``(N,)`` bool: images whose second-largest object has at most ``ratio`` times the area
    of the largest (images with one object always qualify).

    Args:
        masks: ``(N, H, W)`` object index per pixel, ``-1`` for background.
        ratio: In (0, 1].

    Examples:
        >>> masks = np.array([[[0, 0, 1]], [[0, 0, 0]], [[0, 1, -1]]])
        >>> dominant(masks, 0.5).tolist()
        [True, True, False]
    """
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio must lie in (0, 1]; got {ratio}")
    keep = np.empty(len(masks), bool)
    for index, mask in enumerate(masks):
        areas = np.sort(np.bincount(mask[mask >= 0].ravel()))[::-1]
        keep[index] = len(areas) < 2 or areas[1] <= ratio * areas[0]
    return keep


def action_set(n: int, frames: int, shape: tuple[int, int], seed: int, chunk: int = 64):
    """``n`` clips of :func:`~xaikit.data.synthetic.actions`, in chunks of ``chunk`` seeds;
    ``shape`` is the ``(height, width)`` of every frame.

    Returns:
        ``(clips, labels, actions)``: ``(N, T, H, W, 3)`` uint8, ``(N,)`` int64, action names.
        Every chunk cycles through the actions, so a chunk of 64 is balanced.

    Examples:
        >>> clips, labels, names = action_set(3, 4, (32, 32), seed=100_000, chunk=2)
        >>> clips.shape, labels.tolist(), names[1]
        ((3, 4, 32, 32, 3), [0, 1, 0], 'move_right')
    """
    parts = [synthetic.actions(k, frames, shape, seed=s) for s, k in chunk_seeds(n, seed, chunk)]
    clips = np.concatenate([part.clips for part in parts])
    labels = np.concatenate([part.labels for part in parts])
    return clips, labels, parts[0].actions


@dataclass
class ArenaFrames:
    """Frames of synthetic arena clips with their mouse boxes.

    Attributes:
        frames: One ``(H, W, 3)`` uint8 RGB frame per item (sizes differ between setups).
        boxes: One ``(M, 4)`` float array ``x0, y0, x1, y1`` (frame pixels) per frame.
        setups: The setup of each frame.
        difficult: One ``(M,)`` bool array per frame: the mouse shows less than
            :data:`xaikit.data.synthetic.MIN_VISIBLE` of its body.
    """

    frames: list[np.ndarray]
    boxes: list[np.ndarray]
    setups: list[str]
    difficult: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.frames)


def arena_set(
    clips: int, frames: int, seed: int, every: int = 1, occluded: float | None = None
) -> ArenaFrames:
    """Every ``every``-th frame of ``clips`` arena clips of ``frames`` frames.

    Clip ``k`` shows setup ``k % 3`` of ``open_field, home_cage, resident_intruder`` (so all three
    are equally present) and uses seed ``seed + k``. With ``occluded``, every other frame in
    which a mouse shows less than that fraction of its body is kept too (one mouse walking over
    the other: hard examples for training).

    Examples:
        >>> data = arena_set(3, 2, seed=100_000)
        >>> len(data), data.setups[::2], data.frames[2].shape, data.boxes[4].shape
        (6, ['open_field', 'home_cage', 'resident_intruder'], (240, 320, 3), (2, 4))
    """
    setups = list(synthetic.SETUPS)
    result = ArenaFrames([], [], [], [])
    for k in range(clips):
        setup = setups[k % len(setups)]
        clip = synthetic.arena(setup, frames, seed=seed + k)
        truth = clip.truth
        kept = set(range(0, frames, every))
        if occluded is not None:
            kept |= set(truth.loc[truth["visible"] < occluded, "frame"].tolist())
        for number in sorted(kept):
            rows = truth[truth["frame"] == number]
            result.frames.append(clip.frames[number].copy())  # not a view: frees the clip
            result.boxes.append(rows[["x0", "y0", "x1", "y1"]].to_numpy(np.float32))
            result.setups.append(setup)
            result.difficult.append(rows["visible"].to_numpy() < synthetic.MIN_VISIBLE)
    return result
