"""The layer catalogue: shapes, strides, labels and name resolution."""

import pytest
import torch
import torchvision

from xaikit.models import LayerInfo, layers
from xaikit.models.layers import resolve_layers


def test_resnet18_labels():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).train()
    infos = {info.name: info for info in layers(model)}
    assert infos["layer3"].label == "layer3 · stride 16 · 256 ch · 14x14"
    assert infos["layer4"].shape == (512, 7, 7) and infos["layer4"].stride == (32, 32)
    assert infos["fc"].stride is None and infos["fc"].shape == (1000,)
    assert model.training  # the dry run left the flag alone
    assert all(not m._forward_hooks for m in model.modules())


def test_video_model_labels():
    model = torchvision.models.video.r3d_18(weights=None)
    x = torch.zeros(1, 3, 8, 32, 32)
    infos = {info.name: info for info in layers(model, x)}
    assert infos["layer3"].label == "layer3 · stride 4x8 · 256 ch · 2x4x4"
    assert isinstance(infos["layer3"], LayerInfo)


def test_forward_order():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.ReLU())
    assert [info.name for info in layers(model, torch.zeros(1, 1, 4, 4))] == ["0", "1"]


def test_bad_example_input():
    with pytest.raises(ValueError, match="example_input must be a tensor"):
        layers(torch.nn.Conv2d(1, 1, 1), torch.zeros(4, 4))
    with pytest.raises(ValueError, match="cannot guess an input"):
        layers(torch.nn.Linear(2, 2))


def test_resolve_layers_suggests_names():
    model = torchvision.models.resnet18(weights=None)
    with pytest.raises(ValueError, match="unknown layer 'layer5'; closest valid names: 'layer4', "):
        resolve_layers(model, ["layer5"])
    assert resolve_layers(model, [model.layer2])[0][0] == "layer2"
    with pytest.raises(ValueError, match="layers is empty"):
        resolve_layers(model, [])
    with pytest.raises(ValueError, match="not a submodule"):
        resolve_layers(model, [torch.nn.ReLU()])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # conv1 .. conv5 of the humans-vs-CNN paper: the block outputs before each max pool
        ("vgg16", ["features.3", "features.8", "features.15", "features.22", "features.29"]),
        ("resnet18", ["relu", "layer1", "layer2", "layer3", "layer4"]),
        # a block that downsamples inside (its depthwise conv) belongs to the next stage
        (
            "mobilenet_v3_small",
            ["features.0", "features.1", "features.3", "features.8", "features.12"],
        ),
    ],
)
def test_stage_layers_of_torchvision_cnns(name, expected):
    from xaikit.models import stage_layers

    model = getattr(torchvision.models, name)(weights=None)
    assert stage_layers(model, torch.zeros(1, 3, 96, 128)) == expected


def test_stage_layers_prefer_the_block_over_a_container_spanning_stages():
    from xaikit.models import stage_layers
    from xaikit.models.zoo import load_demo

    model = load_demo("demo-shapes", device="cpu")
    found = stage_layers(model, torch.zeros(1, 3, 64, 64))
    assert found == list(model.xaikit_info.layers)  # its card's conv1 .. conv5, not "features"
