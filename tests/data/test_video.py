import pickle
import random
from fractions import Fraction

import av
import numpy as np
import pytest

from xaikit.data import VideoError, VideoReader, open_video, write_video
from xaikit.data import _video_index as video_index

from .barcodes import (
    CONTAINERS,
    FLAVOURS,
    HEIGHT,
    WIDTH,
    barcode_frame,
    read_barcode,
    sequential_decode,
    truncate,
    write_barcode_video,
)


def test_barcode_oracle_reads_every_number():
    assert [read_barcode(barcode_frame(n)) for n in range(256)] == list(range(256))


@pytest.mark.parametrize("name", [flavour.name for flavour in FLAVOURS])
def test_shuffled_random_access_is_frame_exact(barcode_videos, name):
    path, flavour = barcode_videos[name]
    reader = open_video(path, frame_cache=1)  # a one-frame LRU forces real seeks
    assert len(reader) == flavour.frames
    order = list(range(flavour.frames)) * 2
    random.Random(0).shuffle(order)
    assert [read_barcode(reader[number]) for number in order] == order


# A cut mp4 or mov without faststart has lost its sample index: it does not open at all (see
# test_truncated_mp4). The other containers keep every frame that still decodes.
CUTTABLE = [f.name for f in CONTAINERS if f.suffix in (".avi", ".mkv", ".webm") or f.faststart]


@pytest.fixture(scope="module")
def container_videos(tmp_path_factory) -> dict[tuple[str, bool], tuple]:
    """{(flavour name, cut): (path, flavour)}: every CONTAINERS flavour, whole and with its
    last fifth cut off (CUTTABLE ones)."""
    folder = tmp_path_factory.mktemp("containers")
    videos = {}
    for flavour in CONTAINERS:
        for cut in (False, True) if flavour.name in CUTTABLE else (False,):
            path = folder / f"{flavour.name}{'-cut' if cut else ''}{flavour.suffix}"
            write_barcode_video(path, flavour)
            if cut:
                truncate(path, keep=0.8)
            videos[flavour.name, cut] = (path, flavour)
    return videos


def assert_matches_sequential_decode(path, flavour=None) -> int:
    """Read every frame of ``path`` twice in shuffled order through a one-frame LRU (so every
    jump seeks) and compare it bit for bit with PyAV's sequential decode; return the count."""
    reference = sequential_decode(path)
    reader = open_video(path, frame_cache=1, use_cache=False)
    assert len(reader) == len(reference) > 0
    order = list(range(len(reference))) * 2
    random.Random(1).shuffle(order)
    wrong = [n for n in order if not np.array_equal(reader[n], reference[n])]
    assert wrong == []
    if flavour is not None:  # uncut: the reference itself shows every written frame in order
        assert [read_barcode(frame) for frame in reference] == list(range(flavour.frames))
    return len(reference)


@pytest.mark.parametrize(
    ("name", "cut"),
    [(flavour.name, False) for flavour in CONTAINERS] + [(name, True) for name in CUTTABLE],
)
def test_every_container_is_frame_exact(container_videos, name, cut):
    path, flavour = container_videos[name, cut]
    count = assert_matches_sequential_decode(path, None if cut else flavour)
    if cut:  # the cut is real: frames are lost, and enough are left to seek among them
        assert flavour.frames // 3 < count < flavour.frames


def test_container_videos_have_the_properties_they_claim(container_videos):
    for name in ("h264-avi-bframes", "mpeg4-mkv-bframes", "h264-mov-vfr-bframes"):
        with av.open(str(container_videos[name, False][0])) as container:
            types = [frame.pict_type for frame in container.decode(video=0)]
        assert types.count(av.video.frame.PictureType.B) > 5, name
    for name in ("h264-mov-vfr-bframes", "vp9-webm-vfr", "h264-mkv-vfr-bframes"):
        steps = np.diff(open_video(container_videos[name, False][0], use_cache=False).timestamps)
        assert steps.max() > 1.5 * steps.min(), name


def test_avi_stamps_count_packets_yet_frames_are_exact(tmp_path):
    # The case: AVI stores no presentation stamps, H.264 reorders B-frames.
    frames = np.stack([barcode_frame(n) for n in range(50)])
    path = tmp_path / "r.avi"
    write_video(path, frames, fps=25)
    with av.open(str(path)) as container:
        stamps = [p.pts for p in container.demux(video=0) if p.size]
    assert stamps == sorted(stamps)  # in decode order: they prove nothing about display order
    reader = open_video(path, frame_cache=1)
    order = random.Random(2).sample(range(50), 50)
    assert [read_barcode(reader[n]) for n in order] == order
    assert reader.fps == pytest.approx(25)
    truncate(path, keep=0.7)  # the idx1 index at the end is gone
    count = assert_matches_sequential_decode(path)
    assert 10 < count < 50


def test_a_cut_file_with_no_frame_left_says_so(tmp_path):
    path = tmp_path / "stub.avi"
    write_barcode_video(path, CONTAINERS[0])  # H.264 in AVI; the cut falls in the first frame
    truncate(path, keep=0.6)
    assert sequential_decode(path) == []
    with pytest.raises(VideoError, match=r"stub\.avi: .*no frame that decodes"):
        open_video(path)


@pytest.mark.parametrize("name", [flavour.name for flavour in FLAVOURS])
def test_timestamps_are_the_written_ones(barcode_videos, name):
    path, flavour = barcode_videos[name]
    reader = open_video(path)
    np.testing.assert_allclose(reader.timestamps, np.array(flavour.pts()) / 30, atol=1e-3)
    expected_fps = (flavour.frames - 1) / ((flavour.pts()[-1] - flavour.pts()[0]) / 30)
    assert reader.fps == pytest.approx(expected_fps, rel=1e-3)
    assert reader.duration == pytest.approx(flavour.frames / expected_fps, rel=1e-3)
    assert reader.shape == (flavour.frames, HEIGHT, WIDTH, 3) == reader[:].shape
    assert (reader.height, reader.width) == (HEIGHT, WIDTH)


def test_test_videos_have_the_properties_they_claim(barcode_videos):
    path, _ = barcode_videos["h264-vfr-bframes"]
    with av.open(str(path)) as container:
        types = [frame.pict_type for frame in container.decode(video=0)]
    assert types.count(av.video.frame.PictureType.B) > 5
    steps = np.diff(open_video(path).timestamps)
    assert steps.max() > 1.5 * steps.min()
    assert len(open_video(path).keyframes) > 2


class SeekCounter:
    """Wraps a PyAV container (whose methods cannot be patched) and records every seek."""

    def __init__(self, container):
        self.container, self.seeks = container, []

    def seek(self, *args, **kwargs):
        self.seeks.append(args)
        return self.container.seek(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.container, name)


def test_sequential_reading_never_seeks(barcode_videos):
    path, flavour = barcode_videos["h264-cfr-bframes"]
    reader = open_video(path)
    reader._container = counter = SeekCounter(reader._container)
    frames = list(reader)
    assert [read_barcode(frame) for frame in frames] == list(range(flavour.frames))
    assert counter.seeks == []
    assert read_barcode(reader[3]) == 3  # a jump back seeks and still lands exactly
    assert len(counter.seeks) == 1


def test_forward_jump_within_a_group_of_pictures_decodes_on(barcode_videos):
    path, _ = barcode_videos["h264-cfr-bframes"]
    reader = open_video(path, frame_cache=1)
    reader[0]
    reader._container = counter = SeekCounter(reader._container)
    assert read_barcode(reader[4]) == 4
    assert counter.seeks == []  # frame 4 precedes the next keyframe: decode on, no seek
    assert read_barcode(reader[-1]) == len(reader) - 1
    assert len(counter.seeks) == 1


def test_slices_lists_negative_indices_and_clips(barcode_videos):
    path, flavour = barcode_videos["h264-vfr-bframes"]
    reader = open_video(path)
    assert reader[2:11:3].shape == (3, HEIGHT, WIDTH, 3)
    assert [read_barcode(f) for f in reader[2:11:3]] == [2, 5, 8]
    assert [read_barcode(f) for f in reader[[7, 1, 7]]] == [7, 1, 7]
    assert read_barcode(reader[-1]) == flavour.frames - 1
    assert reader[5:5].shape == (0, HEIGHT, WIDTH, 3)
    clip = reader.clip(10, 16, stride=2)
    assert clip.shape == (16, HEIGHT, WIDTH, 3) and clip.dtype == np.uint8
    assert [read_barcode(f) for f in clip] == list(range(10, 42, 2))


def test_returned_frames_are_copies(barcode_videos):
    reader = open_video(barcode_videos["h264-cfr"][0])
    reader[3][:] = 0
    assert read_barcode(reader[3]) == 3


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda r: r[45], IndexError, "out of range"),
        (lambda r: r[-46], IndexError, "out of range"),
        (lambda r: r[1.5], TypeError, "int, a slice"),
        (lambda r: r.clip(40, 6), ValueError, "ends at frame 45"),
        (lambda r: r.clip(0, 0), ValueError, "length must be"),
        (lambda r: r.clip(0, 2, stride=0), ValueError, "stride must be"),
        (lambda r: r.frame_at(-1.0), ValueError, "first frame"),
    ],
)
def test_bad_indices_raise_clear_errors(barcode_videos, call, error, words):
    reader = open_video(barcode_videos["h264-cfr"][0])
    with pytest.raises(error, match=words):
        call(reader)


def test_frame_at_maps_times_to_frames(barcode_videos):
    path, flavour = barcode_videos["h264-mkv-offset-vfr-bframes"]
    reader = open_video(path)
    for number, pts in enumerate(flavour.pts()):
        assert reader.frame_at(pts / 30 + 0.001) == number


def test_index_is_cached_beside_the_video_and_reused(barcode_video, monkeypatch):
    first = open_video(barcode_video)
    cache = barcode_video.parent / ".fresh.mp4.xaikit-index.npz"
    assert cache.is_file()

    def no_rebuild(*args):
        raise AssertionError("the index was rebuilt although a valid cache exists")

    monkeypatch.setattr(video_index, "build_index", no_rebuild)
    second = open_video(barcode_video)
    np.testing.assert_array_equal(second.pts, first.pts)
    assert second.time_base == first.time_base


def test_edited_video_is_reindexed(barcode_video, tmp_path):
    open_video(barcode_video)
    frames = np.stack([barcode_frame(n) for n in range(12)])
    write_video(barcode_video, frames, fps=12)  # same path, new content
    reader = open_video(barcode_video)
    assert len(reader) == 12 and reader.fps == pytest.approx(12)
    assert [read_barcode(f) for f in reader[::-1]] == list(range(11, -1, -1))


@pytest.mark.parametrize("damage", [b"", b"not an npz file", None])
def test_damaged_cache_is_rebuilt(barcode_video, damage):
    cache = barcode_video.parent / ".fresh.mp4.xaikit-index.npz"
    open_video(barcode_video)
    if damage is None:  # a valid npz with a shuffled, inconsistent index
        with np.load(cache) as stored:
            arrays = dict(stored)
        arrays["pts"] = arrays["pts"][::-1].copy()
        np.savez(cache, **arrays)
    else:
        cache.write_bytes(damage)
    reader = open_video(barcode_video)
    assert [read_barcode(reader[n]) for n in (29, 0, 15)] == [29, 0, 15]
    assert np.all(np.diff(np.load(cache)["pts"]) > 0)  # rewritten


def test_cache_falls_back_when_the_first_place_is_not_writable(barcode_video, tmp_path):
    index = open_video(barcode_video, use_cache=False)._index
    key = video_index.file_key(barcode_video)
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("")
    candidates = [blocker / "index.npz", tmp_path / "user-cache" / "index.npz"]
    written = video_index.save_cached(index, candidates, key)
    assert written == candidates[1]
    loaded = video_index.load_cached(candidates, key)
    np.testing.assert_array_equal(loaded.pts, index.pts)
    np.testing.assert_array_equal(loaded.tags, index.tags)
    assert video_index.save_cached(index, candidates[:1], key) is None
    assert sorted(p.name for p in candidates[1].parent.iterdir()) == ["index.npz"]


def _growing_during_indexing(monkeypatch, path, times: int) -> list:
    """Make the first ``times`` index builds rewrite ``path`` with one frame more each time,
    as a recorder still writing the file would; return the list of built lengths."""
    real_build, built = video_index.build_index, []

    def build_while_the_file_grows(video):
        index = real_build(video)
        built.append(len(index))
        if len(built) <= times:
            frames = np.stack([barcode_frame(n) for n in range(len(index) + 1)])
            write_video(path, frames, fps=30)
        return index

    monkeypatch.setattr(video_index, "build_index", build_while_the_file_grows)
    return built


def test_a_file_that_grows_while_indexed_is_indexed_again(barcode_video, monkeypatch):
    built = _growing_during_indexing(monkeypatch, barcode_video, times=1)
    reader = open_video(barcode_video)
    assert built == [30, 31] and len(reader) == 31
    assert read_barcode(reader[30]) == 30
    monkeypatch.undo()
    cache = barcode_video.parent / ".fresh.mp4.xaikit-index.npz"
    with np.load(cache) as stored:  # the key taken before the index that was kept
        np.testing.assert_array_equal(stored["key"], video_index.file_key(barcode_video))
        assert len(stored["pts"]) == 31
    assert len(open_video(barcode_video)) == 31


@pytest.mark.parametrize("use_cache", [True, False])
def test_a_file_that_keeps_growing_is_refused(barcode_video, monkeypatch, use_cache):
    _growing_during_indexing(monkeypatch, barcode_video, times=2)
    with pytest.raises(VideoError, match=r"fresh\.mp4: the file changed while it was being index"):
        open_video(barcode_video, use_cache=use_cache)
    assert not (barcode_video.parent / ".fresh.mp4.xaikit-index.npz").exists()


def test_an_unfinished_write_is_refused(barcode_video):
    partial = barcode_video.parent / ".fresh.mp4.k2j4x9.partial"
    partial.write_bytes(barcode_video.read_bytes())  # a complete video under a .partial name
    with pytest.raises(VideoError, match=r"unfinished write \(a temporary \.partial file"):
        open_video(partial)


def test_default_cache_places(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    video = tmp_path / "v.mp4"
    beside, user = video_index.cache_paths(video, None)
    assert beside == tmp_path / ".v.mp4.xaikit-index.npz"
    assert user.parent == tmp_path / "xdg" / "xaikit" / "video-index"
    (explicit,) = video_index.cache_paths(video, tmp_path / "mine")
    assert explicit.parent == tmp_path / "mine"


def test_use_cache_false_writes_nothing(barcode_video):
    reader = open_video(barcode_video, use_cache=False)
    assert len(reader) == 30
    assert list(barcode_video.parent.iterdir()) == [barcode_video]


def test_reader_pickles_and_reopens(barcode_videos):
    reader = open_video(barcode_videos["h264-vfr-bframes"][0])
    clone = pickle.loads(pickle.dumps(reader))
    assert read_barcode(clone[17]) == 17 and len(clone) == len(reader)


def test_close_and_context_manager(barcode_videos):
    with open_video(barcode_videos["h264-cfr"][0]) as reader:
        reader[5]
    assert reader._container is None
    assert read_barcode(reader[6]) == 6  # reopens on demand
    assert "shape=(45, " in repr(reader)
    reader.close()
    assert reader.shape[0] == 45  # known without the file open


# ------------------------------------------------------------------------------ bad files


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match=r"nothing\.mp4: the file does not exist"):
        open_video(tmp_path / "nothing.mp4")


def test_empty_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match=r"empty\.mp4: the file is empty"):
        open_video(tmp_path / "empty.mp4")


def test_folder(tmp_path):
    with pytest.raises(VideoError, match="folder, not a file"):
        open_video(tmp_path)


def test_garbage_file(tmp_path):
    path = tmp_path / "garbage.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    with pytest.raises(VideoError, match=r"garbage\.mp4: .*corrupt or unsupported"):
        open_video(path)


def test_truncated_mp4(barcode_video):
    data = barcode_video.read_bytes()
    barcode_video.write_bytes(data[: len(data) // 2])  # PyAV writes the moov index last
    with pytest.raises(VideoError, match=r"fresh\.mp4: "):
        open_video(barcode_video)


def test_audio_only_file(tmp_path):
    path = tmp_path / "sound.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(VideoError, match=r"sound\.wav: the file contains no video stream"):
        open_video(path)


def test_error_names_file_and_problem(tmp_path):
    error = VideoError(tmp_path / "x.mp4", "broken")
    assert error.path.endswith("x.mp4") and error.problem == "broken"
    assert pickle.loads(pickle.dumps(error)).problem == "broken"


# ------------------------------------------------------------------------------ writing


def _decode_independently(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return frames, stream.average_rate


@pytest.mark.parametrize("as_iterable", [False, True])
def test_write_video_round_trips(tmp_path, as_iterable):
    frames = np.stack([barcode_frame(n) for n in range(20)])
    path = tmp_path / "out.mp4"
    write_video(path, iter(list(frames)) if as_iterable else frames, fps=29.97)
    decoded, rate = _decode_independently(path)
    assert [read_barcode(f) for f in decoded] == list(range(20))
    assert rate == Fraction(30000, 1001)
    assert np.abs(np.stack(decoded).astype(int) - frames).mean() < 3  # crf 18: near lossless
    reader = open_video(path)
    assert reader.fps == pytest.approx(30000 / 1001, rel=1e-4)


def test_write_video_odd_size_and_other_containers(tmp_path):
    frames = np.stack([barcode_frame(n)[:63, :95] for n in range(4)])
    write_video(tmp_path / "odd.mp4", frames, fps=10)
    odd = open_video(tmp_path / "odd.mp4")
    assert odd.shape == (4, 63, 95, 3) and (odd.height, odd.width) == (63, 95)
    assert "shape=(4, 63, 95, 3)" in repr(odd)
    write_video(tmp_path / "clip.mkv", frames[:, :62, :94], fps=10, codec="mpeg4")
    decoded, _ = _decode_independently(tmp_path / "clip.mkv")
    assert len(decoded) == 4 and decoded[0].shape == (62, 94, 3)


@pytest.mark.parametrize(
    ("frames", "fps", "words"),
    [
        (np.zeros((2, 8, 8, 3), np.float32), 10, r"\(H, W, 3\) uint8"),
        (np.zeros((2, 8, 8), np.uint8), 10, r"\(H, W, 3\) uint8"),
        ([np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8)], 10, "same size"),
        ([], 10, "at least one frame"),
        (np.zeros((2, 8, 8, 3), np.uint8), 0, "fps must be"),
        (np.zeros((2, 8, 8, 3), np.uint8), float("nan"), "fps must be"),
    ],
)
def test_write_video_rejects_bad_input(tmp_path, frames, fps, words):
    with pytest.raises(ValueError, match=words):
        write_video(tmp_path / "bad.mp4", frames, fps=fps)
    assert not (tmp_path / "bad.mp4").exists()


def test_write_video_bad_places_and_codecs(tmp_path):
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(VideoError, match="does not exist"):
        write_video(tmp_path / "no" / "such" / "x.mp4", frames, fps=10)
    with pytest.raises(VideoError, match="not available"):
        write_video(tmp_path / "x.mp4", frames, fps=10, codec="no-such-codec")
    with pytest.raises(VideoError, match="container format"):
        write_video(tmp_path / "x.unknownsuffix", frames, fps=10)


def test_frame_cache_must_be_positive(barcode_videos):
    with pytest.raises(ValueError, match="frame_cache"):
        VideoReader(barcode_videos["h264-cfr"][0], frame_cache=0)


def test_write_video_puts_a_keyframe_every_second_by_default(tmp_path):
    frames = np.stack([barcode_frame(n) for n in range(25)])
    write_video(tmp_path / "default.mp4", frames, fps=10)
    write_video(tmp_path / "every5.mp4", frames, fps=10, keyframe_interval=5)
    # x264 may add keyframes at scene cuts; the interval bounds the gap between them.
    for name, interval in (("default.mp4", 10), ("every5.mp4", 5)):
        keyframes = open_video(tmp_path / name).keyframes
        assert keyframes[0] == 0
        assert np.diff(np.append(keyframes, len(frames))).max() <= interval
    with pytest.raises(ValueError, match="keyframe_interval"):
        write_video(tmp_path / "bad.mp4", frames, fps=10, keyframe_interval=0)


def test_a_failed_write_keeps_the_existing_file(tmp_path):
    path = tmp_path / "keep.mp4"
    write_video(path, np.stack([barcode_frame(n) for n in range(3)]), fps=10)
    before = path.read_bytes()
    mismatched = [barcode_frame(0), barcode_frame(1)[:40]]
    with pytest.raises(ValueError, match="same size"):
        write_video(path, mismatched, fps=10)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mp4"]


@pytest.mark.parametrize("suffix", [".avi", ".mkv", ".mov", ".webm"])
def test_write_video_picks_the_container_from_the_real_name(tmp_path, suffix):
    codec = "libvpx" if suffix == ".webm" else "libx264"
    path = tmp_path / f"clip{suffix}"
    write_video(path, np.stack([barcode_frame(n) for n in range(6)]), fps=10, codec=codec)
    with av.open(str(path)) as container:
        expected = {".avi": "avi", ".mkv": "matroska", ".mov": "mov", ".webm": "matroska"}
        assert expected[suffix] in container.format.name
    assert [read_barcode(f) for f in open_video(path)] == list(range(6))
    cache = f".{path.name}.xaikit-index.npz"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, cache])


def test_a_stream_without_b_frames_is_indexed_without_decoding(tmp_path, monkeypatch):
    # Most lab cameras write H.264 without B-frames: the headers say so, and the stored order
    # is the display order, so indexing a long recording costs a demux, not a decode.
    path = tmp_path / "camera.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"bf": "0"}
        for n in range(30):
            frame = av.VideoFrame.from_ndarray(barcode_frame(n)[:48, :64].copy(), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)

    def no_decode(*args):
        raise AssertionError("a stream without B-frames was decoded to index it")

    monkeypatch.setattr(video_index, "_decoded_order", no_decode)
    assert assert_matches_sequential_decode(path) == 30
