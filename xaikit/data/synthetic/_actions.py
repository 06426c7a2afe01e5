"""Short clips of an actor doing one of several actions, for 3D CNN studies."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd

from xaikit._arrays import height_width
from xaikit.data.synthetic._textures import mask_box, textured, to_uint8

ACTIONS = (
    "move_left",
    "move_right",
    "move_up",
    "move_down",
    "rotate",
    "grow",
    "bounce",
    "wave",
)


@dataclass
class ActionSet:
    """Clips with one action label each and the actor's box in every frame.

    Attributes:
        clips: (N, T, H, W, 3) uint8 RGB clips.
        labels: (N,) int64 action index into ``actions``.
        boxes: One row per clip and frame: ``clip``, ``frame``, ``x0, y0, x1, y1`` (tight
            around the actor's pixels, continuous pixel coordinates) and ``action``.
        actions: Action names.
    """

    clips: np.ndarray
    labels: np.ndarray
    boxes: pd.DataFrame
    actions: list[str]

    def __len__(self) -> int:
        return len(self.clips)


def actions(
    n: int = 8,
    frames: int = 16,
    shape: tuple[int, int] = (112, 112),
    *,
    actions: tuple[str, ...] = ACTIONS,
    seed: int = 0,
) -> ActionSet:
    """Render ``n`` clips of a two-part actor (a body and a limb) on a textured background.

    The actions: ``move_left/right/up/down`` (translation across the frame), ``rotate`` (the
    whole actor spins), ``grow`` (it scales up by about 1.8x), ``bounce`` (vertical hops on a
    parabola) and ``wave`` (the body stays, the limb swings). Labels cycle through ``actions``
    in order, so every action appears when ``n >= len(actions)``; positions, colours, speeds
    and backgrounds are random.

    Args:
        n: Number of clips N (>= 1).
        frames: Frames per clip T (>= 2).
        shape: ``(height, width)`` of every frame, each at least 32.
        actions: A subset of :data:`ACTIONS`, in label order.
        seed: Random seed.

    Returns:
        An :class:`ActionSet`.

    Raises:
        ValueError: unknown actions, ``n < 1``, ``frames < 2`` or a side below 32.

    Examples:
        >>> data = actions(3, frames=4, shape=(40, 48), seed=0)
        >>> data.clips.shape, data.labels.tolist(), len(data.boxes)
        ((3, 4, 40, 48, 3), [0, 1, 2], 12)
    """
    unknown = set(actions) - set(ACTIONS)
    if unknown or not actions:
        raise ValueError(f"actions must be a non-empty subset of {ACTIONS}; got {actions!r}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an int >= 1; got {n!r}")
    if not isinstance(frames, (int, np.integer)) or frames < 2:
        raise ValueError(f"frames must be an int >= 2; got {frames!r}")
    height, width = height_width(shape, minimum=(32, 32), image=False)
    rng = np.random.default_rng(seed)
    clips = np.empty((n, frames, height, width, 3), np.uint8)
    labels = np.arange(n, dtype=np.int64) % len(actions)
    rows = []
    for clip in range(n):
        action = actions[labels[clip]]
        background = textured(rng, height, width, rng.uniform(70, 190, 3), 0.6, cells=8)
        colour = rng.uniform(0, 255, 3).astype(np.float32)
        limb_colour = (255 - colour).astype(np.float32)
        start = rng.uniform(0.35, 0.65, 2) * (width, height)
        radius = rng.uniform(0.1, 0.14) * min(width, height)
        speed = rng.uniform(0.5, 0.8)  # fraction of the frame crossed in the clip
        spin = rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 2.0) * np.pi
        for frame in range(frames):
            t = frame / (frames - 1)
            pose = _pose(action, t, start, radius, speed, spin, width, height)
            body, limb = _render(height, width, *pose)
            canvas = background.copy()
            canvas[body] = colour
            canvas[limb] = limb_colour
            clips[clip, frame] = to_uint8(canvas)
            x0, y0, x1, y1 = mask_box(body | limb)
            rows.append((clip, frame, x0, y0, x1, y1, action))
    boxes = pd.DataFrame(rows, columns=["clip", "frame", "x0", "y0", "x1", "y1", "action"])
    return ActionSet(clips, labels, boxes, list(actions))


def _pose(action, t, start, radius, speed, spin, width, height):
    """(cx, cy, radius, body angle, limb angle) at time ``t`` in [0, 1]."""
    cx, cy = start
    angle, limb = 0.0, np.pi / 4
    travel_x, travel_y = speed * width / 2, speed * height / 2
    if action == "move_left":
        cx = width / 2 + travel_x / 2 - travel_x * t
    elif action == "move_right":
        cx = width / 2 - travel_x / 2 + travel_x * t
    elif action == "move_up":
        cy = height / 2 + travel_y / 2 - travel_y * t
    elif action == "move_down":
        cy = height / 2 - travel_y / 2 + travel_y * t
    elif action == "rotate":
        angle = spin * t
    elif action == "grow":
        radius = radius * (0.75 + 0.6 * t)
    elif action == "bounce":
        hop = (2 * t) % 1.0  # two hops
        cy = height * 0.7 - 4 * hop * (1 - hop) * height * 0.35
    elif action == "wave":
        limb = np.pi / 4 + 0.9 * np.sin(2 * np.pi * 2 * t)
    return cx, cy, radius, angle, limb


def _render(height, width, cx, cy, radius, angle, limb):
    body = np.zeros((height, width), np.uint8)
    axes = (max(2, round(radius)), max(2, round(radius * 0.7)))
    cv2.ellipse(body, (round(cx), round(cy)), axes, float(np.degrees(angle)), 0, 360, 1, -1)
    arm = np.zeros_like(body)
    root = (cx + 0.8 * radius * np.cos(angle), cy + 0.8 * radius * np.sin(angle))
    tip = (
        root[0] + 1.1 * radius * np.cos(angle - limb),
        root[1] + 1.1 * radius * np.sin(angle - limb),
    )
    thickness = max(2, round(radius * 0.3))
    cv2.line(arm, np.round(root).astype(int), np.round(tip).astype(int), 1, thickness)
    arm = arm.astype(bool)
    return body.astype(bool) & ~arm, arm
