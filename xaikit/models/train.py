"""Reproduce a demo zoo model from its seed: ``python -m xaikit.models.train NAME``.

Generates the synthetic training data, trains (CPU or CUDA, see ``--device``), writes the
weights and the model card (data, recipe, held-out scores measured here) into
``xaikit/models/zoo/weights`` or ``--out``. Each model takes at most 30 minutes on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from xaikit.models.zoo.cards import WEIGHTS_DIR
from xaikit.models.zoo.loading import NAMES


def train(name: str, folder: Path | None = None, device=None, **shrink) -> dict:
    """Train demo model ``name``, write its files into ``folder``; return its model card.

    Args:
        name: ``"demo-shapes"``, ``"demo-actions"`` or ``"demo-mice"``.
        folder: Output folder; defaults to the package's ``zoo/weights``.
        device: ``None`` picks CUDA, then MPS, then CPU.
        **shrink: ``train_items``, ``held_out_items``, ``max_steps`` (classifiers) or
            ``train_clips``, ``held_out_clips``, ``max_steps`` (demo-mice) for short smoke runs.

    Returns:
        The model card written beside the weights.
    """
    if name not in NAMES:
        raise ValueError(f"unknown demo model {name!r}; valid: {', '.join(NAMES)}")
    folder = Path(folder or WEIGHTS_DIR)
    if name == "demo-mice":
        from xaikit.models.zoo.detector import train as train_detector

        return train_detector(folder, device, **shrink)
    from xaikit.models.zoo.classifiers import train as train_classifier

    return train_classifier(name, folder, device, **shrink)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m xaikit.models.train", description=__doc__)
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--out", type=Path, default=None, help=f"folder (default {WEIGHTS_DIR})")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: best available)")
    parser.add_argument(
        "--threads", type=int, default=2, help="CPU threads for torch (default 2; >= 1)"
    )
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1; got {args.threads}")
    torch.set_num_threads(args.threads)
    card = train(args.name, args.out, args.device)
    print(json.dumps({"name": card["name"], "scores": card["scores"]}, indent=2))


if __name__ == "__main__":
    main()
