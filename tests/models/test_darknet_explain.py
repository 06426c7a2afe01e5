"""Explaining Darknet models with no private parts: detections as targets, the heads a layer
feeds, classifiers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import xaikit as xk
from xaikit.models import Darknet
from xaikit.models.zoo.detector import CFG

from .test_darknet_layers import MIXED


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return Darknet.from_cfg(CFG).eval()  # YOLOv3-tiny, heads at layers 16 and 23


@pytest.fixture(scope="module")
def x():
    return torch.rand(1, 3, 256, 320, generator=torch.Generator().manual_seed(3))


def _both_heads(model, x):
    """Detection rows (n, 6) of ``x``: the best prediction of each head, and their heads."""
    with torch.no_grad():
        outputs = model(x)
        boxes, scores = model.box_scores(outputs)
    best = scores[0].amax(1)
    heads = model.head_of_prediction(outputs, torch.arange(len(best)))
    picked = torch.stack([torch.where(heads == h, best, -1.0).argmax() for h in (0, 1)])
    rows = torch.cat(
        [boxes[0, picked], best[picked, None], scores[0, picked].argmax(1, keepdim=True)], 1
    )
    return rows, heads[picked]


def test_the_heads_each_layer_feeds(tiny):
    assert tiny.heads_seen_by("module_list.13") == [0, 1]  # the route of layer 17 reads it
    assert tiny.heads_seen_by("module_list.14") == [0]
    assert tiny.heads_seen_by("module_list.21.conv") == [1]
    assert tiny.heads_seen_by("module_list.8") == [0, 1]
    assert tiny.heads_seen_by("backbone") is None
    assert tiny.default_explain_layer == "module_list.13"


def test_detect_rows_are_targets_and_score_their_detections(tiny, x):
    rows, _ = _both_heads(tiny, x)
    expl = xk.explain(tiny, x, method="gradcam", target=rows, progress=False)
    assert list(expl.maps) == ["module_list.13"] and expl.maps["module_list.13"].shape[0] == 2
    np.testing.assert_allclose(expl.scores.numpy(), rows[:, 4].numpy(), rtol=1e-5)
    as_list = xk.explain(tiny, x, method="gradcam", target=[rows.numpy()], progress=False)
    torch.testing.assert_close(as_list.maps["module_list.13"], expl.maps["module_list.13"])


def test_a_layer_that_cannot_see_a_detection_is_refused_or_warned(tiny, x):
    rows, heads = _both_heads(tiny, x)
    with pytest.raises(ValueError, match=r"module_list.14 does not feed head\(s\) \[1\]"):
        xk.explain(tiny, x, method="gradcam", layers="module_list.14", target=rows)
    # Each detection alone at a layer that feeds its head is fine.
    head_zero = rows[heads == 0]
    xk.explain(tiny, x, method="gradcam", layers="module_list.14", target=head_zero)
    # The video service warns and names the layer, the head and the detections.
    image = (x[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    table = pd.DataFrame(rows[:, :4].numpy(), columns=["x0", "y0", "x1", "y1"]).assign(frame=0)
    table["label"] = rows[:, 5].long().numpy()
    maps = xk.explain.frames(tiny, image, "gradcam", ["module_list.14", "module_list.13"], table)
    with pytest.warns(UserWarning, match=r"module_list.14 does not feed head\(s\) \[1\]"):
        found = maps.detections(0, "gradcam", "module_list.13")
    assert len(found) == 2 and all(heat.max() > 0 for _, _, heat in found)


def test_region_detections_are_explained_with_their_scores():
    torch.manual_seed(1)
    model = Darknet.from_cfg(MIXED).eval()
    x = torch.rand(1, 3, 48, 64, generator=torch.Generator().manual_seed(4))
    rows = model.detect(x, conf_threshold=0.1)[0][:3]
    assert len(rows) == 3
    expl = xk.explain(model, x, method="layercam", target=rows, progress=False)
    assert list(expl.maps) == [model.default_explain_layer]
    np.testing.assert_allclose(expl.scores.numpy(), rows[:, 4].numpy(), rtol=1e-5)


def test_a_darknet_classifier_is_explained_by_class():
    lines = CFG.read_text().splitlines()  # the backbone up to the 6th conv, then a classifier
    text = "\n".join(lines[: lines.index("[maxpool]", 80)]) + "\n[avgpool]\n[softmax]\n"
    model = Darknet.from_cfg(text).eval()
    x = torch.rand(2, 3, 256, 320)
    expl = xk.explain(model, x, method="gradcam", target=None, progress=False)
    assert expl.maps[next(iter(expl.maps))].shape == (2, 256, 320)
    assert expl.targets.tolist() == model(x).argmax(1).tolist()


def test_all_detections_of_a_batch_equal_one_detection_at_a_time(tiny):
    """One forward per image and one backward per box rank give each box its own maps."""
    images = torch.rand(3, 3, 256, 320, generator=torch.Generator().manual_seed(11))
    with torch.no_grad():
        boxes, scores = tiny.box_scores(tiny(images))
    per_image = []
    for index, count in enumerate([3, 1, 2]):  # boxes per image: three backward passes
        best = scores[index].amax(1).topk(count).indices
        classes = scores[index, best].argmax(1, keepdim=True).float()
        per_image.append(
            torch.cat([boxes[index, best], scores[index, best].amax(1, True), classes], 1)
        )
    layers = ["module_list.13", "module_list.8"]
    together = xk.explain(tiny, images, method=["gradcam", "layercam"], layers=layers,
                          target=per_image, batch_size=2, progress=False)  # fmt: skip
    assert together["gradcam"].sample_index.tolist() == [0, 0, 0, 1, 2, 2]
    sample = 0
    for index, rows in enumerate(per_image):
        for row in rows:
            alone = xk.explain(tiny, images[index : index + 1], method=["gradcam", "layercam"],
                               layers=layers, target=row[None], progress=False)  # fmt: skip
            for method in ("gradcam", "layercam"):
                for layer in layers:
                    for kind in ("maps", "raw"):
                        ours = getattr(together[method], kind)[layer][sample]
                        theirs = getattr(alone[method], kind)[layer][0]
                        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)
            torch.testing.assert_close(
                together["gradcam"].scores[sample], alone["gradcam"].scores[0]
            )
            sample += 1
