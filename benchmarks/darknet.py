"""Darknet port vs OpenCV DNN: inference frames/s, and load time and memory, in one run (CPU).

Models: YOLOv3-tiny (the standard 80-class AlexeyAB architecture, cfg generated here) and
YOLOv4-tiny (the real-data cfg), both with random weights (the speed does not depend on the
values), and Yolo-Fastest 1.1 and MobileNetV2-YOLOv3-Nano with their trained COCO weights. The
files come from the real-data folder (``XAIKIT_REAL_DATA``, default ``../shared/realdata`` next
to the repository); a model whose files are absent, or that xaikit or OpenCV fails to load, is
skipped with the reason printed, so the script runs whatever is available.

Speed. For each model, input size (``--sizes``, default 320 and 416, square) and batch (1 and
8) both sides get the same model and the same random (B, 3, H, W) float input in [0, 1] (the
tensor for xaikit, its numpy array as the blob for OpenCV), with the same thread count
(``torch.set_num_threads`` and ``cv2.setNumThreads``; ``--threads``, default all cores).

* xaikit: ``model.decode(model(x))`` under ``torch.inference_mode``: the raw heads decoded to
  boxes, objectness and class probabilities, which is what OpenCV's yolo layer outputs, so the
  two do the same work. ``detect f/s`` is the full pipeline ``model.detect(x)`` (with NMS), for
  the trained models only (with random weights NMS would see thousands of boxes).
* OpenCV: ``readNetFromDarknet``, ``DNN_BACKEND_OPENCV`` / ``DNN_TARGET_CPU``,
  ``setInput(blob)`` + ``forward(getUnconnectedOutLayersNames())``. At batch 8 both a batch-8
  blob through one forward and 8 single-image forwards are timed and the better one is reported
  (``1x8`` or ``8x1`` in the table). Separate nets serve batch 1 and batch 8, so no call pays
  for a reshape.
* ``--variants`` adds other ways to run the same xaikit model, each with its own columns (the
  ``xaikit`` column is always the model as loaded, which is channels-last already, with
  batch norm folded at inference): ``fused`` (each conv block as one oneDNN call: batch norm
  folded into the conv, the activation as a post-op, weights prepacked; a
  prototype of an inference mode xaikit could offer, built here from the blocks'
  ``conv``/``bn``/``act`` children), ``compile`` (``torch.compile`` with
  inductor freezing; ~0.5 min of compiling per model, size and batch on 2 cores, untimed).

Each timed sample processes the same 8 images (batch 1: 8 calls; batch 8: one call). Every
function is called ``--warmup`` times first, then all functions of a (model, size) are timed
round-robin ``--repeats`` times (so a change in machine load hits all alike); each figure is
the median. ``max|dobj|`` is the largest objectness difference between xaikit (any variant)
and OpenCV over the batch-8 outputs, whose rows come in the same order: both ran the same
network. The share of the CPUs that other processes take (sampled for a second while this one
sleeps) is printed before and after the speed runs: torch's OpenMP threads degrade far more
than OpenCV's thread pool when other processes compete for the cores (down to 0.1x of the quiet
figure), so a run on a busy machine reports xaikit much too slow; a warning says so.

Load. Median seconds of ``load_darknet(cfg, weights, device="cpu")`` (``--load-repeats``), also
per 10 M parameters, on ``yolov4.cfg`` (64 M parameters, random weights written to a temporary
file with ``save_darknet_weights``) and on each benchmark model, with ``Darknet.from_cfg``
alone (building with random init) for reference. The peak RSS growth during one load, over the
weights file size, is measured in a fresh subprocess per model (peak reset through
``/proc/self/clear_refs``, read from ``VmHWM``; Linux only): the model's own tensors are one
copy (1.0x), so the goal, no copy of the weights beyond that one, is a peak of about 1.0x. The
RSS kept after the load is printed too. Small models are dominated by fixed costs.

Run ``python benchmarks/darknet.py [--sizes 320,416] [--repeats 5] [--threads N]
[--variants fused,compile] [--models tiny,nano]``; the defaults take about 2-3
minutes on 2 idle cores (``--variants compile`` adds about 4). Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from xaikit.models import Darknet, load_darknet, save_darknet_weights

REAL_DATA = Path(
    os.environ.get("XAIKIT_REAL_DATA", Path(__file__).resolve().parents[1] / "../shared/realdata")
)
FRAMES_PER_SAMPLE = 8

_CONV = (
    "[convolutional]\nbatch_normalize=1\nfilters={}\nsize={}\nstride=1\npad=1\nactivation=leaky\n"
)
_HEAD = (
    "[convolutional]\nsize=1\nstride=1\npad=1\nfilters=255\nactivation=linear\n\n"
    "[yolo]\nmask={}\nanchors=10,14, 23,27, 37,58, 81,82, 135,169, 344,319\nclasses=80\nnum=6\n"
    "jitter=.3\nignore_thresh=.7\ntruth_thresh=1\nrandom=1\n"
)


def yolov3_tiny_cfg() -> str:
    """The standard 80-class YOLOv3-tiny (AlexeyAB ``cfg/yolov3-tiny.cfg``): heads at layers 16
    and 23, the size-2 stride-1 maxpool at layer 11."""
    parts = ["[net]\nbatch=1\nwidth=416\nheight=416\nchannels=3\n"]
    for filters in (16, 32, 64, 128, 256):
        parts += [_CONV.format(filters, 3), "[maxpool]\nsize=2\nstride=2\n"]
    parts += [_CONV.format(512, 3), "[maxpool]\nsize=2\nstride=1\n", _CONV.format(1024, 3)]
    parts += [_CONV.format(256, 1), _CONV.format(512, 3), _HEAD.format("3,4,5")]  # 13-16
    parts += ["[route]\nlayers=-4\n", _CONV.format(128, 1), "[upsample]\nstride=2\n"]  # 17-19
    parts += ["[route]\nlayers=-1, 8\n", _CONV.format(256, 3), _HEAD.format("0,1,2")]  # 20-23
    return "\n".join(parts)


@dataclass
class Model:
    name: str
    cfg: Path
    weights: Path | None  # None: random weights written to a temporary file
    missing: str = ""  # the absent files, if any


def benchmark_models(scratch: Path) -> list[Model]:
    darknet = REAL_DATA / "darknet"
    generated = scratch / "yolov3-tiny.cfg"
    generated.write_text(yolov3_tiny_cfg())
    models = [Model("YOLOv3-tiny", generated, None)]
    for name, cfg, weights in [
        ("YOLOv4-tiny", darknet / "cfgs/yolov4-tiny.cfg", None),
        (
            "Yolo-Fastest-1.1",
            darknet / "yolo-fastest-1.1-coco/yolo-fastest-1.1.cfg",
            darknet / "yolo-fastest-1.1-coco/yolo-fastest-1.1.weights",
        ),
        (
            "MobileNetV2-YOLOv3-Nano",
            darknet / "mobilenetv2-yolov3-nano-coco/MobileNetV2-YOLOv3-Nano-coco.cfg",
            darknet / "mobilenetv2-yolov3-nano-coco/MobileNetV2-YOLOv3-Nano-coco.weights",
        ),
    ]:
        absent = [str(p) for p in (cfg, weights) if p is not None and not p.is_file()]
        models.append(Model(name, cfg, weights, missing=", ".join(absent)))
    return models


def random_weights(cfg: Path, scratch: Path) -> Path:
    return save_darknet_weights(Darknet.from_cfg(cfg), scratch / f"{cfg.stem}.random.weights")


def median_times(functions: dict, repeats: int, warmup: int) -> dict[str, float]:
    """Median seconds of each function: ``warmup`` calls each, then ``repeats`` round-robin."""
    for function in functions.values():
        for _ in range(warmup):
            function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def opencv_net(cfg: Path, weights: Path):
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net, net.getUnconnectedOutLayersNames()


VARIANTS = ("eager", "fused", "compile")

#: oneDNN post-ops for the activations of a conv block (torch.ops.mkldnn._convolution_pointwise).
_POST_OPS = {
    nn.Identity: ("none", lambda act: []),
    nn.ReLU: ("relu", lambda act: []),
    nn.LeakyReLU: ("leaky_relu", lambda act: [act.negative_slope]),
    nn.Sigmoid: ("sigmoid", lambda act: []),
    nn.SiLU: ("swish", lambda act: []),
    nn.Tanh: ("tanh", lambda act: []),
}


def fuse_conv_blocks(model: Darknet) -> tuple[Darknet, int]:
    """A copy of the model with each ``conv``/``bn``/``act`` block run as one oneDNN call:
    batch norm folded into the conv, the activation as a post-op, the weights prepacked (what
    inductor's freezing does, here in eager mode). Inference only; returns the block count."""
    fused, count = copy.deepcopy(model), 0
    for block in fused.modules():
        conv, act = getattr(block, "conv", None), getattr(block, "act", None)
        if not isinstance(conv, nn.Conv2d) or type(act) not in _POST_OPS:
            continue
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            continue
        weight = conv.weight.detach()
        bias = torch.zeros(conv.out_channels) if conv.bias is None else conv.bias.detach()
        bn = getattr(block, "bn", None)
        if isinstance(bn, nn.BatchNorm2d):
            scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
            weight = weight * scale.view(-1, 1, 1, 1)
            bias = bn.bias.detach() + (bias - bn.running_mean) * scale
        elif bn is not None:
            continue
        geometry = [list(conv.padding), list(conv.stride), list(conv.dilation), conv.groups]
        packed = torch._C._nn.mkldnn_reorder_conv2d_weight(weight.to_mkldnn(), *geometry)
        attr, scalars = _POST_OPS[type(act)][0], _POST_OPS[type(act)][1](act)

        def forward(x, packed=packed, bias=bias, geometry=geometry, attr=attr, scalars=scalars):
            return torch.ops.mkldnn._convolution_pointwise(
                x, packed, bias, *geometry, attr, scalars, ""
            )

        block.forward = forward
        count += 1
    return fused, count


def xaikit_forward(model: Darknet, variant: str):
    """``(module, input converter)`` for one way of running the xaikit model (same weights)."""
    if variant == "eager":
        return model, lambda x: x
    converted = copy.deepcopy(model)  # loaded channels-last already

    def to_channels_last(x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last)

    if variant == "fused":
        fused, count = fuse_conv_blocks(converted)
        if not count:
            raise ValueError("no conv block to fuse (no conv/bn/act children found)")
        return fused, to_channels_last
    from torch._inductor import config as inductor

    torch.compiler.reset()  # compiled code is cached per forward(): models share its 8 entries
    inductor.freezing = True  # weights as constants: BN folded, convs fused and prepacked
    return torch.compile(converted, dynamic=False), to_channels_last


def xaikit_calls(model: Darknet, variant: str, singles: list, x8: torch.Tensor):
    """Batch-1 (8 calls) and batch-8 (1 call) forward + decode of one xaikit variant."""
    module, convert = xaikit_forward(model, variant)
    inputs1, inputs8 = [convert(x) for x in singles], convert(x8)

    def batch1():
        with torch.inference_mode():
            return [model.decode(module(x)) for x in inputs1]

    def batch8():
        with torch.inference_mode():
            return model.decode(module(inputs8))

    return batch1, batch8


def detect_calls(model: Darknet, singles: list, x8: torch.Tensor):
    """The full pipeline (forward, decode, NMS), batch 1 and batch 8."""

    def batch1():
        with torch.inference_mode():
            return [model.detect(x) for x in singles]

    def batch8():
        with torch.inference_mode():
            return model.detect(x8)

    return batch1, batch8


def opencv_calls(cfg: Path, weights: Path, singles: list, x8: torch.Tensor):
    """8 single-image forwards and one batch-8 forward, each on its own net (no reshapes)."""
    (net1, names1), (net8, names8) = opencv_net(cfg, weights), opencv_net(cfg, weights)
    blobs1, blob8 = [x.numpy() for x in singles], x8.numpy()

    def batch1():
        outputs = []
        for blob in blobs1:
            net1.setInput(blob)
            outputs.append(net1.forward(names1))
        return outputs

    def batch8():
        net8.setInput(blob8)
        return net8.forward(names8)

    return batch1, batch8


def speed_at(model: Model, weights: Path, size: int, arguments) -> list[dict]:
    """The batch-1 and batch-8 rows at one input size; raises when OpenCV or plain xaikit
    fails, skips (with the error printed) a variant that fails to build."""
    ours = load_darknet(model.cfg, weights, device="cpu", input_size=(size, size))
    x8 = torch.rand(FRAMES_PER_SAMPLE, 3, size, size, generator=torch.Generator().manual_seed(1))
    singles = [x8[i : i + 1].contiguous() for i in range(FRAMES_PER_SAMPLE)]
    functions = {}
    for variant in arguments.variants:
        try:
            calls = xaikit_calls(ours, variant, singles, x8)
            calls[0]()  # a compile happens here
        except Exception as error:
            if variant == "eager":
                raise
            print(f"    {model.name} {size}: variant {variant} failed: {type(error).__name__}: "
                  f"{str(error).splitlines()[0] if str(error) else ''}")  # fmt: skip
            continue
        functions[f"{variant}1"], functions[f"{variant}8"] = calls
    functions["cv1"], functions["cv8"] = opencv_calls(model.cfg, weights, singles, x8)
    if model.weights is not None:  # random weights: NMS of thousands of boxes, not informative
        functions["detect1"], functions["detect8"] = detect_calls(ours, singles, x8)
    t = median_times(functions, arguments.repeats, arguments.warmup)
    fps = {name: FRAMES_PER_SAMPLE / seconds for name, seconds in t.items()}

    # Same network, same input: OpenCV's yolo rows come in decode()'s order.
    outputs = [o.reshape(FRAMES_PER_SAMPLE, -1, o.shape[-1]) for o in functions["cv8"]()]
    theirs = np.concatenate(outputs, 1)[..., 4]
    difference = max(
        float(np.abs(functions[f"{v}8"]()[..., 4].numpy() - theirs).max())
        for v in arguments.variants
        if f"{v}8" in functions
    )

    cv8, how8 = max((fps["cv8"], "1x8"), (fps["cv1"], "8x1"))
    rows = []
    for batch, cv, how in ((1, fps["cv1"], "1"), (8, cv8, how8)):
        ours_fps = {v: fps.get(f"{v}{batch}") for v in arguments.variants}
        rows.append(dict(size=size, batch=batch, ours=ours_fps, detect=fps.get(f"detect{batch}"),
                         cv=cv, how=how, diff=difference))  # fmt: skip
        print_row(model.name + ("" if model.weights else " *"), rows[-1])
    return rows


def header(variants: list[str]) -> str:
    first, *others = variants
    extra = "".join(f" {v[:13] + ' f/s':>17} {'/OpenCV':>7}" for v in others)
    return (
        f"{'model':<24} {'size':>4} {'batch':>5} {'xaikit f/s':>10} {'OpenCV f/s':>10} "
        f"{'(how)':>5} {'xaikit/OpenCV':>13}{extra} {'detect f/s':>10} {'max|dobj|':>9}"
    )


def print_row(name: str, row: dict) -> None:
    first, *others = row["ours"].values()
    extra = "".join(
        f" {'-':>17} {'-':>7}" if fps is None else f" {fps:>17.1f} {fps / row['cv']:>6.2f}x"
        for fps in others
    )
    detect = "-" if row["detect"] is None else f"{row['detect']:.1f}"
    print(
        f"{name:<24} {row['size']:>4} {row['batch']:>5} {first:>10.1f} {row['cv']:>10.1f} "
        f"{row['how']:>5} {first / row['cv']:>12.2f}x{extra} {detect:>10} {row['diff']:>9.1e}",
        flush=True,
    )


def rss_child(cfg: str, weights: str) -> None:
    """In a fresh process: peak and kept RSS growth (bytes) of one load_darknet call."""
    tiny = "[net]\nwidth=32\nheight=32\n[convolutional]\nfilters=6\nsize=1\n"
    tiny += "activation=linear\n[yolo]\nanchors=4,4\nclasses=1\n"
    load_darknet(tiny, None, device="cpu")  # imports and first-call set-up, not the load itself

    def status(key: str) -> int:
        text = Path("/proc/self/status").read_text()
        return int(re.search(rf"^{key}:\s+(\d+) kB", text, re.M).group(1)) * 1024

    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = status("VmRSS")
    model = load_darknet(cfg, weights, device="cpu")
    result = {"peak": status("VmHWM") - before, "kept": status("VmRSS") - before}
    del model
    print(json.dumps(result))


def peak_rss(cfg: Path, weights: Path) -> dict | None:
    if not Path("/proc/self/clear_refs").exists():
        return None
    command = [sys.executable, __file__, "--rss-child", str(cfg), str(weights)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        print(f"    RSS child failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


LOAD_HEADER = (
    f"{'model':<24} {'params':>8} {'file':>9} {'load s':>7} {'s/10M':>6} {'from_cfg s/10M':>14} "
    f"{'peak RSS/file':>13} {'kept RSS/file':>13} {'peak RSS':>9}"
)


def load_cost(name: str, cfg: Path, weights: Path, repeats: int) -> None:
    """Median seconds of load_darknet and of Darknet.from_cfg alone (the random-weight build
    it may or may not go through), per 10 M parameters; RSS growth from a fresh process."""
    model = load_darknet(cfg, weights, device="cpu")  # warm-up: file cache, first-call costs
    build, total = [], []
    for _ in range(repeats):
        del model
        start = time.perf_counter()
        model = load_darknet(cfg, weights, device="cpu")
        total.append(time.perf_counter() - start)
        start = time.perf_counter()
        Darknet.from_cfg(cfg)
        build.append(time.perf_counter() - start)
    parameters = sum(p.numel() for p in model.parameters())
    del model
    per = 1e7 / parameters
    build_s, total_s = statistics.median(build), statistics.median(total)
    file_size = weights.stat().st_size
    rss = peak_rss(cfg, weights)
    peak, kept, absolute = ("n/a", "n/a", "n/a")
    if rss:
        peak, kept = (f"{rss[key] / file_size:.2f}x" for key in ("peak", "kept"))
        absolute = f"+{rss['peak'] / 2**20:.1f} MiB"
    print(
        f"{name:<24} {parameters / 1e6:>6.2f} M {file_size / 2**20:>5.1f} MiB {total_s:>7.3f} "
        f"{total_s * per:>6.3f} {build_s * per:>14.3f} {peak:>13} {kept:>13} {absolute:>9}",
        flush=True,
    )


def other_cpu_use() -> float | None:
    """Fraction of all cores busy during one second while this process sleeps (Linux), i.e.
    what other processes take; ``None`` where ``/proc/stat`` is absent."""

    def times() -> list[int]:
        return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]

    if not Path("/proc/stat").exists():
        return None
    before = times()
    time.sleep(1.0)
    delta = [b - a for a, b in zip(before, times(), strict=True)]
    idle = delta[3] + (delta[4] if len(delta) > 4 else 0)  # idle + iowait
    return 1 - idle / max(1, sum(delta))


def machine_load(use: float | None) -> str:
    average = f"load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    if use is None:
        return average
    return f"other processes use {use:.0%} of the CPUs ({average}, {os.cpu_count()} cores)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="320,416", help="square input sizes, comma-separated")
    parser.add_argument("--repeats", type=int, default=5, help="timed samples per figure")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls per function first")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser.add_argument("--threads", type=int, default=cores, help="default: all cores")
    parser.add_argument("--load-repeats", type=int, default=3)
    parser.add_argument("--models", default="", help="comma-separated substrings to select")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument(
        "--variants",
        default="eager",
        help="comma-separated extra ways to run xaikit besides eager (the model as loaded): "
        "fused (conv/bn/act as one oneDNN call), compile "
        "(torch.compile with freezing; ~0.5 min of compiling per shape)",
    )
    parser.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.rss_child:
        rss_child(*arguments.rss_child)
        return
    sizes = [int(s) for s in arguments.sizes.split(",")]
    variants = [v for v in arguments.variants.split(",") if v]
    if set(variants) - set(VARIANTS):
        parser.error(f"--variants must be among {', '.join(VARIANTS)}; got {variants}")
    arguments.variants = ["eager"] + [v for v in dict.fromkeys(variants) if v != "eager"]
    torch.set_num_threads(arguments.threads)
    cv2.setNumThreads(arguments.threads)
    print(
        f"CPU, {arguments.threads} threads (torch {torch.__version__}: {torch.get_num_threads()}, "
        f"OpenCV {cv2.__version__}: {cv2.getNumThreads()}); real data {REAL_DATA.resolve()}"
    )
    use = other_cpu_use()
    print(f"before the run: {machine_load(use)}")
    print(
        f"frames/s = {FRAMES_PER_SAMPLE} frames / median of {arguments.repeats} round-robin "
        f"samples after {arguments.warmup} warm-up calls; xaikit = forward + decode, "
        "detect = forward + decode + NMS"
    )
    if use is not None and use > 0.2:
        print("warning: other processes are using the CPUs; torch's OpenMP threads suffer more "
              "from that than OpenCV's pool, so the xaikit figures will come out low")  # fmt: skip
    selected = [s.lower() for s in arguments.models.split(",") if s]
    with tempfile.TemporaryDirectory(prefix="xaikit-darknet-bench-") as scratch:
        scratch = Path(scratch)
        runnable: list[tuple[Model, Path]] = []
        for model in benchmark_models(scratch):
            if selected and not any(s in model.name.lower() for s in selected):
                continue
            if model.missing:
                print(f"skip {model.name}: missing {model.missing}")
                continue
            try:
                weights = model.weights or random_weights(model.cfg, scratch)
                load_darknet(model.cfg, weights, device="cpu")
            except Exception as error:
                print(
                    f"skip {model.name}: xaikit fails to load it: {type(error).__name__}: {error}"
                )
                continue
            try:
                opencv_net(model.cfg, weights)
            except cv2.error as error:
                print(f"skip {model.name}: OpenCV fails to load it: {error}")
                continue
            runnable.append((model, weights))

        ratios: dict[str, list[tuple[str, int, float]]] = {v: [] for v in arguments.variants}
        if not arguments.skip_speed and runnable:
            print("\n" + header(arguments.variants))
            for model, weights in runnable:
                try:
                    rows = [r for size in sizes for r in speed_at(model, weights, size, arguments)]
                except Exception as error:
                    print(f"skip {model.name}: {type(error).__name__}: {error}")
                    continue
                for row in rows:
                    for variant, fps in row["ours"].items():
                        if row["batch"] == 8 and fps is not None:
                            ratios[variant].append((model.name, row["size"], fps / row["cv"]))
            if any(model.weights is None for model, _ in runnable):
                print("* random weights (speed as with trained ones; detect skipped: with "
                      "objectness ~0.5 everywhere it would time NMS of thousands of "
                      "boxes)")  # fmt: skip
            for variant, found in ratios.items():
                if found:
                    listed = ", ".join(f"{name} {size} {ratio:.2f}x" for name, size, ratio in found)
                    mean = statistics.geometric_mean([ratio for *_, ratio in found])
                    print(f"batch-8 xaikit ({variant}) / OpenCV frames/s: {listed}; "
                          f"geometric mean {mean:.2f}x")  # fmt: skip
            print(f"after the speed runs: {machine_load(other_cpu_use())}")

        if not arguments.skip_load:
            print("\nload_darknet(cfg, weights, device='cpu'): median seconds, and per 10 M "
                  "parameters; RSS growth during / after one load in a fresh process, over the "
                  "weights file size (the model itself is ~1.0x; goal: peak ~1.0x, no copy "
                  "beyond it)")  # fmt: skip
            print(LOAD_HEADER)
            yolov4 = REAL_DATA / "darknet/cfgs/yolov4.cfg"
            loads = [(m.name, m.cfg, w) for m, w in runnable]
            if yolov4.is_file():
                try:
                    loads.insert(0, ("YOLOv4", yolov4, random_weights(yolov4, scratch)))
                except Exception as error:
                    print(f"skip YOLOv4: {type(error).__name__}: {error}")
            else:
                print(f"skip YOLOv4: missing {yolov4}")
            for name, cfg, weights in loads:
                try:
                    load_cost(name, cfg, weights, arguments.load_repeats)
                except Exception as error:
                    print(f"skip {name}: {type(error).__name__}: {error}")


if __name__ == "__main__":
    main()
