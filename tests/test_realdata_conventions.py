"""The conventions on real material: other people's photos, models and fixations.

Needs the real data folder (``XAIKIT_REAL_DATA``, default ``../shared/realdata``); skipped with
the reason where it is absent.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import xaikit as xk
from tests.realdata import real_path

pytestmark = pytest.mark.realdata

real = real_path


@pytest.fixture(scope="module")
def nano():
    folder = real("darknet", "mobilenetv2-yolov3-nano-coco")
    return xk.models.load_darknet(
        folder / "MobileNetV2-YOLOv3-Nano-coco.cfg",
        folder / "MobileNetV2-YOLOv3-Nano-coco.weights",
        device="cpu",
    )


@pytest.fixture(scope="module")
def dog():
    import cv2

    image = cv2.imread(str(real("darknet", "images", "dog.jpg")))
    return np.ascontiguousarray(image[..., ::-1])


def test_a_real_detector_explains_its_own_detections(nano, dog):
    found = nano.detect([dog], conf_threshold=0.3)[0]
    assert len(found) >= 2 and dog.shape == (576, 768, 3)
    boxes = pd.DataFrame(found[:, :4].numpy(), columns=["x0", "y0", "x1", "y1"]).assign(frame=0)
    boxes["label"] = found[:, 5].numpy().astype(int)
    # Explaining a detection needs no decode=: the model scores its own boxes.
    x, (mapping,) = nano.preprocess([dog])
    target = xk.explain.targets.DetectionBox(
        mapping.boxes_to_input(found[:, :4]), boxes["label"].to_numpy()
    )
    expl = xk.explain(nano, x, method="gradcam", target=target)  # the layer feeding both heads
    assert list(expl.maps) == [nano.default_explain_layer] == ["module_list.64"]
    np.testing.assert_allclose(expl.scores.numpy(), found[:, 4].numpy(), rtol=1e-4)
    assert (expl.maps["module_list.64"].flatten(1).amax(1) > 0).all()  # no detection is blind
    # detect() rows are targets as they are, and a layer past the heads' split is refused
    rows = nano.detect(x, conf_threshold=0.3)[0]
    same = xk.explain(nano, x, method="gradcam", target=rows)
    torch.testing.assert_close(same.maps["module_list.64"], expl.maps["module_list.64"])
    with pytest.raises(ValueError, match=r"module_list.67 does not feed head\(s\) \[1\]"):
        xk.explain(nano, x, method="gradcam", layers="module_list.67", target=rows)
    # The service puts each detection's map inside its box, on the photo's pixels.
    maps = xk.explain.frames(nano, dog, ["gradcam", "layercam"], "module_list.64", boxes)
    for method in maps.methods:
        heat = maps.get(0, method, "module_list.64")
        inside = np.zeros(heat.shape, bool)
        for x0, y0, x1, y1 in found[:, :4].numpy():
            inside[int(y0) : int(np.ceil(y1)), int(x0) : int(np.ceil(x1))] = True
        assert heat.shape == (576, 768) and (heat[~inside] == 0).all() and heat.max() > 0.5
    names = (real("darknet", "mobilenetv2-yolov3-nano-coco") / "coco.names").read_text().split("\n")
    dog_row = int(np.flatnonzero(boxes["label"].to_numpy() == names.index("dog"))[0])
    _, box, heat = maps.detections(0, "gradcam", "module_list.64")[dog_row]
    y, x = np.unravel_index(np.argmax(heat), heat.shape)
    assert box[0] <= x < box[2] and box[1] <= y < box[3]  # the dog's evidence peaks on the dog


def test_real_fixations_on_a_real_photo_use_its_shape(tmp_path):
    import cv2

    osie = real("eyetracking", "osie")
    image = cv2.imread(str(osie / "data" / "stimuli" / "1001.jpg"))[..., ::-1]
    table = pd.read_csv(osie / "fixations.csv")
    mine = table[table["image"] == "1001.jpg"]
    fixations = pd.DataFrame(
        {"x": mine["x"] - 1, "y": mine["y"] - 1, "duration": mine["duration_ms"]}  # 1-based
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fixation may be dropped as outside the image
        from_shape = xk.data.fixation_map(fixations, image.shape[:2])
        from_image = xk.data.fixation_map(fixations, np.ascontiguousarray(image))
    assert image.shape[:2] == (600, 800) and from_shape.shape == (600, 800)
    np.testing.assert_array_equal(from_shape, from_image)
    assert len(fixations) > 100 and 0 < from_shape.max() <= 1.0
    peak = np.unravel_index(np.argmax(from_shape), from_shape.shape)
    nearest = np.hypot(fixations["y"] - peak[0], fixations["x"] - peak[1]).min()
    assert nearest < 30  # the map peaks where people looked, not transposed


def test_real_mouse_frames_keep_their_shape_through_the_service(tmp_path):
    import cv2

    folder = real("mice", "dlc-openfield-m4s1")
    pictures = sorted(folder.rglob("*.png"))[:3]
    frames = np.stack([cv2.imread(str(p))[..., ::-1] for p in pictures])
    model = xk.models.load("demo-mice", device="cpu")
    with pytest.raises(ValueError, match="detector's maps are per detection"):
        xk.explain.frames(model, frames)
    found = xk.track.detect_video(model, frames, fps=30, describe=False, progress=False).table
    boxes = found[found["score"] > 0.25]
    maps = xk.explain.frames(model, frames, "gradcam", None, boxes, batch_size=2, cache=tmp_path)
    assert frames.shape[1:3] == (480, 640) and maps.shape == (480, 640)
    assert maps.compute(progress=False) == 2  # 3 frames in chunks of 2
    heat = maps.get(2, "gradcam", maps.layers[0])
    assert heat.shape == (480, 640) and 0.0 <= heat.min() and heat.max() <= 1.0
    again = xk.explain.frames(model, frames, "gradcam", None, boxes, batch_size=2, cache=tmp_path)
    assert again.compute(progress=False) == 0  # read back from the disk cache
    torch.testing.assert_close(torch.from_numpy(again.get(2, "gradcam", maps.layers[0])),
                               torch.from_numpy(heat))  # fmt: skip
