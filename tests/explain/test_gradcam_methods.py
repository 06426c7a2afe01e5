"""pytorch-grad-cam 1.5.7's one-pass methods against the peer itself: EigenGradCAM,
GradCAMElementWise, KPCA-CAM, FEM, RandomCAM and Deep Feature Factorization."""

import numpy as np
import pytest
import torch
import torchvision
from pytorch_grad_cam import FEM, KPCA_CAM, EigenGradCAM, GradCAMElementWise, RandomCAM
from pytorch_grad_cam.feature_factorization.deep_feature_factorization import (
    DeepFeatureFactorization,
    dff,
)
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

import xaikit as xk
from xaikit.explain.factorization import deep_feature_factorization
from xaikit.explain.gradient import randomcam

# scikit-learn's NMF (the peer's DFF) warns when it stops after 200 passes, as ours stops too
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
TOL = 1e-4
PEERS = {
    "eigengradcam": EigenGradCAM,
    "gradcam_elementwise": GradCAMElementWise,
    "kpcacam": KPCA_CAM,
    "fem": FEM,
    "randomcam": RandomCAM,
}
# A (kernel) principal component's sign is arbitrary: these are compared up to it, and with
# the peer's own function run on the same activations and gradients in float64 (KPCA-CAM runs
# in float64 in xaikit; in float32 the peer's top kernel eigenvector errs by up to 6e-4 of the
# map at vgg11's features.19).
SIGNED = {"eigengradcam", "kpcacam"}
# (architecture, layer) at a 96x128 input: feature maps 3x4 (resnet18 layer4: 512 channels,
# mobilenet_v3_small features.12: 576) and 6x8 (vgg11 features.19: 512)
TORCHVISION = [("resnet18", "layer4", "fc"), ("vgg11", "features.19", None),
               ("mobilenet_v3_small", "features.12", None)]  # fmt: skip
_BUILT = {}


def torchvision_model(name):
    if name not in _BUILT:
        torch.manual_seed(0)
        _BUILT[name] = getattr(torchvision.models, name)(weights=None).eval()
    return _BUILT[name]


def module_of(model, layer):
    return dict(model.named_modules())[layer]


def activations_of(model, layer, x):
    store = {}
    hook = module_of(model, layer).register_forward_hook(
        lambda m, a, out: store.setdefault("a", out.detach().clone())
    )
    with torch.no_grad():
        model(x)
    hook.remove()
    return store["a"]


def peer_raw(method, activations, gradients, **options):
    """pytorch-grad-cam's raw map (feature resolution): its class's ``get_cam_image`` on the
    given numpy activations and gradients, in float64 for the SIGNED methods."""
    if method == "kpcacam":
        settings = {"kernel": options.get("kernel", "sigmoid"), "gamma": options.get("gamma")}
    else:
        settings = {"k": options["k"]} if "k" in options else {}
    if method in SIGNED:
        activations, gradients = activations.astype(np.float64), gradients.astype(np.float64)
    with PEERS[method](model=nn.Linear(1, 1), target_layers=[], **settings) as cam:
        # RandomCAM draws from numpy's legacy global generator
        np.random.seed(options.get("seed", 0))  # noqa: NPY002
        return cam.get_cam_image(None, None, None, activations, gradients, False)


def peer_final(raw, size):
    """pytorch-grad-cam's maps of one layer from its raw map: ReLU, min-max, resize (OpenCV),
    then the min-max of its aggregation over layers."""
    return scale_cam_image(scale_cam_image(np.maximum(raw, 0), size[::-1]))


def peer_capture(model, layer, x, classes):
    """The peer's activations and gradients of ``layer`` (its hooks, one forward and backward)."""
    targets = [ClassifierOutputTarget(int(c)) for c in classes]
    with GradCAMElementWise(model=model, target_layers=[module_of(model, layer)]) as cam:
        cam(x, targets=targets)
        return (
            cam.activations_and_grads.activations[0].numpy(),
            cam.activations_and_grads.gradients[0].numpy(),
        )


def assert_matches_peer(method, ours, layer, activations, gradients, size, **options):
    """Our raw map within TOL (of each map's largest magnitude) of the peer's, and our map
    within TOL of the peer's pipeline on its raw map; a SIGNED method's peer raw map takes
    our sign first."""
    raw = peer_raw(method, activations, gradients, **options)
    mine = ours.raw[layer].numpy()
    if method in SIGNED:
        sign = np.sign((mine * raw).reshape(len(raw), -1).sum(axis=1))
        raw = raw * sign.reshape(-1, *([1] * (raw.ndim - 1)))
    scale = np.abs(raw).reshape(len(raw), -1).max(axis=1).reshape(-1, *([1] * (raw.ndim - 1)))
    np.testing.assert_allclose(mine / scale, raw / scale, atol=TOL, err_msg=method)
    if len(size) == 2:  # the peer resizes 3D maps with scipy's spline zoom, not trilinearly
        # on raw / scale: the peer's min-max divides by max + 1e-7, which shrinks maps of tiny
        # values (mobilenet_v3_small's EigenGradCAM: ~1e-11) by up to 1e-3
        final = peer_final(raw / scale, size)
        np.testing.assert_allclose(ours.maps[layer].numpy(), final, atol=TOL, err_msg=method)


@pytest.mark.parametrize("method", sorted(PEERS))
def test_tiny_cnn_matches_pytorch_grad_cam(method, tiny_cnn):
    # features.1: 20 x 28 = 560 positions (scikit-learn's KernelPCA switches to ARPACK above
    # 200); features.3: 10 x 14. The whole peer call too, for the methods without a sign.
    x = torch.rand(2, 3, 20, 28, generator=torch.Generator().manual_seed(1))
    for layer, classes in [("features.3", [1, 3]), ("features.1", [0, 0])]:
        ours = xk.explain(tiny_cnn, x, method=method, layers=[layer], target=classes)
        activations, gradients = peer_capture(tiny_cnn, layer, x, classes)
        assert_matches_peer(method, ours, layer, activations, gradients, (20, 28))
        if method not in SIGNED:
            targets = [ClassifierOutputTarget(c) for c in classes]
            with PEERS[method](model=tiny_cnn, target_layers=[module_of(tiny_cnn, layer)]) as cam:
                np.random.seed(0)  # noqa: NPY002
                theirs = cam(x, targets=targets)
            np.testing.assert_allclose(ours.maps[layer].numpy(), theirs, atol=TOL)


@pytest.mark.parametrize(("arch", "layer", "_"), TORCHVISION)
def test_torchvision_models_match_pytorch_grad_cam(arch, layer, _):
    model = torchvision_model(arch)
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(3))
    # The random mobilenet_v3_small's activations at features.12 are ~1e-8: there the default
    # gamma = 1 / C leaves tanh(gamma x.y + 1) constant to float64 precision (KPCA-CAM's map is
    # rounding noise in the peer, zero in ours), so gamma brings gamma x.y back to ~1.
    gamma = 1e13 if arch == "mobilenet_v3_small" else None
    ours = xk.explain(model, x, method=sorted(PEERS), layers=[layer], target=281, gamma=gamma)
    activations, gradients = peer_capture(model, layer, x, [281])
    for method in sorted(PEERS):
        assert_matches_peer(method, ours[method], layer, activations, gradients, (96, 128),
                            gamma=gamma)  # fmt: skip


@pytest.mark.parametrize("method", sorted(PEERS))
def test_video_raw_matches_pytorch_grad_cam(method, tiny_video_cnn):
    clips = torch.rand(2, 3, 4, 10, 14, generator=torch.Generator().manual_seed(2))
    ours = xk.explain(tiny_video_cnn, clips, method=method, layers=["features.3"], target=[1, 2])
    activations, gradients = peer_capture(tiny_video_cnn, "features.3", clips, [1, 2])
    assert_matches_peer(method, ours, "features.3", activations, gradients, (4, 10, 14))
    assert ours.maps["features.3"].shape == (2, 4, 10, 14)


@pytest.mark.parametrize("method", ["gradcam_elementwise", "randomcam"])
def test_eigen_smooth_matches_pytorch_grad_cam_up_to_sign(method, tiny_cnn):
    # The peer's eigen_smooth: the first principal component of the per-channel terms.
    x = torch.rand(2, 3, 24, 36, generator=torch.Generator().manual_seed(12))
    ours = xk.explain(tiny_cnn, x, method=method, layers=["features.3"], target=[1, 2],
                      eigen_smooth=True).raw["features.3"].numpy()  # fmt: skip
    activations, gradients = peer_capture(tiny_cnn, "features.3", x, [1, 2])
    peer = GradCAMElementWise if method == "gradcam_elementwise" else RandomCAM
    with peer(model=nn.Linear(1, 1), target_layers=[]) as cam:
        np.random.seed(0)  # noqa: NPY002
        raw = cam.get_cam_image(None, None, None, activations.astype(np.float64),
                                gradients.astype(np.float64), True)  # fmt: skip
    for sample in range(2):
        sign = np.sign((ours[sample] * raw[sample]).sum())
        scale = np.abs(raw[sample]).max()
        np.testing.assert_allclose(ours[sample] / scale, sign * raw[sample] / scale, atol=TOL)


@pytest.mark.parametrize("kernel", ["sigmoid", "linear", "poly", "rbf", "cosine"])
@pytest.mark.parametrize("gamma", [None, 0.05])
def test_kpcacam_kernels_match_pytorch_grad_cam(kernel, gamma, tiny_cnn):
    # features.1: 15 x 16 = 240 positions (ARPACK in scikit-learn); features.3: 8 x 8 (dense)
    x = torch.rand(1, 3, 15, 16, generator=torch.Generator().manual_seed(5))
    for layer in ["features.1", "features.3"]:
        ours = xk.explain(tiny_cnn, x, method="kpcacam", layers=[layer], kernel=kernel, gamma=gamma)
        activations, gradients = peer_capture(tiny_cnn, layer, x, [2])
        assert_matches_peer("kpcacam", ours, layer, activations, gradients, (15, 16),
                            kernel=kernel, gamma=gamma)  # fmt: skip


def test_kpcacam_linear_kernel_is_eigencam(tiny_cnn):
    x = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(6))
    both = xk.explain(
        tiny_cnn, x, method=["kpcacam", "eigencam"], layers=["features.3"], kernel="linear"
    )
    torch.testing.assert_close(
        both["kpcacam"].maps["features.3"], both["eigencam"].maps["features.3"], atol=TOL, rtol=0
    )


def test_signs_follow_the_documented_convention(tiny_cnn):
    x = torch.rand(3, 3, 24, 36, generator=torch.Generator().manual_seed(7))
    methods = ["eigengradcam", "kpcacam", "hirescam"]
    ours = xk.explain(tiny_cnn, x, method=methods, layers=["features.3"], target=2)
    sums = activations_of(tiny_cnn, "features.3", x).sum(dim=1)
    hirescam = ours["hirescam"].raw["features.3"]
    for method, like in [("eigengradcam", hirescam), ("kpcacam", sums)]:
        for raw, reference in zip(ours[method].raw["features.3"], like, strict=True):
            assert torch.corrcoef(torch.stack([raw.flatten(), reference.flatten()]))[0, 1] > 0


@pytest.mark.parametrize("k", [0.0, 1.0, 3.0])
def test_fem_threshold_option_matches_pytorch_grad_cam(k, tiny_cnn):
    x = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(8))
    ours = xk.explain(tiny_cnn, x, method="fem", layers=["features.3"], k=k)
    activations, gradients = peer_capture(tiny_cnn, "features.3", x, [0, 0])
    assert_matches_peer("fem", ours, "features.3", activations, gradients, (40, 56), k=k)


def test_randomcam_layers_draw_in_turn_like_pytorch_grad_cam(tiny_cnn):
    # The peer's target layers draw one after the other from numpy's global generator.
    x = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(9))
    layers = ["features.1", "features.3"]
    ours = xk.explain(tiny_cnn, x, method="randomcam", layers=layers, seed=11)
    np.random.seed(11)  # noqa: NPY002
    with RandomCAM(model=tiny_cnn, target_layers=[module_of(tiny_cnn, n) for n in layers]) as cam:
        for layer in layers:
            activations = activations_of(tiny_cnn, layer, x).numpy()
            raw = cam.get_cam_image(x, None, None, activations, activations, False)
            np.testing.assert_allclose(ours.raw[layer].numpy(), raw, atol=1e-6)


def test_randomcam_seed_is_deterministic_and_weights_uniform(tiny_cnn):
    x = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(9))
    runs = [
        xk.explain(tiny_cnn, x, method="randomcam", layers=["features.3"], seed=seed).raw
        for seed in (0, 0, 1)
    ]
    torch.testing.assert_close(runs[0]["features.3"], runs[1]["features.3"], rtol=0, atol=0)
    assert not torch.allclose(runs[0]["features.3"], runs[2]["features.3"])
    # constant channels of ones give the weights themselves: uniform on [-1, 1)
    weights = randomcam(torch.ones(400, 50, 1, 1), np.random.RandomState(3)).flatten()
    assert -1 <= weights.min() < -0.99 and 0.99 < weights.max() < 1
    quartiles = torch.quantile(weights, torch.tensor([0.25, 0.5, 0.75]))
    torch.testing.assert_close(quartiles, torch.tensor([-0.5, 0.0, 0.5]), atol=0.02, rtol=0)


def peer_dff(activations, n_components, size):
    """pytorch-grad-cam's ``dff`` on ``activations`` (in float64: see SIGNED) and its per-image
    processing (each concept's heatmap min-max normalised, then resized to ``size``), min-max
    normalised again: pytorch-grad-cam skips that last step, so its maps span a little less
    than [0, 1] (resizing lowers the peaks)."""
    concepts, heatmaps = dff(activations.numpy().astype(np.float64), n_components=n_components)
    maps = [scale_cam_image(scale_cam_image(image, size[::-1])) for image in heatmaps]
    return concepts, heatmaps, np.stack(maps)


@pytest.mark.parametrize(
    ("arch", "layer", "classifier"), [("tiny", "features.3", "fc"), *TORCHVISION]
)
def test_dff_matches_pytorch_grad_cam(arch, layer, classifier, tiny_cnn):
    model = tiny_cnn if arch == "tiny" else torchvision_model(arch)
    size = (24, 40) if arch == "tiny" else (96, 128)
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(10))
    activations = activations_of(model, layer, x)
    concepts, heatmaps, maps = peer_dff(activations, 4, size)
    ours_concepts, ours_heatmaps = deep_feature_factorization(activations, 4)
    np.testing.assert_allclose(ours_concepts.numpy(), concepts, atol=TOL * np.abs(concepts).max())
    np.testing.assert_allclose(ours_heatmaps.numpy(), heatmaps, atol=TOL * heatmaps.max())

    classes = [3, 1]
    default = xk.explain(model, x, method="dff", layers=[layer], n_components=4, target=classes)
    if classifier:  # the peer's computation_on_concepts: the classifier on each concept
        with torch.no_grad():
            scores = getattr(model, classifier)(torch.from_numpy(np.float32(concepts.T)))
        chosen = scores.softmax(dim=1)[:, classes].argmax(dim=0).numpy()
    else:  # the dominant concept: largest |W_j|_1 sum_s H_j, with W the unshifted concepts
        offset = activations.transpose(0, 1).flatten(1).amin(dim=1).numpy()
        mass = (concepts - offset[:, None]).sum(axis=0) * heatmaps.sum(axis=(2, 3))
        chosen = mass.argmax(axis=1)
    np.testing.assert_allclose(default.maps[layer].numpy(), maps[[0, 1], chosen], atol=TOL)


def test_dff_concept_maps_match_pytorch_grad_cam_class(tiny_cnn):
    # Every concept's map, one call each, against the peer's dff in float64 and against its
    # class, which factorises the float32 activations with scikit-learn in float32 (its 200
    # passes of coordinate descent drift from the exact ones: 4e-6 here, 2e-4 at other sizes).
    x = torch.rand(2, 3, 24, 40, generator=torch.Generator().manual_seed(10))
    _, _, maps = peer_dff(activations_of(tiny_cnn, "features.3", x), 4, (24, 40))
    peer = DeepFeatureFactorization(tiny_cnn, tiny_cnn.features[3])
    _, class_maps = peer(x, 4)
    peer.activations_and_grads.release()
    class_maps = np.stack([scale_cam_image(image) for image in class_maps])  # the last min-max
    for concept in range(4):
        ours = xk.explain(tiny_cnn, x, method="dff", layers=["features.3"], n_components=4,
                          concept=concept).maps["features.3"].numpy()  # fmt: skip
        np.testing.assert_allclose(ours, maps[:, concept], atol=TOL)
        np.testing.assert_allclose(ours, class_maps[:, concept], atol=TOL)


def test_video_dff_is_the_peer_dff_with_time_folded_into_height(tiny_video_cnn):
    # pytorch-grad-cam's dff takes 4D activations only; folding t into h changes nothing of
    # the factorisation (the positions are the same columns in the same order).
    clips = torch.rand(2, 3, 4, 10, 14, generator=torch.Generator().manual_seed(2))
    activations = activations_of(tiny_video_cnn, "features.3", clips)  # (2, 6, 2, 5, 7)
    folded = activations.reshape(2, 6, 2 * 5, 7)
    concepts, heatmaps, _ = peer_dff(folded, 3, (10, 7))
    ours = xk.explain(tiny_video_cnn, clips, method="dff", layers=["features.3"],
                      n_components=3, concept=1)  # fmt: skip
    np.testing.assert_allclose(
        ours.raw["features.3"].reshape(2, 10, 7).numpy(), heatmaps[:, 1], atol=TOL * heatmaps.max()
    )
    assert ours.maps["features.3"].shape == (2, 4, 10, 14)


class IdentityHead(nn.Module):
    """The layer is the input itself; global average pooling and a linear classifier."""

    def __init__(self, weight):
        super().__init__()
        self.layer = nn.Identity()
        self.fc = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        self.fc.weight.data = weight

    def forward(self, x):
        return self.fc(self.layer(x).flatten(2).mean(dim=2))


def test_dff_hand_worked_video_concepts():
    # Two concepts in a (3, T=2, 2, 3) clip: channels (1, 0, 1) on 2 voxels (region A), (0, 2,
    # 0) on 4 voxels (region B), zeros elsewhere. The factorisation is exact with two
    # components: each heatmap is one region's indicator (times a scale).
    a = torch.zeros(2, 2, 3, dtype=torch.bool)
    a[0, 0, 0] = a[1, 1, 2] = True
    b = torch.zeros(2, 2, 3, dtype=torch.bool)
    b[0, 1, :2] = b[1, 0, 1:] = True
    x = (torch.tensor([1.0, 0.0, 1.0])[:, None, None, None] * a
         + torch.tensor([0.0, 2.0, 0.0])[:, None, None, None] * b)[None]  # fmt: skip
    # class 0 reads channels 0 and 2 (concept A), class 1 channel 1 (concept B)
    model = IdentityHead(torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])).eval()
    for target, region in [(0, a), (1, b)]:
        expl = xk.explain(model, x, method="dff", layers=["layer"], n_components=2, target=target)
        torch.testing.assert_close(expl.maps["layer"][0], region.float(), atol=1e-3, rtol=0)
    # B holds 4 voxels of mass 2, A 2 of mass 2: B dominates
    dominant = xk.explain(model, x, method="dff", layers=["layer"], n_components=2,
                          concept="dominant", target=0)  # fmt: skip
    torch.testing.assert_close(dominant.maps["layer"][0], b.float(), atol=1e-3, rtol=0)


@pytest.mark.parametrize(
    ("method", "options", "message"),
    [
        ("kpcacam", {"kernel": "gaussian"}, "kernel must be one of"),
        ("kpcacam", {"gamma": -1.0}, "gamma must be >= 0"),
        ("kpcacam", {"gamma": "auto"}, "gamma must be a finite real number"),
        ("fem", {"k": float("nan")}, "k must be a finite real number"),
        ("fem", {"k": True}, "k must be a finite real number"),
        ("randomcam", {"seed": -1}, r"seed must be an int in \[0, 2\*\*32\)"),
        ("randomcam", {"seed": 1.5}, "seed must be an int"),
        ("dff", {"n_components": 0}, "n_components must be a positive int"),
        ("dff", {"n_components": 2.0}, "n_components must be a positive int"),
        ("dff", {"concept": 5}, r"'class' or 'dominant' or an int in \[0, 5\)"),
        ("dff", {"concept": "best"}, "concept must be None"),
        ("dff", {"concept": True}, "concept must be None"),
    ],
)  # fmt: skip
def test_bad_options_are_refused(method, options, message, tiny_cnn):
    x = torch.rand(1, 3, 16, 20)
    with pytest.raises(ValueError, match=message):
        xk.explain(tiny_cnn, x, method=method, layers=["features.3"], **options)


def test_dff_class_concept_needs_a_class_and_a_matching_classifier(tiny_cnn):
    x = torch.rand(1, 3, 16, 20)
    with pytest.raises(ValueError, match="concept='class' needs a class target"):
        xk.explain(tiny_cnn, x, method="dff", layers=["features.3"], concept="class",
                   target=lambda outputs: outputs[:, 0])  # fmt: skip
    with pytest.raises(ValueError, match="must take the 6 channels of layer 'features.1'"):
        xk.explain(tiny_cnn, x, method="dff", layers=["features.1"], concept="class")
    # without concept="class", such a layer falls back to the dominant concept
    default = xk.explain(tiny_cnn, x, method="dff", layers=["features.1"])
    dominant = xk.explain(tiny_cnn, x, method="dff", layers=["features.1"], concept="dominant")
    torch.testing.assert_close(default.maps["features.1"], dominant.maps["features.1"])
