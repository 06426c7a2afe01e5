"""demo-mice and demo-mice-full: Darknet detectors trained in torch on synthetic arena frames.

``demo-mice`` is YOLOv3-tiny-shaped (``demo-mice.cfg``: plain conv + max-pool backbone, heads at
strides 32 and 16); ``demo-mice-full`` is YOLOv3-shaped (``weights/demo-mice-full.cfg``: a
Darknet-53-like residual backbone, heads at strides 32, 16 and 8), narrowed so it trains on two
CPU cores in under half an hour. The two are the mice paper's "Full" and "Tiny" pair (see
:func:`xaikit.track.evaluation.compare_detectors`); :data:`DETECTORS` holds each one's cfg,
recipe and explainable layers.

The network is built from ``demo-mice.cfg`` by the Darknet port, so its parameters map 1:1 to
the ``.weights`` file that :func:`~xaikit.models.save_darknet_weights` writes; the same
:func:`~xaikit.models.load_darknet` reads it back (and OpenCV DNN could too).

The loss (:func:`yolo_loss`) follows YOLOv3 with two YOLOv4/v5 refinements: each ground-truth
box goes to every anchor (over both heads) whose shape IoU with it exceeds ``anchor_iou`` (always
to the best one), in the cell holding its centre and, as the cfg's heads use ``scale_x_y=2``, in
the nearer neighbour cell along each axis; those predictions learn the box (GIoU loss on the
decoded box), objectness equal to their box's IoU with it, and the class; every other
prediction learns objectness 0 unless its box already overlaps a ground truth by IoU > 0.5
(ignored). A mouse mostly hidden under the other one (a "difficult" box, see
:data:`~xaikit.data.synthetic.MIN_VISIBLE`) trains no prediction, since no pixel shows
where it is, but predictions overlapping it are ignored rather than punished; held-out scores
follow the VOC rule for difficult boxes too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.ops import box_iou, generalized_box_iou_loss
from tqdm.auto import tqdm

from xaikit.models.darknet import Darknet, load_darknet
from xaikit.models.darknet_layers import YoloLayer
from xaikit.models.preprocessing import ResizePreprocess
from xaikit.models.yolo import decode_yolo_head
from xaikit.models.zoo import cards, datasets
from xaikit.models.zoo.training import descend, seed_everything

NAME = "demo-mice"
CFG = Path(__file__).resolve().parent / "demo-mice.cfg"
FULL_NAME = "demo-mice-full"
FULL_CFG = Path(__file__).resolve().parent / "weights" / "demo-mice-full.cfg"
#: Data and optimisation settings (all recorded in the card).
RECIPE = {
    "train_clips": 300,  # 100 per setup
    "frames_per_clip": 120,  # 4 s: long enough for the two mice to meet, touch and cross
    "every": 12,  # keep every 12th frame: 10 per clip
    "occluded": 0.8,  # and every frame in which the other mouse hides over a fifth of one
    "held_out_clips": 24,
    "held_out_frames": 120,
    "held_out_every": 10,
    "epochs": 10,
    "batch_size": 16,
    "lr": 2e-3,
    "weight_decay": 5e-4,
    "ignore_iou": 0.5,
    "anchor_iou": 0.3,
    "seed": 0,
}
#: demo-mice-full's recipe: demo-mice's (same data, loss, optimiser, learning rate) with 6
#: epochs instead of 10. The ~3x larger network (1.09 M parameters against 0.34 M, 385 M
#: multiply-adds per frame against 128 M) takes ~0.37 s a step on two idle CPU cores against
#: demo-mice's ~0.32 s with its loss; 6 epochs keep it within ~25 minutes on a shared machine.
FULL_RECIPE = {**RECIPE, "epochs": 6}


@dataclass(frozen=True)
class DetectorSpec:
    """What trains and describes one demo detector.

    Attributes:
        cfg: Its Darknet cfg.
        recipe: Data and optimisation settings (recorded in the card).
        layers: Layers worth explaining, shallow to deep, before the heads (the card adds
            the heads' layer names).
        architecture: One line for the card.
    """

    cfg: Path
    recipe: dict
    layers: tuple[str, ...]
    architecture: str


#: The demo detectors by name.
DETECTORS = {
    NAME: DetectorSpec(
        CFG,
        RECIPE,
        ("module_list.8", "module_list.13", "module_list.21"),
        "YOLOv3-tiny-style: 7 conv + max-pool stages, heads at strides 32 and 16",
    ),
    FULL_NAME: DetectorSpec(
        FULL_CFG,
        FULL_RECIPE,
        ("module_list.15", "module_list.22", "module_list.26"),
        "YOLOv3-style: Darknet-53-like residual backbone (7 [shortcut] blocks), "
        "heads at strides 32, 16 and 8",
    ),
}


def spec(name: str) -> DetectorSpec:
    """The :class:`DetectorSpec` of demo detector ``name``.

    Examples:
        >>> spec("demo-mice-full").recipe["epochs"], spec("demo-mice").cfg.name
        (6, 'demo-mice.cfg')
        >>> spec("demo-shapes")
        Traceback (most recent call last):
        ...
        ValueError: unknown demo detector 'demo-shapes'; valid: demo-mice, demo-mice-full
    """
    if name not in DETECTORS:
        raise ValueError(f"unknown demo detector {name!r}; valid: {', '.join(DETECTORS)}")
    return DETECTORS[name]


def _cells(centre: float, stride: float, cells: int, neighbours: bool) -> list[int]:
    """Grid cells along one axis that train a box centred at ``centre`` (input pixels).

    The cell holding the centre, and with ``neighbours`` also the adjacent cell nearer to the
    centre (reachable when the head's ``scale_x_y`` is 2: offsets span ``(-0.5, 1.5)``).

    Examples:
        >>> _cells(36.0, 16, 20, True), _cells(44.0, 16, 20, True), _cells(4.0, 16, 20, True)
        ([2, 1], [2, 3], [0])
    """
    cell = min(int(centre // stride), cells - 1)
    found = [cell]
    if neighbours:
        other = cell - 1 if centre / stride - cell < 0.5 else cell + 1
        if 0 <= other < cells:
            found.append(other)
    return found


def assign_targets(
    model: Darknet, boxes: list[torch.Tensor], anchor_iou: float = 1.0
) -> list[list[tuple]]:
    """For each head, the ``(image, anchor, row, col, box)`` each ground-truth box trains.

    A box trains every anchor (over both heads) whose shape IoU with it exceeds ``anchor_iou``,
    and always the best-fitting one; on a head with ``scale_x_y >= 2`` it trains the cell
    holding its centre and the nearer neighbour cell along each axis (as in YOLOv5), otherwise
    only the centre cell. ``anchor_iou=1`` gives YOLOv3's single best anchor.

    A prediction slot (image, head, anchor, cell) trains one box only. When boxes of touching
    animals claim the same slot, the one whose centre lies in that cell wins over one reaching
    it as a neighbour cell, then the better-fitting anchor, then the nearer centre: a slot
    pulled towards two boxes at once would learn a box between them.

    Args:
        model: The detector (its heads give anchors, strides and ``scale_x_y``).
        boxes: Per image an ``(M, 4)`` tensor ``x0, y0, x1, y1`` in input pixels, or
            ``(M, 5)`` with the class id last (the rows come back whole).
        anchor_iou: Shape-IoU threshold for assigning a box to more than its best anchor.

    Returns:
        One list per head (in :attr:`Darknet.heads` order).

    Examples:
        >>> model = Darknet.from_cfg(CFG)
        >>> found = assign_targets(model, [torch.tensor([[100.0, 50, 150, 80]])])
        >>> [len(f) for f in found], found[0][0][:4]
        ([4, 0], (0, 1, 2, 3))
        >>> twins = torch.tensor([[100.0, 50, 120, 63], [103.0, 50, 123, 63]])
        >>> [len(f) for f in assign_targets(model, [twins])]  # the same four slots, kept once
        [0, 4]
    """
    heads = model.heads
    for head in heads:
        if not isinstance(head, YoloLayer) or head.new_coords:
            raise ValueError(
                f"training handles [yolo] heads with new_coords=0 only; {head!r} is not one"
            )
    anchors = torch.cat([head.anchors for head in heads])
    owner = [(h, a) for h, head in enumerate(heads) for a in range(len(head.anchors))]
    height, width = model.input_size
    claims: dict[tuple, tuple] = {}  # (head, image, anchor, row, col) -> (priority, box)
    for image, image_boxes in enumerate(boxes):
        for box in image_boxes:
            size = box[2:4] - box[:2]
            inter = torch.minimum(size, anchors).prod(1)
            shape_iou = inter / (size.prod() + anchors.prod(1) - inter)
            chosen = (shape_iou > anchor_iou).nonzero().flatten().tolist()
            best = int(shape_iou.argmax())
            cx = float(box[0] + box[2]) / 2
            cy = float(box[1] + box[3]) / 2
            for k in [best] + [k for k in chosen if k != best]:
                h, a = owner[k]
                head = heads[h]
                wide = head.scale_x_y >= 2
                rows = _cells(cy, head.stride, height // head.stride, wide)
                cols = _cells(cx, head.stride, width // head.stride, wide)
                for row in rows:
                    for col in cols:
                        off_centre = (row != rows[0]) + (col != cols[0])
                        distance = ((col + 0.5) * head.stride - cx) ** 2 + (
                            (row + 0.5) * head.stride - cy
                        ) ** 2
                        priority = (off_centre, -float(shape_iou[k]), distance)
                        slot = (h, image, a, row, col)
                        if slot not in claims or priority < claims[slot][0]:
                            claims[slot] = (priority, box)
    found: list[list[tuple]] = [[] for _ in heads]
    for (h, image, a, row, col), (_, box) in claims.items():
        found[h].append((image, a, row, col, box))
    return found


def yolo_loss(
    model: Darknet,
    outputs,
    boxes: list[torch.Tensor],
    ignore_iou: float = 0.5,
    anchor_iou: float = 1.0,
    difficult: list[torch.Tensor] | None = None,
):
    """YOLOv3 loss of raw head ``outputs`` against ``boxes`` (see the module docstring).

    Args:
        model: The detector that made ``outputs``.
        outputs: Its raw heads, one ``(B, A * (5 + C), H, W)`` tensor per head.
        boxes: Per image an ``(M, 4)`` tensor of ground-truth boxes in input pixels (class 0),
            or ``(M, 5)`` with the class id in the last column.
        ignore_iou: Negatives whose decoded box overlaps a ground truth by more are ignored.
        anchor_iou: See :func:`assign_targets`.
        difficult: Per image an ``(M,)`` bool tensor: boxes that train no prediction and only
            shield the predictions overlapping them.

    Returns:
        ``(loss, parts)``: the scalar to minimise (sums over predictions divided by the batch
        size) and a dict of its ``box``, ``obj`` and ``cls`` terms.
    """
    batch = outputs[0].shape[0]
    terms = {"box": 0.0, "obj": 0.0, "cls": 0.0}
    if difficult is not None:
        positives = [b[~hard] for b, hard in zip(boxes, difficult, strict=True)]
    else:
        positives = boxes
    assignments = assign_targets(model, positives, anchor_iou)
    for raw, head, assigned in zip(outputs, model.heads, assignments, strict=True):
        _, _, rows, cols = raw.shape
        anchors = len(head.anchors)
        decoded = decode_yolo_head(raw, head.anchors, head.stride, head.scale_x_y)
        # Raw entries in decode's row order: (row * W + col) * A + a.
        logits = raw.reshape(batch, anchors, -1, rows, cols).permute(0, 3, 4, 1, 2)
        logits = logits.reshape(batch, rows * cols * anchors, -1)
        target = torch.zeros_like(logits[..., 4])
        weight = torch.ones_like(target)
        with torch.no_grad():
            for image, image_boxes in enumerate(boxes):
                if len(image_boxes):
                    overlap = box_iou(decoded[image, :, :4], image_boxes[:, :4]).amax(1)
                    weight[image, overlap > ignore_iou] = 0.0
        if assigned:
            images = torch.tensor([t[0] for t in assigned], device=raw.device)
            index = torch.tensor(
                [(t[2] * cols + t[3]) * anchors + t[1] for t in assigned], device=raw.device
            )
            rows = torch.stack([t[4] for t in assigned])
            truth = rows[:, :4]
            predicted = decoded[images, index, :4]
            terms["box"] = terms["box"] + generalized_box_iou_loss(
                predicted, truth, reduction="sum"
            )
            # Objectness learns the IoU of its box (as in YOLOv5), so scores rank localisation.
            with torch.no_grad():
                fit = box_iou(predicted, truth).diagonal().clamp(min=0.0)
            target[images, index] = fit
            weight[images, index] = 1.0
            class_logits = logits[images, index, 5:]
            classes = rows[:, 4].long() if rows.shape[1] > 4 else torch.zeros_like(index)
            wanted = F.one_hot(classes, class_logits.shape[-1]).to(class_logits.dtype)
            terms["cls"] = terms["cls"] + F.binary_cross_entropy_with_logits(
                class_logits, wanted, reduction="sum"
            )
        terms["obj"] = terms["obj"] + F.binary_cross_entropy_with_logits(
            logits[..., 4], target, weight=weight, reduction="sum"
        )
    parts = {key: value / batch for key, value in terms.items()}
    return 5.0 * parts["box"] + parts["obj"] + parts["cls"], parts


def training_tensors(data: datasets.ArenaFrames, input_size):
    """Frames -> ``(N, 3, H, W)`` uint8 model input (the model's own resize) and input boxes
    (the difficult flags stay in ``data.difficult``, in the same order)."""
    preprocess = ResizePreprocess(input_size)
    images, boxes = [], []
    for start in range(0, len(data), 64):
        x, mappings = preprocess(data.frames[start : start + 64], device="cpu")
        images.append((x * 255).round().to(torch.uint8))  # exact: x is uint8 / 255
        for mapping, frame_boxes in zip(mappings, data.boxes[start : start + 64], strict=True):
            boxes.append(torch.as_tensor(mapping.boxes_to_input(frame_boxes), dtype=torch.float32))
    return torch.cat(images), boxes


def _flip(images: torch.Tensor, boxes: list[torch.Tensor], generator: torch.Generator):
    """Random horizontal flips of ``(B, 3, H, W)`` images and their boxes."""
    width = images.shape[-1]
    flip = torch.rand(len(images), generator=generator) < 0.5
    images = torch.where(flip[:, None, None, None], images.flip(-1), images)
    flipped = []
    for do, image_boxes in zip(flip.tolist(), boxes, strict=True):
        if do and len(image_boxes):
            image_boxes = torch.stack(
                [
                    width - image_boxes[:, 2],
                    image_boxes[:, 1],
                    width - image_boxes[:, 0],
                    image_boxes[:, 3],
                ],
                1,
            )
        flipped.append(image_boxes)
    return images, flipped


def fit_detector(
    model: Darknet, images, boxes, difficult, recipe: dict, device, max_steps=None, desc=NAME
) -> list[float]:
    """Train ``model`` (AdamW, one-cycle) on uint8 ``images`` ``(N, 3, H, W)``, input boxes and
    their difficult flags (one ``(M,)`` bool array per image); ``desc`` labels the progress
    bar."""
    generator = seed_everything(recipe["seed"])
    steps_per_epoch = max(1, len(images) // recipe["batch_size"])
    total = recipe["epochs"] * steps_per_epoch if max_steps is None else max_steps
    model.to(device).train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"]
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe["lr"], total_steps=total)
    losses: list[float] = []
    order = torch.empty(0, dtype=torch.long)
    bar = tqdm(range(total), desc=desc, unit="step")
    for step in bar:
        start = (step % steps_per_epoch) * recipe["batch_size"]
        if start == 0:
            order = torch.randperm(len(images), generator=generator)
        index = order[start : start + recipe["batch_size"]].tolist()
        batch, targets = _flip(images[index], [boxes[i] for i in index], generator)
        x = batch.to(device, torch.float32) / 255
        loss, parts = yolo_loss(
            model,
            model(x),
            [t.to(device) for t in targets],
            recipe["ignore_iou"],
            recipe["anchor_iou"],
            [torch.as_tensor(difficult[i], device=device) for i in index],
        )
        descend(loss, optimizer, schedule, losses, bar)
    return losses


def held_out(seed: int, clips: int, frames: int, every: int) -> datasets.ArenaFrames:
    """A held-out set of arena frames (all three setups) from a held-out ``seed``."""
    return datasets.arena_set(clips, frames, datasets.check_held_out(seed), every)


def load_detector(card: dict, folder: Path, weights: Path | None):
    """``(model, preprocess)`` of a demo detector from its card's cfg and a ``.weights`` file."""
    cfg = cards.require_file(Path(folder) / card["cfg"], card["name"])
    model = load_darknet(cfg, weights, device="cpu", class_names=card["classes"])
    return model, ResizePreprocess(model.input_size, model.letterbox)
