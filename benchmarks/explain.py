"""Explainer engine speed: the four ratios of issue 4, measured in one run.

Run ``python benchmarks/explain.py`` (CPU here, the same script on CUDA). ``XAIKIT_SMOKE=1``
shrinks the inputs so the script finishes in seconds; the targets hold for the full sizes.

1. ResNet-50, batch 4, 224x224: Grad-CAM of layer1..layer4 returned separately in one call,
   vs four pytorch-grad-cam calls (target >= 3x faster) and vs our single-layer call
   (target <= 1.2x).
2. Seven gradient-family methods x four layers in one call vs one Grad-CAM (target <= 1.5x).
3. Score-CAM on resnet18 layer4 vs pytorch-grad-cam (target: no slower, ratio <= 1).
4. r3d_18 on 16x112x112: 3DCAM of all five stages vs one forward plus backward (<= 1.3x).
"""

from __future__ import annotations

import time

import torch
import torchvision
from pytorch_grad_cam import GradCAM, ScoreCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

import xaikit as xk


def best_time(function, repeats: int = 3) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        function()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def report(name: str, ours: float, other: float, target: str) -> None:
    print(f"{name}: ours {ours:.3f}s, reference {other:.3f}s, ratio {ours / other:.2f} ({target})")


def main() -> None:
    device = xk.device()
    smoke = xk.is_smoke_run()
    size, clip = (96, (8, 56, 56)) if smoke else (224, (16, 112, 112))
    torch.manual_seed(0)
    print(f"device {device}, smoke={smoke}, image {size}x{size}, clip {clip}")

    resnet50 = torchvision.models.resnet50(weights=None).eval().to(device)
    x = torch.rand(4, 3, size, size, device=device)
    stages = ["layer1", "layer2", "layer3", "layer4"]
    classes = [ClassifierOutputTarget(c) for c in range(4)]

    def four_reference_calls():
        for stage in stages:
            with GradCAM(model=resnet50, target_layers=[getattr(resnet50, stage)]) as cam:
                cam(x, targets=classes)

    ours_four = best_time(lambda: xk.explain(resnet50, x, "gradcam", stages, target=[0, 1, 2, 3]))
    ours_one = best_time(
        lambda: xk.explain(resnet50, x, "gradcam", ["layer4"], target=[0, 1, 2, 3])
    )
    theirs_four = best_time(four_reference_calls, repeats=1)
    print(f"1a. speed-up over four pytorch-grad-cam calls: {theirs_four / ours_four:.2f}x (>= 3)")
    report("1b. four layers vs one layer", ours_four, ours_one, "<= 1.2")

    seven = ["gradcam", "gradcam++", "xgradcam", "hirescam", "layercam", "eigencam", "3dcam"]
    ours_seven = best_time(lambda: xk.explain(resnet50, x, seven, stages, target=[0, 1, 2, 3]))
    report("2. seven methods x four layers vs one Grad-CAM", ours_seven, ours_one, "<= 1.5")

    resnet18 = torchvision.models.resnet18(weights=None).eval().to(device)
    small = torch.rand(1, 3, size, size, device=device)

    def reference_scorecam():
        with ScoreCAM(model=resnet18, target_layers=[resnet18.layer4]) as cam:
            cam.batch_size = 64
            cam(small, targets=[ClassifierOutputTarget(0)])

    ours_score = best_time(
        lambda: xk.explain(
            resnet18, small, "scorecam", ["layer4"], target=0, batch_size=64, progress=False
        ),
        repeats=1,
    )
    theirs_score = best_time(reference_scorecam, repeats=1)
    report("3. Score-CAM resnet18 layer4", ours_score, theirs_score, "<= 1")

    r3d = torchvision.models.video.r3d_18(weights=None).eval().to(device)
    video = torch.rand(1, 3, *clip, device=device)
    five = ["stem", "layer1", "layer2", "layer3", "layer4"]

    def forward_backward():
        inputs = video.clone().requires_grad_(True)
        torch.autograd.grad(r3d(inputs)[:, 0].sum(), inputs)

    plain = best_time(forward_backward)
    ours_3d = best_time(lambda: xk.explain(r3d, video, "3dcam", five, target=0))
    report("4. r3d_18 3DCAM five stages vs forward+backward", ours_3d, plain, "<= 1.3")


if __name__ == "__main__":
    main()
