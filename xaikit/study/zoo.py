"""The demo zoo's model cards: train a demo model from its seed, score it on held-out data,
write both into the package. ``python -m xaikit.study.zoo NAME``.

Generates the synthetic training data, trains (CPU or CUDA, see ``--device``) with the fitting
code of :mod:`xaikit.models.zoo`, writes the weights and the model card (data, recipe, held-out
scores measured here) into ``xaikit/models/zoo/weights`` or ``--out``. Each model takes at most
30 minutes on 2 CPU cores. Scoring lives here and not in :mod:`xaikit.models`, since it needs
:mod:`xaikit.metrics`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch

from xaikit._atomic import atomic_file, write_text
from xaikit._runtime import device as resolve_device
from xaikit.metrics.detection import average_precision
from xaikit.models.darknet import Darknet
from xaikit.models.darknet_weights import save_darknet_weights
from xaikit.models.evaluation import accuracy
from xaikit.models.zoo import cards, classifiers, datasets, detector
from xaikit.models.zoo.loading import NAMES, load_demo
from xaikit.models.zoo.training import fit_classifier, seed_everything

#: Detection settings of demo-mice's held-out evaluation (Darknet's ``map`` uses 0.005 too).
EVAL_CONF, EVAL_NMS = 0.005, 0.45

__all__ = [
    "EVAL_CONF",
    "EVAL_NMS",
    "main",
    "save_weights",
    "score_classifier",
    "score_detector",
    "train",
    "train_classifier",
    "train_detector",
]


def score_classifier(name: str, model, seed: int, items: int) -> float:
    """Accuracy of a loaded demo classifier on ``items`` held-out items made from ``seed``.

    Args:
        name: ``"demo-shapes"`` or ``"demo-actions"``.
        model: the classifier, as :func:`xaikit.models.load` gives it.
        seed: a held-out seed (see :func:`xaikit.models.zoo.datasets.check_held_out`).
        items: how many images or clips.

    Returns:
        Accuracy in [0, 1] (:func:`xaikit.models.accuracy`).
    """
    recipe = classifiers.RECIPES[name]
    data, labels, _ = classifiers.make_data(name, recipe, items, datasets.check_held_out(seed))
    return accuracy(model, data, labels)


def score_detector(model: Darknet, data: datasets.ArenaFrames) -> dict:
    """mAP@0.5 (VOC all-point and 11-point, difficult boxes by the VOC rule) of ``model`` on
    ``data`` (e.g. :func:`xaikit.models.zoo.detector.held_out`), overall and per setup.

    Returns:
        ``{setup: {"map50", "map50_voc11", "frames", "boxes", "difficult"}}`` for ``"all"`` and
        each setup of :data:`xaikit.data.synthetic.SETUPS`.
    """
    detections = []
    for start in range(0, len(data), 32):
        found = model.detect(data.frames[start : start + 32], EVAL_CONF, EVAL_NMS)
        detections += [d[:, :5].cpu().numpy() for d in found]
    result = {}
    for setup in ["all", *datasets.synthetic.SETUPS]:
        keep = [i for i, s in enumerate(data.setups) if setup in ("all", s)]
        dets, truths = [detections[i] for i in keep], [data.boxes[i] for i in keep]
        hard = [data.difficult[i] for i in keep]
        result[setup] = {
            "map50": average_precision(dets, truths, 0.5, "all", difficult=hard),
            "map50_voc11": average_precision(dets, truths, 0.5, "voc11", difficult=hard),
            "frames": len(keep),
            "boxes": int(sum(len(t) for t in truths)),
            "difficult": int(sum(h.sum() for h in hard)),
        }
    return result


def _machine(device, seconds: dict) -> dict:
    """The ``training`` entry of a card: where and how long it trained."""
    return {
        "seconds": seconds,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.machine(),
    }


def save_weights(model: torch.nn.Module, path: str | Path) -> Path:
    """Write ``model``'s weights atomically: a ``.weights`` path as Darknet weights, any other as
    a torch state dict; return the path.

    A kill or a full disk mid-write leaves the previous file as it was (see
    :mod:`xaikit._atomic`), so a demo model's weights are never half a file.

    Examples:
        >>> import tempfile
        >>> path = save_weights(torch.nn.Linear(2, 1), Path(tempfile.mkdtemp()) / "m.pt")
        >>> sorted(torch.load(path, weights_only=True))
        ['bias', 'weight']
    """
    path = Path(path)
    if path.suffix == ".weights":
        save_darknet_weights(model, path)  # itself atomic
    else:
        with atomic_file(path, "wb") as stream:
            torch.save(model.state_dict(), stream)
    return path


def _variants_to_train(name: str, folder: Path, variants: Sequence[str] | None, run: dict):
    """``(architectures, (files, parameters, seconds, scores))``: what to train of ``name``'s
    weights entries, and the card entries kept, unchanged, of those not trained.

    ``variants=None`` trains every entry. Otherwise only those named are trained, and the others
    are read from the card in ``folder``, which must describe a run of the same data, recipe and
    size ``run`` (``{"train", "held_out", "recipe"}`` as the card writes them): each variant
    starts from the recipe's seed, so the kept and the retrained ones are what one full run gives.
    """
    architectures = classifiers.variants(name)
    kept = ({}, {}, {}, {})
    if variants is None:
        return architectures, kept
    variants = list(dict.fromkeys(variants))
    unknown = sorted(set(variants) - set(architectures))
    if unknown or not variants:
        raise ValueError(
            f"{name} has no weights {unknown or variants}; valid: {list(architectures)}"
        )
    previous = cards.read_card(name, folder)
    recorded = {
        "train": previous["data"]["train"],
        "held_out": previous["data"]["held_out"],
        "recipe": previous["recipe"],
    }
    if recorded != json.loads(json.dumps(run)):  # as JSON: tuples are lists there
        raise ValueError(
            f"the {name} card in {folder} records another run ({recorded}); retraining only "
            f"{variants} needs the same data, recipe and size ({run})"
        )
    files, parameters, seconds, scores = kept
    for variant in architectures.keys() - set(variants):
        files[variant] = previous["weights"][variant]
        parameters[variant] = previous["parameters"][variant]
        seconds[variant] = previous["training"]["seconds"][variant]
        scores[variant] = previous["scores"]["held_out_accuracy"][variant]
    return {variant: architectures[variant] for variant in variants}, kept


def train_classifier(
    name: str,
    folder: Path,
    device=None,
    *,
    train_items: int | None = None,
    held_out_items: int | None = None,
    max_steps: int | None = None,
    variants: Sequence[str] | None = None,
) -> dict:
    """Train ``name`` from its seed, write its weights and card into ``folder``; return the card.

    The card is written, the result loaded the way :func:`xaikit.models.load` does and scored
    on the held-out set; the card records that score. ``train_items``, ``held_out_items`` and
    ``max_steps`` shrink the run (smoke tests); the card records what was actually done.
    ``variants`` trains only those weights entries (e.g. ``["gated"]``) and keeps the others'
    files, parameters, training seconds and scores from the card already in ``folder``, which
    must record the same data, recipe and size (else ``ValueError``); ``total_seconds`` is then
    this run's.
    """
    recipe = classifiers.RECIPES[name]
    chunk = classifiers.CHUNK[name]
    device = resolve_device(device)
    train_items = train_items or recipe.train_items
    held_out_items = held_out_items or recipe.held_out_items
    started = time.perf_counter()
    datasets.check_training(train_items, datasets.TRAINING_SEED, chunk)
    data, labels, classes = classifiers.make_data(name, recipe, train_items, datasets.TRAINING_SEED)
    # The presets take (N, 3, H, W) images and (N, T, 3, H, W) clips.
    inputs = torch.from_numpy(data).movedim(-1, -3).contiguous()
    targets = torch.from_numpy(labels)
    transform = classifiers.preset(name, recipe.input_size)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    order = list(classifiers.variants(name))
    run = {
        "train": {"items": train_items, "first_seed": datasets.TRAINING_SEED, "chunk": chunk},
        "held_out": {"items": held_out_items, "first_seed": datasets.CARD_SEED},
        "recipe": {
            **asdict(recipe),
            "optimizer": "AdamW",
            "schedule": "one-cycle",
            "loss": "cross-entropy",
            "augmentation": "random h/v flips" if name == "demo-shapes" else "none",
            "max_steps": max_steps,
        },
    }
    architectures, (files, parameters, seconds, kept_scores) = _variants_to_train(
        name, folder, variants, run
    )
    for variant, architecture in architectures.items():
        architecture["classes"] = list(classes)
        tick = time.perf_counter()
        generator = seed_everything(recipe.seed)
        model = classifiers.build(name, architecture)
        fit_classifier(
            model,
            inputs,
            targets,
            transform,
            epochs=recipe.epochs,
            batch_size=recipe.batch_size,
            lr=recipe.lr,
            weight_decay=recipe.weight_decay,
            generator=generator,
            device=device,
            augment=classifiers.flip_images if name == "demo-shapes" else None,
            max_steps=max_steps,
            desc=f"{name} {variant}",
        )
        filename = f"{name}.pt" if variant == "DEFAULT" else f"{name}-{variant}.pt"
        save_weights(model.cpu(), folder / filename)
        files[variant] = {"file": filename, "sha256": cards.sha256(folder / filename)}
        files[variant]["architecture"] = architecture
        parameters[variant] = sum(p.numel() for p in model.parameters())
        seconds[variant] = round(time.perf_counter() - tick, 1)
    card = {
        "name": name,
        "task": "classification" if name == "demo-shapes" else "video",
        "classes": list(classes),
        "input_size": list(recipe.input_size),
        "frames": recipe.frames,
        "normalization": {
            "mean": list(classifiers.MEAN),
            "std": list(classifiers.STD),
            "scale": "x / 255",
        },
        "layers": classifiers.LAYERS[name],
        "weights": {v: files[v] for v in order},
        "parameters": {v: parameters[v] for v in order},
        "data": {
            "generator": "xaikit.data.synthetic."
            + ("shapes" if name == "demo-shapes" else "actions"),
            "train": run["train"],
            "held_out": run["held_out"],
            "label": "class of the largest object (second largest at most `dominance` of its area)"
            if name == "demo-shapes"
            else "action",
        },
        "recipe": run["recipe"],
        "training": _machine(device, {v: seconds[v] for v in order}),
    }
    cards.write_card(card, folder)
    held_out = dict(kept_scores)
    for variant in architectures:
        model = load_demo(name, weights=variant, device=device, folder=folder)
        held_out[variant] = score_classifier(name, model, datasets.CARD_SEED, held_out_items)
    card["scores"] = {"held_out_accuracy": {v: held_out[v] for v in order}}
    card["training"]["total_seconds"] = round(time.perf_counter() - started, 1)
    cards.write_card(card, folder)
    return card


def train_detector(
    folder: Path,
    device=None,
    *,
    name: str = detector.NAME,
    train_clips: int | None = None,
    held_out_clips: int | None = None,
    max_steps: int | None = None,
) -> dict:
    """Train demo detector ``name`` (``"demo-mice"`` or ``"demo-mice-full"``) from its seed;
    write cfg, weights and card into ``folder``; return the card.

    Both train on the same data with the same loss; each one's recipe is
    :data:`xaikit.models.zoo.detector.DETECTORS` ``[name].recipe``. ``train_clips``,
    ``held_out_clips`` and ``max_steps`` shrink the run (smoke tests).
    """
    spec = detector.spec(name)
    recipe = dict(spec.recipe)
    recipe["train_clips"] = train_clips or recipe["train_clips"]
    recipe["held_out_clips"] = held_out_clips or recipe["held_out_clips"]
    device = resolve_device(device)
    started = time.perf_counter()
    if recipe["train_clips"] + datasets.TRAINING_SEED > datasets.HELD_OUT_SEED:
        raise ValueError("too many training clips for the training seed range")
    data = datasets.arena_set(
        recipe["train_clips"],
        recipe["frames_per_clip"],
        datasets.TRAINING_SEED,
        recipe["every"],
        recipe["occluded"],
    )
    seed_everything(recipe["seed"])
    model = Darknet.from_cfg(spec.cfg, class_names=["mouse"])
    images, boxes = detector.training_tensors(data, model.input_size)
    tick, cpu = time.perf_counter(), time.process_time()
    detector.fit_detector(model, images, boxes, data.difficult, recipe, device, max_steps, name)
    seconds = round(time.perf_counter() - tick, 1)
    # CPU seconds of this process and the load: wall time alone grows on a shared machine.
    busy = {"cpu_seconds": round(time.process_time() - cpu, 1), "load_average": os.getloadavg()}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / spec.cfg.name).resolve() != spec.cfg:
        write_text(folder / spec.cfg.name, spec.cfg.read_text())
    path = save_weights(model.cpu().eval(), folder / f"{name}.weights")
    card = {
        "name": name,
        "task": "detection",
        "classes": ["mouse"],
        "input_size": list(model.input_size),
        "normalization": {"mean": [0, 0, 0], "std": [1, 1, 1], "scale": "x / 255"},
        "architecture": spec.architecture,
        "layers": [*spec.layers, *model.head_layer_names],
        "cfg": spec.cfg.name,
        "weights": {"DEFAULT": {"file": path.name, "sha256": cards.sha256(path)}},
        "parameters": {"DEFAULT": sum(p.numel() for p in model.parameters())},
        "data": {
            "generator": "xaikit.data.synthetic.arena (open_field, home_cage, resident_intruder)",
            "train": {
                "clips": recipe["train_clips"],
                "frames": len(data),
                "first_seed": datasets.TRAINING_SEED,
            },
            "held_out": {"clips": recipe["held_out_clips"], "first_seed": datasets.CARD_SEED},
            "preprocessing": "plain resize (OpenCV bilinear) to the cfg size, RGB / 255",
        },
        "recipe": {
            **recipe,
            "optimizer": "AdamW",
            "schedule": "one-cycle",
            "loss": "YOLOv3, multi-anchor + neighbour-cell assignment (one box per prediction "
            "slot), 5 x GIoU + IoU-target objectness BCE + class BCE; difficult (hidden) mice "
            "train no prediction and are ignored as negatives",
            "augmentation": "random horizontal flips",
            "max_steps": max_steps,
            "eval": {
                "conf_threshold": EVAL_CONF,
                "nms_iou": EVAL_NMS,
                "nms_kind": model.heads[-1].nms_kind,
                "nms_beta": model.heads[-1].beta_nms,
            },
        },
        "training": {**_machine(device, {"DEFAULT": seconds}), **busy},
    }
    cards.write_card(card, folder)
    loaded = load_demo(name, device=device, folder=folder)
    test = detector.held_out(
        datasets.CARD_SEED,
        recipe["held_out_clips"],
        recipe["held_out_frames"],
        recipe["held_out_every"],
    )
    card["scores"] = {"held_out_map50": score_detector(loaded, test)}
    card["training"]["total_seconds"] = round(time.perf_counter() - started, 1)
    cards.write_card(card, folder)
    return card


def train(name: str, folder: Path | None = None, device=None, **shrink) -> dict:
    """Train demo model ``name``, write its files into ``folder``; return its model card.

    Args:
        name: ``"demo-shapes"``, ``"demo-actions"``, ``"demo-mice"`` or ``"demo-mice-full"``.
        folder: Output folder; defaults to the package's ``zoo/weights``.
        device: ``None`` picks CUDA, then MPS, then CPU.
        **shrink: ``train_items``, ``held_out_items``, ``max_steps`` (classifiers) or
            ``train_clips``, ``held_out_clips``, ``max_steps`` (the detectors) for short smoke
            runs.

    Returns:
        The model card written beside the weights.

    Examples:
        >>> train("demo-nothing")
        Traceback (most recent call last):
        ...
        ValueError: unknown demo model 'demo-nothing'; valid: demo-shapes, demo-actions, \
demo-mice, demo-mice-full
    """
    if name not in NAMES:
        raise ValueError(f"unknown demo model {name!r}; valid: {', '.join(NAMES)}")
    folder = Path(folder or cards.WEIGHTS_DIR)
    if name in detector.DETECTORS:
        return train_detector(folder, device, name=name, **shrink)
    return train_classifier(name, folder, device, **shrink)


def main(argv: list[str] | None = None) -> None:
    """The command line: ``python -m xaikit.study.zoo NAME [--out DIR] [--device D]``."""
    parser = argparse.ArgumentParser(prog="python -m xaikit.study.zoo", description=__doc__)
    parser.add_argument("name", choices=NAMES)
    parser.add_argument(
        "--out", type=Path, default=None, help=f"folder (default {cards.WEIGHTS_DIR})"
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    parser.add_argument(
        "--threads", type=int, default=2, help="CPU threads for torch (default 2; >= 1)"
    )
    parser.add_argument(
        "--variant",
        action="append",
        help="train only this weights entry of a classifier (e.g. gated); repeatable",
    )
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1; got {args.threads}")
    torch.set_num_threads(args.threads)
    options = {"variants": args.variant} if args.variant else {}
    card = train(args.name, args.out, args.device, **options)
    print(json.dumps({"name": card["name"], "scores": card["scores"]}, indent=2))


if __name__ == "__main__":
    main()
