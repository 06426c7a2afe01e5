"""Reading and writing Darknet .weights: header versions, size checks, round trips."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from xaikit.models import Darknet, load_darknet, save_darknet_weights
from xaikit.models.darknet_weights import read_header, weights_file_size

from .conftest import yolov3, yolov3_tiny


@pytest.mark.parametrize(
    "builder, expected",
    [
        # Sizes of the mice paper's files (1 class) and of the public COCO files (80 classes).
        (lambda: yolov3(416, 416, classes=1), 246_305_388),
        (lambda: yolov3_tiny(640, 480, classes=1), 34_704_996),
        (lambda: yolov3(416, 416, classes=80), 248_007_048),
        (lambda: yolov3_tiny(416, 416, classes=80, second_mask=(0, 1, 2)), 35_434_956),
    ],
)
def test_file_sizes_of_the_real_cfgs(builder, expected):
    builder = builder()
    with torch.device("meta"):
        model = Darknet.from_cfg(builder.text)
    assert weights_file_size(model) == expected == 20 + 4 * builder.num_params


def test_values_land_in_the_right_tensors(tiny_files):
    builder, cfg, weights = tiny_files
    model = load_darknet(cfg, weights, device="cpu")
    values = builder.random_weights(seed=0)
    conv0 = model.module_list[0]
    filters = conv0.conv.out_channels
    # File order for a batch-normalised conv: beta, gamma, mean, var, then weights.
    assert conv0.bn.bias.tolist() == values[:filters].tolist()
    assert conv0.bn.weight.tolist() == values[filters : 2 * filters].tolist()
    assert conv0.bn.running_var.tolist() == values[3 * filters : 4 * filters].tolist()
    n = conv0.conv.weight.numel()
    assert conv0.conv.weight.flatten().tolist() == values[4 * filters : 4 * filters + n].tolist()
    head = model.module_list[22].conv  # the last conv: bias then weights, no batch norm
    tail = values[-(head.bias.numel() + head.weight.numel()) :]
    assert head.bias.tolist() == tail[: head.bias.numel()].tolist()


@pytest.mark.parametrize("version, header_size", [((0, 2, 0), 20), ((0, 1, 0), 16)])
def test_header_versions(tiny_files, tmp_path, version, header_size):
    builder, cfg, _ = tiny_files
    _, weights = builder.write(tmp_path, "v", version=version)
    header = read_header(weights)
    assert header.version == version and header.seen == 12345 and header.size == header_size
    model = load_darknet(cfg, weights, device="cpu")
    assert weights_file_size(model, version) == weights.stat().st_size


@pytest.mark.parametrize("change", [-4, -1, +4])
def test_wrong_size_names_expected_and_actual_bytes(tiny_files, change):
    _, cfg, weights = tiny_files
    data = weights.read_bytes()
    expected = len(data)
    weights.write_bytes(data[:change] if change < 0 else data + b"\0" * change)
    word = "truncated" if change < 0 else "too large"
    with pytest.raises(
        ValueError, match=f"{word}.*expected {expected:,} bytes.*found {expected + change:,} bytes"
    ):
        load_darknet(cfg, weights)


def test_missing_and_headless_files(tiny_files):
    _, cfg, weights = tiny_files
    with pytest.raises(FileNotFoundError, match="nothing.weights"):
        load_darknet(cfg, weights.parent / "nothing.weights")
    weights.write_bytes(b"\0" * 8)
    with pytest.raises(ValueError, match="8 bytes"):
        load_darknet(cfg, weights)


@pytest.mark.parametrize("version", [(0, 2, 5), (0, 1, 0)])
def test_round_trip_and_opencv_reads_what_we_write(tiny_files, tmp_path, version):
    builder, cfg, weights = tiny_files
    model = load_darknet(cfg, weights, device="cpu")
    written = save_darknet_weights(
        model, tmp_path / "out" / "copy.weights", seen=7, version=version
    )
    header = read_header(written)
    assert header.seen == 7 and header.version == version
    assert written.read_bytes()[header.size :] == weights.read_bytes()[20:]
    again = load_darknet(cfg, written, device="cpu")
    for (name, a), (_, b) in zip(
        model.state_dict().items(), again.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    x = torch.rand(1, 3, 96, 160, generator=torch.Generator().manual_seed(1))
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(written))
    net.setInput(x.numpy())
    with torch.no_grad():
        ours = model(x)[1].numpy()
    np.testing.assert_allclose(ours, net.forward("conv_22"), rtol=0, atol=1e-4)
