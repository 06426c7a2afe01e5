"""aug_smooth and eigen_smooth, the two modifiers of every method, against pytorch-grad-cam."""

import numpy as np
import pytest
import pytorch_grad_cam.base_cam
import pytorch_grad_cam.hirescam
import pytorch_grad_cam.layer_cam
import torch
import torchvision
from pytorch_grad_cam import (
    AblationCAM,
    GradCAM,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    XGradCAM,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

import xaikit as xk
from xaikit.explain.augment import AUGMENTATIONS

REFERENCES = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "xgradcam": XGradCAM,
    "hirescam": HiResCAM,
    "layercam": LayerCAM,
}
CLASSES = [1, 7]


@pytest.fixture
def oriented_projection(monkeypatch):
    """pytorch-grad-cam's projection with xaikit's sign: an SVD's sign is arbitrary, and ours
    is the one that correlates non-negatively with the channel sum."""

    def projection(weighted):
        projected = get_2d_projection(weighted)
        total = np.nan_to_num(weighted).sum(axis=1)
        for sample, (values, reference) in enumerate(zip(projected, total, strict=True)):
            if np.corrcoef(values.ravel(), reference.ravel())[0, 1] < 0:
                projected[sample] = -values
        return projected

    for module in (
        pytorch_grad_cam.base_cam,
        pytorch_grad_cam.hirescam,
        pytorch_grad_cam.layer_cam,
    ):
        monkeypatch.setattr(module, "get_2d_projection", projection)


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()


@pytest.mark.parametrize("method", sorted(REFERENCES))
@pytest.mark.parametrize(("aug", "eigen"), [(True, False), (False, True), (True, True)])
def test_modifiers_match_pytorch_grad_cam(method, aug, eigen, resnet, oriented_projection):
    x = torch.rand(2, 3, 48, 64, generator=torch.Generator().manual_seed(1))
    ours = xk.explain(
        resnet, x, method, ["layer3"], CLASSES, aug_smooth=aug, eigen_smooth=eigen, progress=False
    )
    with REFERENCES[method](model=resnet, target_layers=[resnet.layer3]) as cam:
        targets = [ClassifierOutputTarget(c) for c in CLASSES]
        theirs = cam(x, targets=targets, aug_smooth=aug, eigen_smooth=eigen)
    np.testing.assert_allclose(ours.maps["layer3"].numpy(), theirs, atol=1e-4)


@pytest.mark.parametrize(
    ("method", "reference"), [("scorecam", ScoreCAM), ("ablationcam", AblationCAM)]
)
def test_eigen_smooth_of_perturbation_cams_matches_pytorch_grad_cam(
    method, reference, resnet, oriented_projection
):
    x = torch.rand(1, 3, 40, 56, generator=torch.Generator().manual_seed(2))
    ours = xk.explain(resnet, x, method, ["layer2"], [3], eigen_smooth=True, progress=False)
    with reference(model=resnet, target_layers=[resnet.layer2]) as cam:
        cam.batch_size = 64
        theirs = cam(x, targets=[ClassifierOutputTarget(3)], eigen_smooth=True)
    np.testing.assert_allclose(ours.maps["layer2"].numpy(), theirs, atol=1e-4)


def test_eigen_smooth_on_video_matches_pytorch_grad_cam(tiny_video_cnn, clips, oriented_projection):
    # pytorch-grad-cam resizes 3D maps with scipy's spline zoom, so compare at feature resolution
    ours = xk.explain(tiny_video_cnn, clips, "gradcam", ["features.3"], [0, 2], eigen_smooth=True)
    layer = tiny_video_cnn.features[3]
    with GradCAM(model=tiny_video_cnn, target_layers=[layer]) as cam:
        cam(clips, targets=[ClassifierOutputTarget(c) for c in (0, 2)])
        activations = cam.activations_and_grads.activations[0].numpy()
        gradients = cam.activations_and_grads.gradients[0].numpy()
        theirs = cam.get_cam_image(clips, layer, None, activations, gradients, True)
    np.testing.assert_allclose(ours.raw["features.3"].numpy(), theirs, atol=1e-5)


def test_aug_smooth_is_the_mean_of_six_mirrored_back_calls(tiny_video_cnn, clips):
    # ttach augments images only, so on video the reference is the definition itself
    methods = ["gradcam", "3dcam", "guided_backprop"]
    smoothed = xk.explain(tiny_video_cnn, clips, methods, ["features.3"], [0, 2], aug_smooth=True)
    for method in methods:
        key = "input" if method == "guided_backprop" else "features.3"
        maps = []
        for flip, factor in AUGMENTATIONS:
            x = factor * (clips.flip(-1) if flip else clips)
            single = xk.explain(tiny_video_cnn, x, method, ["features.3"], [0, 2]).maps[key]
            maps.append(single.flip(-1) if flip else single)
        expected = torch.stack(maps).mean(dim=0)
        torch.testing.assert_close(smoothed[method].maps[key], expected, atol=1e-6, rtol=0)


def test_aug_smooth_keeps_the_class_of_the_unaugmented_input(tiny_cnn, images):
    plain = xk.explain(tiny_cnn, images, "gradcam", ["features.3"])
    smoothed = xk.explain(tiny_cnn, images, "gradcam", ["features.3"], aug_smooth=True)
    fixed = xk.explain(tiny_cnn, images, "gradcam", ["features.3"], plain.targets, aug_smooth=True)
    torch.testing.assert_close(smoothed.targets, plain.targets)
    torch.testing.assert_close(smoothed.scores, plain.scores)
    torch.testing.assert_close(smoothed.maps["features.3"], fixed.maps["features.3"])


def test_eigen_smooth_of_cam_projects_its_class_weighted_activations(tiny_cnn, images):
    ours = xk.explain(tiny_cnn, images, "cam", ["features.3"], [1, 4], eigen_smooth=True)
    store = {}
    hook = tiny_cnn.features[3].register_forward_hook(lambda m, a, out: store.setdefault("a", out))
    with torch.no_grad():
        tiny_cnn(images)
    hook.remove()
    weights = tiny_cnn.fc.weight[[1, 4]].detach()
    terms = (weights[:, :, None, None] * store["a"]).numpy()
    projection = get_2d_projection(terms)
    for sample in range(2):  # the sign that correlates with the plain CAM
        if np.corrcoef(projection[sample].ravel(), terms[sample].sum(0).ravel())[0, 1] < 0:
            projection[sample] *= -1
    np.testing.assert_allclose(ours.raw["features.3"].numpy(), projection, atol=1e-5)


def test_modifiers_refuse_what_they_cannot_do(tiny_cnn, images, toy_detector):
    with pytest.raises(ValueError, match="eigen_smooth needs a map made of per-channel terms"):
        xk.explain(tiny_cnn, images, ["gradcam", "3dcam"], ["features.3"], eigen_smooth=True)
    with pytest.raises(ValueError, match="aug_smooth must be True or False"):
        xk.explain(tiny_cnn, images, "gradcam", ["features.3"], aug_smooth="yes")
    boxes = [torch.tensor([[0.0, 0.0, 8.0, 8.0, 0.9, 1.0]])]
    with pytest.raises(ValueError, match="boxes are not mirrored"):
        xk.explain(toy_detector, images[:1], "gradcam", ["backbone.2"], boxes, aug_smooth=True)
