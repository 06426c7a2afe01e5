"""Engine contract: input checks, layers, targets, multi-method passes and hygiene."""

import copy
import gc

import pytest
import torch

import xaikit as xk
from xaikit.explain import targets


def test_module_is_callable_and_a_package():
    assert callable(xk.explain)
    assert xk.explain.targets is targets


def test_one_forward_and_one_backward_serve_every_gradient_method(tiny_cnn, images):
    calls = {"forward": 0, "backward": 0}
    tiny_cnn.register_forward_pre_hook(
        lambda *a: calls.__setitem__("forward", calls["forward"] + 1)
    )
    tiny_cnn.fc.register_full_backward_hook(
        lambda *a: calls.__setitem__("backward", calls["backward"] + 1)
    )
    methods = ["gradcam", "gradcam++", "xgradcam", "hirescam", "layercam", "eigencam", "3dcam"]
    result = xk.explain(tiny_cnn, images, method=methods, layers=["features.1", "features.3"])
    assert calls == {"forward": 1, "backward": 1}
    assert set(result) == set(methods)
    for explanation in result.values():
        for name in ("features.1", "features.3"):
            assert explanation.maps[name].shape == (2, 16, 16)
            assert (
                0 <= float(explanation.maps[name].min()) <= float(explanation.maps[name].max()) <= 1
            )
    assert result["gradcam"].raw["features.3"].shape == (2, 8, 8)


def test_maps_finished_together_equal_single_method_single_layer_calls(tiny_cnn, images):
    # One call resizes and normalises every (method, layer) map batched together; each must
    # equal what a call for that method and layer alone returns (minmax, absmax, none rules).
    methods = [
        "gradcam",
        "gradcam++",
        "xgradcam",
        "hirescam",
        "layercam",
        "eigencam",
        "3dcam",
        "guided_gradcam",
    ]
    layers = ["features.1", "features.3"]
    together = xk.explain(tiny_cnn, images, method=methods, layers=layers, target=[1, 3])
    for method in methods:
        for layer in layers:
            alone = xk.explain(tiny_cnn, images, method=method, layers=[layer], target=[1, 3])
            torch.testing.assert_close(together[method].maps[layer], alone.maps[layer])
            torch.testing.assert_close(together[method].raw[layer], alone.raw[layer])
    assert together["3dcam"].layers == layers


def test_bad_inputs_raise_clear_errors(tiny_cnn, images):
    with pytest.raises(ValueError, match=r"\(B, C, H, W\) or \(B, C, T, H, W\); got \(3, 16, 16\)"):
        xk.explain(tiny_cnn, images[0])
    with pytest.raises(ValueError, match="x is empty"):
        xk.explain(tiny_cnn, images[:0])
    with pytest.raises(ValueError, match="NaN"):
        xk.explain(tiny_cnn, torch.full_like(images, float("nan")))
    with pytest.raises(ValueError, match="unknown method 'gradcamm'.*did you mean gradcam"):
        xk.explain(tiny_cnn, images, method="gradcamm")
    with pytest.raises(
        ValueError, match="unknown layer 'features.33'; closest valid names: 'features.3'"
    ):
        xk.explain(tiny_cnn, images, layers=["features.33"])
    with pytest.raises(ValueError, match="not a feature map"):
        xk.explain(tiny_cnn, images, layers=["fc"])
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        xk.explain(tiny_cnn, images, batch_size=0)


def test_targets_are_validated_never_truncated(tiny_cnn, images):
    with pytest.raises(ValueError, match="got 3 class targets for a batch of 2"):
        xk.explain(tiny_cnn, images, target=[1, 2, 3])
    with pytest.raises(ValueError, match=r"must lie in \[0, 4\]"):
        xk.explain(tiny_cnn, images, target=9)
    with pytest.raises(ValueError, match=r"must return a \(B,\) tensor"):
        xk.explain(tiny_cnn, images, target=lambda outputs: outputs[:, 0].sum())


def test_target_forms_agree(tiny_cnn, images):
    layer = ["features.3"]
    predicted = tiny_cnn(images).argmax(dim=1)
    by_none = xk.explain(tiny_cnn, images, layers=layer)
    by_list = xk.explain(tiny_cnn, images, layers=layer, target=predicted.tolist())
    by_callable = xk.explain(
        tiny_cnn, images, layers=layer, target=lambda o: o.gather(1, predicted[:, None])[:, 0]
    )
    by_topk = xk.explain(tiny_cnn, images, layers=layer, target=targets.TopK(1))
    for other in (by_list, by_callable, by_topk):
        torch.testing.assert_close(other.maps["features.3"], by_none.maps["features.3"])
    assert by_none.targets.tolist() == predicted.tolist()
    second = xk.explain(tiny_cnn, images, layers=layer, target=targets.TopK(2))
    assert second.targets.tolist() == tiny_cnn(images).topk(2).indices[:, 1].tolist()


def test_detection_boxes_each_get_their_own_map(toy_detector):
    image = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(7))
    boxes = torch.tensor([[-2.0, -2.0, 6.0, 6.0], [6.0, 6.0, 14.0, 14.0]])
    target = targets.DetectionBox(boxes, labels=[0, 2])
    expl = xk.explain(toy_detector, image, method="hirescam", layers=["backbone.2"], target=target)
    assert expl.maps["backbone.2"].shape == (2, 16, 16)
    assert expl.sample_index.tolist() == [0, 0]
    # Box 1 matches grid cell (0, 0), box 2 cell (2, 2): scores are objectness x class score.
    raw = toy_detector(image)[0].detach()
    expected = torch.stack([raw[0, 4] * raw[0, 5], raw[10, 4] * raw[10, 7]])
    torch.testing.assert_close(expl.scores, expected)
    assert not torch.allclose(expl.raw["backbone.2"][0], expl.raw["backbone.2"][1])


def test_detection_box_count_must_fit_the_batch(toy_detector):
    with pytest.raises(ValueError, match="boxes for 1 image"):
        xk.explain(
            toy_detector,
            torch.rand(2, 3, 16, 16),
            layers=["backbone.2"],
            target=targets.DetectionBox(torch.tensor([[0.0, 0.0, 8.0, 8.0]])),
        )


def test_default_layer_is_the_last_feature_map(tiny_cnn, images):
    # "features" (the Sequential) finishes last and returns features.3's output.
    default = xk.explain(tiny_cnn, images)
    assert list(default.maps) == ["features"]
    explicit = xk.explain(tiny_cnn, images, layers=["features.3"])
    torch.testing.assert_close(default.maps["features"], explicit.maps["features.3"])


def _hook_count(model):
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


def test_hygiene_over_many_calls(tiny_cnn, images):
    tiny_cnn.train()
    tiny_cnn.fc.weight.requires_grad_(False)
    sentinel = torch.full_like(tiny_cnn.features[0].weight, 7.0)
    tiny_cnn.features[0].weight.grad = sentinel
    hooks_before = _hook_count(tiny_cnn)

    def tensor_count():
        gc.collect()
        return sum(1 for obj in gc.get_objects() if isinstance(obj, torch.Tensor))

    for call in range(1000):
        expl = xk.explain(tiny_cnn, images, method=["gradcam", "layercam"], layers=["features.3"])
        if call == 10:
            baseline = tensor_count()
    assert tensor_count() <= baseline + 5
    assert _hook_count(tiny_cnn) == hooks_before
    assert all(m.training for m in tiny_cnn.modules())
    assert tiny_cnn.features[0].weight.grad is sentinel
    assert tiny_cnn.fc.bias.grad is None
    assert not tiny_cnn.fc.weight.requires_grad and tiny_cnn.fc.bias.requires_grad
    maps = expl["gradcam"].maps["features.3"]
    assert maps.grad_fn is None and not maps.requires_grad


def test_hooks_removed_and_state_restored_on_error(tiny_cnn, images):
    tiny_cnn.train()

    def failing(outputs):
        raise RuntimeError("target exploded")

    for method in ["gradcam", "scorecam", "guided_backprop"]:
        with pytest.raises(RuntimeError, match="target exploded"):
            xk.explain(tiny_cnn, images, method=method, layers=["features.3"], target=failing)
        assert _hook_count(tiny_cnn) == 0
        assert all(m.training for m in tiny_cnn.modules())


def test_works_under_no_grad_and_with_frozen_parameters(tiny_cnn, images):
    for parameter in tiny_cnn.parameters():
        parameter.requires_grad_(False)
    with torch.no_grad():
        expl = xk.explain(tiny_cnn, images, layers=["features.3"])
    assert float(expl.maps["features.3"].max()) == 1.0
    assert not any(p.requires_grad for p in tiny_cnn.parameters())


def test_inference_mode_is_refused(tiny_cnn, images):
    with torch.inference_mode(), pytest.raises(RuntimeError, match="inference_mode"):
        xk.explain(tiny_cnn, images)


def test_combine_checks_its_arguments(tiny_cnn, images):
    expl = xk.explain(tiny_cnn, images, layers=["features.1", "features.3"])
    with pytest.raises(ValueError, match="how must be one of"):
        expl.combine(how="median")
    with pytest.raises(ValueError, match="no map for"):
        expl.combine(["layer9"])
    assert expl.combine(how="max").shape == (2, 16, 16)


def test_video_input_gives_video_maps(tiny_video_cnn, clips):
    expl = xk.explain(tiny_video_cnn, clips, method="gradcam", layers=["features.3"])
    assert expl.maps["features.3"].shape == (2, 4, 8, 8)
    assert expl.raw["features.3"].shape == (2, 2, 4, 4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="autocast is checked on CUDA")
def test_autocast_on_cuda(tiny_cnn, images):
    expl = xk.explain(tiny_cnn.cuda(), images.cuda(), layers=["features.3"], autocast="bf16")
    assert expl.maps["features.3"].dtype == torch.float32


class _TwoBranches(torch.nn.Module):
    """Two frozen branches on the same input, summed: neither depends on the other."""

    def __init__(self):
        super().__init__()
        self.left = torch.nn.Conv2d(3, 2, 3, padding=1)
        self.right = torch.nn.Conv2d(3, 2, 3, padding=1)
        self.head = torch.nn.Linear(2, 2)
        self.requires_grad_(False)

    def forward(self, x):
        features = self.left(x) + self.right(x)
        return self.head(features.mean((2, 3)))


def test_every_requested_layer_gets_its_gradient_when_the_graph_starts_late():
    torch.manual_seed(0)
    frozen, x = _TwoBranches().eval(), torch.rand(2, 3, 8, 8)
    trainable = copy.deepcopy(frozen).requires_grad_(True)
    # frozen: the right branch's output needs no gradient of its own; it gets one anyway
    ours = xk.explain(frozen, x, method="gradcam", layers=["left", "right"], target=1)
    reference = xk.explain(trainable, x, method="gradcam", layers=["left", "right"], target=1)
    for layer in ("left", "right"):
        assert ours.raw[layer].abs().sum() > 0
        torch.testing.assert_close(ours.raw[layer], reference.raw[layer])
