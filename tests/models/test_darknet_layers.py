"""Darknet layer types beyond YOLOv3: hand-worked cases of Darknet's semantics, and OpenCV DNN
on the layers it reads."""

from __future__ import annotations

import math
import re

import cv2
import numpy as np
import pytest
import torch

from xaikit.models import Darknet, load_darknet, save_darknet_weights
from xaikit.models.darknet import DarknetClassifier
from xaikit.models.darknet_cfg import Section
from xaikit.models.darknet_layers import ACTIVATIONS, MaxPool
from xaikit.models.yolo import non_max_suppression

NET = "[net]\nwidth={w}\nheight={h}\nchannels={c}\n"


def _cfg(*blocks: str, w=8, h=8, c=1) -> str:
    return NET.format(w=w, h=h, c=c) + "".join(f"[{b.strip()}\n" for b in blocks)


def _conv_free(*blocks: str, **size) -> Darknet | DarknetClassifier:
    return Darknet.from_cfg(_cfg(*blocks, **size)).eval()


def _layer_output(model, index: int, x: torch.Tensor) -> torch.Tensor:
    return model._run(x, [index])[0]


@pytest.mark.parametrize(
    "name, x, expected",
    [  # Darknet's activations.h at hand-worked points
        ("hard_mish", [-3.0, -1.0, 2.0], [0.0, -0.5, 2.0]),
        ("relu6", [-1.0, 3.0, 7.0], [0.0, 3.0, 6.0]),
        ("plse", [-5.0, 0.0, 5.0], [-0.01, 0.5, 1.01]),
        ("stair", [2.5, 3.5, -0.5], [1.0, 1.5, -0.5]),
        ("lhtan", [-1.0, 0.5, 2.0], [-0.001, 0.5, 1.001]),
        ("hardtan", [-3.0, 0.25, 3.0], [-1.0, 0.25, 1.0]),
        ("loggy", [0.0, math.log(3.0)], [0.0, 0.5]),
        ("elu", [-1.0, 2.0], [math.exp(-1) - 1, 2.0]),
        ("selu", [1.0, -1.0], [1.0507, 1.0507 * 1.6732 * (math.exp(-1) - 1)]),
        ("gelu", [1.0], [0.5 * (1 + math.tanh(0.797885 + 0.035677))]),
        ("relie", [-1.0, 2.0], [-0.01, 2.0]),
        ("ramp", [-1.0, 2.0], [-0.1, 2.2]),
        ("revleaky", [-1.0, 2.0], [-0.1, 2.0]),
        ("mish", [1.0], [math.tanh(math.log1p(math.e))]),
        ("swish", [1.0], [1 / (1 + math.exp(-1))]),
    ],
)
def test_activations_follow_darknet(name, x, expected):
    got = ACTIVATIONS[name](torch.tensor(x, dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=1e-6)
    model = _conv_free(
        "convolutional]\nfilters=1\nsize=1\nactivation=" + name, w=len(x), h=1
    )  # the conv block reads every one of them by its cfg name
    assert type(model.module_list[0].act).__name__ in ("Activation", "Mish", "SiLU", "ReLU6")


def test_normalize_channels_activations():
    x = torch.tensor([1.0, -1.0, 3.0]).view(1, 3, 1, 1)
    np.testing.assert_allclose(
        ACTIVATIONS["normalize_channels"](x).flatten(), [1 / 4.0001, 0, 3 / 4.0001], rtol=1e-6
    )
    e = np.exp([1.0, -1.0, 3.0])
    soft = ACTIVATIONS["normalize_channels_softmax"](x).flatten().numpy()
    np.testing.assert_allclose(soft, e / (e.sum() + 1e-4), rtol=1e-6)
    shifted = np.exp(np.array([1.0, -1.0, 3.0]) - 3)
    maxval = ACTIVATIONS["normalize_channels_softmax_maxval"](x).flatten().numpy()
    np.testing.assert_allclose(maxval, shifted / (shifted.sum() + 1e-4), rtol=1e-6)


def test_maxpool_depth_takes_the_max_over_strided_channel_groups():
    model = _conv_free("maxpool]\nmaxpool_depth=1\nout_channels=2", w=1, h=1, c=5)
    x = torch.tensor([1.0, 5.0, 2.0, 4.0, 7.0]).view(1, 5, 1, 1)
    # out 0 = max(ch 0, 2, 4), out 1 = max(ch 1, 3)
    assert model._run(x, [0])[0].flatten().tolist() == [7.0, 5.0]
    assert model.shapes[0] == (2, 1, 1)


def test_maxpool_and_local_avgpool_per_axis_strides():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    pool = _conv_free("maxpool]\nsize=2\nstride_x=2\nstride_y=1", w=4, h=4)
    out = _layer_output(pool, 0, x)
    # padding 1 (size - 1): none before, one -inf row/column after; x stride 2, y stride 1
    assert out.shape == (1, 1, 4, 2) and pool.shapes[0] == (1, 4, 2)
    assert out[0, 0].tolist() == [[5, 7], [9, 11], [13, 15], [13, 15]]
    avg = _conv_free("local_avgpool]\nsize=2\nstride=1", w=4, h=4)
    out = _layer_output(avg, 0, x)[0, 0]
    assert out[0, 0] == (0 + 1 + 4 + 5) / 4
    assert out[3, 3] == 15  # only the one valid position counts
    assert out[3, 0] == (12 + 13) / 2


def test_dilated_conv_is_a_conv_with_a_spread_kernel():
    text = _cfg("convolutional]\nfilters=2\nsize=3\npad=1\ndilation=2\nactivation=linear", c=2)
    model = Darknet.from_cfg(text).eval()
    assert model.shapes[0] == (2, 8, 8)  # Darknet pads by pad * dilation: the size is kept
    conv = model.module_list[0].conv
    spread = torch.zeros(2, 2, 5, 5)
    spread[..., ::2, ::2] = conv.weight.detach()
    x = torch.rand(1, 2, 8, 8)
    expected = torch.nn.functional.conv2d(x, spread, conv.bias, padding=2)
    torch.testing.assert_close(_layer_output(model, 0, x), expected, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="dilation=2 needs an odd size with pad=1"):
        Darknet.from_cfg(_cfg("convolutional]\nfilters=2\nsize=3\npadding=0\ndilation=2"))


def test_reorg_is_darknets_index_shuffle():
    # Darknet's reorg_cpu(input, w, h, c, batch, stride, forward=0, out), literally.
    c, h, w, s = 8, 4, 6, 2
    x = np.arange(c * h * w, dtype=np.float32)
    out = np.empty_like(x)
    in_c = c // (s * s)
    for k in range(c):
        for j in range(h):
            for i in range(w):
                in_index = i + w * (j + h * k)
                c2, offset = k % in_c, k // in_c
                w2, h2 = i * s + offset % s, j * s + offset // s
                out[in_index] = x[w2 + w * s * (h2 + h * s * c2)]
    model = _conv_free("reorg]\nstride=2", w=w, h=h, c=c)
    got = _layer_output(model, 0, torch.from_numpy(x).view(1, c, h, w))
    assert got.shape == (1, c * s * s, h // s, w // s)
    np.testing.assert_array_equal(got.flatten().numpy(), out)


def test_shortcut_of_other_channel_counts_adds_the_common_channels():
    text = _cfg(
        "convolutional]\nfilters=3\nsize=1\nactivation=linear",
        "convolutional]\nfilters=2\nsize=1\nactivation=linear",
        "shortcut]\nfrom=-2\nactivation=linear",  # 2 channels + the first 2 of 3
        "convolutional]\nfilters=4\nsize=1\nactivation=linear",
        "shortcut]\nfrom=0,1\nactivation=leaky",  # 4 channels + 3 of layer 0 + 2 of layer 1
    )
    model = Darknet.from_cfg(text).eval()
    x = torch.rand(1, 1, 8, 8)
    a, b, c, d, e = model._run(x, [0, 1, 2, 3, 4])
    torch.testing.assert_close(c, b + a[:, :2])
    expected = d.clone()
    expected[:, :3] += a
    expected[:, :2] += b
    torch.testing.assert_close(e, torch.nn.functional.leaky_relu(expected, 0.1))
    assert model.shapes[2] == (2, 8, 8) and model.shapes[4] == (4, 8, 8)


def test_scale_channels_and_sam_multiply_features():
    text = _cfg(
        "convolutional]\nfilters=3\nsize=1\nactivation=linear",
        "avgpool]",
        "convolutional]\nfilters=3\nsize=1\nactivation=logistic",
        "scale_channels]\nfrom=-3",
        "convolutional]\nfilters=1\nsize=1\nactivation=logistic",
        "scale_channels]\nfrom=-2\nscale_wh=1\nactivation=leaky",
        "convolutional]\nfilters=3\nsize=1\nactivation=logistic",
        "sam]\nfrom=-2",
    )
    model = Darknet.from_cfg(text).eval()
    x = torch.rand(2, 1, 8, 8) - 0.5
    f, _, se, scaled, wh, scaled_wh, att, sam = model._run(x, list(range(8)))
    torch.testing.assert_close(scaled, f * se)
    torch.testing.assert_close(scaled_wh, torch.nn.functional.leaky_relu(scaled * wh, 0.1))
    torch.testing.assert_close(sam, scaled_wh * att)
    assert se.shape == (2, 3, 1, 1) and wh.shape == (2, 1, 8, 8)


def test_upsample_scale_softmax_groups_and_temperature():
    up = _conv_free("upsample]\nstride=2\nscale=0.5", w=2, h=2)
    assert _layer_output(up, 0, torch.ones(1, 1, 2, 2)).tolist() == [[[[0.5] * 4] * 4]]
    soft = _conv_free("softmax]\ngroups=2\ntemperature=2", w=1, h=1, c=4)
    x = torch.tensor([0.0, 2.0, 1.0, 1.0]).view(1, 4, 1, 1)
    e = math.exp(1)
    expected = [1 / (1 + e), e / (1 + e), 0.5, 0.5]
    np.testing.assert_allclose(_layer_output(soft, 0, x).flatten(), expected, rtol=1e-6)


def test_a_classifier_gives_logits_and_probabilities():
    model = _conv_free(
        "convolutional]\nfilters=5\nsize=3\npad=1\nactivation=leaky",
        "avgpool]",
        "softmax]",
        "cost]\ntype=sse",
        w=16,
        h=16,
        c=3,
    )
    assert isinstance(model, DarknetClassifier) and model.num_classes == 5
    x = torch.rand(2, 3, 16, 16)
    logits = model(x)
    assert logits.shape == (2, 5)
    torch.testing.assert_close(model.probabilities(x), logits.softmax(1))
    assert not hasattr(model, "detect")  # a classifier offers no detections


# -- OpenCV DNN on the layers it reads -----------------------------------------------------

MIXED = """[net]
width=64
height=48
channels=3

[convolutional]
batch_normalize=1
filters=16
size=3
stride=2
pad=1
activation=swish

[convolutional]
filters=16
groups=16
size=3
stride=1
pad=1
batch_normalize=1
activation=relu

[dropout]
probability=.2

[avgpool]

[convolutional]
filters=8
size=1
activation=relu

[convolutional]
filters=16
size=1
activation=logistic

[scale_channels]
from=-4

[convolutional]
filters=16
size=1
activation=logistic

[sam]
from=-2

[reorg]
stride=2

[convolutional]
batch_normalize=1
filters=32
size=3
stride=1
pad=1
activation=mish

[shortcut]
from=-2
activation=leaky

[convolutional]
filters=21
size=1
activation=linear

[region]
anchors=1.0,1.5, 2.0,1.0, 0.5,0.5
classes=2
coords=4
num=3
softmax=1
thresh=0
"""

CLASSIFIER = """[net]
width=16
height=16
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=tanh

[connected]
output=12
batch_normalize=1
activation=leaky

[connected]
output=5
activation=linear

[softmax]
groups=1

[cost]
type=sse
"""


def _randomised(model, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.weight.copy_(0.5 + torch.rand(n, generator=generator))
                module.bias.copy_(0.2 * torch.randn(n, generator=generator))
                module.running_mean.copy_(0.1 * torch.randn(n, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(n, generator=generator))
    return model


def _files(tmp_path, text):
    cfg = tmp_path / "net.cfg"
    cfg.write_text(text)
    weights = save_darknet_weights(_randomised(Darknet.from_cfg(text)), tmp_path / "net.weights")
    return cfg, weights


def test_mixed_layers_and_region_decoding_match_opencv(tmp_path):
    cfg, weights = _files(tmp_path, MIXED)
    model = load_darknet(cfg, weights, device="cpu")
    x = torch.rand(2, 3, 48, 64, generator=torch.Generator().manual_seed(1))
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    outputs = []
    for sample in x:  # OpenCV's [scale_channels] takes one image at a time
        net.setInput(sample[None].numpy())
        outputs.append(net.forward(["conv_12", net.getUnconnectedOutLayersNames()[0]]))
    raw_cv = np.concatenate([raw for raw, _ in outputs])
    decoded_cv = np.stack([decoded for _, decoded in outputs])
    with torch.no_grad():
        (raw,) = model(x)
        decoded = model.decode((raw,))
    assert np.abs(raw_cv).max() > 0.1
    np.testing.assert_allclose(raw.numpy(), raw_cv, atol=1e-4, rtol=0)
    # OpenCV: rows (cx, cy, w, h) / input size, objectness, objectness x class probability
    theirs = decoded_cv.reshape(2, -1, 7)
    size = torch.tensor([64.0, 48.0])
    centre, extent = torch.from_numpy(theirs[..., :2]) * size, torch.from_numpy(theirs[..., 2:4])
    boxes = torch.cat([centre - extent * size / 2, centre + extent * size / 2], -1)
    np.testing.assert_allclose(decoded[..., :4].numpy(), boxes.numpy(), atol=1e-3, rtol=0)
    np.testing.assert_allclose(decoded[..., 4].numpy(), theirs[..., 4], atol=1e-5, rtol=0)
    # OpenCV's region layer also runs Darknet's do_nms_sort (per class, IoU 0.4) and zeroes
    # the scores it suppresses: xaikit's NMS must keep exactly the others.
    detections, kept = non_max_suppression(decoded, 0.0, 0.4, max_detections=10**6)
    scores = (decoded[..., 4:5] * decoded[..., 5:]).numpy()
    for image in range(2):
        ours = set(zip(kept[image].tolist(), detections[image][:, 5].long().tolist(), strict=True))
        rows, classes = np.nonzero(theirs[image, :, 5:] > 0)
        assert ours == set(zip(rows.tolist(), classes.tolist(), strict=True)) and len(ours) > 20
        np.testing.assert_allclose(
            scores[image, rows, classes], theirs[image, rows, 5 + classes], atol=1e-5, rtol=0
        )


def _opencv_probabilities(cfg, weights, x):
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setInput(x.numpy())
    return net.forward().reshape(len(x), -1)


def test_connected_classifier_matches_opencv(tmp_path):
    cfg, weights = _files(tmp_path, CLASSIFIER)
    model = load_darknet(cfg, weights, device="cpu")
    x = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours = model.probabilities(x)
    # Darknet's load_connected_weights reads bias, weights, then gamma, mean, var; OpenCV DNN
    # reads a batch-normalised [connected] in the conv order (bias, gamma, mean, var, weights),
    # so it is given that order here: the computation is then the same.
    fc = model.module_list[1]
    tensors = [*_conv_tensors(model.module_list[0]), fc.bn.bias, fc.bn.weight,
               fc.bn.running_mean, fc.bn.running_var, fc.linear.weight,
               model.module_list[2].linear.bias, model.module_list[2].linear.weight]  # fmt: skip
    opencv_order = tmp_path / "opencv-order.weights"
    with open(opencv_order, "wb") as file:
        file.write(np.array([0, 2, 0], "<i4").tobytes() + np.zeros(1, "<u8").tobytes())
        for tensor in tensors:
            file.write(tensor.detach().numpy().astype("<f4").tobytes())
    theirs = _opencv_probabilities(cfg, opencv_order, x)
    assert theirs.std() > 0.01
    np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-5, rtol=0)
    plain = CLASSIFIER.replace("output=12\nbatch_normalize=1", "output=12")
    cfg, weights = _files(tmp_path, plain)  # without batch norm the files agree
    with torch.no_grad():
        ours = load_darknet(cfg, weights, device="cpu").probabilities(x)
    np.testing.assert_allclose(ours.numpy(), _opencv_probabilities(cfg, weights, x), atol=1e-5)
    with pytest.raises(ValueError, match="takes only its cfg size 16x16"):
        model(torch.rand(1, 3, 32, 32))


def _conv_tensors(block):
    return [block.bn.bias, block.bn.weight, block.bn.running_mean, block.bn.running_var,
            block.conv.weight]  # fmt: skip


@pytest.mark.parametrize(
    "blocks, message",
    [
        (["gaussian_yolo]\nmask=0\nanchors=1,1\nclasses=1\nnum=1"], "[gaussian_yolo], which"),
        (["reorg3d]\nstride=2"], "[reorg3d], which xaikit does not implement"),
        (
            ["convolutional]\nfilters=1\nsize=1", "shortcut]\nfrom=-1\nweights_type=per_channel"],
            "weighted shortcuts are not implemented",
        ),  # fmt: skip
        (["softmax]\ntree=data/9k.tree"], "hierarchical softmax"),
        (["upsample]\nstride=-2"], "reverse upsampling"),
        (["convolutional]\nfilters=1\nsize=1\nactivation=gelux"], "'gelux' on line 8"),
        (["maxpool]\nmaxpool_depth=1\nout_channels=3"], "out_channels must be in [1, 1]"),
        (
            [
                "convolutional]\nfilters=2\nsize=1",
                "avgpool]",
                "scale_channels]\nfrom=-2\nscale_wh=1",
            ],
            "needs (1, 8, 8)",
        ),  # fmt: skip
    ],
)
def test_unimplemented_layers_and_options_are_named(blocks, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Darknet.from_cfg(_cfg(*blocks))


def test_training_refuses_heads_it_cannot_train():
    from xaikit.models.zoo.detector import assign_targets

    with pytest.raises(ValueError, match=r"training handles \[yolo\] heads with new_coords=0"):
        assign_targets(Darknet.from_cfg(MIXED), [torch.tensor([[1.0, 1.0, 9.0, 9.0]])])


def test_batch_norm_eps_is_opencvs_unless_asked(tmp_path):
    cfg, weights = _files(tmp_path, MIXED)
    opencv = load_darknet(cfg, weights, device="cpu")
    darknet = load_darknet(cfg, weights, device="cpu", batch_norm_eps=1e-5)
    eps = {m.eps for m in darknet.modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert eps == {1e-5} and opencv.module_list[0].bn.eps == 1e-6
    x = torch.rand(1, 3, 48, 64)
    with torch.no_grad():
        assert not torch.equal(opencv(x)[0], darknet(x)[0])
    with pytest.raises(ValueError, match="batch_norm_eps must be > 0"):
        load_darknet(cfg, weights, batch_norm_eps=0)


def test_inference_folds_batch_norm_and_matches_the_plain_blocks():
    text = MIXED.split("[dropout]")[0]  # two batch-normalised convs (swish, relu)
    model = _randomised(Darknet.from_cfg(text + "[yolo]\nmask=0\nanchors=4,4\nclasses=11\n"))
    model.eval()
    block = model.module_list[0]
    x = torch.rand(2, 3, 48, 64)
    with torch.inference_mode():
        folded = block(x)  # folded, activation in place
    with torch.no_grad():
        handle = block.bn.register_forward_hook(lambda *args: None)  # a hook sees the bn
        plain = block(x)
        handle.remove()
    torch.testing.assert_close(folded, plain, atol=1e-5, rtol=1e-5)
    grad_x = x.clone().requires_grad_()
    with_grad = block(grad_x)  # folded, with autograd to the parameters
    with_grad.sum().backward()
    assert block.conv.weight.grad is not None and block.bn.weight.grad is not None
    torch.testing.assert_close(with_grad.detach(), plain, atol=1e-5, rtol=1e-5)
    with torch.no_grad():
        block.bn.running_var.mul_(4)  # a changed statistic is seen at once
        changed = block(x)
        handle = block.bn.register_forward_hook(lambda *args: None)
        torch.testing.assert_close(changed, block(x), atol=1e-5, rtol=1e-5)
        handle.remove()
    assert not torch.allclose(changed, plain)


@pytest.mark.parametrize(
    "options, size",
    [
        ("size=2\nstride=2", (8, 10)),
        ("size=2\nstride=2", (7, 9)),
        ("size=5\nstride=1", (6, 7)),
        ("size=2\nstride=1", (5, 6)),
        ("size=3\nstride=2", (9, 8)),
        ("size=3\nstride=2\npadding=4", (9, 8)),
    ],
)
def test_maxpool_shortcuts_equal_the_padded_pool(options, size):
    h, w = size
    section = Section("maxpool", dict(line.split("=") for line in options.split("\n")))
    pool = MaxPool(section, (2, h, w))
    x = torch.randn(2, 2, h, w) - 3  # negative: a zero pad would win
    expected = torch.nn.functional.max_pool2d(pool._padded(x), pool.size, pool.strides)
    assert tuple(expected.shape[1:]) == pool.shape
    torch.testing.assert_close(pool(x), expected, atol=0, rtol=0)
