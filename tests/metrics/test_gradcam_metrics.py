"""pytorch-grad-cam 1.5.7's CAM metrics (``pytorch_grad_cam.metrics``) against pytorch-grad-cam
itself: confidence change, drop and increase in confidence, ROAD at percentiles and combined,
Complexity, Coherency and ARCC, on random models and non-square images."""

import numpy as np
import pytest
import torch
import torchvision
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.metrics.arcc import ARCC, Coherency, Complexity
from pytorch_grad_cam.metrics.cam_mult_image import (
    CamMultImageConfidenceChange,
    DropInConfidence,
    IncreaseInConfidence,
)
from pytorch_grad_cam.metrics.perturbation_confidence import (
    PerturbationConfidenceMetric,
    RemoveMostRelevantFirst,
)
from pytorch_grad_cam.metrics.road import (
    NoisyLinearImputer,
    ROADCombined,
    ROADLeastRelevantFirst,
    ROADLeastRelevantFirstAverage,
    ROADMostRelevantFirst,
)
from pytorch_grad_cam.utils.model_targets import (
    ClassifierOutputSoftmaxTarget,
    ClassifierOutputTarget,
)

import xaikit as xk
from tests.tiny_models import TinyCNN
from xaikit.metrics import faithfulness as faith

RTOL = 1e-5
# pytorch-grad-cam's np.argwhere on torch tensors (road.py) warns under numpy 2
pytestmark = pytest.mark.filterwarnings("ignore:__array_wrap__ must accept:DeprecationWarning")


def softmax_targets(classes):
    return [ClassifierOutputSoftmaxTarget(int(c)) for c in classes]


@pytest.fixture(scope="module")
def tiny():
    """TinyCNN (5 classes), two 20x28 images, random float32 maps in [0, 1], classes."""
    torch.manual_seed(0)
    model = TinyCNN().eval()
    generator = torch.Generator().manual_seed(5)
    images = torch.rand(2, 3, 20, 28, generator=generator)
    maps = torch.rand(2, 20, 28, generator=generator).numpy()
    return model, images, maps, [1, 3]


@pytest.fixture(scope="module")
def resnet():
    """resnet18 (random weights), one 40x56 image, its Grad-CAM map of layer4, its top class."""
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    images = torch.rand(1, 3, 40, 56, generator=torch.Generator().manual_seed(6))
    top = model(images).argmax(dim=1).tolist()
    with GradCAM(model=model, target_layers=[model.layer4]) as cam:
        maps = cam(images, targets=softmax_targets(top))
    return model, images, maps, top


@pytest.mark.parametrize("case", ["tiny", "resnet"])
def test_confidence_change_drop_and_increase(case, request):
    model, images, maps, classes = request.getfixturevalue(case)
    maps = 0.2 + 0.7 * maps  # not min-max normalised: used as given
    targets = softmax_targets(classes)
    theirs = CamMultImageConfidenceChange()(images, maps, targets, model)
    ours = faith.confidence_change(model, images, maps, classes, batch_size=1)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL)
    drop = DropInConfidence()(images, maps, targets, model)
    np.testing.assert_allclose(
        faith.drop_in_confidence(model, images, maps, classes), drop, rtol=RTOL
    )
    # ours is the percentage of images whose score rises, on min-max normalised maps
    scaled = (maps - maps.min(axis=(1, 2), keepdims=True)) / np.ptp(
        maps, axis=(1, 2), keepdims=True
    )
    rises = IncreaseInConfidence()(images, scaled, targets, model)
    assert faith.increase_in_confidence(model, images, scaled, classes) == pytest.approx(
        100 * rises.mean()
    )


def test_confidence_change_top1_target(tiny):
    model, images, maps, _ = tiny
    top = model(images).argmax(dim=1).tolist()
    theirs = CamMultImageConfidenceChange()(images, maps, softmax_targets(top), model)
    np.testing.assert_allclose(faith.confidence_change(model, images, maps), theirs, rtol=RTOL)


@pytest.mark.parametrize("order", ["morf", "lerf"])
@pytest.mark.parametrize("case", ["tiny", "resnet"])
def test_road_percentiles_match_remove_most_and_least_relevant_first(case, order, request):
    model, images, maps, classes = request.getfixturevalue(case)
    percentiles = [10, 45, 80] if case == "tiny" else [30, 70]
    reference = ROADMostRelevantFirst if order == "morf" else ROADLeastRelevantFirst
    torch.manual_seed(7)  # pytorch-grad-cam's noise comes from the global generator
    theirs = [reference(p)(images, maps, softmax_targets(classes), model) for p in percentiles]
    ours = faith.road_percentiles(
        model, images, maps, classes, percentiles=percentiles, order=order, seed=7, batch_size=2
    )
    np.testing.assert_allclose(ours, np.stack(theirs, axis=1), rtol=RTOL)
    probabilities = faith.road_percentiles(
        model, images, maps, classes, percentiles=percentiles, order=order, seed=7, change=False
    )
    with torch.no_grad():
        before = torch.softmax(model(images), dim=1)[torch.arange(len(classes)), classes]
    np.testing.assert_allclose(
        probabilities - ours, before[:, None].expand(-1, ours.shape[1]), rtol=RTOL
    )


def test_road_average_and_combined_on_the_tiny_cnn(tiny):
    model, images, maps, classes = tiny
    targets = softmax_targets(classes)
    torch.manual_seed(3)
    average = ROADLeastRelevantFirstAverage([20, 60])(images, maps, targets, model)
    ours = faith.road_percentiles(
        model, images, maps, classes, percentiles=[20, 60], order="lerf", seed=3
    )
    np.testing.assert_allclose(ours.mean(axis=1), average, rtol=RTOL)
    torch.manual_seed(4)
    combined = ROADCombined(percentiles=[25, 50, 75])(images, maps, targets, model)
    ours = faith.road_combined(model, images, maps, classes, percentiles=[25, 50, 75], seed=4)
    np.testing.assert_allclose(ours, combined, rtol=RTOL)


def test_road_ties_are_removed_together():
    # pixels at or above the percentile go: with half the map at 0, the 10th and 40th
    # percentiles are 0 and the whole image is imputed (to zeros, without noise); the 60th is 1
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2))
    images = torch.rand(1, 1, 3, 4, generator=torch.Generator().manual_seed(0))
    maps = np.zeros((1, 3, 4), dtype=np.float32)
    maps[0, :, 2:] = 1.0
    options = {"percentiles": [10, 40, 60], "noise": 0.0, "change": False}
    ours = faith.road_percentiles(model, images, maps, 0, **options)
    blank = torch.softmax(model(torch.zeros_like(images)), dim=1)[0, 0].item()
    np.testing.assert_allclose(ours[0, :2], [blank, blank], rtol=RTOL)
    assert abs(ours[0, 2] - blank) > 1e-3
    theirs = [
        PerturbationConfidenceMetric(RemoveMostRelevantFirst(p, NoisyLinearImputer(noise=0.0)))(
            images, maps, softmax_targets([0]), model, return_diff=False
        )
        for p in options["percentiles"]
    ]
    np.testing.assert_allclose(ours, np.stack(theirs, axis=1), rtol=RTOL)


@pytest.mark.parametrize("case", ["tiny", "resnet"])
def test_complexity_coherency_and_arcc(case, request):
    model, images, maps, classes = request.getfixturevalue(case)
    targets = softmax_targets(classes)
    np.testing.assert_allclose(faith.complexity(maps), Complexity()(maps), rtol=RTOL)
    layer = model.features[2] if case == "tiny" else model.layer4
    with GradCAM(model=model, target_layers=[layer]) as cam:

        def explainer(x, classes):
            return cam(x, targets=softmax_targets(classes))

        theirs = Coherency()(images, maps, targets, model, cam)
        ours = faith.coherency(model, images, maps, explainer, classes)
        np.testing.assert_allclose(ours, theirs, rtol=RTOL)
        percentiles = [20, 40, 60, 80] if case == "tiny" else [40, 80]
        torch.manual_seed(11)
        theirs = ARCC(cam, road_percentiles=percentiles)(images, maps, targets, model)
        ours = faith.arcc(model, images, maps, explainer, classes, percentiles=percentiles, seed=11)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL)


class PatchReader(torch.nn.Module):
    """Class 0 reads one patch of a given 3x12x16 image (a matched filter); classes 1, 2 are 0."""

    def __init__(self, image):
        super().__init__()
        weight = torch.zeros(3, 3, 12, 16)
        weight[0, :, 3:9, 4:11] = 8 * (image[0, :, 3:9, 4:11] - 0.5)
        self.register_buffer("weight", weight)

    def forward(self, x):
        return torch.einsum("bchw,kchw->bk", x, self.weight)

    def explain(self, input_tensor, targets=None):
        """|w_0 * x| summed over channels, min-max normalised: a base method for Coherency."""
        heat = (input_tensor * self.weight[0]).sum(dim=1).abs().numpy()
        low = heat.min(axis=(1, 2), keepdims=True)
        return (heat - low) / (heat.max(axis=(1, 2), keepdims=True) - low)


def test_arcc_when_the_map_shows_what_the_model_reads():
    # a map on the patch: removing it first costs the score, removing the rest does not, so
    # ROAD is clearly positive and ARCC is not stuck at 0 (as on random models)
    generator = torch.Generator().manual_seed(8)
    images = torch.rand(1, 3, 12, 16, generator=generator)
    model = PatchReader(images)
    maps = 0.3 * torch.rand(1, 12, 16, generator=generator).numpy()
    maps[0, 3:9, 4:11] = 0.5 + 0.5 * maps[0, 3:9, 4:11] / 0.3
    targets = softmax_targets([0])
    torch.manual_seed(2)
    theirs = ARCC(model.explain)(images, maps, targets, model)
    ours = faith.arcc(model, images, maps, lambda x, t: model.explain(x), 0, seed=2)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL)
    assert faith.road_combined(model, images, maps, 0, percentiles=[20, 40, 60, 80]) > 0.1
    assert 0.2 < ours[0] < 1


def test_coherency_with_our_own_gradcam(tiny):
    model, images, maps, classes = tiny

    def explainer(x, targets):
        return xk.explain(model, x, "gradcam", "features.2", targets, progress=False).maps[
            "features.2"
        ]

    with GradCAM(model=model, target_layers=[model.features[2]]) as cam:
        theirs = Coherency()(images, maps, [ClassifierOutputTarget(c) for c in classes], model, cam)
    np.testing.assert_allclose(
        faith.coherency(model, images, maps, explainer, classes), theirs, rtol=1e-4
    )


def test_bad_arguments(tiny):
    model, images, maps, classes = tiny
    with pytest.raises(ValueError, match="'auto' Otsu threshold is not supported"):
        faith.road_percentiles(model, images, maps, percentiles=["auto"])
    with pytest.raises(ValueError, match=r"percentiles must be numbers in \[0, 100\]"):
        faith.road_combined(model, images, maps, percentiles=[50, 120])
    with pytest.raises(ValueError, match="order must be one of 'morf', 'lerf'"):
        faith.road_percentiles(model, images, maps, order="both")
    with pytest.raises(ValueError, match="saliency must not contain NaN"):
        faith.confidence_change(model, images, np.full_like(maps, np.nan))
    with pytest.raises(ValueError, match=r"saliency must be \(B, H, W\)"):
        faith.drop_in_confidence(model, images, maps[:, :10])
    with pytest.raises(ValueError, match=r"explainer must return \(B, H, W\) = \(2, 20, 28\)"):
        faith.coherency(model, images, maps, lambda x, t: maps[:, :5], classes)
