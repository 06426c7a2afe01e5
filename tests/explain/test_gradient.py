"""Gradient-family maps against pytorch-grad-cam, captum and hand computations."""

import numpy as np
import pytest
import torch
import torchvision
from captum.attr import LayerGradCam
from pytorch_grad_cam import (
    EigenCAM,
    GradCAM,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    XGradCAM,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

import xaikit as xk
from xaikit.explain.gradient import three_d_cam_terms

REFERENCES = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "xgradcam": XGradCAM,
    "hirescam": HiResCAM,
    "layercam": LayerCAM,
}
TOL = 1e-4


def reference_maps(reference, model, module, x, classes):
    with reference(model=model, target_layers=[module]) as cam:
        return cam(x, targets=[ClassifierOutputTarget(int(c)) for c in classes])


def torchvision_model(name):
    torch.manual_seed(0)
    return getattr(torchvision.models, name)(weights=None).eval()


@pytest.mark.parametrize("method", sorted(REFERENCES))
def test_tiny_cnn_matches_pytorch_grad_cam(method, tiny_cnn, images):
    ours = xk.explain(tiny_cnn, images, method=method, layers=["features.3"], target=[1, 3])
    theirs = reference_maps(REFERENCES[method], tiny_cnn, tiny_cnn.features[3], images, [1, 3])
    np.testing.assert_allclose(ours.maps["features.3"].numpy(), theirs, atol=TOL)


@pytest.mark.parametrize(
    ("arch", "layer", "module"),
    [
        ("resnet18", "layer4", lambda m: m.layer4),
        ("vgg11", "features.19", lambda m: m.features[19]),
    ],
)
def test_torchvision_models_match_pytorch_grad_cam(arch, layer, module):
    model = torchvision_model(arch)
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    methods = sorted(REFERENCES)
    ours = xk.explain(model, x, method=[*methods, "eigencam"], layers=[layer])
    predicted = ours["gradcam"].targets
    for name in methods:
        theirs = reference_maps(REFERENCES[name], model, module(model), x, predicted)
        np.testing.assert_allclose(ours[name].maps[layer].numpy(), theirs, atol=TOL, err_msg=name)


def test_layer_followed_by_inplace_relu_keeps_its_own_values():
    # vgg11's features.18 (a conv) is followed by ReLU(inplace=True). pytorch-grad-cam on CPU
    # reads the overwritten (rectified) activations there, so the reference is the same model
    # with out-of-place ReLUs.
    model = torchvision_model("vgg11")
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    ours = xk.explain(model, x, method="hirescam", layers=["features.18"], target=3)
    for module in model.modules():
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    store = {}
    handle = model.features[18].register_forward_hook(lambda m, a, out: store.setdefault("a", out))
    logits = model(x)
    handle.remove()
    (gradient,) = torch.autograd.grad(logits[:, 3].sum(), store["a"])
    expected = (gradient * store["a"]).sum(dim=1).detach()
    torch.testing.assert_close(ours.raw["features.18"], expected, atol=1e-5, rtol=1e-4)
    assert (store["a"] < 0).any()  # the pre-ReLU values really differ from the rectified ones


def test_several_layers_in_one_call_match_single_layer_references(tiny_cnn, images):
    # pytorch-grad-cam 1.5.7 with two target layers returns per-layer maps that differ from
    # its own single-layer calls, so the reference is its single-layer maps, averaged and
    # min-max normalised the way its aggregate_multi_layers does.
    layers = ["features.1", "features.3"]
    ours = xk.explain(tiny_cnn, images, method="gradcam", layers=layers, target=2)
    singles = []
    for layer in layers:
        module = dict(tiny_cnn.named_modules())[layer]
        single = reference_maps(GradCAM, tiny_cnn, module, images, [2, 2])
        np.testing.assert_allclose(ours.maps[layer].numpy(), single, atol=TOL)
        singles.append(single)
    mean = np.mean(singles, axis=0)
    low = mean.min(axis=(1, 2), keepdims=True)
    expected = (mean - low) / (mean.max(axis=(1, 2), keepdims=True) - low)
    np.testing.assert_allclose(ours.combine(layers, how="mean").numpy(), expected, atol=TOL)


@pytest.mark.parametrize("images_or_clips", ["images", "clips"])
def test_eigencam_matches_pytorch_grad_cam_up_to_sign(
    images_or_clips, tiny_cnn, tiny_video_cnn, images, clips
):
    # The first singular vector's sign is arbitrary: pytorch-grad-cam keeps LAPACK's, we fix
    # it by correlation with the activation sum. Compare the signed projection up to sign,
    # then the map with the reference's sign made ours.
    model, x = (tiny_cnn, images) if images_or_clips == "images" else (tiny_video_cnn, clips)
    module = model.features[3]
    ours = xk.explain(model, x, method="eigencam", layers=["features.3"])
    with EigenCAM(model=model, target_layers=[module]) as cam:
        cam(x, targets=None)
        activations = cam.activations_and_grads.activations[0].numpy()
        theirs = cam.get_cam_image(x, module, None, activations, None, False)
    raw = ours.raw["features.3"].numpy()
    for sample in range(len(x)):
        sign = np.sign((raw[sample] * theirs[sample]).sum())
        np.testing.assert_allclose(raw[sample], sign * theirs[sample], atol=1e-5)
        sums = activations[sample].sum(axis=0)
        assert np.corrcoef(raw[sample].ravel(), sums.ravel())[0, 1] >= 0


@pytest.mark.parametrize("layer", ["layer1", "layer4"])
def test_resnet18_eigencam_matches_pytorch_grad_cam_up_to_sign(layer):
    # layer1 at 64x64: 64 channels x 256 positions (channel Gram matrix); layer4: 512 channels
    # x 4 positions (position Gram matrix). Both against pytorch-grad-cam's full SVD.
    model = torchvision_model("resnet18")
    module = getattr(model, layer)
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    ours = xk.explain(model, x, method="eigencam", layers=[layer]).raw[layer].numpy()
    with EigenCAM(model=model, target_layers=[module]) as cam:
        cam(x, targets=None)
        activations = cam.activations_and_grads.activations[0].numpy()
        theirs = cam.get_cam_image(x, module, None, activations, None, False)
    for sample in range(len(x)):
        sign = np.sign((ours[sample] * theirs[sample]).sum())
        scale = np.abs(theirs[sample]).max()
        np.testing.assert_allclose(ours[sample], sign * theirs[sample], atol=TOL * scale)


def test_gradcam_raw_matches_captum_layer_gradcam(tiny_cnn, images):
    ours = xk.explain(tiny_cnn, images, method="gradcam", layers=["features.2"], target=[0, 4])
    theirs = LayerGradCam(tiny_cnn, tiny_cnn.features[2]).attribute(images, target=[0, 4])
    np.testing.assert_allclose(
        ours.raw["features.2"].numpy(), theirs[:, 0].detach().numpy(), atol=1e-6
    )


def test_resnet18_gradcam_raw_matches_captum():
    model = torchvision_model("resnet18")
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    ours = xk.explain(model, x, method="gradcam", layers=["layer3"], target=7)
    theirs = LayerGradCam(model, model.layer3).attribute(x, target=7)
    np.testing.assert_allclose(ours.raw["layer3"].numpy(), theirs[:, 0].detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("method", ["gradcam", "hirescam", "layercam"])
def test_video_raw_matches_pytorch_grad_cam(method, tiny_video_cnn, clips):
    # pytorch-grad-cam resizes 3D maps with scipy's cubic-spline zoom, not trilinear
    # interpolation, so the comparison is at feature resolution, through its get_cam_image.
    module = tiny_video_cnn.features[3]
    ours = xk.explain(tiny_video_cnn, clips, method=method, layers=["features.3"], target=1)
    with REFERENCES[method](model=tiny_video_cnn, target_layers=[module]) as cam:
        cam(clips, targets=[ClassifierOutputTarget(1)] * 2)
        activations = cam.activations_and_grads.activations[0].numpy()
        gradients = cam.activations_and_grads.gradients[0].numpy()
        theirs = cam.get_cam_image(clips, module, None, activations, gradients, False)
    np.testing.assert_allclose(ours.raw["features.3"].numpy(), theirs, atol=1e-5)


@pytest.mark.parametrize("method", ["gradcam++", "xgradcam"])
def test_video_weights_hand_computed(method, tiny_video_cnn, clips):
    # pytorch-grad-cam's Grad-CAM++ and XGrad-CAM fail on Conv3d (issue #583), so the
    # closed forms are recomputed here from the activations and gradients directly.
    layer = tiny_video_cnn.features[3]
    store = {}
    handle = layer.register_forward_hook(lambda m, a, out: store.setdefault("a", out))
    logits = tiny_video_cnn(clips)
    handle.remove()
    activation = store["a"]
    (gradient,) = torch.autograd.grad(logits[:, 2].sum(), activation)
    a, g = activation.detach().double(), gradient.double()
    sums = a.sum(dim=(2, 3, 4), keepdim=True)
    if method == "xgradcam":
        weights = (g * a).sum(dim=(2, 3, 4), keepdim=True) / (sums + 1e-7)
    else:
        alpha = g**2 / (2 * g**2 + sums * g**3 + 1e-6)
        alpha[g == 0] = 0
        weights = (alpha * g.clamp(min=0)).sum(dim=(2, 3, 4), keepdim=True)
    expected = (weights * a).sum(dim=1)
    ours = xk.explain(tiny_video_cnn, clips, method=method, layers=["features.3"], target=2)
    np.testing.assert_allclose(ours.raw["features.3"].numpy(), expected.numpy(), atol=1e-6)
    assert ours.maps["features.3"].shape == (2, 4, 8, 8)


def test_cam_uses_final_linear_weights(tiny_cnn, images):
    ours = xk.explain(tiny_cnn, images, method=["cam", "hirescam"], layers=["features.3"], target=4)
    activation = tiny_cnn.features(images).detach()
    expected = torch.einsum("k,bkhw->bhw", tiny_cnn.fc.weight[4].detach(), activation)
    torch.testing.assert_close(ours["cam"].raw["features.3"], expected, atol=1e-6, rtol=0)
    # With GAP + linear, dy/dA = w / (h w), so HiResCAM is CAM divided by the 8x8 positions.
    torch.testing.assert_close(ours["hirescam"].raw["features.3"], expected / 64, atol=1e-6, rtol=0)


def test_cam_rejects_wrong_layer_and_callable_target(tiny_cnn, images):
    with pytest.raises(ValueError, match="6 channels but the final linear layer takes 8"):
        xk.explain(tiny_cnn, images, method="cam", layers=["features.1"])
    with pytest.raises(ValueError, match="cam needs a class target"):
        xk.explain(tiny_cnn, images, method="cam", layers=["features.3"], target=lambda o: o[:, 0])


class IdentityFeatures(torch.nn.Module):
    """A 3D 'network' whose layer is its input and whose score is sum(w * x)."""

    def __init__(self, weight):
        super().__init__()
        self.layer = torch.nn.Identity()
        self.weight = torch.nn.Parameter(weight)

    def forward(self, x):
        return (self.layer(x) * self.weight).flatten(1).sum(dim=1, keepdim=True)


def test_3dcam_hand_worked():
    # One channel, T=1, 2x2: gradient = w, activation = x, no upsampling needed.
    x = torch.tensor([[[[[1.0, 2.0], [-1.0, 4.0]]]]])
    weight = torch.tensor([[[[2.0, -1.0], [1.0, 1.0]]]])
    model = IdentityFeatures(weight)
    expl = xk.explain(model, x, method="3dcam", layers=["layer"], target=0)
    # ReLU(w / 2) * ReLU(x / 4) = [[1 * 0.25, 0], [0.5 * 0, 0.5 * 1]]
    expected = torch.tensor([[[[0.25, 0.0], [0.0, 0.5]]]])
    torch.testing.assert_close(expl.maps["layer"], expected)
    torch.testing.assert_close(expl.raw["layer"], expected)
    counterfactual = xk.explain.targets.Counterfactual(0)
    counter = xk.explain(model, x, method="3dcam", layers=["layer"], target=counterfactual)
    # The paper's Eq. 7 negates the gradients: -w has its maximum 1 at (0, 1):
    # ReLU(-w / 1) * ReLU(x / 4) = 1 * 0.5 there.
    torch.testing.assert_close(counter.maps["layer"], torch.tensor([[[[0.0, 0.5], [0.0, 0.0]]]]))


def test_3dcam_upsamples_each_factor_before_the_product():
    beta_in = torch.tensor([[[[[1.0, 0.0]]]]])  # (B=1, C=1, t=1, h=1, w=2)
    alpha_in = torch.tensor([[[[[0.0, 1.0]]]]])
    raw, full = three_d_cam_terms(alpha_in, beta_in, size=(1, 1, 4))
    # The product at feature resolution is zero everywhere, but the upsampled factors
    # [1, .75, .25, 0] and [0, .25, .75, 1] overlap in the middle (trilinear, half-pixel).
    torch.testing.assert_close(raw, torch.zeros(1, 1, 1, 2))
    torch.testing.assert_close(full, torch.tensor([[[[0.0, 0.1875, 0.1875, 0.0]]]]))


def test_sum_3dcam_is_combine_sum(tiny_video_cnn, clips):
    # Sum-3DCAM (Eq. 6) = ReLU(sum_k 3DCAM_k), min-max normalised per clip: one definition.
    layers = ["features.1", "features.3"]
    expl = xk.explain(tiny_video_cnn, clips, method="3dcam", layers=layers)
    total = (expl.maps["features.1"] + expl.maps["features.3"]).clamp_min(0)
    low = total.flatten(1).amin(dim=1).reshape(-1, 1, 1, 1)
    high = total.flatten(1).amax(dim=1).reshape(-1, 1, 1, 1)
    torch.testing.assert_close(expl.combine(layers), (total - low) / (high - low))
    assert expl.maps["features.1"].shape == (2, 4, 8, 8)
    assert 0 <= float(expl.maps["features.1"].min()) and float(expl.maps["features.1"].max()) <= 1
    assert (
        "sum_3dcam" not in xk.explain.METHODS and "3dcam_counterfactual" not in xk.explain.METHODS
    )


def test_counterfactual_target_negates_gradients(tiny_cnn, images):
    plain = xk.explain(tiny_cnn, images, method="hirescam", layers=["features.3"], target=2)
    flipped = xk.explain(
        tiny_cnn,
        images,
        method="hirescam",
        layers=["features.3"],
        target=xk.explain.targets.Counterfactual(2),
    )
    torch.testing.assert_close(flipped.raw["features.3"], -plain.raw["features.3"])


def test_3dcam_all_negative_beta_follows_eq2_literally():
    # beta = w is negative everywhere (max -1): Eq. 2's ReLU(beta / max beta) = w / -1 =
    # [[2, 1], [1, 4]], >= 1 everywhere; ReLU(alpha / max alpha) = ReLU(x / 4).
    x = torch.tensor([[[[[1.0, 2.0], [-1.0, 4.0]]]]])
    weight = torch.tensor([[[[-2.0, -1.0], [-1.0, -4.0]]]])
    model = IdentityFeatures(weight)
    literal = xk.explain(model, x, method="3dcam", layers=["layer"], target=0)
    expected = torch.tensor([[[[2 * 0.25, 1 * 0.5], [1 * 0.0, 4 * 1.0]]]])
    torch.testing.assert_close(literal.raw["layer"], expected)  # the product as printed
    torch.testing.assert_close(literal.maps["layer"], expected / 4)  # kept in [0, 1]
    zero = xk.explain(model, x, method="3dcam", layers=["layer"], target=0, all_negative="zero")
    torch.testing.assert_close(zero.maps["layer"], torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match="all_negative must be one of"):
        xk.explain(model, x, method="3dcam", layers=["layer"], all_negative="clip")


def test_3dcam_constant_negative_beta_is_the_normalised_activation():
    # After global average pooling and a linear layer the gradient is one number for every
    # position (demo-actions' layer4); when it is negative Eq. 2 gives ReLU(alpha / max alpha).
    x = torch.tensor([[[[[1.0, 2.0], [-1.0, 4.0]]]]])
    model = IdentityFeatures(torch.full((1, 1, 2, 2), -0.5))
    expl = xk.explain(model, x, method="3dcam", layers=["layer"], target=0)
    torch.testing.assert_close(expl.maps["layer"], (x[:, 0] / 4).clamp_min(0))


def test_3dcam_zero_maximum_gives_zeros():
    beta_in = torch.tensor([[[[[0.0, -1.0]]]]])
    alpha_in = torch.tensor([[[[[1.0, 1.0]]]]])
    for mode in ("literal", "zero"):
        raw, full = three_d_cam_terms(alpha_in, beta_in, size=(1, 1, 2), all_negative=mode)
        assert not raw.any() and not full.any() and torch.isfinite(full).all()


def test_demo_actions_layer4_3dcam_is_not_empty():
    # demo-actions' layer4 (1 x 2 x 2 cells) feeds global average pooling: beta is one
    # negative number per clip here, so the old zero convention left every layer4 map empty.
    model = xk.models.load("demo-actions")
    data = xk.data.synthetic.actions(2, frames=8, shape=(64, 64), seed=300_000)
    x, _ = xk.models.info(model).preprocess(data.clips, device="cpu")
    kwargs = dict(method="3dcam", layers=["layer4"], progress=False)
    literal = xk.explain(model, x, **kwargs).maps["layer4"]
    zero = xk.explain(model, x, all_negative="zero", **kwargs).maps["layer4"]
    assert not zero.any()
    assert (literal.flatten(1).amax(dim=1) == 1).all() and (literal > 0).all()
