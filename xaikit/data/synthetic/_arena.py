"""Synthetic mouse-behaviour videos resembling the three setups of the mice-tracking paper."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from xaikit._arrays import VideoShape, height_width
from xaikit.data.synthetic._textures import lighting, mask_box, sprinkle, textured, to_uint8

SETUPS = {
    # name: (view, default (height, width), default number of mice)
    "open_field": ("top", (480, 640), 1),
    "home_cage": ("side", (240, 320), 1),
    "resident_intruder": ("top", (480, 640), 2),
}
FUR = {"dark": (50, 46, 44), "light": (226, 220, 210)}
#: A mouse showing less of its body than this (the other one walks over it) counts as a
#: "difficult" box, VOC's flag, wherever xaikit scores detections against arena truth: a
#: detector is neither asked to find it nor blamed for finding it (trackers still are).
MIN_VISIBLE = 0.5
STATES = ("rest", "walk", "run", "approach", "rear")
# Target speeds in body lengths per second, and bout lengths in seconds.
SPEED = {"rest": 0.0, "walk": 1.5, "run": 4.0, "approach": 2.2, "rear": 0.0}
BOUT = {
    "rest": (0.5, 2.0),
    "walk": (0.7, 2.3),
    "run": (0.2, 0.7),
    "approach": (0.7, 1.7),
    "rear": (0.6, 1.5),
}

# Labels of the per-mouse drawing canvas.
BODY, HIGHLIGHT, EAR, EYE, NOSE, TAIL = 1, 2, 3, 4, 5, 6
IN_BOX = (BODY, HIGHLIGHT, EAR, EYE, NOSE)


@dataclass
class ArenaClip(VideoShape):
    """A rendered arena video with exact per-frame ground truth.

    Attributes:
        frames: (T, H, W, 3) uint8 RGB frames.
        truth: One row per mouse and frame: ``frame``, ``time`` (s), ``track`` (identity, 0..),
            ``x0, y0, x1, y1`` (tight box around the drawn body, head, ears and nose, tail
            excluded unless ``tail_in_box``; continuous pixel coordinates, so pixels
            ``c0..c1`` give ``x0 = c0, x1 = c1 + 1``), ``cx, cy`` (centroid of those pixels,
            pixel centres at ``c + 0.5``), ``heading`` (radians, direction the head points in
            image coordinates: 0 = +x (right), pi/2 = +y (down)), ``speed`` (pixels/s),
            ``state`` (bout: rest, walk, run, approach, rear), ``fur`` and ``visible`` (fraction
            of the mouse's in-frame body pixels, tail excluded, that no mouse drawn over it
            hides: 1 alone, near 0 while the other mouse walks over it).
        fps: Frames per second.
        setup: ``"open_field"``, ``"home_cage"`` or ``"resident_intruder"``.
    """

    frames: np.ndarray
    truth: pd.DataFrame
    fps: float
    setup: str

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(T, H, W, 3)`` of :attr:`frames`, as :attr:`xaikit.data.VideoReader.shape`."""
        return tuple(int(side) for side in self.frames.shape)

    def annotations(self, name: str = "arena"):
        """Ground truth as :class:`~xaikit.data.annotations.Annotations`.

        Frame ``i`` is the image ``f"{name}_{i:06d}.jpg"``; the class is ``"mouse"``; the
        identity is kept as the ``track`` column (written to COCO as ``track_id``); a mouse
        showing less than :data:`MIN_VISIBLE` of its body is ``difficult`` (VOC's flag).
        """
        from xaikit.data.annotations import Annotations

        names = [f"{name}_{number:06d}.jpg" for number in range(len(self.frames))]
        images = pd.DataFrame({"image": names, "width": self.width, "height": self.height})
        boxes = pd.DataFrame(
            {
                "image": [names[number] for number in self.truth["frame"]],
                "label": "mouse",
                "x0": self.truth["x0"],
                "y0": self.truth["y0"],
                "x1": self.truth["x1"],
                "y1": self.truth["y1"],
                "track": self.truth["track"],
                "difficult": (self.truth["visible"] < MIN_VISIBLE).astype(int),
            }
        )
        return Annotations(images, boxes, ["mouse"])

    def save(
        self,
        folder: str | os.PathLike,
        name: str = "arena",
        formats: tuple[str, ...] = ("yolo", "coco"),
        images: bool = False,
    ) -> dict[str, Path]:
        """Write the clip as ``<name>.mp4``, its truth as ``<name>.csv`` and the boxes.

        Args:
            folder: Output folder (created if needed).
            name: Base name of every file.
            formats: Any of ``"yolo"`` (folder ``<name>_yolo`` of per-frame ``.txt`` files),
                ``"coco"`` (``<name>.coco.json``) and ``"voc"`` (folder ``<name>_voc``).
            images: Also write every frame as ``<name>_yolo/<name>_NNNNNN.jpg`` (Darknet
                training reads images beside the labels).

        Returns:
            {"video", "truth", and each format}: the paths written.
        """
        from xaikit.data import annotations as formats_module
        from xaikit.data.video import write_video

        unknown = set(formats) - {"yolo", "coco", "voc"}
        if unknown:
            raise ValueError(f"unknown format(s) {sorted(unknown)}; choose from yolo, coco, voc")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"video": folder / f"{name}.mp4", "truth": folder / f"{name}.csv"}
        write_video(paths["video"], self.frames, self.fps)
        self.truth.to_csv(paths["truth"], index=False)
        table = self.annotations(name)
        if "yolo" in formats or images:
            paths["yolo"] = folder / f"{name}_yolo"
            formats_module.write_yolo(table, paths["yolo"])
        if images:
            for image_name, frame in zip(table.images["image"], self.frames, strict=True):
                cv2.imwrite(str(paths["yolo"] / image_name), frame[..., ::-1])
        if "coco" in formats:
            paths["coco"] = folder / f"{name}.coco.json"
            formats_module.write_coco(table, paths["coco"])
        if "voc" in formats:
            paths["voc"] = folder / f"{name}_voc"
            formats_module.write_voc(table, paths["voc"])
        return paths


def arena(
    setup: str = "open_field",
    frames: int = 300,
    *,
    mice: int | None = None,
    fur: str | list[str] | None = None,
    shape: tuple[int, int] | None = None,
    fps: float = 30,
    tail_in_box: bool = False,
    seed: int = 0,
    progress: bool = False,
) -> ArenaClip:
    """Render a synthetic mouse video with exact ground truth, deterministic from ``seed``.

    Look-alikes of the mice-tracking paper's setups: ``"open_field"`` (top view of an open
    arena, 640x480, one mouse), ``"home_cage"`` (side view of a home cage, 320x240, one mouse,
    with rearing) and ``"resident_intruder"`` (top view of a bedded cage, 640x480, a dark
    resident and a light intruder that approach each other and cross). Each mouse has a body,
    head, ears, eyes, nose and a tail, light or dark fur, moves in rest, walk and run bouts
    with its heading following its motion, and casts a soft shadow. Scenes have textured floors
    or bedding, uneven lighting, wall reflections (top views) and distractors (droppings,
    pellets, cage fittings), plus per-frame sensor noise.

    Args:
        setup: One of ``"open_field"``, ``"home_cage"``, ``"resident_intruder"``.
        frames: Number of frames T (>= 1).
        mice: 1 or 2; defaults to the setup's (home cage: 1 only).
        fur: ``"dark"``, ``"light"`` or one per mouse; ``None`` picks per setup and seed.
        shape: ``(height, width)`` of the frames; defaults to the setup's.
        fps: Frame rate, which sets the speed per frame.
        tail_in_box: Whether boxes include the tail.
        seed: Random seed; the same arguments give the same clip.
        progress: Show a progress bar.

    Returns:
        An :class:`ArenaClip` with (T, H, W, 3) uint8 frames and the truth table.

    Raises:
        ValueError: an unknown setup or fur, ``frames < 1``, ``mice`` not 1 or 2 (or 2 in the
            side view), a shape below ``(48, 64)``, or ``fps <= 0``.

    Examples:
        >>> clip = arena("resident_intruder", frames=3, shape=(120, 160), seed=1)
        >>> clip.shape, len(clip.truth), sorted(clip.truth["track"].unique().tolist())
        ((3, 120, 160, 3), 6, [0, 1])
        >>> bool(((clip.truth.x1 > clip.truth.x0) & (clip.truth.y1 > clip.truth.y0)).all())
        True
    """
    if setup not in SETUPS:
        raise ValueError(f"unknown setup {setup!r}; choose one of {sorted(SETUPS)}")
    view, default_shape, default_mice = SETUPS[setup]
    mice = default_mice if mice is None else mice
    if not isinstance(frames, (int, np.integer)) or frames < 1:
        raise ValueError(f"frames must be an int >= 1; got {frames!r}")
    if mice not in (1, 2) or (view == "side" and mice != 1):
        raise ValueError(f"mice must be 1 or 2 (1 in the side-view home cage); got {mice!r}")
    height, width = height_width(
        default_shape if shape is None else shape, minimum=(48, 64), image=False
    )
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be positive; got {fps!r}")
    rng = np.random.default_rng(seed)
    furs = _furs(fur, mice, setup, rng)
    scene = (_TopScene if view == "top" else _SideScene)(rng, width, height, setup, furs)
    animals = [scene.new_mouse(rng, furs[number], number) for number in range(mice)]
    # Sensor noise: a few noise fields, cycled; backgrounds are stored already noised.
    noise = [rng.normal(0, 2.0, (height, width, 1)).astype(np.float32) for _ in range(5)]
    noisy_backgrounds = [to_uint8(scene.background + field) for field in noise]
    video = np.empty((frames, height, width, 3), np.uint8)
    rows = []
    from tqdm.auto import tqdm

    for number in tqdm(range(frames), disable=not progress, desc="arena", unit="frame"):
        for animal in animals:
            scene.step(animal, animals, rng, fps)
        canvas = video[number]
        canvas[:] = noisy_backgrounds[number % len(noise)]
        scene.noise = noise[number % len(noise)]
        for animal in animals:
            scene.draw_reflection(canvas, animal)
        drawn = [scene.draw(canvas, animal, tail_in_box) for animal in animals]
        visible = _visible_fractions([footprint for _, footprint in drawn], (height, width))
        for animal, (truth, _), fraction in zip(animals, drawn, visible, strict=True):
            rows.append(
                {
                    "frame": number,
                    "time": number / fps,
                    "track": animal.identity,
                    **truth,
                    "speed": animal.speed * fps,
                    "state": animal.state,
                    "fur": animal.fur,
                    "visible": fraction,
                }
            )
    return ArenaClip(video, pd.DataFrame(rows), float(fps), setup)


def _frame_crop(labels: np.ndarray, offset, size) -> tuple[np.ndarray, tuple[slice, slice]]:
    """The part of a mouse canvas ``labels`` placed at ``offset`` that lies inside the frame."""
    ox, oy = offset
    height, width = size
    h, w = labels.shape
    fx0, fy0 = max(ox, 0), max(oy, 0)
    fx1, fy1 = max(min(ox + w, width), fx0), max(min(oy + h, height), fy0)
    crop = labels[fy0 - oy : fy1 - oy, fx0 - ox : fx1 - ox]
    return crop, (slice(fy0, fy1), slice(fx0, fx1))


def _visible_fractions(footprints, size) -> list[float]:
    """Per mouse (in drawing order), the fraction of its in-frame body pixels (tail excluded)
    that no mouse drawn after it covers; ``footprints`` are ``(labels, offset)`` pairs.

    Examples:
        >>> body = np.full((2, 4), BODY)
        >>> _visible_fractions([(body, (0, 0)), (body, (2, 0))], (4, 8))
        [0.5, 1.0]
    """
    owner = np.full(size, -1, np.int16)
    for index, (labels, offset) in enumerate(footprints):
        crop, where = _frame_crop(labels, offset, size)
        owner[where][crop > 0] = index
    fractions = []
    for index, (labels, offset) in enumerate(footprints):
        crop, where = _frame_crop(labels, offset, size)
        body = np.isin(crop, IN_BOX)
        fractions.append(float((owner[where][body] == index).mean()) if body.any() else 0.0)
    return fractions


def _furs(fur, mice: int, setup: str, rng) -> list[str]:
    if fur is None:
        if setup == "resident_intruder":
            return ["dark", "light"][:mice]
        return [str(rng.choice(["dark", "light"]))] * mice
    furs = [fur] * mice if isinstance(fur, str) else list(fur)
    if len(furs) != mice or any(item not in FUR for item in furs):
        raise ValueError(f"fur must be 'dark', 'light' or one of those per mouse; got {fur!r}")
    return furs


@dataclass
class _Mouse:
    identity: int
    fur: str
    length: float  # body length (nose to rump) in pixels
    x: float
    y: float
    heading: float
    speed: float = 0.0  # pixels per frame
    turn: float = 0.0  # radians per frame
    state: str = "rest"
    bout_left: int = 0
    phase: float = 0.0  # gait and tail-wave phase
    pitch: float = 0.0  # side view: body raised by this angle while rearing


class _Scene:
    """Shared motion logic; subclasses draw a top or a side view."""

    states: tuple[str, ...]

    def __init__(self, rng, width: int, height: int, setup: str, furs: list[str]):
        self.width, self.height, self.setup = width, height, setup
        self.gain = lighting(rng, height, width, strength=0.35)

    def next_bout(self, mouse: _Mouse, others: list[_Mouse], rng, fps: float) -> None:
        weights = {"rest": 0.3, "walk": 0.4, "run": 0.15, "approach": 0.0, "rear": 0.0}
        if len(others) > 1:
            weights["approach"] = 0.35
        if "rear" in self.states:
            weights["rear"] = 0.2
        if mouse.state in weights:
            weights[mouse.state] *= 0.4  # prefer changing state
        names = list(weights)
        probabilities = np.array([weights[name] for name in names])
        mouse.state = str(rng.choice(names, p=probabilities / probabilities.sum()))
        low, high = BOUT[mouse.state]
        mouse.bout_left = max(1, round(rng.uniform(low, high) * fps))

    def steer(self, mouse, others, rng, fps, limits) -> None:
        """Update speed, turn and heading; keep the mouse within ``limits`` (x0, y0, x1, y1)."""
        if mouse.bout_left <= 0:
            self.next_bout(mouse, others, rng, fps)
        mouse.bout_left -= 1
        target = SPEED[mouse.state] * mouse.length / fps
        mouse.speed += 0.15 * (target - mouse.speed)
        moving = mouse.speed > 0.05
        mouse.turn = 0.85 * mouse.turn + rng.normal(0, 0.03 if moving else 0.005)
        if mouse.state == "approach":
            other = next(o for o in others if o is not mouse)
            mouse.turn += 0.2 * _wrap(
                np.arctan2(other.y - mouse.y, other.x - mouse.x) - mouse.heading
            )
        x0, y0, x1, y1 = limits
        margin = 0.7 * mouse.length
        ahead_x = mouse.x + np.cos(mouse.heading) * margin
        ahead_y = mouse.y + np.sin(mouse.heading) * margin
        if not (x0 < ahead_x < x1 and y0 < ahead_y < y1):
            centre = np.arctan2((y0 + y1) / 2 - mouse.y, (x0 + x1) / 2 - mouse.x)
            mouse.turn += 0.25 * _wrap(centre - mouse.heading)
        mouse.turn = float(np.clip(mouse.turn, -0.25, 0.25))
        if moving:
            mouse.heading = _wrap(mouse.heading + mouse.turn)
        mouse.x = float(np.clip(mouse.x + np.cos(mouse.heading) * mouse.speed, x0, x1))
        mouse.y = float(np.clip(mouse.y + np.sin(mouse.heading) * mouse.speed, y0, y1))
        mouse.phase += 0.25 + 1.2 * mouse.speed / max(mouse.length, 1) * 10

    def composite(self, canvas, labels, offset, colours, shade) -> None:
        """Paint label ``k`` of a mouse canvas with ``colours[k]`` scaled by ``shade``."""
        crop, where = _frame_crop(labels, offset, (self.height, self.width))
        if crop.size == 0:
            return
        region = canvas[where].astype(np.float32)
        # A soft shadow below and right of the mouse, then the mouse itself (with sensor noise).
        shadow = cv2.GaussianBlur((crop > 0).astype(np.float32), (0, 0), 3)
        shadow = np.roll(shadow, (3, 3), axis=(0, 1))
        region *= 1 - 0.35 * shadow[..., None]
        palette = np.zeros((max(colours) + 1, 3), np.float32)
        for label, colour in colours.items():
            palette[label] = np.asarray(colour, np.float32) * shade
        painted = palette[crop] + self.noise[where]
        region = np.where((crop > 0)[..., None], painted, region)
        canvas[where] = to_uint8(region)

    def truth(self, labels, offset, mouse, tail_in_box) -> dict:
        keep = IN_BOX + ((TAIL,) if tail_in_box else ())
        crop, (rows_in, columns_in) = _frame_crop(labels, offset, (self.height, self.width))
        mask = np.isin(crop, keep)
        fx0, fy0 = columns_in.start, rows_in.start
        box = mask_box(mask, (fx0, fy0))
        rows, columns = np.nonzero(mask)
        heading = mouse.heading
        if mouse.pitch:  # side view: the head points up along the raised body
            heading = _wrap(np.arctan2(-np.sin(mouse.pitch), np.cos(mouse.pitch) * np.cos(heading)))
        return {
            "x0": box[0],
            "y0": box[1],
            "x1": box[2],
            "y1": box[3],
            "cx": float(columns.mean() + fx0 + 0.5),
            "cy": float(rows.mean() + fy0 + 0.5),
            "heading": float(heading),
        }

    def colours(self, mouse) -> dict:
        fur = np.asarray(FUR[mouse.fur], np.float32)
        light = mouse.fur == "light"
        return {
            BODY: fur,
            HIGHLIGHT: fur * (1.06 if light else 1.35),
            EAR: (236, 170, 170) if light else (95, 70, 70),
            EYE: (150, 30, 40) if light else (12, 10, 10),
            NOSE: (240, 150, 150) if light else (90, 60, 60),
            TAIL: (225, 175, 165) if light else (80, 66, 62),
        }


def _wrap(angle: float) -> float:
    return float((angle + np.pi) % (2 * np.pi) - np.pi)


def _point(x, y, angle, forward, side) -> tuple[float, float]:
    return (
        x + np.cos(angle) * forward - np.sin(angle) * side,
        y + np.sin(angle) * forward + np.cos(angle) * side,
    )


def _ellipse(image, centre, axes, angle, value) -> None:
    cv2.ellipse(
        image,
        (round(centre[0]), round(centre[1])),
        (max(1, round(axes[0])), max(1, round(axes[1]))),
        float(np.degrees(angle)),
        0,
        360,
        value,
        -1,
    )


class _TopScene(_Scene):
    states = ("rest", "walk", "run", "approach")

    def __init__(self, rng, width, height, setup, furs):
        super().__init__(rng, width, height, setup, furs)
        side = min(width, height)
        wall = round(0.07 * side)
        outer = round(0.03 * side)
        self.floor = (outer + wall, outer + wall, width - outer - wall, height - outer - wall)
        self.rim = (outer, outer, width - outer, height - outer)
        self.mouse_length = 0.12 * side
        bedded = setup == "resident_intruder"
        # An open field contrasts with its mouse: a pale floor for dark fur, a dark one for light.
        pale = (205, 204, 198) if furs[0] == "dark" else (92, 96, 104)
        self.floor_colour = (196, 172, 128) if bedded else pale
        background = textured(rng, height, width, (60, 58, 55), 0.3, cells=6)  # bench
        floor = textured(rng, height, width, self.floor_colour, 0.12 if bedded else 0.06)
        if bedded:
            sprinkle(rng, floor, int(0.004 * width * height), self.floor_colour, 0.25, (3, 6))
        x0, y0, x1, y1 = self.floor
        walls = textured(rng, height, width, (170, 176, 182), 0.08, cells=8)
        # Walls seen from above: a band between the outer rim and the floor, lit from one side.
        background[outer : height - outer, outer : width - outer] = walls[
            outer : height - outer, outer : width - outer
        ]
        ys, xs = np.mgrid[0:height, 0:width]
        specular = np.exp(-(((xs - x0 + wall * 0.5) / (wall * 0.3)) ** 2)) * 40
        background += specular[..., None].astype(np.float32)
        background[y0:y1, x0:x1] = floor[y0:y1, x0:x1]
        self._distractors(rng, background)
        self.background = (background * self.gain[..., None]).astype(np.float32)
        self.wall = wall

    def _distractors(self, rng, image) -> None:
        x0, y0, x1, y1 = self.floor
        floor = image[y0:y1, x0:x1]
        sprinkle(rng, floor, int(rng.integers(3, 9)), (45, 35, 28), 0.2, (2, 4))  # droppings
        sprinkle(rng, floor, int(rng.integers(1, 4)), (150, 120, 70), 0.15, (4, 6))  # pellets
        if rng.random() < 0.7:  # a tape mark on the floor
            centre = (int(rng.integers(20, x1 - x0 - 20)), int(rng.integers(20, y1 - y0 - 20)))
            cv2.line(
                floor, (centre[0] - 10, centre[1]), (centre[0] + 10, centre[1]), (230, 230, 90), 3
            )

    def new_mouse(self, rng, fur, identity) -> _Mouse:
        x0, y0, x1, y1 = self.floor
        length = self.mouse_length * rng.uniform(0.92, 1.08)
        return _Mouse(
            identity,
            fur,
            length,
            x=float(rng.uniform(x0 + length, x1 - length)),
            y=float(rng.uniform(y0 + length, y1 - length)),
            heading=float(rng.uniform(-np.pi, np.pi)),
        )

    def step(self, mouse, mice, rng, fps) -> None:
        x0, y0, x1, y1 = self.floor
        inset = 0.35 * mouse.length
        self.steer(mouse, mice, rng, fps, (x0 + inset, y0 + inset, x1 - inset, y1 - inset))

    def render_labels(self, mouse):
        reach = round(1.3 * mouse.length) + 4
        labels = np.zeros((2 * reach, 2 * reach), np.uint8)
        offset = (round(mouse.x) - reach, round(mouse.y) - reach)
        cx, cy, a, length = mouse.x - offset[0], mouse.y - offset[1], mouse.heading, mouse.length
        # Tail: a wavy polyline behind the rump.
        points = []
        for k in range(9):
            t = k / 8
            wave = 0.12 * length * t * np.sin(mouse.phase + 3 * t)
            points.append(_point(cx, cy, a, -0.3 * length - 0.9 * length * t, wave))
        thickness = max(2, round(0.045 * length))
        cv2.polylines(labels, [np.round(points).astype(np.int32)], False, TAIL, thickness)
        _ellipse(
            labels, _point(cx, cy, a, -0.02 * length, 0), (0.31 * length, 0.19 * length), a, BODY
        )
        _ellipse(
            labels,
            _point(cx, cy, a, -0.02 * length, 0),
            (0.2 * length, 0.08 * length),
            a,
            HIGHLIGHT,
        )
        for side in (-1, 1):
            _ellipse(
                labels,
                _point(cx, cy, a, 0.3 * length, side * 0.1 * length),
                (0.06 * length, 0.07 * length),
                a,
                EAR,
            )
        _ellipse(
            labels, _point(cx, cy, a, 0.36 * length, 0), (0.15 * length, 0.1 * length), a, BODY
        )
        for side in (-1, 1):
            _ellipse(
                labels,
                _point(cx, cy, a, 0.4 * length, side * 0.06 * length),
                (0.02 * length, 0.02 * length),
                a,
                EYE,
            )
        _ellipse(
            labels, _point(cx, cy, a, 0.5 * length, 0), (0.025 * length, 0.025 * length), a, NOSE
        )
        return labels, offset

    def draw_reflection(self, canvas, mouse) -> None:
        """A faint mirror image of a mouse close to a wall, in that wall."""
        labels, (ox, oy) = self.render_labels(mouse)
        x0, y0, x1, y1 = self.floor
        h, w = labels.shape
        colour = np.asarray(FUR[mouse.fur], np.float32)
        mirrors = []
        if mouse.x - x0 < mouse.length:
            mirrors.append((labels[:, ::-1], 2 * x0 - ox - w, oy))
        if x1 - mouse.x < mouse.length:
            mirrors.append((labels[:, ::-1], 2 * x1 - ox - w, oy))
        if mouse.y - y0 < mouse.length:
            mirrors.append((labels[::-1, :], ox, 2 * y0 - oy - h))
        if y1 - mouse.y < mouse.length:
            mirrors.append((labels[::-1, :], ox, 2 * y1 - oy - h))
        for mirrored, mx, my in mirrors:
            fx0, fy0 = max(mx, 0), max(my, 0)
            fx1, fy1 = min(mx + w, self.width), min(my + h, self.height)
            if fx1 <= fx0 or fy1 <= fy0:
                continue
            visible = mirrored[fy0 - my : fy1 - my, fx0 - mx : fx1 - mx] > 0
            ys, xs = np.arange(fy0, fy1)[:, None], np.arange(fx0, fx1)[None, :]
            rx0, ry0, rx1, ry1 = self.rim
            on_floor = (ys >= y0) & (ys < y1) & (xs >= x0) & (xs < x1)
            visible &= ~on_floor & (ys >= ry0) & (ys < ry1) & (xs >= rx0) & (xs < rx1)
            region = canvas[fy0:fy1, fx0:fx1]
            region[visible] = to_uint8(0.7 * region[visible] + 0.3 * colour)

    def draw(self, canvas, mouse, tail_in_box) -> tuple[dict, tuple]:
        """Paint ``mouse``; return its truth row and its footprint ``(labels, offset)``."""
        labels, offset = self.render_labels(mouse)
        shade = float(
            self.gain[
                int(np.clip(mouse.y, 0, self.height - 1)), int(np.clip(mouse.x, 0, self.width - 1))
            ]
        )
        self.composite(canvas, labels, offset, self.colours(mouse), shade)
        return self.truth(labels, offset, mouse, tail_in_box), (labels, offset)


class _SideScene(_Scene):
    states = ("rest", "walk", "run", "rear")

    def __init__(self, rng, width, height, setup, furs):
        super().__init__(rng, width, height, setup, furs)
        self.floor_y = round(0.8 * height)
        self.mouse_length = 0.2 * width
        background = textured(rng, height, width, (150, 156, 150), 0.1, cells=5)  # back wall
        bedding = textured(rng, height, width, (190, 165, 120), 0.2, cells=20)
        sprinkle(rng, bedding, int(0.01 * width * height), (190, 165, 120), 0.3, (2, 4))
        background[self.floor_y - 4 :] = bedding[self.floor_y - 4 :]
        # Cage fittings: side walls, a top rail, a food hopper grid and a water bottle spout.
        rim = max(3, width // 60)
        background[:, :rim] = background[:, -rim:] = (200, 205, 210)
        background[:rim] = (120, 122, 126)
        hopper = (round(0.6 * width), round(0.05 * height), round(0.9 * width), round(0.3 * height))
        for x in range(hopper[0], hopper[2], max(4, width // 40)):
            cv2.line(background, (x, hopper[1]), (x, hopper[3]), (90, 92, 96), 2)
        cv2.line(background, (hopper[0], hopper[3]), (hopper[2], hopper[3]), (90, 92, 96), 2)
        spout = round(0.15 * width)
        cv2.line(
            background, (spout, 0), (spout + width // 20, round(0.35 * height)), (175, 180, 190), 3
        )
        self.background = (background * self.gain[..., None]).astype(np.float32)

    def new_mouse(self, rng, fur, identity) -> _Mouse:
        length = self.mouse_length * rng.uniform(0.92, 1.08)
        x = float(rng.uniform(length, self.width - length))
        return _Mouse(
            identity,
            fur,
            length,
            x=x,
            y=float(self.floor_y),
            heading=float(rng.choice([0.0, np.pi])),
        )

    def step(self, mouse, mice, rng, fps) -> None:
        if mouse.bout_left <= 0:
            self.next_bout(mouse, mice, rng, fps)
        mouse.bout_left -= 1
        mouse.pitch += 0.2 * ((0.95 if mouse.state == "rear" else 0.0) - mouse.pitch)
        target = SPEED[mouse.state] * mouse.length / fps
        mouse.speed += 0.15 * (target - mouse.speed)
        direction = 1.0 if np.cos(mouse.heading) > 0 else -1.0
        ahead = mouse.x + direction * 0.6 * mouse.length
        if mouse.speed > 0.05 and not (0.05 * self.width < ahead < 0.95 * self.width):
            mouse.heading = 0.0 if direction < 0 else np.pi  # turn around at the cage end
            direction = -direction
        low, high = 0.4 * mouse.length, self.width - 0.4 * mouse.length
        mouse.x = float(np.clip(mouse.x + direction * mouse.speed, low, high))
        mouse.phase += 0.25 + 12 * mouse.speed / max(mouse.length, 1)

    def render_labels(self, mouse):
        reach = round(1.3 * mouse.length) + 4
        labels = np.zeros((2 * reach, 2 * reach), np.uint8)
        offset = (round(mouse.x) - reach, round(mouse.y) - reach)
        rump_x, rump_y = mouse.x - offset[0], mouse.y - offset[1] - 0.08 * mouse.length
        length, direction = mouse.length, 1.0 if np.cos(mouse.heading) > 0 else -1.0
        # Body axis from the rump, raised by the pitch while rearing; image y points down.
        axis = np.arctan2(-np.sin(mouse.pitch), direction * np.cos(mouse.pitch))
        up = -direction  # the "side" offset that points up (towards the back) in the image

        def along(forward, side=0.0):
            return _point(rump_x, rump_y, axis, forward, up * side)

        tail = [
            along(-0.05 * length - 0.05 * k * length, -0.05 * k * length * (k < 4))
            for k in range(3)
        ]
        tail += [
            (tail[-1][0] - direction * 0.12 * k * length, rump_y + 0.06 * length)
            for k in range(1, 6)
        ]
        cv2.polylines(
            labels, [np.round(tail).astype(np.int32)], False, TAIL, max(2, round(0.035 * length))
        )
        for k, forward in enumerate((0.1, 0.45)):  # legs
            foot = along(forward, -0.12 * length)
            swing = 0.05 * length * np.sin(mouse.phase + np.pi * k) * (mouse.pitch < 0.3)
            cv2.line(
                labels,
                np.round(foot).astype(int),
                np.round((foot[0] + swing, foot[1] + 0.12 * length)).astype(int),
                BODY,
                max(2, round(0.04 * length)),
            )
        _ellipse(
            labels, along(0.32 * length, 0.02 * length), (0.32 * length, 0.17 * length), axis, BODY
        )
        _ellipse(
            labels,
            along(0.3 * length, 0.08 * length),
            (0.2 * length, 0.06 * length),
            axis,
            HIGHLIGHT,
        )
        _ellipse(labels, along(0.7 * length), (0.16 * length, 0.11 * length), axis, BODY)
        _ellipse(
            labels, along(0.62 * length, 0.12 * length), (0.05 * length, 0.07 * length), axis, EAR
        )
        _ellipse(
            labels, along(0.74 * length, 0.04 * length), (0.02 * length, 0.02 * length), axis, EYE
        )
        _ellipse(
            labels,
            along(0.86 * length, -0.01 * length),
            (0.025 * length, 0.025 * length),
            axis,
            NOSE,
        )
        return labels, offset

    def draw_reflection(self, canvas, mouse) -> None:
        """The side view has no mirroring wall."""

    def draw(self, canvas, mouse, tail_in_box) -> tuple[dict, tuple]:
        labels, offset = self.render_labels(mouse)
        shade = float(
            self.gain[
                int(np.clip(mouse.y - 10, 0, self.height - 1)),
                int(np.clip(mouse.x, 0, self.width - 1)),
            ]
        )
        self.composite(canvas, labels, offset, self.colours(mouse), shade)
        return self.truth(labels, offset, mouse, tail_in_box), (labels, offset)
