"""Training a detector on labelled frames: time per epoch, the trained model's frames/s and its
AP@0.5 on frames it never saw, in one run.

Data: the DeepLabCut open-field frames of the real-data folder (``XAIKIT_REAL_DATA``, default
``../shared/realdata`` next to the repository: ``mice/dlc-openfield-m4s1``, 116 labelled 640x480
frames of one mouse), or your own with ``--labels FILE [--images DIR|VIDEO] [--format F]``.

Before training, 20 % of the labelled frames (``--test``) are held out as whole stretches (the
frames in recording order cut into 10 stretches, 2 of them drawn from ``--seed``: neighbouring
video frames are near copies, so a random pick would test on frames the model has all but
seen). :func:`xaikit.track.train_detector` fine-tunes demo-mice on the rest (it holds out its
own validation split from those to pick the best epoch) into a temporary folder, and the model
is loaded back from that folder with :func:`xaikit.models.load_darknet`. Printed:

* training seconds per epoch (mean of all epochs, and of epochs 2+ without the first epoch's
  warm-up), per 100 frames of an epoch (labelled + negatives), and in total;
* frames/s of the trained model through :func:`xaikit.track.detect_video` (what ``xaikit
  track`` runs: ``model.detect`` on full-size uint8 RGB frames, batch 1 and 8, after a
  warm-up), and that over the 25 and 30 fps of a video ("x real time");
* AP@0.5 (:func:`xaikit.track.training.evaluate`) and the share of frames with exactly the
  labelled number of boxes above 0.25, on the held-out frames, for demo-mice as it came and
  for the trained model.

Where CUDA is present (and ``--device`` is not ``cpu``) the script trains on CUDA, then also
trains ``--cpu-epochs`` epochs on the CPU and runs the trained model on the CPU, and prints
CPU / CUDA ratios. All ratios are measured in one run; nothing here asserts on time.

    python benchmarks/train.py [--quick] [--epochs N] [--device cpu|cuda] [--cpu-epochs 3]
        [--labels FILE --images DIR] [--format F] [--test 0.2] [--seed 0]

The default run takes about 70 s on 2 CPU cores; ``--quick`` (also under
``XAIKIT_SMOKE``) trains 3 epochs and times fewer frames (about 15 s).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

import xaikit as xk
from xaikit.data.annotations import Annotations
from xaikit.models.training_frames import labelled_frames, load_training_frames
from xaikit.track import detect_video
from xaikit.track.training import Recipe, evaluate, train_detector

REAL_DATA = Path(
    os.environ.get("XAIKIT_REAL_DATA", Path(__file__).resolve().parents[1] / "../shared/realdata")
)
OPEN_FIELD = REAL_DATA / "mice/dlc-openfield-m4s1/CollectedData_Pranav.csv"
STRETCHES = 10
VIDEO_FPS = (25, 30)


def read_labelled(arguments) -> Annotations:
    if arguments.labels is None:
        if not OPEN_FIELD.is_file():
            raise SystemExit(
                f"the real open-field labels are not at {OPEN_FIELD}: set XAIKIT_REAL_DATA to "
                "the real-data folder, or pass --labels FILE [--images DIR] for your own frames"
            )
        return xk.data.read_labels(OPEN_FIELD)
    images = Path(arguments.images) if arguments.images else None
    video = images if images is not None and images.is_file() else None
    folder = images if images is not None and images.is_dir() else None
    return xk.data.read_labels(arguments.labels, arguments.format, video=video, images=folder)


def hold_out(annotations: Annotations, share: float, seed: int) -> tuple[Annotations, list]:
    """``(the rest, held-out names)``: ``share`` of the frames as whole stretches in recording
    order (video and frame number where the labels have them, else image name)."""
    table = annotations.images
    order = [c for c in ("video", "frame") if c in table.columns] or ["image"]
    names = table.sort_values(order)["image"].tolist()
    blocks = np.array_split(np.array(names, dtype=object), min(STRETCHES, len(names)))
    chosen = np.random.default_rng(seed).choice(
        len(blocks), size=max(1, round(share * len(blocks))), replace=False
    )
    held = [name for b in sorted(chosen) for name in blocks[b]]
    return annotations.subset(set(names) - set(held)), held


def full_frames(annotations: Annotations, images, count: int) -> np.ndarray:
    """``count`` full-size uint8 RGB frames of ``annotations`` (repeated as needed)."""
    frames = [frame for _, frame, _, _ in labelled_frames(annotations.images, images)]
    return np.stack([frames[i % len(frames)] for i in range(count)])


def frames_per_second(model, frames: np.ndarray, batch: int, device) -> float:
    """What ``xaikit track`` reports: frames over the summed detect() time of each batch."""
    detect_video(model, frames[: 2 * batch], fps=25, batch_size=batch, device=device,
                 describe=False, progress=False)  # warm-up  # fmt: skip
    run = detect_video(model, frames, fps=25, batch_size=batch, device=device, describe=False,
                       progress=False)  # fmt: skip
    return run.timing()["frames_per_second"]


def train(rest: Annotations, images, out: Path, epochs, device) -> dict:
    trained = train_detector(images, rest, out, recipe=Recipe(epochs=epochs), device=device,
                             progress=False)  # fmt: skip
    data, seconds = trained.card["data"], trained.history["seconds"]
    negatives = data["negatives"]
    frames = data["train_frames"] + negatives["painted"] + negatives["video_frames"]
    later = seconds.iloc[1:] if len(seconds) > 1 else seconds
    return {"trained": trained, "frames": frames, "epochs": len(seconds),
            "epoch_s": seconds.mean(), "later_s": later.mean(), "sum_s": seconds.sum(),
            "call_s": trained.card["training"]["seconds"],
            "per100_s": later.mean() / frames * 100}  # fmt: skip


def scores(model, held: Annotations, images) -> dict:
    frames = load_training_frames(held, model, images, progress=False)
    return {**evaluate(model, frames), "frames": len(frames)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", help="your own label file or folder (default: DLC open field)")
    parser.add_argument("--images", help="the folder of its images, or its video")
    parser.add_argument("--format", help="label format (default: told by the file)")
    parser.add_argument("--epochs", type=int, help="default: train_detector's (about 3000 frames)")
    parser.add_argument("--device", help="default: CUDA when present, else CPU")
    parser.add_argument("--cpu-epochs", type=int, default=3, help="CPU epochs beside CUDA, 0: none")
    parser.add_argument("--test", type=float, default=0.2, help="share held out before training")
    parser.add_argument("--seed", type=int, default=0, help="draws the held-out stretches")
    parser.add_argument("--quick", action="store_true", default=xk.is_smoke_run(),
                        help="3 epochs, fewer frames timed")  # fmt: skip
    arguments = parser.parse_args()
    if not 0 < arguments.test < 1:
        parser.error(f"--test must be in (0, 1); got {arguments.test}")
    epochs = arguments.epochs or (3 if arguments.quick else None)
    timed = 16 if arguments.quick else 64
    device = xk.device(arguments.device)
    devices = [device] + ([torch.device("cpu")] if device.type == "cuda" else [])
    images = arguments.images

    labelled = read_labelled(arguments)
    rest, held = hold_out(labelled, arguments.test, arguments.seed)
    source = arguments.labels or OPEN_FIELD
    print(f"data: {source}: {len(labelled.images)} labelled frames, {len(held)} held out as "
          f"stretches (seed {arguments.seed}), train_detector gets {len(rest.images)}")  # fmt: skip
    print(
        f"device {device}; torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
        + (f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else "")
    )
    start = xk.models.load("demo-mice", device=device)
    before = None
    if start.num_classes == len(labelled.classes):
        before = scores(start, labelled.subset(held), images)

    runs = {}
    with tempfile.TemporaryDirectory(prefix="xaikit-train-bench-") as scratch:
        print(f"training on {device}, {epochs or 'default'} epochs...", flush=True)
        runs[device.type] = train(rest, images, Path(scratch) / "model", epochs, device)
        folder = runs[device.type]["trained"].folder
        if device.type == "cuda" and arguments.cpu_epochs > 0:
            print(f"training {arguments.cpu_epochs} epochs on cpu for the ratio...", flush=True)
            runs["cpu"] = train(rest, images, Path(scratch) / "cpu", arguments.cpu_epochs, "cpu")
        model = xk.models.load_darknet(folder, device=device)
        after = scores(model, labelled.subset(held), images)
        frames = full_frames(labelled.subset(held), images, timed)
        speed = {(d.type, b): frames_per_second(model, frames, b, d) for d in devices
                 for b in (1, 8)}  # fmt: skip

    first = runs[device.type]
    print(f"\n{first['epochs']} epochs of {first['frames']} frames (labelled + negatives), "
          f"best epoch {first['trained'].best_epoch}; inference on {timed} full-size "
          f"{frames.shape[2]}x{frames.shape[1]} frames, model input "
          f"{model.input_size[1]}x{model.input_size[0]}")  # fmt: skip
    columns = [d.type for d in devices]
    ratio = len(columns) > 1
    print(f"{'':<44}" + "".join(f"{c:>10}" for c in columns) + (f"{'cuda gain':>10}" if ratio
          else ""))  # fmt: skip

    def row(label: str, values: dict, digits: int = 2, time: bool = True) -> None:
        """One line; with CUDA, its gain: CPU time / CUDA time, or CUDA rate / CPU rate."""
        cells = [values.get(c) for c in columns]
        text = "".join(f"{'-':>10}" if v is None else f"{v:>10.{digits}f}" for v in cells)
        if ratio and None not in cells:
            cuda, cpu = cells
            text += f"{(cpu / cuda if time else cuda / cpu):>9.1f}x"
        print(f"{label:<44}{text}")

    def of_runs(key: str) -> dict:
        return {name: run[key] for name, run in runs.items()}

    row("training s/epoch (mean, all epochs)", of_runs("epoch_s"))
    row("training s/epoch (mean, epochs 2+)", of_runs("later_s"))
    row("training s/epoch per 100 frames (epochs 2+)", of_runs("per100_s"))
    row("training s, sum of epochs", {device.type: first["sum_s"]}, 1)
    row("train_detector s (whole call)", {device.type: first["call_s"]}, 1)
    for batch in (1, 8):
        fps = {d: speed[(d, batch)] for d in columns}
        row(f"detect frames/s, batch {batch}", fps, 1, time=False)
        for rate in VIDEO_FPS:
            row(f"  x real time at {rate} fps", {d: v / rate for d, v in fps.items()}, 2, False)
    if before is not None:
        row("held-out AP@0.5, demo-mice as it came", {device.type: before["ap50"]}, 3)
    row(f"held-out AP@0.5, trained ({after['frames']} frames)", {device.type: after["ap50"]}, 3)
    row("held-out frames with the right box count", {device.type: after["frames_right"]}, 3)
    if before is not None and before["ap50"] > 0 and not math.isnan(after["ap50"]):
        print(f"trained / demo-mice held-out AP@0.5: {after['ap50'] / before['ap50']:.2f}x")
    if "cpu" in runs and device.type == "cuda":
        print(f"(cpu column of training: {runs['cpu']['epochs']} epochs, timing only)")


if __name__ == "__main__":
    main()
