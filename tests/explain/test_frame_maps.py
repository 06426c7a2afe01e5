"""xk.explain.frames: maps of real frames in frame coordinates, per frame or per detection,
in memory or in a content-keyed, atomic, checksummed disk cache."""

import numpy as np
import pandas as pd
import pytest
import torch

import xaikit as xk
from tests.track.conftest import TINY_CFG
from xaikit._atomic import is_partial
from xaikit.explain import FrameMaps
from xaikit.models import Darknet
from xaikit.models.preprocessing import ResizePreprocess

LAYER = "module_list.2"
#: The stored grid is 4 values per feature cell; read back it stays this close to the engine's.
CLOSE = 0.06


@pytest.fixture(scope="module")
def detector():
    torch.manual_seed(0)
    return Darknet.from_cfg(TINY_CFG).eval()


@pytest.fixture(scope="module")
def clip():
    return xk.data.synthetic.arena("resident_intruder", frames=6, shape=(72, 96), seed=4)


def boxes_of(clip) -> pd.DataFrame:
    return clip.truth[["frame", "track", "x0", "y0", "x1", "y1"]]


@pytest.fixture
def calls(monkeypatch):
    counted = []
    original = FrameMaps._compute

    def counting(self, chunk, methods):
        counted.append((chunk, tuple(methods)))
        return original(self, chunk, methods)

    monkeypatch.setattr(FrameMaps, "_compute", counting)
    return counted


def direct(model, frame, preprocess, **kwargs):
    """The engine's maps of one frame, put on the frame's pixels."""
    x, (mapping,) = preprocess(frame[None], device="cpu")
    results = xk.explain(model, x, progress=False, **kwargs)
    return {
        (method, key): mapping.map_to_frame(value).numpy()
        for method, explanation in results.items()
        for key, value in explanation.maps.items()
    }


@pytest.mark.parametrize("letterbox", [False, True])
def test_frame_maps_are_the_engines_maps_on_the_frame(tiny_cnn, letterbox):
    video = np.random.default_rng(0).integers(0, 255, (5, 24, 40, 3), dtype=np.uint8)
    preprocess = ResizePreprocess((16, 16), letterbox=letterbox)
    methods, layers = ["gradcam", "layercam", "guided_backprop"], ["features.1", "features.3"]
    maps = xk.explain.frames(tiny_cnn, video, methods, layers, preprocess=preprocess, batch_size=2)
    for frame in (0, 4):
        expected = direct(tiny_cnn, video[frame], preprocess, method=methods, layers=layers)
        for (method, key), value in expected.items():
            got = maps.get(frame, method, key)
            assert got.shape == (24, 40) and got.dtype == np.float32
            assert np.abs(got - value[0]).max() < CLOSE, (frame, method, key)
    assert maps.get(1, "guided_backprop", "any layer").shape == (24, 40)  # pixel: "input"


def test_one_explain_call_per_chunk_for_every_method_and_layer(tiny_cnn, calls):
    video = np.random.default_rng(1).integers(0, 255, (7, 16, 16, 3), dtype=np.uint8)
    maps = xk.explain.frames(tiny_cnn, video, ["gradcam", "hirescam"], "features.3", batch_size=3)
    assert maps.layers == ["features.3"] and calls == []  # nothing before it is asked for
    maps.get(4, "gradcam", "features.3")
    maps.get(5, "hirescam", "features.3")
    assert calls == [(1, ("gradcam", "hirescam"))] and maps.has(3) and not maps.has(0)
    assert maps.compute(progress=False) == 2 and [c for c, _ in calls] == [1, 0, 2]


def test_one_target_per_frame_is_sliced_per_chunk(tiny_cnn):
    video = np.random.default_rng(2).integers(0, 255, (4, 16, 16, 3), dtype=np.uint8)
    classes = [0, 1, 2, 3]
    maps = xk.explain.frames(tiny_cnn, video, "gradcam", "features.3", classes, batch_size=3)
    preprocess = ResizePreprocess((16, 16))
    for frame in range(4):
        expected = direct(tiny_cnn, video[frame], preprocess, method=["gradcam"],
                          layers=["features.3"], target=classes[frame])  # fmt: skip
        got = maps.get(frame, "gradcam", "features.3")
        assert np.abs(got - expected["gradcam", "features.3"][0]).max() < CLOSE
    with pytest.raises(ValueError, match="got 3 targets for a video of 4 frames"):
        xk.explain.frames(tiny_cnn, video, "gradcam", target=[0, 1, 2])


def test_detection_maps_are_each_boxes_own_map(detector, clip):
    table = boxes_of(clip)
    maps = xk.explain.frames(detector, clip, ["gradcam", "layercam"], [LAYER], table, batch_size=4)
    found = maps.detections(3, "gradcam", LAYER)
    rows = table[table["frame"] == 3]
    assert [track for track, _, _ in found] == rows["track"].tolist()
    np.testing.assert_array_equal(
        np.stack([b for _, b, _ in found]), rows[["x0", "y0", "x1", "y1"]]
    )
    x, (mapping,) = detector.preprocess([clip.frames[3]])
    boxes = mapping.boxes_to_input(torch.tensor(rows[["x0", "y0", "x1", "y1"]].to_numpy()))
    target = xk.explain.targets.DetectionBox(boxes.float())  # the model decodes its own heads
    expected = xk.explain(detector, x, method="gradcam", layers=[LAYER], target=target)
    for (_, _, heat), engine in zip(found, expected.maps[LAYER], strict=True):
        assert np.abs(heat - mapping.map_to_frame(engine[None]).numpy()[0]).max() < CLOSE
    frame_map = maps.get(3, "gradcam", LAYER)
    expected = np.zeros((72, 96), np.float32)
    for _, (x0, y0, x1, y1), heat in found:
        window = (slice(int(y0), int(np.ceil(y1))), slice(int(x0), int(np.ceil(x1))))
        expected[window] = np.maximum(expected[window], heat[window])
    np.testing.assert_array_equal(frame_map, expected)  # each map inside its box, 0 elsewhere
    assert any(heat.max() > 0.5 for _, _, heat in maps.detections(2, "layercam", LAYER))


def test_a_darknet_detection_target_scores_its_detection(detector, clip):
    detector_run = detector.detect([clip.frames[0]], conf_threshold=0.0)[0][:3]
    x, (mapping,) = detector.preprocess([clip.frames[0]])
    boxes = mapping.boxes_to_input(torch.as_tensor(detector_run[:, :4]))
    expl = xk.explain(detector, x, method="gradcam", layers=[LAYER],
                      target=xk.explain.targets.DetectionBox(boxes.float()))  # fmt: skip
    np.testing.assert_allclose(expl.scores.numpy(), detector_run[:, 4], rtol=1e-4)


def test_frames_without_detections_get_empty_maps(detector, clip, calls):
    table = boxes_of(clip)
    only_late = table[table["frame"] >= 4]
    maps = xk.explain.frames(detector, clip, "gradcam", LAYER, target=only_late, batch_size=4)
    assert maps.detections(1, "gradcam", LAYER) == []
    assert (maps.get(1, "gradcam", LAYER) == 0).all() and calls == [(0, ("gradcam",))]


def test_reopening_from_disk_recomputes_nothing(detector, clip, tmp_path, calls):
    def open_maps(video=clip, method="gradcam", table=None, model=detector):
        table = boxes_of(clip) if table is None else table
        return xk.explain.frames(model, video, method, LAYER, target=table, batch_size=4,
                                 cache=tmp_path)  # fmt: skip

    first = open_maps()
    assert first.compute(progress=False) == 2 and len(calls) == 2  # 6 frames, chunks of 4
    again = open_maps()
    assert again.compute(progress=False) == 0 and len(calls) == 2
    np.testing.assert_array_equal(again.get(5, "gradcam", LAYER), first.get(5, "gradcam", LAYER))
    key = again._stores["gradcam"].key
    assert open_maps(method="layercam")._stores["layercam"].key != key
    assert open_maps(table=boxes_of(clip).iloc[:-1])._stores["gradcam"].key != key
    other_model = Darknet.from_cfg(TINY_CFG)
    assert open_maps(model=other_model)._stores["gradcam"].key != key
    changed = clip.frames.copy()
    changed[5, 0, 0, 0] ^= 1
    assert open_maps(video=changed)._stores["gradcam"].key != key


def test_a_video_file_is_keyed_by_its_bytes(tiny_cnn, clip, tmp_path):
    path = tmp_path / "clip.mp4"
    xk.data.write_video(path, clip.frames, fps=30)
    first = xk.explain.frames(tiny_cnn, path, cache=tmp_path)._stores["gradcam"].key
    reader = xk.data.open_video(path)
    assert xk.explain.frames(tiny_cnn, reader, cache=tmp_path)._stores["gradcam"].key == first
    path.write_bytes(path.read_bytes() + b"\0")
    assert xk.explain.frames(tiny_cnn, path, cache=tmp_path)._stores["gradcam"].key != first


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped"])
def test_a_damaged_file_is_recomputed(tiny_cnn, tmp_path, calls, damage):
    video = np.random.default_rng(3).integers(0, 255, (6, 16, 16, 3), dtype=np.uint8)
    maps = xk.explain.frames(tiny_cnn, video, layers="features.3", batch_size=4, cache=tmp_path)
    maps.compute(progress=False)
    expected = maps.get(1, "gradcam", "features.3")
    path = maps._stores["gradcam"].path(0)
    if damage == "garbage":
        path.write_bytes(b"not a cache file")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:  # a valid file whose maps do not match their digest
        with np.load(path) as stored:
            parts = dict(stored)
        parts["map_0"] = parts["map_0"] + 1
        np.savez(path, **parts)
    reopened = xk.explain.frames(tiny_cnn, video, layers="features.3", batch_size=4, cache=tmp_path)
    assert reopened.compute(progress=False) == 1 and len(calls) == 3
    np.testing.assert_array_equal(reopened.get(1, "gradcam", "features.3"), expected)
    assert not [p for p in path.parent.iterdir() if is_partial(p)]  # no temporary file left


def test_memory_holds_a_bounded_number_of_chunks_with_a_disk_cache(tiny_cnn, tmp_path):
    video = np.random.default_rng(4).integers(0, 255, (6, 16, 16, 3), dtype=np.uint8)
    maps = xk.explain.frames(
        tiny_cnn, video, layers="features.3", batch_size=2, cache=tmp_path, memory_chunks=1
    )
    for frame in range(6):
        maps.get(frame, "gradcam", "features.3")
        assert len(maps._memory) == 1
    in_memory = xk.explain.frames(tiny_cnn, video, batch_size=2, memory_chunks=1)
    in_memory.compute(progress=False)
    assert len(in_memory._memory) == 3  # without a disk, memory is the store


def test_a_3d_model_explains_each_chunk_as_a_clip(tiny_video_cnn):
    clip = np.random.default_rng(5).integers(0, 255, (4, 8, 8, 3), dtype=np.uint8)
    layers = ["features.1", "features.3"]
    maps = xk.explain.frames(tiny_video_cnn, clip, "3dcam", layers, batch_size=4, sums=[layers])
    x = torch.from_numpy(clip).permute(3, 0, 1, 2)[None].float() / 255
    expected = xk.explain(tiny_video_cnn, x, method="3dcam", layers=layers)
    for frame in range(4):
        got = maps.get(frame, "3dcam", "features.1+features.3")
        assert np.abs(got - expected.combine(layers)[0, frame].numpy()).max() < CLOSE
        got = maps.get(frame, "3dcam", "features.3")
        assert np.abs(got - expected.maps["features.3"][0, frame].numpy()).max() < CLOSE


def test_bad_input_is_refused(tiny_cnn, detector, clip, tmp_path):
    video = np.zeros((3, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="unknown method 'gradcm'"):
        xk.explain.frames(tiny_cnn, video, "gradcm")
    with pytest.raises(ValueError, match="unknown layer 'nope'; layers with a feature map"):
        xk.explain.frames(tiny_cnn, video, layers=["nope"])
    with pytest.raises(ValueError, match=r"video must be a \(T, H, W, 3\) uint8"):
        xk.explain.frames(tiny_cnn, video.astype(float))
    with pytest.raises(ValueError, match="disk cache needs a target it can name"):
        xk.explain.frames(tiny_cnn, video, target=lambda out: out[:, 0], cache=tmp_path)
    with pytest.raises(ValueError, match="video has 6 frames"):
        late = boxes_of(clip).assign(frame=9)
        xk.explain.frames(detector, clip, target=late)
    with pytest.raises(ValueError, match="read none"):
        xk.explain.frames(detector, clip, "rise", target=boxes_of(clip))
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        xk.explain.frames(tiny_cnn, video, batch_size=0)
    maps = xk.explain.frames(tiny_cnn, video, layers="features.3")
    with pytest.raises(IndexError, match="frame 3 is out of range"):
        maps.get(3, "gradcam", "features.3")
    with pytest.raises(ValueError, match="unknown layer 'features.1'"):
        maps.get(0, "gradcam", "features.1")
