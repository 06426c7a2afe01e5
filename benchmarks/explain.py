"""Explainer engine speed: the four ratios of issue 4, measured in one run.

Run ``python benchmarks/explain.py`` (CPU here, the same script on CUDA: the model and
inputs live on ``xaikit.device()``). ``XAIKIT_SMOKE=1`` shrinks the inputs so the script
finishes in seconds; the targets hold for the full sizes.

Timing: every function is called once to warm up, then the functions compared by one ratio
are timed round-robin (so a change in machine load hits both sides alike), synchronising
CUDA before and after each call; each figure is the median of its repeats.

1. ResNet-50, batch 4, 224x224: Grad-CAM of layer1..layer4 returned separately in one call.
   a. vs four pytorch-grad-cam calls, one per layer (target: >= 3x faster);
   b. vs our own single-layer call (target: <= 1.2x). The fair baseline is layer1: its
      gradient needs the whole backward pass, as the four-layer call does. A layer4-only call
      back-propagates only through avgpool and fc, so that ratio is printed but mostly
      measures the backward pass of layer1..layer4.
2. Seven gradient-family methods x four layers in one call vs one Grad-CAM, which is our
   Grad-CAM call for the same four layers (target: <= 1.5x); also printed against a
   single-layer Grad-CAM (layer1 and layer4).
3. Score-CAM on resnet18 layer4 vs pytorch-grad-cam (target: no slower, ratio <= 1).
4. r3d_18 on 16x112x112: 3DCAM of all five stages vs one plain forward plus backward
   (target: <= 1.3x).
5. Every gradient-family method that needs only the shared pass (the seven, EigenGrad-CAM,
   element-wise Grad-CAM, FEM and RandomCAM) x four layers in one call vs one Grad-CAM of the
   same four layers (target: <= 1.5x). FullGrad, Finer-CAM, ShapleyCAM and Smooth Grad-CAM++
   run passes of their own by definition and are left out; KPCA-CAM and DFF factorise
   activations instead of reading gradients.
6. Each perturbation method against its peer at equal settings (resnet18 layer4 or the input,
   batches of 64, half the image side of 1-4): Ablation-CAM against pytorch-grad-cam, SS-CAM
   and IS-CAM (two noisy / integration copies) against torch-cam, Occlusion (16-pixel window,
   stride 8) against captum (target: <= 1.0x each).
"""

from __future__ import annotations

import statistics
import time

import torch
import torchvision
from captum.attr import Occlusion
from pytorch_grad_cam import AblationCAM, GradCAM, ScoreCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torchcam.methods import ISCAM, SSCAM

import xaikit as xk

SEVEN = ["gradcam", "gradcam++", "xgradcam", "hirescam", "layercam", "eigencam", "3dcam"]
ONE_PASS = [*SEVEN, "eigengradcam", "gradcam_elementwise", "fem", "randomcam"]


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_times(
    functions: dict, device: torch.device, repeats: int, warm_up: bool = True
) -> dict[str, float]:
    """Median seconds of each function: one warm-up call each, then ``repeats`` round-robin."""
    for function in functions.values() if warm_up else ():
        function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            synchronise(device)
            start = time.perf_counter()
            function()
            synchronise(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def report(label: str, ratio: float, target: float, at_most: bool = True) -> None:
    met = ratio <= target if at_most else ratio >= target
    sign = "<=" if at_most else ">="
    print(f"    {label}: {ratio:.2f}x (target {sign} {target}) {'met' if met else 'MISSED'}")


def main() -> None:
    device = xk.device()
    smoke = xk.is_smoke_run()
    size, clip = (96, (8, 56, 56)) if smoke else (224, (16, 112, 112))
    torch.manual_seed(0)
    print(
        f"device {device}, torch threads {torch.get_num_threads()}, smoke={smoke}, "
        f"image {size}x{size}, clip {clip}; times are medians of round-robin repeats"
    )

    resnet50 = torchvision.models.resnet50(weights=None).eval().to(device)
    x = torch.rand(4, 3, size, size, device=device)
    stages = ["layer1", "layer2", "layer3", "layer4"]
    classes = [0, 1, 2, 3]

    def ours(methods, layers):
        return lambda: xk.explain(resnet50, x, methods, layers, target=classes)

    def four_reference_calls():
        for stage in stages:
            with GradCAM(model=resnet50, target_layers=[getattr(resnet50, stage)]) as cam:
                cam(x, targets=[ClassifierOutputTarget(c) for c in classes])

    t = median_times(
        {
            "four": ours("gradcam", stages),
            "layer1": ours("gradcam", ["layer1"]),
            "layer4": ours("gradcam", ["layer4"]),
            "seven": ours(SEVEN, stages),
            "one pass": ours(ONE_PASS, stages),
        },
        device,
        repeats=3,
    )
    t |= median_times({"reference": four_reference_calls}, device, repeats=1)
    print("1. ResNet-50, batch 4: Grad-CAM of layer1..layer4, maps returned separately")
    print(f"    ours, four layers in one call       {t['four']:.3f}s")
    print(f"    ours, layer1 only (full backward)   {t['layer1']:.3f}s")
    print(f"    ours, layer4 only (backward of fc)  {t['layer4']:.3f}s")
    print(f"    pytorch-grad-cam, four calls        {t['reference']:.3f}s")
    report("1a. speed-up over four pytorch-grad-cam calls", t["reference"] / t["four"], 3, False)
    report("1b. four layers / layer1 only (same full backward)", t["four"] / t["layer1"], 1.2)
    report("    four layers / layer4 only (short backward)", t["four"] / t["layer4"], 1.2)

    print("2. Seven gradient methods x four layers in one call")
    print(f"    ours, {', '.join(SEVEN)}: {t['seven']:.3f}s")
    report("2. seven methods / Grad-CAM of the same four layers", t["seven"] / t["four"], 1.5)
    report("   seven methods / Grad-CAM of layer1 only", t["seven"] / t["layer1"], 1.5)
    report("   seven methods / Grad-CAM of layer4 only", t["seven"] / t["layer4"], 1.5)
    print(f"5. All {len(ONE_PASS)} one-pass gradient-family methods x four layers in one call")
    print(f"    ours, {', '.join(ONE_PASS)}: {t['one pass']:.3f}s")
    report("5. all of them / Grad-CAM of the same four layers", t["one pass"] / t["four"], 1.5)

    resnet18 = torchvision.models.resnet18(weights=None).eval().to(device)
    small = torch.rand(1, 3, size, size, device=device)

    def reference_scorecam():
        with ScoreCAM(model=resnet18, target_layers=[resnet18.layer4]) as cam:
            cam.batch_size = 64
            cam(small, targets=[ClassifierOutputTarget(0)])

    def our_scorecam():
        xk.explain(resnet18, small, "scorecam", ["layer4"], target=0, batch_size=64, progress=False)

    # Both sides run the same nine forwards, so the ratio is close to 1 and a single call of
    # each mostly measures which one ran first (cold caches); take the median of three rounds.
    # One shared forward of a 64-image batch warms up both sides.
    with torch.no_grad():
        resnet18(small.expand(64, -1, -1, -1))
    t = median_times(
        {"ours": our_scorecam, "reference": reference_scorecam}, device, repeats=3, warm_up=False
    )
    print("3. Score-CAM, resnet18 layer4, 512 masked forwards in batches of 64, median of 3")
    print(f"    ours {t['ours']:.3f}s, pytorch-grad-cam {t['reference']:.3f}s")
    report("3. ours / pytorch-grad-cam", t["ours"] / t["reference"], 1.0)

    r3d = torchvision.models.video.r3d_18(weights=None).eval().to(device)
    video = torch.rand(1, 3, *clip, device=device)
    five = ["stem", "layer1", "layer2", "layer3", "layer4"]

    def forward_backward():
        inputs = video.clone().requires_grad_(True)
        torch.autograd.grad(r3d(inputs)[:, 0].sum(), inputs)

    def our_3dcam():
        xk.explain(r3d, video, "3dcam", five, target=0)

    t = median_times({"plain": forward_backward, "ours": our_3dcam}, device, repeats=3)
    print("4. r3d_18, 3DCAM of stem and layer1..layer4")
    print(f"    ours {t['ours']:.3f}s, one plain forward + backward {t['plain']:.3f}s")
    report("4. ours / forward + backward", t["ours"] / t["plain"], 1.3)

    perturbation_against_peers(resnet18, torch.rand(1, 3, size // 2, size // 2, device=device))


def perturbation_against_peers(model, x) -> None:
    """Section 6: each perturbation method and its peer at the same settings, median of 5."""
    layer, batch = model.layer4, 64

    def grad_cam_peer(reference):
        def run():
            with reference(model=model, target_layers=[layer]) as cam:
                cam.batch_size = batch
                cam(x, targets=[ClassifierOutputTarget(0)])

        return run

    def torch_cam_peer(reference):
        def run():
            with reference(model, "layer4", batch_size=batch, num_samples=2,
                           input_shape=tuple(x.shape[1:])) as cam:  # fmt: skip
                cam(0, model(x))

        return run

    def captum_occlusion():
        Occlusion(model).attribute(x, sliding_window_shapes=(3, 16, 16), strides=(3, 8, 8),
                                   target=0, perturbations_per_eval=batch)  # fmt: skip

    def ours(method, layers, **options):
        return lambda: xk.explain(model, x, method, layers, target=0, batch_size=batch,
                                  progress=False, **options)  # fmt: skip

    pairs = {
        "ablationcam": (ours("ablationcam", ["layer4"]), grad_cam_peer(AblationCAM),
                        "pytorch-grad-cam"),
        "sscam": (ours("sscam", ["layer4"], n_samples=2), torch_cam_peer(SSCAM), "torch-cam"),
        "iscam": (ours("iscam", ["layer4"], n_samples=2), torch_cam_peer(ISCAM), "torch-cam"),
        "occlusion": (ours("occlusion", None, window=16, stride=8), captum_occlusion, "captum"),
    }  # fmt: skip
    side = x.shape[-1]
    print(f"6. Perturbation methods against their peers, resnet18, {side}x{side}, batches of 64")
    for name, (mine, theirs, peer) in pairs.items():
        t = median_times({"ours": mine, "peer": theirs}, x.device, repeats=5)
        print(f"    {name}: ours {t['ours']:.3f}s, {peer} {t['peer']:.3f}s")
        report(f"6. {name} ours / {peer}", t["ours"] / t["peer"], 1.0)


if __name__ == "__main__":
    main()
