"""Labelled frames as a detector's training tensors: pixels from image files or a video, boxes
mapped into the model's input, negatives from videos of empty arenas and from the labelled
frames themselves.

Every frame goes through the detector's own preprocessing (resize or letterbox to its input
size), so training sees exactly what :meth:`~xaikit.models.darknet.Darknet.detect` will;
frames are kept as uint8 model input (``3 * H * W`` bytes each: 245 KB at 320x256), never at
their full size.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from xaikit.data.annotations import Annotations
from xaikit.data.errors import DataFileError

#: Most negative frames taken from each ``negatives`` video (evenly spaced).
NEGATIVES_PER_VIDEO = 60


@dataclass
class TrainingFrames:
    """Model-input frames and their boxes.

    Attributes:
        images: ``(N, 3, H, W)`` uint8 model input (RGB).
        boxes: Per frame an ``(M, 4)`` float32 tensor ``x0, y0, x1, y1`` in input pixels.
        labels: Per frame an ``(M,)`` int64 tensor of class ids.
        names: Per frame its name (the label table's ``image``, or ``<video>:<frame>``).
        groups: Per frame the recording it comes from (a video, or a folder of images of one
            size): background patches are only swapped within one recording.
        order: Per frame its position in its recording (frame number or name order).
    """

    images: torch.Tensor
    boxes: list[torch.Tensor]
    labels: list[torch.Tensor]
    names: list[str]
    groups: list[str]
    order: list

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, index) -> TrainingFrames:
        index = list(index)
        return TrainingFrames(
            self.images[index],
            [self.boxes[i] for i in index],
            [self.labels[i] for i in index],
            [self.names[i] for i in index],
            [self.groups[i] for i in index],
            [self.order[i] for i in index],
        )

    @staticmethod
    def join(parts: list[TrainingFrames]) -> TrainingFrames:
        parts = [part for part in parts if len(part)]
        return TrainingFrames(
            torch.cat([part.images for part in parts]),
            *(sum((getattr(part, key) for part in parts), []) for key in
              ("boxes", "labels", "names", "groups", "order")),
        )  # fmt: skip

    @staticmethod
    def empty(images: torch.Tensor, names, groups, order) -> TrainingFrames:
        """Negatives: ``images`` without a box."""
        count = len(names)
        return TrainingFrames(
            images, [torch.zeros(0, 4)] * count, [torch.zeros(0, dtype=torch.int64)] * count,
            list(names), list(groups), list(order),
        )  # fmt: skip

    @property
    def negatives(self) -> int:
        """How many frames have no box."""
        return sum(len(b) == 0 for b in self.boxes)


def load_training_frames(
    annotations: Annotations, model, images: str | os.PathLike | None = None, progress=True
) -> TrainingFrames:
    """Read every frame of ``annotations`` through ``model.preprocess``.

    Args:
        annotations: The labels (:func:`~xaikit.data.read_labels`); frames of a video are the
            rows with ``video`` and ``frame`` columns, image files the others (their ``path``
            column, else ``images / image``).
        model: The detector (its ``preprocess``).
        images: The folder of the image files, or the video of the labelled frames when the
            labels name another path for it (a project moved since labelling).
        progress: Show a progress bar.

    Raises:
        DataFileError: a labelled frame is missing (file or frame number past the video's end),
            or its pixels differ in size from what the labels say.

    Warns:
        UserWarning: boxes that reach outside their image (cut to it) or lie wholly outside
            it (left out), counted.
    """
    table = annotations.images.reset_index(drop=True)
    ids = annotations.class_ids()
    by_image = annotations.boxes.groupby("image", sort=False).indices
    boxes_xy = annotations.boxes[["x0", "y0", "x1", "y1"]].to_numpy(np.float64)
    frames, boxes, labels, names, groups, order = [], [], [], [], [], []
    cut = outside = 0
    bar = tqdm(total=len(table), desc="reading labelled frames", unit="frame", disable=not progress)
    for row, frame, group, position in labelled_frames(table, images):
        height, width = int(table.at[row, "height"]), int(table.at[row, "width"])
        name = str(table.at[row, "image"])
        if frame.shape[:2] != (height, width):
            raise DataFileError(
                name, f"the labels say {width}x{height} (W x H) but the frame is "
                f"{frame.shape[1]}x{frame.shape[0]}",
            )  # fmt: skip
        rows = by_image.get(name, [])
        xy = boxes_xy[rows]
        clipped = np.clip(xy, 0, [width, height, width, height])
        inside = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])
        cut += int((inside & (clipped != xy).any(axis=1)).sum())
        outside += int((~inside).sum())
        x, mapping = _model_input(model, frame)
        frames.append(x)
        boxes.append(torch.as_tensor(mapping.boxes_to_input(clipped[inside]), dtype=torch.float32))
        labels.append(torch.as_tensor(ids[rows][inside], dtype=torch.int64))
        names.append(name)
        groups.append(group)
        order.append(position)
        bar.update()
    bar.close()
    if cut or outside:
        warnings.warn(
            f"{cut} box(es) reached outside their image and were cut to it; {outside} lay "
            "wholly outside and were left out",
            stacklevel=2,
        )
    return TrainingFrames(torch.cat(frames), boxes, labels, names, groups, order)


def _model_input(model, frame: np.ndarray):
    """``frame`` through ``model.preprocess``, as uint8 ``(1, 3, H, W)`` (exact: the input is
    uint8 / 255), and its :class:`~xaikit.models.geometry.InputMapping`."""
    x, mappings = model.preprocess(frame, device="cpu")
    return (x * 255).round().to(torch.uint8), mappings[0]


def labelled_frames(table: pd.DataFrame, images=None):
    """The labelled frames at full size: ``(row, frame, recording, position)`` of each row of
    an :class:`~xaikit.data.annotations.Annotations` ``images`` table, ``frame`` an
    ``(H, W, 3)`` uint8 RGB array; the frames of a video come in frame order, then the image
    files. ``images`` is as in :func:`load_training_frames`.

    Raises:
        DataFileError: a labelled frame is missing.
    """
    import cv2

    from xaikit.data.video import open_video

    if not {"video", "frame"} <= set(table.columns):
        table = table.assign(video=None, frame=None)
    in_video = table["video"].notna() & table["frame"].notna()
    for video, rows in table[in_video].groupby("video", sort=False).groups.items():
        path = _video_path(str(video), images)
        reader = open_video(path)
        numbers = table.loc[rows, "frame"].astype(int)
        past = numbers[numbers >= len(reader)]
        if len(past):
            raise DataFileError(
                path, f"the labels name frame {int(past.iloc[0])} but the video has "
                f"{len(reader)} frames ({len(past)} labelled frame(s) past its end)",
            )  # fmt: skip
        for row, number in sorted(zip(rows, numbers, strict=True), key=lambda item: item[1]):
            yield row, reader[int(number)], str(path), int(number)
    for row in table.index[~in_video]:
        name = str(table.at[row, "image"])
        file = _image_path(table, row, images)
        frame = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if frame is None:
            raise DataFileError(file, f"labelled image {name} is missing or unreadable")
        yield row, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), f"{file.parent}|{frame.shape}", name


def _video_path(recorded: str, images) -> Path:
    given = Path(images) if images is not None else None
    if given is not None and given.is_file():
        return given
    if given is not None and (given / Path(recorded).name).is_file():
        return given / Path(recorded).name
    return Path(recorded)


def _image_path(table: pd.DataFrame, row, images) -> Path:
    name = str(table.at[row, "image"])
    candidates = []
    if images is not None:
        candidates += [Path(images) / name, Path(images) / Path(name).name]
    if "path" in table.columns and pd.notna(table.at[row, "path"]):
        candidates.append(Path(table.at[row, "path"]))
    candidates.append(Path(name))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DataFileError(
        candidates[0], f"labelled image {name} not found (pass images= the folder holding it)"
    )


def video_negatives(video: str | os.PathLike, model, count: int = NEGATIVES_PER_VIDEO):
    """Up to ``count`` evenly spaced frames of a video that shows no animal, as negatives."""
    from xaikit.data.video import open_video

    reader = open_video(video)
    spaced = np.linspace(0, len(reader) - 1, min(count, len(reader))).round()
    numbers = np.unique(spaced).astype(int).tolist()
    frames = torch.cat([_model_input(model, reader[number])[0] for number in numbers])
    names = [f"{Path(video).name}:{number}" for number in numbers]
    return TrainingFrames.empty(frames, names, [str(video)] * len(numbers), numbers)


def background_frames(
    frames: TrainingFrames, share: float, generator: torch.Generator, pad: float = 0.15
) -> TrainingFrames:
    """Negatives made from labelled frames: each animal painted over with the same place in
    another frame of the recording where no labelled animal is near.

    A fixed camera over an arena sees the same background in every frame, so a labelled frame
    whose animals are covered by another frame's empty patch shows the empty arena (which the
    labels alone never show when an animal is always in view). A frame is used only when every
    box (widened by ``pad`` of its size on each side) finds such a donor.

    Args:
        frames: Labelled training frames.
        share: How many negatives to make, as a share of ``len(frames)``.
        generator: Draws which frames and donors are used.
        pad: Widening of each box before it is painted over.

    Returns:
        The negatives (possibly fewer than asked, or none).
    """
    wanted = int(round(share * len(frames)))
    if wanted == 0:
        return frames.subset([])
    height, width = frames.images.shape[-2:]
    limit = torch.tensor([width, height, width, height], dtype=torch.float32)
    images, names, groups, order = [], [], [], []
    for i in torch.randperm(len(frames), generator=generator).tolist():
        if len(images) == wanted:
            break
        boxes = frames.boxes[i]
        if not len(boxes):
            continue
        grow = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2) * pad * torch.tensor([-1, -1, 1, 1])
        areas = torch.minimum(torch.maximum(boxes + grow, torch.zeros(4)), limit)
        donors = [j for j in range(len(frames)) if j != i and frames.groups[j] == frames.groups[i]]
        donors = [donors[k] for k in torch.randperm(len(donors), generator=generator).tolist()]
        image = frames.images[i].clone()
        for area in areas:
            donor = next((j for j in donors if not _overlaps(frames.boxes[j], area)), None)
            if donor is None:
                break
            x0, y0 = (int(v) for v in area[:2].floor().tolist())
            x1, y1 = (int(v) for v in area[2:].ceil().tolist())
            image[:, y0:y1, x0:x1] = frames.images[donor][:, y0:y1, x0:x1]
        else:
            images.append(image)
            names.append(f"{frames.names[i]} (animals painted over)")
            groups.append(frames.groups[i])
            order.append(frames.order[i])
    if not images:
        return frames.subset([])
    return TrainingFrames.empty(torch.stack(images), names, groups, order)


def _overlaps(boxes: torch.Tensor, area: torch.Tensor) -> bool:
    """Whether any of ``boxes`` reaches into ``area`` (a box of no extent inside counts)."""
    return bool(
        ((boxes[:, 0] < area[2]) & (boxes[:, 2] > area[0])
         & (boxes[:, 1] < area[3]) & (boxes[:, 3] > area[1])).any()
    )  # fmt: skip
