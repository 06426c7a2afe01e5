"""``load``: names, weights from the torch cache or a path, and clear errors."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
import torchvision
from torchvision.models import get_model_builder, get_model_weights

from tests.loopback import serve
from xaikit.models import available, detector_canvas_mapping, info, load
from xaikit.models.registry import (
    _builder_kwargs,
    _drop_auxiliary_heads,
    _match_pretrained_build,
    cache_path,
)


@pytest.fixture
def hub_dir(tmp_path):
    """An empty torch hub folder for the test, restored afterwards."""
    previous = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    try:
        yield tmp_path / "hub" / "checkpoints"
    finally:
        torch.hub.set_dir(previous)


def _put_in_cache(folder, name, model):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / cache_path(get_model_weights(name).DEFAULT).name
    torch.save(model.state_dict(), path)
    return path


NAMES = [
    ("vgg16", "classification"),
    ("resnet50", "classification"),
    ("inception_v3", "classification"),
    ("googlenet", "classification"),
    ("vit_b_16", "classification"),
    ("maxvit_t", "classification"),
    ("fasterrcnn_resnet50_fpn", "detection"),
    ("fasterrcnn_resnet50_fpn_v2", "detection"),
    ("fasterrcnn_mobilenet_v3_large_fpn", "detection"),
    ("retinanet_resnet50_fpn", "detection"),
    ("fcos_resnet50_fpn", "detection"),
    ("ssdlite320_mobilenet_v3_large", "detection"),
    ("ssd300_vgg16", "detection"),
    ("r3d_18", "video"),
    ("mc3_18", "video"),
    ("r2plus1d_18", "video"),
    ("s3d", "video"),
    ("mvit_v2_s", "video"),
    ("swin3d_t", "video"),
]


@pytest.mark.parametrize("name, task", NAMES)
def test_pretrained_architecture_has_the_documented_parameter_count(name, task):
    # torchvision records each weights file's parameter count: an independent check that the
    # model we build for DEFAULT weights is the one those weights were saved from.
    entry = get_model_weights(name).DEFAULT
    with torch.device("meta"):
        model = get_model_builder(name)(weights=None, **_builder_kwargs(name, task, entry))
    _match_pretrained_build(model, name)
    counts = {sum(p.numel() for p in model.parameters())}
    _drop_auxiliary_heads(model, name)
    # torchvision counts Inception v3 with its auxiliary head and GoogLeNet without.
    counts.add(sum(p.numel() for p in model.parameters()))
    assert entry.meta["num_params"] in counts


def test_missing_cache_file_names_file_and_folder(hub_dir):
    # The test session sets XAIKIT_OFFLINE=1 (conftest.py), so nothing is fetched.
    with pytest.raises(FileNotFoundError, match="XAIKIT_OFFLINE is set") as error:
        load("resnet18", device="cpu")
    message = str(error.value)
    assert "resnet18-f37072fd.pth" in message and str(hub_dir) in message
    assert "download.pytorch.org" in message


@pytest.fixture
def served_weights(tmp_path, monkeypatch):
    """mobilenet_v3_small's DEFAULT entry pointed at a file on a 127.0.0.1 server.

    The file is named, as torchvision names its files, after its SHA-256 prefix.
    """
    reference = torchvision.models.mobilenet_v3_small()
    (tmp_path / "srv").mkdir()
    staged = tmp_path / "srv" / "staged.pth"
    torch.save(reference.state_dict(), staged)
    digest = hashlib.sha256(staged.read_bytes()).hexdigest()[:8]
    staged.rename(tmp_path / "srv" / f"mobilenet_v3_small-{digest}.pth")
    entry = get_model_weights("mobilenet_v3_small").DEFAULT
    monkeypatch.setenv("XAIKIT_OFFLINE", "0")
    with serve(tmp_path / "srv") as url:
        monkeypatch.setattr(entry.value, "url", f"{url}/mobilenet_v3_small-{digest}.pth")
        yield reference, entry, tmp_path / "srv"


def test_missing_weights_are_downloaded_into_the_torch_cache(hub_dir, served_weights):
    reference, entry, _ = served_weights
    model = load("mobilenet_v3_small", device="cpu", progress=False)
    assert (hub_dir / cache_path(entry).name).is_file()
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key


def test_a_download_with_the_wrong_hash_leaves_the_cache_empty(hub_dir, served_weights):
    _, entry, folder = served_weights
    served = folder / cache_path(entry).name
    served.write_bytes(served.read_bytes()[:-1] + b"x")
    with pytest.raises(FileNotFoundError, match="does not match") as error:
        load("mobilenet_v3_small", device="cpu", progress=False)
    assert entry.url in str(error.value) and str(hub_dir) in str(error.value)
    assert not hub_dir.exists() or list(hub_dir.iterdir()) == []


def test_download_false_never_fetches(hub_dir, served_weights):
    with pytest.raises(FileNotFoundError, match="download=False"):
        load("mobilenet_v3_small", device="cpu", download=False)
    assert not hub_dir.exists()


def test_default_weights_come_from_the_cache(hub_dir):
    reference = torchvision.models.resnet18()
    _put_in_cache(hub_dir, "resnet18", reference)
    model = load("resnet18", device="cpu")
    for key, value in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    assert info(model).weights == "DEFAULT -> IMAGENET1K_V1"
    assert info(model).categories[0] == "tench"


def test_pretrained_googlenet_drops_auxiliary_heads(hub_dir):
    # What torchvision saves for GoogLeNet includes the auxiliary classifiers.
    trained = torchvision.models.googlenet(
        aux_logits=True, transform_input=True, init_weights=False
    )
    _put_in_cache(hub_dir, "googlenet", trained)
    model = load("googlenet", device="cpu")
    assert model.aux1 is None and model.transform_input and not model.training
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)


def test_detector_state_dict_with_frozen_batch_norm_loads(hub_dir):
    name = "fasterrcnn_mobilenet_v3_large_320_fpn"
    source = get_model_builder(name)(weights=None, weights_backbone=None)
    _match_pretrained_build(source, name)
    _put_in_cache(hub_dir, name, source)
    model = load(name, device="cpu")
    frozen = torchvision.ops.misc.FrozenBatchNorm2d
    assert any(isinstance(m, frozen) for m in model.backbone.body.modules())


def test_files_load_with_weights_only(hub_dir, tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"x": np.random.default_rng(0)}}, path)
    with pytest.raises(Exception, match="[Ww]eights only load failed|Unsupported"):
        load("resnet18", weights=path, device="cpu")


def test_local_state_dict_path_and_mismatch(tmp_path):
    reference = torchvision.models.resnet18(num_classes=3)
    path = tmp_path / "tuned.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}}, path)
    model = load("resnet18", weights=path, device="cpu", num_classes=3)
    assert torch.equal(model.fc.weight, reference.fc.weight)
    assert info(model).categories is None
    with pytest.raises(RuntimeError, match="tuned.pt does not fit resnet18"):
        load("resnet18", weights=path, device="cpu")
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        load("resnet18", weights=tmp_path / "absent.pt")


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError) as error:
        load("vgg17")
    message = str(error.value)
    for valid in ("vgg16", "resnet50", "fasterrcnn_resnet50_fpn", "r3d_18", "demo-mice", "mvit"):
        assert valid in message
    with pytest.raises(ValueError, match="IMAGENET1K_V1, IMAGENET1K_V2"):
        load("resnet50", weights="IMAGENET9K")
    with pytest.raises(TypeError, match="string"):
        load(16)


def test_demo_names_are_listed_first():
    assert available()["demo"] == ["demo-mice", "demo-mice-full", "demo-shapes", "demo-actions"]


def test_video_model_with_clip_preprocessing():
    model = load("r3d_18", weights=None, device="cpu")
    clip = np.zeros((8, 120, 160, 3), np.uint8)
    x, mappings = info(model).preprocess(clip, device="cpu")
    assert tuple(x.shape) == (1, 3, 8, 112, 112)
    assert mappings[0].frame_size == (120, 160) and mappings[0].input_size == (112, 112)
    with torch.no_grad():
        assert model(x).shape == (1, 400)
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        info(model).preprocess(np.zeros((120, 160, 3), np.uint8))


def test_detector_alias_and_frame_preprocessing():
    model = load("ssdlite", weights=None, device="cpu")
    assert info(model).name == "ssdlite320_mobilenet_v3_large" and info(model).task == "detection"
    frames = [np.zeros((48, 64, 3), np.uint8), np.zeros((40, 40, 3), np.uint8)]
    images, mappings = info(model).preprocess(frames, device="cpu")
    assert [tuple(i.shape) for i in images] == [(3, 48, 64), (3, 40, 40)]
    assert mappings[0].scale == (1.0, 1.0) and mappings[1].offset == (0.0, 0.0)
    batch, sizes = model.transform(images)[0].tensors, model.transform(images)[0].image_sizes
    assert tuple(batch.shape) == (2, 3, 320, 320) and sizes == [(320, 320), (320, 320)]
    assert detector_canvas_mapping(model, (48, 64)).scale == (320 / 48, 320 / 64)


@pytest.mark.parametrize("frame_size", [(480, 640), (37, 211), (500, 333)])
def test_detector_canvas_mapping_matches_the_model_transform(frame_size):
    model = load("fasterrcnn_mobilenet_v3_large_320_fpn", weights=None, device="cpu")
    image = torch.zeros(3, *frame_size)
    images, _ = model.transform([image])
    mapping = detector_canvas_mapping(model, frame_size)
    assert mapping.input_size == tuple(images.tensors.shape[-2:])
    x0, y0, x1, y1 = mapping.valid_region
    assert (x0, y0) == (0.0, 0.0)
    assert (round(y1), round(x1)) == tuple(images.image_sizes[0])


def test_info_of_a_foreign_model():
    with pytest.raises(TypeError, match="not made by xaikit"):
        info(torch.nn.Linear(2, 2))
