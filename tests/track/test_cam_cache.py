import numpy as np
import pandas as pd
import pytest
import torch

import xaikit as xk
from xaikit.data.synthetic import arena
from xaikit.models import load_darknet
from xaikit.track import cam_cache
from xaikit.track.cam_cache import DetectionCAMCache, darknet_decode

LAYER = "module_list.2"


@pytest.fixture(scope="module")
def model(tiny_darknet_files):
    return load_darknet(*tiny_darknet_files, device="cpu")


@pytest.fixture(scope="module")
def clip():
    return arena("resident_intruder", frames=6, size=(96, 72), seed=4)


def tracks_of(clip):
    return clip.truth.rename(columns={"mouse": "track"})[["frame", "track", "x0", "y0", "x1", "y1"]]


def open_cache(clip, model, folder, frames=None, **kwargs):
    video = clip.frames if frames is None else frames
    return DetectionCAMCache(video, model, tracks_of(clip), layer=LAYER, cache_dir=folder,
                             fps=30, chunk=4, **kwargs)  # fmt: skip


@pytest.fixture
def calls(monkeypatch):
    counted = []
    original = cam_cache.explain_detections

    def counting(*args, **kwargs):
        counted.append(args[2])
        return original(*args, **kwargs)

    monkeypatch.setattr(cam_cache, "explain_detections", counting)
    return counted


def test_maps_equal_direct_explanations(clip, model, tmp_path):
    cache = open_cache(clip, model, tmp_path)
    found = cache.maps(3)
    assert [track for track, _, _ in found] == [0, 1]
    x, mappings = model.preprocess([clip.frames[3]])
    boxes = torch.as_tensor(np.stack([box for _, box, _ in found]), dtype=torch.float32)
    target = xk.explain.targets.DetectionBox(
        mappings[0].boxes_to_input(boxes), decode=darknet_decode(model)
    )
    direct = xk.explain(model, x, method="gradcam", layers=[LAYER], target=target, progress=False)
    for index, (_, _, raw) in enumerate(found):
        assert raw.shape == tuple(direct.raw[LAYER].shape[1:])  # feature resolution
        np.testing.assert_allclose(raw, direct.raw[LAYER][index].numpy(), rtol=1e-5, atol=1e-7)
    truth = clip.truth[clip.truth["frame"] == 3][["x0", "y0", "x1", "y1"]].to_numpy()
    np.testing.assert_array_equal(boxes.numpy(), truth.astype(np.float32))


def test_reopening_recomputes_nothing(clip, model, tmp_path, calls):
    assert open_cache(clip, model, tmp_path).compute(progress=False) == 2  # 6 frames, chunk 4
    assert len(calls) == 6
    again = open_cache(clip, model, tmp_path)
    assert again.compute(progress=False) == 0
    assert len(again.maps(5)) == 2 and len(calls) == 6
    # Any other method, layer, target or model is another cache.
    assert open_cache(clip, model, tmp_path, method="layercam").key != again.key
    other = DetectionCAMCache(clip.frames, model, tracks_of(clip).iloc[:-1], layer=LAYER,
                              cache_dir=tmp_path, fps=30, chunk=4)  # fmt: skip
    assert other.key != again.key


def test_changed_video_content_invalidates(clip, model, tmp_path, calls):
    open_cache(clip, model, tmp_path).compute(progress=False)
    changed = clip.frames.copy()
    changed[5, 0, 0, 0] ^= 1
    cache = open_cache(clip, model, tmp_path, frames=changed)
    assert cache.compute(progress=False) == 2 and len(calls) == 12


def test_a_video_file_is_keyed_by_its_bytes(clip, model, tmp_path):
    path = tmp_path / "clip.mp4"
    xk.data.write_video(path, clip.frames, fps=30)
    first = open_cache(clip, model, tmp_path, frames=path).key
    assert open_cache(clip, model, tmp_path, frames=xk.data.open_video(path)).key == first
    path.write_bytes(path.read_bytes() + b"\0")
    assert open_cache(clip, model, tmp_path, frames=path).key != first


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped"])
def test_a_damaged_file_is_recomputed(clip, model, tmp_path, calls, damage):
    cache = open_cache(clip, model, tmp_path)
    cache.compute(progress=False)
    expected = cache.maps(1)
    path = cache.folder / "chunk_000000.npz"
    if damage == "garbage":
        path.write_bytes(b"not a cache file")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:  # a valid file whose maps do not match their digest
        with np.load(path) as stored:
            parts = dict(stored)
        parts["maps"] = parts["maps"] + 1.0
        np.savez(path, **parts)
    reopened = open_cache(clip, model, tmp_path)
    assert reopened.compute(progress=False) == 1 and len(calls) == 6 + 4
    for (_, _, raw), (_, _, before) in zip(reopened.maps(1), expected, strict=True):
        np.testing.assert_array_equal(raw, before)
    assert not list(cache.folder.glob("*.tmp"))  # atomic writes leave no temporary file


def test_memory_holds_a_bounded_number_of_chunks(clip, model, tmp_path):
    cache = open_cache(clip, model, tmp_path, memory_chunks=1)
    for frame in range(len(clip.frames)):
        cache.maps(frame)
        assert len(cache._memory) == 1
    assert list(cache._memory) == [1]


def test_bad_input_is_refused(clip, model, tmp_path):
    with pytest.raises(ValueError, match="preprocess"):
        DetectionCAMCache(clip.frames, object(), tracks_of(clip), fps=30)
    with pytest.raises(ValueError, match="video has 6 frames"):
        bad = pd.concat([tracks_of(clip), tracks_of(clip).assign(frame=9)])
        DetectionCAMCache(clip.frames, model, bad, cache_dir=tmp_path, fps=30)
    with pytest.raises(ValueError, match="chunk"):
        open_cache(clip, model, tmp_path, memory_chunks=0)
    with pytest.raises(ValueError, match="frame must lie"):
        open_cache(clip, model, tmp_path).maps(6)
