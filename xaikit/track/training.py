"""Train a Darknet YOLO detector on your own labelled frames: :func:`train_detector`.

The mice paper's method (label frames of the lab's own videos, train YOLO on them) as one call.
It fine-tunes demo-mice (or any Darknet cfg and weights, or starts from scratch) with the
augmentations of :mod:`xaikit.models.augment`, adds negatives (labelled frames without an
animal, frames of ``negatives`` videos, and labelled frames with their animals painted over by
the empty background of other frames, :func:`~xaikit.models.training_frames.background_frames`),
scores a held-out validation split with :func:`xaikit.metrics.detection.mean_average_precision`
after every epoch and keeps the best epoch. The result is a folder any Darknet tool reads::

    DIR/model.cfg      the network (input size and classes set for this data)
    DIR/model.weights  Darknet weights (OpenCV DNN and Darknet load them)
    DIR/model.names    one class name per line
    DIR/card.json      data, label conversion, recipe, per-epoch validation, times

and :func:`xaikit.models.load_darknet` loads ``DIR`` itself.

Validation: the labelled frames of each recording are put in recording order (frame number,
or file name) and cut into :data:`VALIDATION_BLOCKS` stretches, of which a share ``val`` is
held out (drawn from the seed): consecutive video frames are near copies, so a random split
would score frames the model has all but seen. The epoch kept is the one of highest validation
AP; of equal ones the later (further down the learning-rate schedule).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from xaikit._atomic import atomic_folder
from xaikit._runtime import device as resolve_device
from xaikit.data.annotations import Annotations
from xaikit.data.keypoints import MARGIN
from xaikit.metrics.detection import mean_average_precision
from xaikit.models.augment import Augmentation, augment
from xaikit.models.darknet import Darknet, load_darknet
from xaikit.models.darknet_cfg import parse_cfg, set_cfg_options
from xaikit.models.darknet_layers import YoloLayer
from xaikit.models.darknet_weights import save_darknet_weights
from xaikit.models.training_frames import (
    TrainingFrames,
    background_frames,
    load_training_frames,
    video_negatives,
)
from xaikit.models.zoo import cards
from xaikit.models.zoo.detector import yolo_loss
from xaikit.models.zoo.training import seed_everything

#: The files of a trained detector's folder.
FILES = ("model.cfg", "model.weights", "model.names", "card.json")
#: Stretches each recording is cut into for the validation split.
VALIDATION_BLOCKS = 10
#: Detections scoring above this count as boxes in the card's per-frame counts (Darknet's
#: default threshold); AP uses every detection above :data:`AP_THRESHOLD`.
BOX_THRESHOLD = 0.25
AP_THRESHOLD = 0.005
#: The scores of an epoch without a validation split.
UNSCORED = {"ap50": math.nan, "frames_right": math.nan}
#: Frames (augmented, negatives included) a training with ``epochs=None`` sees in all.
FRAMES_SEEN = 3000


@dataclass(frozen=True)
class Recipe:
    """The optimisation settings of :func:`train_detector` (all recorded in the card).

    Attributes:
        epochs: Passes over the training frames (negatives included); ``None`` makes the
            training see about :data:`FRAMES_SEEN` frames (at least 10, at most 100 epochs).
        batch_size: Frames per step.
        lr: Peak learning rate of the one-cycle schedule (AdamW).
        weight_decay: AdamW weight decay.
        ignore_iou: Predictions overlapping a labelled box by more are not taught "nothing".
        anchor_iou: A box trains every anchor whose shape IoU with it exceeds this.
        background: Negatives painted from the labelled frames, as a share of them.
        augmentation: The augmentation strengths.
    """

    epochs: int | None = None
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 5e-4
    ignore_iou: float = 0.5
    anchor_iou: float = 0.3
    background: float = 0.25
    augmentation: Augmentation = Augmentation()

    def epochs_for(self, frames: int) -> int:
        """The number of epochs over ``frames`` training frames.

        Examples:
            >>> Recipe().epochs_for(92), Recipe().epochs_for(5000), Recipe(epochs=3).epochs_for(9)
            (33, 10, 3)
        """
        if self.epochs is not None:
            return int(self.epochs)
        return min(100, max(10, math.ceil(FRAMES_SEEN / max(frames, 1))))


@dataclass
class TrainedDetector:
    """What :func:`train_detector` made.

    Attributes:
        model: The best epoch's detector, in eval mode.
        folder: The folder written (:data:`FILES`).
        card: The card written to ``folder / "card.json"`` (``None`` for scores that do not
            exist, such as the AP without a validation split).
        history: One row per finished epoch: ``epoch``, ``loss`` (mean training loss),
            ``val_ap50``, ``val_frames_right`` (share of validation frames with as many boxes
            above :data:`BOX_THRESHOLD` as labelled), ``seconds`` (the training steps) and
            ``val_seconds`` (scoring the validation split).
        best_epoch: The epoch kept (1-based).
        interrupted: Whether training was stopped early (Ctrl-C); the best epoch so far was
            written.
    """

    model: Darknet
    folder: Path
    card: dict
    history: pd.DataFrame
    best_epoch: int
    interrupted: bool = False


def train_detector(
    images: str | os.PathLike | None,
    labels: str | os.PathLike | Annotations,
    out: str | os.PathLike,
    *,
    format: str | None = None,
    start: str | os.PathLike | None = "demo-mice",
    cfg: str | os.PathLike | None = None,
    weights: str | os.PathLike | None = None,
    input_size: tuple[int, int] | None = None,
    val: float = 0.2,
    seed: int = 0,
    negatives: list | str | os.PathLike | None = None,
    margin: float = MARGIN,
    recipe: Recipe = Recipe(),
    device=None,
    progress: bool = True,
) -> TrainedDetector:
    """Train a detector on labelled frames and write it as a Darknet model folder.

    Args:
        images: The folder of the labelled images, or the video the labelled frames come from
            (``None``: where the labels say).
        labels: A label file or folder in any :func:`~xaikit.data.read_labels` format, or
            :class:`~xaikit.data.annotations.Annotations`.
        out: The folder to write (:data:`FILES`); an existing one is replaced whole once the
            new model is complete, and must be a trained-detector folder (or empty).
        format: The label format (:data:`xaikit.data.labels.FORMATS`); ``None`` tells by the
            file.
        start: Where training starts: ``"demo-mice"``, a trained-detector folder, or ``None``
            (random weights on demo-mice's cfg). Ignored when ``cfg`` is given.
        cfg: A Darknet ``.cfg`` to train instead, with ``weights`` (``None``: from scratch).
            Its ``[yolo]`` heads are resized to the labels' classes and its ``[net]`` to
            ``input_size``; the layers whose shapes still fit keep their weights.
        weights: The ``.weights`` of ``cfg``.
        input_size: ``(height, width)`` of the model input, multiples of the network's
            stride; ``None`` keeps the starting model's.
        val: Share of the labelled frames held out for validation (0 keeps the last epoch).
        seed: Seeds the split, the initialisation, the shuffling and the augmentation: a CPU
            run is repeated bit for bit.
        negatives: Video(s) of the empty arena: frames from each (evenly spaced, at most
            :data:`~xaikit.models.training_frames.NEGATIVES_PER_VIDEO`) train "nothing here".
        margin: For keypoint labels: the widening of each animal's keypoint extent
            (:func:`~xaikit.data.keypoints.keypoint_box`).
        recipe: Epochs, learning rate, batch size, augmentation (:class:`Recipe`).
        device: Where to train; ``None`` picks CUDA, then MPS, then CPU.
        progress: Show progress bars (loss, then validation AP, on the bar).

    Returns:
        :class:`TrainedDetector`.

    Raises:
        ValueError: no labelled box, bad ``val``/``input_size``, a ``start`` that is not a
            detector xaikit trains, an ``out`` folder holding other files.
        xaikit.data.errors.DataFileError: a label file that cannot be read, or a labelled
            frame that is missing.
        KeyboardInterrupt: Ctrl-C before the first epoch ended (nothing is written). Later,
            the best epoch so far is written and returned with ``interrupted=True``.

    Examples:
        >>> from xaikit.data import read_labels
        >>> labels = read_labels("labeled-data/session1/CollectedData_me.csv")  # doctest: +SKIP
        >>> trained = train_detector(None, labels, "my-mice")  # doctest: +SKIP
        >>> detector = load_darknet("my-mice")  # doctest: +SKIP
    """
    began = time.perf_counter()
    out = _check_out(Path(out))
    if not 0 <= val < 1:
        raise ValueError(f"val must be in [0, 1); got {val}")
    annotations = _annotations(labels, format, images, margin)
    device = resolve_device(device)
    generator = seed_everything(seed)
    model, origin = _starting_model(start, cfg, weights, annotations.classes, input_size)
    frames = load_training_frames(annotations, model, images, progress)
    train, held = split(frames, val, seed)
    if val and not len(held):
        raise ValueError(
            f"val={val} cannot hold out a frame of {len(frames)} labelled frame(s); label more "
            "frames or pass val=0 (then the last epoch is kept, unscored)"
        )
    painted = background_frames(train, recipe.background, generator)
    extra = [video_negatives(video, model) for video in _as_list(negatives)]
    training = TrainingFrames.join([train, painted, *extra])
    recipe = dataclasses.replace(recipe, epochs=recipe.epochs_for(len(training)))
    card = {
        "name": out.name,
        "task": "detection",
        "classes": annotations.classes,
        "input_size": list(model.input_size),
        "start": origin,
        "data": _data_card(annotations, labels, format, images, margin, train, held, painted,
                           extra, negatives),  # fmt: skip
        "recipe": {**dataclasses.asdict(recipe), "seed": seed, "val": val,
                   "validation_blocks": VALIDATION_BLOCKS, "optimizer": "AdamW",
                   "schedule": "one-cycle", "loss": "xaikit.models.zoo.detector.yolo_loss"},
    }  # fmt: skip
    history, best, interrupted = _fit(model, training, held, recipe, generator, device, progress)
    if best is None:
        raise KeyboardInterrupt("training was interrupted before its first epoch ended")
    model.load_state_dict(best["state"])
    model.eval()
    card["validation"] = {
        "best_epoch": best["epoch"],
        "ap50": best["val_ap50"],
        "frames_right": best["val_frames_right"],
        "epochs": history.to_dict("records"),
    }
    card["training"] = _training_card(device, began, interrupted, len(history), recipe.epochs)
    card = _write_folder(model, out, card)
    if interrupted:
        warnings.warn(
            f"training interrupted after epoch {len(history)} of {recipe.epochs}: the best "
            f"epoch so far ({best['epoch']}) was written to {out}",
            stacklevel=2,
        )
    return TrainedDetector(model, out, card, history, best["epoch"], interrupted)


def _check_out(out: Path) -> Path:
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / "card.json").is_file())
    ):
        raise ValueError(
            f"{out} exists and is not a trained-detector folder (no card.json): it would be "
            "replaced whole; choose a new folder"
        )
    return out


def _as_list(value) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, (str, os.PathLike)) else list(value)


def _annotations(labels, format, images, margin) -> Annotations:
    from xaikit.data.labels import read_labels

    if isinstance(labels, Annotations):
        annotations = labels
    else:
        video = images if images is not None and Path(images).is_file() else None
        folder = images if images is not None and Path(images).is_dir() else None
        annotations = read_labels(labels, format, video=video, images=folder, margin=margin)
    if annotations.boxes.empty:
        raise ValueError(f"{labels}: no labelled box to train on")
    if not annotations.classes:
        raise ValueError(f"{labels}: the labels name no class")
    return annotations


def _starting_model(start, cfg, weights, classes, input_size):
    """The model to train, with this data's classes and input size, and where it came from."""
    from xaikit.models.zoo.detector import CFG as DEMO_CFG

    if cfg is None and start is None:
        cfg, origin = DEMO_CFG, {"cfg": "demo-mice.cfg", "weights": None}
    elif cfg is None and str(start) == "demo-mice":
        card = cards.read_card("demo-mice")
        cfg = cards.WEIGHTS_DIR / card["cfg"]
        weights = cards.require_file(
            cards.WEIGHTS_DIR / card["weights"]["DEFAULT"]["file"], "demo-mice"
        )
        origin = {"model": "demo-mice", "sha256": card["weights"]["DEFAULT"]["sha256"]}
    elif cfg is None:
        folder = Path(start)
        if not (folder / "model.cfg").is_file():
            raise ValueError(
                f"start must be 'demo-mice', a trained-detector folder or None; got {start!r}"
            )
        cfg, weights = folder / "model.cfg", folder / "model.weights"
        origin = {"folder": str(folder), "sha256": cards.sha256(weights)}
    else:
        origin = {"cfg": str(cfg), "weights": None if weights is None else str(weights)}
        if weights is not None:
            origin["sha256"] = cards.sha256(Path(weights))
    source = load_darknet(cfg, weights, device="cpu")
    if not isinstance(source, Darknet):
        raise ValueError(f"{cfg} is a classifier, not a detector with [yolo] heads")
    text = _adapted_cfg(cfg, source, len(classes), input_size)
    model = Darknet.from_cfg(text, class_names=classes)
    if weights is not None:
        kept = _transfer(source, model)
        origin["layers_kept"] = kept
    model.cfg_text = text
    return model, origin


def _adapted_cfg(cfg, source: Darknet, classes: int, input_size) -> str:
    """``cfg``'s text with its heads set to ``classes`` and its input to ``input_size``."""
    for head in source.heads:
        if not isinstance(head, YoloLayer) or head.new_coords:
            raise ValueError(
                f"{cfg}: train_detector trains [yolo] heads with new_coords=0; layer "
                f"{head!r} is not one"
            )
    _, layers = parse_cfg(cfg)
    changes: dict[int, dict] = {}
    if input_size is not None:
        height, width = (int(v) for v in input_size)
        stride = source.max_stride
        if height <= 0 or width <= 0 or height % stride or width % stride:
            raise ValueError(
                f"input_size must be (height, width) multiples of {stride} for {cfg}; got "
                f"{tuple(input_size)}"
            )
        if (height, width) != tuple(source.input_size):
            warnings.warn(
                f"{cfg} was made for {source.input_size[1]}x{source.input_size[0]} (W x H) "
                f"input; training at {width}x{height}",
                stacklevel=4,
            )
        changes[-1] = {"width": width, "height": height}
    for layer in layers:
        if layer.kind != "yolo":
            continue
        masks = layer.get_ints("mask", None) or list(range(layer.get_int("num", 1)))
        changes[layer.index] = {"classes": classes}
        changes[layer.index - 1] = {"filters": len(masks) * (5 + classes)}
    return set_cfg_options(cfg, changes)


def _transfer(source: torch.nn.Module, target: torch.nn.Module) -> str:
    """Copy every tensor of ``source`` whose name and shape ``target`` shares; say how many."""
    mine = target.state_dict()
    theirs = source.state_dict()
    same = {k: v for k, v in theirs.items() if k in mine and mine[k].shape == v.shape}
    target.load_state_dict({**mine, **same})
    return f"{len(same)} of {len(mine)} tensors"


def split(frames: TrainingFrames, val: float, seed: int) -> tuple[TrainingFrames, TrainingFrames]:
    """Hold out a share ``val`` of each recording, as whole stretches (see the module
    docstring). Returns ``(train, held_out)``.

    Examples:
        >>> frames = TrainingFrames(torch.zeros(20, 3, 4, 4, dtype=torch.uint8),
        ...     [torch.zeros(0, 4)] * 20, [torch.zeros(0, dtype=torch.int64)] * 20,
        ...     [str(i) for i in range(20)], ["v"] * 20, list(range(20)))
        >>> train, held = split(frames, 0.2, seed=0)
        >>> len(train), sorted(int(n) for n in held.names)
        (16, [12, 13, 14, 15])
    """
    rng = np.random.default_rng(seed)
    held: list[int] = []
    for group in dict.fromkeys(frames.groups):
        members = [i for i, g in enumerate(frames.groups) if g == group]
        members.sort(key=lambda i: frames.order[i])
        blocks = np.array_split(np.array(members), min(VALIDATION_BLOCKS, len(members)))
        wanted = int(round(val * len(blocks)))
        if val > 0 and len(blocks) > 1:
            wanted = max(1, wanted)
        chosen = rng.choice(len(blocks), size=wanted, replace=False)
        held += [int(i) for b in sorted(chosen) for i in blocks[b]]
    taken = set(held)
    kept = [i for i in range(len(frames)) if i not in taken]
    return frames.subset(kept), frames.subset(sorted(held))


def _fit(model, training: TrainingFrames, held: TrainingFrames, recipe: Recipe, generator,
         device, progress):  # fmt: skip
    """Train; return ``(history, best, interrupted)`` (``best`` is ``None`` without an epoch)."""
    steps = max(1, math.ceil(len(training) / recipe.batch_size))
    model.to(device).train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, recipe.lr, total_steps=recipe.epochs * steps, pct_start=0.15
    )
    rows, best, interrupted = [], None, False
    bar = tqdm(total=recipe.epochs * steps, desc="training", unit="step", disable=not progress)
    try:
        for epoch in range(1, recipe.epochs + 1):
            started = time.perf_counter()
            total = torch.zeros((), device=device)
            order = torch.randperm(len(training), generator=generator)
            for step in range(steps):
                index = order[step * recipe.batch_size : (step + 1) * recipe.batch_size].tolist()
                x = training.images[index].to(device, torch.float32) / 255
                labelled = [
                    torch.cat([training.boxes[i], training.labels[i][:, None].float()], dim=1)
                    for i in index
                ]
                x, boxes, difficult = augment(x, labelled, generator, recipe.augmentation)
                loss, _ = yolo_loss(
                    model, model(x.contiguous(memory_format=torch.channels_last)), boxes,
                    recipe.ignore_iou, recipe.anchor_iou, difficult,
                )  # fmt: skip
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                total += loss.detach()  # read once per epoch: no wait on the device per step
                bar.update()
            mean_loss = total.item() / steps
            trained = time.perf_counter()
            scores = evaluate(model, held) if len(held) else UNSCORED
            model.train()
            row = {"epoch": epoch, "loss": mean_loss, "val_ap50": scores["ap50"],
                   "val_frames_right": scores["frames_right"], "seconds": trained - started,
                   "val_seconds": time.perf_counter() - trained}  # fmt: skip
            rows.append(row)
            bar.set_postfix(
                epoch=epoch, loss=f"{row['loss']:.3g}", val_ap50=f"{scores['ap50']:.3f}"
            )
            if best is None or not len(held) or scores["ap50"] >= best["val_ap50"]:
                state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                best = {**row, "state": state}
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    return pd.DataFrame(rows), best, interrupted


@torch.no_grad()
def evaluate(model: Darknet, frames: TrainingFrames, batch_size: int = 32) -> dict:
    """AP@0.5 (VOC all-point, :func:`~xaikit.metrics.detection.mean_average_precision`) of
    ``model`` on model-input ``frames``, and the share of frames with as many detections above
    :data:`BOX_THRESHOLD` as labelled boxes.

    Returns:
        ``{"ap50", "frames_right"}`` (AP is NaN without a labelled box).
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    detections = []
    for start in range(0, len(frames), batch_size):
        x = frames.images[start : start + batch_size].to(device, torch.float32) / 255
        detections += [d.cpu().numpy() for d in model.detect(x, conf_threshold=AP_THRESHOLD)]
    model.train(was_training)
    truths = [
        np.column_stack([boxes.numpy(), labels.numpy()])
        for boxes, labels in zip(frames.boxes, frames.labels, strict=True)
    ]
    right = [
        (d[:, 4] > BOX_THRESHOLD).sum() == len(t) for d, t in zip(detections, truths, strict=True)
    ]
    ap = (
        mean_average_precision(detections, truths, 0.5) if any(len(t) for t in truths) else math.nan
    )
    return {"ap50": float(ap), "frames_right": float(np.mean(right))}


def _data_card(annotations, labels, format, images, margin, train, held, painted, extra,
               negatives) -> dict:  # fmt: skip
    from xaikit.data.labels import guess_format

    given = isinstance(labels, Annotations)
    kind = "Annotations" if given else format or guess_format(labels)
    return {
        "labels": "<Annotations>" if given else str(labels),
        "format": kind,
        "conversion": (
            f"one box per animal: the extent of its visible keypoints, widened by {margin} of "
            "its longer side on each side, cut to the image"
            if kind in ("deeplabcut", "sleap")
            else "boxes as labelled (cut to the image)"
        ),
        "images": None if images is None else str(images),
        "keypoint_margin": margin,
        "labelled_frames": len(annotations.images),
        "boxes": len(annotations.boxes),
        "train_frames": len(train),
        "val_frames": len(held),
        "val_names": held.names,
        "negatives": {
            "labelled": train.negatives + held.negatives,
            "painted": len(painted),
            "videos": [str(v) for v in _as_list(negatives)],
            "video_frames": sum(len(part) for part in extra),
        },
    }


def _training_card(device, began, interrupted, epochs_done, epochs) -> dict:
    return {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "seconds": round(time.perf_counter() - began, 1),
        "epochs_done": epochs_done,
        "interrupted": interrupted,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _json_safe(value):
    """``value`` with every NaN float as ``None`` (JSON has no NaN)."""
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _write_folder(model: Darknet, out: Path, card: dict) -> dict:
    """Write :data:`FILES` into ``out``, replacing it whole once all are complete; return the
    card written (with the weights' SHA-256)."""
    with atomic_folder(out) as staging:
        (staging / "model.cfg").write_text(model.cfg_text, encoding="utf-8")
        save_darknet_weights(model, staging / "model.weights")
        (staging / "model.names").write_text("\n".join(card["classes"]) + "\n", encoding="utf-8")
        card = _json_safe({**card, "weights_sha256": cards.sha256(staging / "model.weights")})
        text = json.dumps(card, indent=2, allow_nan=False)
        (staging / "card.json").write_text(text + "\n", encoding="utf-8")
    return card
