"""xaikit's Darknet port against OpenCV DNN (``cv2.dnn.readNetFromDarknet``) on real files.

Every cfg of ``darknet/cfgs/`` (AlexeyAB's, no weights) runs at a reduced, non-square input with
random weights that this module writes itself, in Darknet's ``.weights`` layout, and that both
OpenCV and xaikit read: the raw heads (or a classifier's logits and probabilities) and the
decoded boxes and scores must agree. Every real model folder (a ``.cfg`` with its ``.weights``)
runs on the real photos: the input tensor, the heads, the decoded boxes and the detections after
Darknet-style per-class NMS must agree.

Cfgs and model folders are found by glob, so files added to the real-data folder are tested too.
Needs the real data folder (``XAIKIT_REAL_DATA``, default ``../shared/realdata``); skipped with
the reason where it is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

cv2 = pytest.importorskip("cv2")

from tests.realdata import ROOT, real_path  # noqa: E402

pytestmark = pytest.mark.realdata

DARKNET = ROOT / "darknet"
HEADS = ("yolo", "region")

# Tolerances: raw heads and classifier logits (absolute), boxes in input pixels, scores.
HEAD_ATOL = 1e-4
BOX_ATOL = 1e-3
# float32 holds a box corner at x pixels to x * 6e-8: a head entry exp()'d into a box of
# thousands of pixels (a 373-pixel anchor at t = 3) cannot be closer than that in either library.
BOX_RTOL = 1e-6
SCORE_ATOL = 1e-4
PROB_ATOL = 1e-5
# OpenCV's [region] layer always runs its own per-class NMS at this IoU (darknet_io gives it no
# nms_threshold); the comparison applies the same NMS to xaikit's scores.
OPENCV_REGION_NMS = 0.4


def real(*parts) -> Path:
    return real_path("darknet", *parts)


def _absent(what: str):
    return pytest.param(
        None, marks=pytest.mark.skip(reason=f"real data not found: {what} (set XAIKIT_REAL_DATA)")
    )


def _cfg_params():
    folder = DARKNET / "cfgs"
    files = sorted(folder.glob("*.cfg")) if folder.is_dir() else []
    return [pytest.param(f.name, id=f.name) for f in files] or [_absent(folder)]


def _real_models() -> dict[str, tuple[Path, Path]]:
    """``{id: (cfg, weights)}``: every ``.weights`` in a folder of ``darknet/``, with the cfg of
    the same name, or the folder's only cfg. The id is the folder (``folder/stem`` when a folder
    holds several weights)."""
    found: dict[str, tuple[Path, Path]] = {}
    folders = sorted(p for p in DARKNET.iterdir() if p.is_dir()) if DARKNET.is_dir() else []
    for folder in folders:
        cfgs, weights = sorted(folder.glob("*.cfg")), sorted(folder.glob("*.weights"))
        for w in weights:
            cfg = folder / f"{w.stem}.cfg"
            if not cfg.is_file() and len(cfgs) == 1:
                cfg = cfgs[0]
            if cfg.is_file():
                found[folder.name if len(weights) == 1 else f"{folder.name}/{w.stem}"] = (cfg, w)
    return found


def _model_params():
    names = list(_real_models())
    return [pytest.param(n, id=n) for n in names] or [_absent(DARKNET / "*/*.weights")]


# ---------------------------------------------------------------------------------------------
# cfg text: read as Darknet/OpenCV do (whitespace dropped, '#'/';' lines skipped), write copies.


def read_cfg(path: Path) -> list[tuple[str, dict[str, str]]]:
    """``[(kind, options)]`` with ``[net]`` first, as Darknet reads a cfg."""
    sections: list[tuple[str, dict[str, str]]] = []
    for raw in Path(path).read_text().splitlines():
        line = "".join(raw.split())
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            sections.append((line[1 : line.index("]")].lower(), {}))
        elif "=" in line and sections:
            key, value = line.split("=", 1)
            sections[-1][1][key] = value
    if not sections or sections[0][0] not in ("net", "network"):
        raise ValueError(f"{path}: a Darknet cfg starts with [net]")
    return sections


def write_cfg(sections, path: Path, size: tuple[int, int] | None = None) -> Path:
    """Write ``sections`` to ``path``: ``size`` ``(H, W)`` in ``[net]``, ``thresh=0`` in every
    head (so OpenCV keeps every class score instead of zeroing those below 0.2 or .6)."""
    lines = []
    for kind, options in sections:
        options = dict(options)
        if kind in ("net", "network") and size is not None:
            options["height"], options["width"] = str(size[0]), str(size[1])
        if kind in HEADS:
            options["thresh"] = "0"
        lines += [f"[{kind}]", *(f"{k}={v}" for k, v in options.items()), ""]
    path.write_text("\n".join(lines))
    return path


def layer_strides(sections) -> list[int]:
    """Each layer's total downsampling, from the cfg alone (Darknet's option defaults)."""
    strides: list[int] = []
    for index, (kind, options) in enumerate(sections[1:]):
        previous = strides[-1] if strides else 1
        if kind in ("convolutional", "maxpool", "local_avgpool", "reorg"):
            stride = previous * int(options.get("stride", 1))
        elif kind == "upsample":
            stride = max(previous // int(options.get("stride", 2)), 1)
        elif kind == "route":
            first = int(options["layers"].split(",")[0])
            stride = strides[first + index if first < 0 else first]
        else:
            stride = previous
        strides.append(stride)
    return strides


def head_indices(sections) -> list[int]:
    return [i for i, (kind, _) in enumerate(sections[1:]) if kind in HEADS]


def head_specs(sections) -> list[dict]:
    """Per head, from the cfg: kind, stride, anchors ``(A, 2)`` in input pixels, scale_x_y and
    new_coords (what the boxes' sensitivity to the raw head depends on)."""
    strides = layer_strides(sections)
    specs = []
    for i in head_indices(sections):
        kind, options = sections[i + 1]
        flat = np.array([float(v) for v in options["anchors"].split(",") if v], np.float64)
        pairs = flat.reshape(-1, 2)
        if kind == "yolo":
            mask = options.get("mask", ",".join(str(a) for a in range(len(pairs))))
            pairs = pairs[[int(m) for m in mask.split(",")]]
        else:  # [region] anchors are in grid cells
            pairs = pairs * strides[i]
        specs.append(
            {
                "kind": kind,
                "stride": strides[i],
                "anchors": pairs,
                "scale": float(options.get("scale_x_y", 1)),
                "new_coords": int(options.get("new_coords", 0)) == 1,
            }
        )
    return specs


def box_slack(spec: dict, corners: np.ndarray, head_error: float) -> np.ndarray:
    """How far decoded corners ``(B, N, 4)`` may move when every raw head entry moves by
    ``head_error``: ``d cx = stride * scale * g'(t) dt`` (``g' <= 1/4`` for the logistic,
    1 for new_coords) and ``d w = w dt`` for ``exp`` (``8 a t dt = 4 sqrt(a w) dt`` for
    new_coords' ``w = 4 t^2 a``); a corner moves by ``d cx + d w / 2``."""
    anchors = np.tile(spec["anchors"], (corners.shape[1] // len(spec["anchors"]), 1))
    size = np.abs(corners[..., 2:] - corners[..., :2])  # (B, N, 2) w, h
    if spec["new_coords"]:
        centre, extent = spec["stride"] * spec["scale"], 4 * np.sqrt(anchors * size)
    else:
        centre, extent = spec["stride"] * spec["scale"] / 4, size
    slack = head_error * (centre + extent / 2)
    return np.concatenate([slack, slack], -1)


# ---------------------------------------------------------------------------------------------
# Random .weights, written here in Darknet's layout and calibrated so deep nets stay O(1).


def write_random_weights(cfg: Path, path: Path, x: torch.Tensor, seed: int = 0):
    """Write a well-conditioned random ``.weights`` file for ``cfg``, calibrated on input ``x``.

    Returns ``(darknet, opencv)``: the file in Darknet's layout, and the one to give OpenCV,
    the same file unless the cfg has a ``[connected]`` layer with batch norm (which OpenCV
    reads in another order than Darknet writes; then a second file holds the same values in
    OpenCV's order).

    Each conv (and connected) filter is normal, then centred and scaled to std
    ``1 / sqrt(fan_in)``; biases are N(0, 0.1), batch-norm ``gamma`` U(0.5, 1.5) and ``beta``
    N(1, 0.1); each batch norm's ``running_mean`` and ``running_var`` are the per-channel mean
    and variance (>= 0.01) of its input, set layer by layer during one forward pass over ``x``,
    its flips and four noise images, so every normalised output is ~N(beta, gamma^2) however
    deep the net.

    Why not beta ~ 0: a batch-normalised leaky layer fed centred inputs amplifies a rounding
    error relative to the signal by ~1.16 (E[leaky'(z)^2] = 0.505 against Var(leaky(z)) = 0.376
    for z ~ N(0, 1)); over YOLOv4's ~160 layers that took float32 itself (xaikit's and OpenCV's
    alike, against float64) to 5e-4 on the heads. With most pre-activations on the linear side
    the gain is ~1 and both stay ~3e-5 from float64. Calibrating on the one test photo alone is
    worse still: at a 2x3 grid six positions make ill-conditioned statistics (errors of 1e-2 to
    O(1) in YOLOv4 and YOLOv4-CSP). The shapes come from xaikit's network of the cfg
    (``model.modules()`` is cfg order); the values are generated and laid out here.
    """
    from xaikit.models import Darknet

    model = Darknet.from_cfg(cfg).eval()
    rng = np.random.default_rng(seed)
    layers: list[list] = []  # [conv or linear, its batch norm or None], in cfg order
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            layers.append([module, None])
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            assert layers and layers[-1][1] is None, "a batch norm without its conv/connected"
            layers[-1][1] = module

    def fill(tensor, values):
        tensor.copy_(torch.from_numpy(np.asarray(values, np.float32).reshape(tensor.shape)))

    def calibrate(bn, inputs):
        t = inputs[0].detach().double()
        dims = [d for d in range(t.ndim) if d != 1]
        bn.running_mean.copy_(t.mean(dims))
        bn.running_var.copy_(t.var(dims, unbiased=False).clamp_min(1e-2))

    hooks = []
    with torch.no_grad():
        for layer, bn in layers:
            fan_in = layer.weight[0].numel()
            weight = rng.standard_normal((len(layer.weight), fan_in), dtype=np.float32)
            if fan_in > 1:
                weight = weight - weight.mean(1, keepdims=True)
                weight = weight / weight.std(1, keepdims=True)
            fill(layer.weight, weight / np.sqrt(fan_in))
            if layer.bias is not None:
                fill(layer.bias, rng.normal(0, 0.1, layer.bias.shape))
            if bn is not None:
                fill(bn.weight, rng.uniform(0.5, 1.5, bn.weight.shape))
                fill(bn.bias, rng.normal(1, 0.1, bn.bias.shape))
                hooks.append(bn.register_forward_pre_hook(calibrate))
        noise = torch.from_numpy(rng.uniform(0, 1, (4, *x.shape[1:])).astype(np.float32))
        try:
            model(torch.cat([x, x.flip(-1), x.flip(-2), noise]))
        finally:
            for hook in hooks:
                hook.remove()

    darknet, opencv = [], []  # the file's tensors; OpenCV's reader's order, where it differs
    for layer, bn in layers:
        if isinstance(layer, nn.Conv2d):  # beta, gamma, mean, var (or bias); weights
            parts = [bn.bias, bn.weight, bn.running_mean, bn.running_var] if bn else [layer.bias]
            darknet += [*parts, layer.weight]
            opencv += [*parts, layer.weight]
        else:  # [connected]: bias, weights, then gamma, mean, var (Darknet's parser.c)
            bias, stats = layer.bias if bn is None else bn.bias, []
            if bn is not None:
                stats = [bn.weight, bn.running_mean, bn.running_var]
            darknet += [bias, layer.weight, *stats]
            # OpenCV's darknet_io reads a connected layer in the conv order (bias, gamma, mean,
            # var, weights), which only agrees with Darknet's without batch norm
            opencv += [bias, *stats, layer.weight]
    files = [path]
    if any(a is not b for a, b in zip(darknet, opencv, strict=True)):
        files.append(path.with_name(f"{path.stem}-opencv-order{path.suffix}"))
    for file_path, tensors in zip(files, (darknet, opencv)[: len(files)], strict=True):
        with file_path.open("wb") as file:
            file.write(np.array([0, 2, 0], "<i4").tobytes() + np.array([0], "<u8").tobytes())
            for tensor in tensors:
                file.write(tensor.detach().numpy().astype("<f4").tobytes())
    return files[0], files[-1]


# ---------------------------------------------------------------------------------------------
# OpenCV side.


def opencv_net(cfg: Path, weights: Path):
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    # OpenCV's Winograd 3x3 convolution (on by default since 4.7) rounds ~10x more than a
    # direct one (5e-6 against 4e-7 relative on a first layer); compare semantics, not that.
    net.enableWinograd(False)
    return net


def opencv_heads(net, x: np.ndarray):
    """OpenCV's ``(heads, decoded, head layer indices)`` for input ``x``.

    OpenCV puts a ``permute_i`` before the decoding layer of Darknet layer ``i`` (``yolo_i``, or
    ``detection_out`` for ``[region]``); the layer before the permute is the head's producer
    (``conv_{i-1}``, or its activation, e.g. ``logistic_i`` for ``new_coords`` heads).
    """
    names = list(net.getLayerNames())
    at = [k for k, name in enumerate(names) if name.startswith("permute_")]
    producers, decoders = [names[k - 1] for k in at], [names[k + 1] for k in at]
    assert sorted(decoders) == sorted(net.getUnconnectedOutLayersNames())
    net.setInput(x)
    outs = net.forward(producers + decoders)
    batch = x.shape[0]
    heads = outs[: len(at)]
    decoded = [o.reshape(batch, -1, o.shape[-1]).astype(np.float64) for o in outs[len(at) :]]
    return heads, decoded, [int(names[k].split("_")[1]) for k in at]


def to_corners(decoded: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """OpenCV rows ``cx, cy, w, h`` (normalised by the input size) → ``x0, y0, x1, y1`` pixels."""
    height, width = size
    cx, cy, w, h = (decoded[..., k] for k in range(4))
    return np.stack(
        [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height],
        -1,
    )


def region_nms(corners: np.ndarray, scores: np.ndarray, thresh: float) -> np.ndarray:
    """OpenCV's in-layer ``do_nms_sort`` of ``[region]``: per class, greedy NMS at 0.4 of the
    scores above ``thresh``; the others set to 0. ``corners`` (N, 4) in pixels: IoU does not
    change when an axis is scaled, so this is the NMS on OpenCV's normalised boxes."""
    rects = np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], 1).tolist()
    kept = np.zeros_like(scores)
    for k in range(scores.shape[1]):
        keep = np.asarray(cv2.dnn.NMSBoxes(rects, scores[:, k].tolist(), thresh, OPENCV_REGION_NMS))
        keep = keep.reshape(-1).astype(int)
        kept[keep, k] = scores[keep, k]
    return kept


def darknet_detections(corners, objectness, scores, conf=0.25, iou=0.45) -> np.ndarray:
    """Darknet's detector on OpenCV's output: per class, ``objectness > conf`` and
    ``score > conf``, then ``cv2.dnn.NMSBoxes`` at ``iou``; rows ``x0, y0, x1, y1, score, class``
    sorted by class, then score."""
    rects = np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], 1)
    found = []
    for k in range(scores.shape[1]):
        rows = np.flatnonzero((objectness > conf) & (scores[:, k] > conf))
        if not rows.size:
            continue
        keep = cv2.dnn.NMSBoxes(rects[rows].tolist(), scores[rows, k].tolist(), conf, iou)
        for row in rows[np.asarray(keep, int).reshape(-1)]:
            found.append([*corners[row], scores[row, k], k])
    return sort_detections(np.array(found, np.float64).reshape(-1, 6))


def sort_detections(found: np.ndarray) -> np.ndarray:
    return found[np.lexsort((found[:, 0], -found[:, 4], found[:, 5]))]


# ---------------------------------------------------------------------------------------------
# Fixtures and shared checks.


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    """The real photos as BGR uint8 (what ``cv2.imread`` gives)."""
    files = sorted(real("images").glob("*.jpg"))
    if not files:
        pytest.skip(f"real data not found: {DARKNET / 'images' / '*.jpg'}")
    return [cv2.imread(str(f)) for f in files]


def max_abs(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max()) if a.size else 0.0


def check_heads(model, heads, cv_heads, cv_indices, report) -> None:
    assert model._head_indices == cv_indices, "heads at other layer indices than OpenCV's"
    assert len(heads) == len(cv_heads)
    for k, (mine, ref) in enumerate(zip(heads, cv_heads, strict=True)):
        mine = mine.detach().numpy()
        assert mine.shape == ref.shape, f"head {k}: shape {mine.shape} vs OpenCV {ref.shape}"
        assert np.abs(ref).max() > 0.1, f"head {k}: OpenCV's reference is ~0; nothing compared"
        report[f"head{k}"] = max_abs(mine, ref)
        np.testing.assert_allclose(mine, ref, rtol=0, atol=HEAD_ATOL, err_msg=f"head {k}")


def check_decoded(decoded, cv_decoded, specs, size, report, prefix="", head_error=0.0) -> None:
    """xaikit's ``decode`` output against OpenCV's yolo/region layers, head by head.

    ``head_error``: how far the raw heads fed to the two decoders may differ (0 when they are
    the same tensor); the boxes may then differ by what that propagates to (:func:`box_slack`).
    """
    start = 0
    for k, (spec, ref) in enumerate(zip(specs, cv_decoded, strict=True)):
        mine = decoded[:, start : start + ref.shape[1]].detach().double().numpy()
        start += ref.shape[1]
        assert mine.shape == ref.shape, f"head {k}: decoded {mine.shape} vs OpenCV {ref.shape}"
        corners = to_corners(ref, size)
        scores = mine[..., 4:5] * mine[..., 5:]
        if spec["kind"] == "region":  # OpenCV zeroes what its in-layer NMS suppresses: so do we
            scores = np.stack(
                [region_nms(m[:, :4], s, 0.0) for m, s in zip(mine, scores, strict=True)]
            )
        tag = f"{prefix}head {k}"
        report[f"{prefix}boxes{k}"] = max_abs(mine[..., :4], corners)
        report[f"{prefix}obj{k}"] = max_abs(mine[..., 4], ref[..., 4])
        report[f"{prefix}scores{k}"] = max_abs(scores, ref[..., 5:])
        allowed = BOX_ATOL + BOX_RTOL * np.abs(corners) + box_slack(spec, corners, head_error)
        excess = np.abs(mine[..., :4] - corners) - allowed
        worst = np.unravel_index(np.argmax(excess), excess.shape)
        assert excess.max() <= 0, (
            f"{tag} boxes: {mine[..., :4][worst]:.6f} vs OpenCV {corners[worst]:.6f} at "
            f"{worst} (allowed {allowed[worst]:.2e}); {(excess > 0).sum()} of {excess.size} off"
        )
        np.testing.assert_allclose(
            mine[..., 4], ref[..., 4], rtol=0, atol=SCORE_ATOL, err_msg=f"{tag} objectness"
        )
        np.testing.assert_allclose(
            scores, ref[..., 5:], rtol=0, atol=SCORE_ATOL, err_msg=f"{tag} class scores"
        )
    assert start == decoded.shape[1], "xaikit decodes more rows than OpenCV's heads give"


def print_report(name: str, report: dict) -> None:
    print(f"\n{name}: " + ", ".join(f"{k}={v:.2e}" for k, v in report.items()))


# ---------------------------------------------------------------------------------------------
# The cfgs, with random weights.

#: Inputs (H, W) in multiples of the net's stride (>= 2 cells on its coarsest grid), and the
#: batch size. The cfg copy (and so OpenCV's and xaikit's default size) is the first.
SHAPES = (((2, 3), 1), ((3, 2), 2))


@pytest.mark.parametrize("cfg_name", _cfg_params())
def test_cfg_with_random_weights_matches_opencv(cfg_name, photos, tmp_path):
    from xaikit.models import load_darknet

    sections = read_cfg(real("cfgs", cfg_name))
    stride = max(layer_strides(sections))
    sizes = [((rows * stride, cols * stride), batch) for (rows, cols), batch in SHAPES]
    cfg = write_cfg(sections, tmp_path / cfg_name, sizes[0][0])
    inputs = [
        cv2.dnn.blobFromImages(
            [photos[k % len(photos)] for k in range(batch)], 1 / 255, size[::-1], swapRB=True
        )
        for size, batch in sizes
    ]
    weights, for_opencv = write_random_weights(
        cfg, tmp_path / "random.weights", torch.from_numpy(inputs[0])
    )
    try:
        model = load_darknet(cfg, weights, device="cpu")
        net = opencv_net(cfg, for_opencv)
    finally:  # YOLOv4's is 256 MB; pytest keeps the last three runs' tmp_path
        weights.unlink()
        for_opencv.unlink(missing_ok=True)
    for (size, batch), x in zip(sizes, inputs, strict=True):
        report: dict[str, float] = {}
        name = f"{cfg_name} {size[0]}x{size[1]} x{batch}"
        if head_indices(sections):
            compare_detector(model, net, sections, x, report)
        else:
            compare_classifier(model, net, x, report)
        print_report(name, report)


def compare_classifier(model, net, x: np.ndarray, report: dict) -> None:
    """Logits (OpenCV's input to its softmax layer) and probabilities (its output)."""
    names = list(net.getLayerNames())
    softmax = next(n for n in names if n.startswith("softmax_"))  # [softmax] ends a classifier
    net.setInput(x)
    cv_logits, cv_probs = net.forward([names[names.index(softmax) - 1], softmax])
    batch = x.shape[0]
    cv_logits, cv_probs = cv_logits.reshape(batch, -1), cv_probs.reshape(batch, -1)
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).numpy()
        probs = model.probabilities(torch.from_numpy(x)).numpy()
    assert logits.shape == cv_logits.shape and probs.shape == cv_probs.shape
    assert cv_logits.std() > 0.1, "OpenCV's logits are ~constant; nothing compared"
    report.update(logits=max_abs(logits, cv_logits), probs=max_abs(probs, cv_probs))
    np.testing.assert_allclose(logits, cv_logits, rtol=0, atol=HEAD_ATOL, err_msg="logits")
    np.testing.assert_allclose(probs, cv_probs, rtol=0, atol=PROB_ATOL, err_msg="probabilities")
    np.testing.assert_array_equal(logits.argmax(1), cv_probs.argmax(1))


def compare_detector(model, net, sections, x: np.ndarray, report: dict) -> None:
    """Raw heads; ``decode`` of OpenCV's own heads; ``decode`` of xaikit's heads."""
    specs, size = head_specs(sections), x.shape[2:]
    cv_heads, cv_decoded, cv_indices = opencv_heads(net, x)
    for k, ref in enumerate(cv_heads):  # the random weights are well conditioned
        assert 0.05 < ref.std() < 5 and np.abs(ref).max() < 50, f"head {k}: std {ref.std()}"
    with torch.no_grad():
        heads = model(torch.from_numpy(x))
        check_heads(model, heads, cv_heads, cv_indices, report)
        cv_tensors = tuple(torch.from_numpy(h).double() for h in cv_heads)
        check_decoded(model.decode(cv_tensors), cv_decoded, specs, size, report, "cv-heads ")
        check_decoded(model.decode(heads), cv_decoded, specs, size, report, "", HEAD_ATOL)


# ---------------------------------------------------------------------------------------------
# The real models, on the real photos.


@pytest.mark.parametrize("folder_name", _model_params())
def test_real_model_matches_opencv_on_real_photos(folder_name, photos, tmp_path):
    from xaikit.models import load_darknet

    real(folder_name.split("/")[0])
    cfg_file, weights = _real_models()[folder_name]
    sections = read_cfg(cfg_file)
    cfg = write_cfg(sections, tmp_path / cfg_file.name)  # thresh=0 in the heads, else as is
    model = load_darknet(cfg, weights, device="cpu", letterbox=False)  # blobFromImage stretches
    net = opencv_net(cfg, weights)
    height, width = model.input_size
    assert (height, width) == (int(sections[0][1]["height"]), int(sections[0][1]["width"]))
    report: dict[str, float] = {}

    blob = cv2.dnn.blobFromImages(photos, 1 / 255, (width, height), swapRB=True, crop=False)
    rgb = [np.ascontiguousarray(p[..., ::-1]) for p in photos]
    x_mine, _ = model.preprocess(rgb)
    report["preprocess"] = max_abs(x_mine.numpy(), blob)
    # the same cv2 bilinear resize of the uint8 frame: at most float rounding of v / 255
    assert report["preprocess"] <= 1.01 / 255, "preprocess differs beyond uint8 resize rounding"
    same_input = report["preprocess"] < 1e-6

    x = torch.from_numpy(blob)  # the identical tensor for both from here on
    specs = head_specs(sections)
    cv_heads, cv_decoded, cv_indices = opencv_heads(net, blob)
    with torch.no_grad():
        heads = model(x)
        check_heads(model, heads, cv_heads, cv_indices, report)
        decoded = model.decode(heads)
        cv_tensors = tuple(torch.from_numpy(h).double() for h in cv_heads)
        check_decoded(model.decode(cv_tensors), cv_decoded, specs, (height, width), report, "cv ")
        check_decoded(decoded, cv_decoded, specs, (height, width), report, "", HEAD_ATOL)

        cv_all = np.concatenate(cv_decoded, 1)
        # OpenCV has no DIoU-NMS: where the cfg asks for it, compare greedy IoU NMS
        diou = any(sections[i + 1][1].get("nms_kind") == "diounms" for i in head_indices(sections))
        options = {"conf_threshold": 0.25, "iou_threshold": 0.45}
        options.update({"nms_kind": "iou"} if diou else {})
        detect = model.detect(x, **options)
        frames = model.detect(rgb, **options)
    counts = []
    for i, (mine, frame_boxes) in enumerate(zip(detect, frames, strict=True)):
        corners = to_corners(cv_all[i], (height, width))
        ref = darknet_detections(corners, cv_all[i, :, 4], cv_all[i, :, 5:])
        mine = sort_detections(mine.double().numpy())
        counts.append(len(ref))
        assert len(mine) == len(ref), f"photo {i}: {len(mine)} detections vs OpenCV's {len(ref)}"
        np.testing.assert_array_equal(mine[:, 5], ref[:, 5], err_msg=f"photo {i} classes")
        report[f"det-boxes{i}"] = max_abs(mine[:, :4], ref[:, :4])
        report[f"det-scores{i}"] = max_abs(mine[:, 4], ref[:, 4])
        # what the heads' 1e-4 moves a box by, at most (see box_slack)
        extent = np.tile(np.abs(ref[:, 2:4] - ref[:, 0:2]), 2)
        allowed = BOX_ATOL + HEAD_ATOL * (max(spec["stride"] for spec in specs) + extent)
        assert (np.abs(mine[:, :4] - ref[:, :4]) <= allowed).all(), f"photo {i} boxes"
        np.testing.assert_allclose(mine[:, 4], ref[:, 4], rtol=0, atol=SCORE_ATOL)
        if same_input:  # the frame path: the same detections, in the photo's pixels, clipped
            fh, fw = photos[i].shape[:2]
            scale = np.array([fw / width, fh / height] * 2)
            expected = ref.copy()
            expected[:, :4] = np.clip(ref[:, :4] * scale, 0, [fw, fh, fw, fh])
            frame_boxes = sort_detections(frame_boxes.double().numpy())
            report[f"frame-boxes{i}"] = max_abs(frame_boxes[:, :4], expected[:, :4])
            off = np.abs(frame_boxes[:, :4] - expected[:, :4])
            assert (off <= allowed * scale).all(), f"photo {i} boxes in the photo's pixels"
            np.testing.assert_array_equal(frame_boxes[:, 5], mine[:, 5])
            np.testing.assert_allclose(frame_boxes[:, 4], mine[:, 4], rtol=0, atol=SCORE_ATOL)
    assert sum(counts) > 0, "no detection on any photo: the NMS comparison tested nothing"
    print_report(f"{folder_name} detections per photo {counts}", report)
