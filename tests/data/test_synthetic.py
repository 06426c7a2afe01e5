import numpy as np
import pandas as pd
import pytest

from xaikit.data import open_video
from xaikit.data.annotations import read_coco, read_yolo
from xaikit.data.fixations import display_to_image, fixation_map
from xaikit.data.synthetic import ACTIONS, CLASSES, actions, arena, observers, shapes


def box_area(table):
    return (table.x1 - table.x0) * (table.y1 - table.y0)


def overlap(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0) * max(height, 0)


# ------------------------------------------------------------------------------ arena


@pytest.fixture(scope="module")
def open_field():
    return arena("open_field", frames=90, fur="light", seed=4)


@pytest.fixture(scope="module")
def pair():
    return arena("resident_intruder", frames=300, shape=(240, 320), seed=2)


def test_arena_is_deterministic():
    first = arena("resident_intruder", frames=10, shape=(120, 160), seed=7)
    again = arena("resident_intruder", frames=10, shape=(120, 160), seed=7)
    other = arena("resident_intruder", frames=10, shape=(120, 160), seed=8)
    np.testing.assert_array_equal(first.frames, again.frames)
    pd.testing.assert_frame_equal(first.truth, again.truth)
    assert not np.array_equal(first.frames, other.frames)


@pytest.mark.parametrize(
    ("setup", "shape", "mice"),
    [
        ("open_field", (480, 640), 1),
        ("home_cage", (240, 320), 1),
        ("resident_intruder", (480, 640), 2),
    ],
)
def test_arena_setups_have_the_papers_sizes(setup, shape, mice):
    clip = arena(setup, frames=2, seed=0)
    assert clip.frames.shape == (2, *shape, 3) and clip.frames.dtype == np.uint8
    assert clip.truth["track"].nunique() == mice and len(clip.truth) == 2 * mice
    assert clip.setup == setup and clip.fps == 30


def test_arena_boxes_are_tight_around_the_visible_mouse():
    # A light mouse on a dark floor, tail included in the box: every pixel much brighter than
    # the floor around the box lies inside the box, and every box edge touches such a pixel.
    clip = arena("open_field", frames=40, fur="light", tail_in_box=True, seed=5)
    checked = 0
    for row in clip.truth.itertuples():
        x0, y0, x1, y1 = int(row.x0), int(row.y0), int(row.x1), int(row.y1)
        margin = 8
        if x0 < 80 or y0 < 80 or x1 > 640 - 80 or y1 > 480 - 80:
            continue  # near a wall, where its reflection shows
        region = clip.frames[row.frame, y0 - margin : y1 + margin, x0 - margin : x1 + margin]
        brightness = region.astype(float).mean(axis=2)
        ring = np.ones(brightness.shape, bool)
        ring[margin:-margin, margin:-margin] = False
        mouse = brightness > 1.4 * np.median(brightness[ring])
        assert not mouse[ring].any()
        inside = mouse[margin:-margin, margin:-margin]
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
        checked += 1
    assert checked > 10


def test_arena_tail_is_outside_the_default_box(open_field):
    with_tail = arena("open_field", frames=90, fur="light", seed=4, tail_in_box=True)
    assert (box_area(with_tail.truth) > box_area(open_field.truth) * 1.2).mean() > 0.5
    assert np.array_equal(with_tail.frames, open_field.frames)  # same pictures


def test_arena_heading_follows_motion(open_field):
    truth = open_field.truth
    step = np.diff(truth[["cx", "cy"]].to_numpy(), axis=0)
    moving = np.hypot(*step.T) > 2.5
    direction = np.arctan2(step[:, 1], step[:, 0])
    error = np.angle(np.exp(1j * (direction - truth["heading"].to_numpy()[1:])))
    assert moving.sum() > 20
    assert np.median(np.abs(error[moving])) < 0.35


def test_arena_has_rest_walk_run_bouts_and_centroids_in_boxes(pair, open_field):
    truth = pd.concat([pair.truth, open_field.truth])
    assert {"rest", "walk", "run", "approach"} <= set(truth["state"])
    assert (
        truth.groupby("state")["speed"].mean()["run"]
        > truth.groupby("state")["speed"].mean()["walk"]
    )
    assert ((truth.cx > truth.x0) & (truth.cx < truth.x1)).all()
    assert ((truth.cy > truth.y0) & (truth.cy < truth.y1)).all()


def test_resident_and_intruder_cross(pair):
    by_frame = pair.truth.set_index(["frame", "track"])
    overlaps = [overlap(by_frame.loc[(frame, 0)], by_frame.loc[(frame, 1)]) for frame in range(300)]
    assert max(overlaps) > 0
    assert set(pair.truth.groupby("track")["fur"].first()) == {"dark", "light"}


def test_visibility_counts_the_body_pixels_the_other_mouse_hides(pair, open_field):
    assert (open_field.truth["visible"] == 1.0).all()
    truth = pair.truth
    assert (truth.loc[truth.track == 1, "visible"] == 1.0).all()  # drawn last, never covered
    hidden = truth[(truth.track == 0) & (truth.visible < 0.5)]
    assert len(hidden) > 0
    # Only a mouse whose box the intruder's (tail included) reaches can lose pixels.
    by_frame = arena("resident_intruder", frames=300, shape=(240, 320), seed=2, tail_in_box=True)
    boxes = by_frame.truth.set_index(["frame", "track"])
    resident = truth[truth.track == 0].set_index("frame")["visible"]
    apart = [f for f in range(300) if overlap(boxes.loc[(f, 0)], boxes.loc[(f, 1)]) == 0]
    assert len(apart) > 0 and (resident.loc[apart] == 1.0).all()


def test_home_cage_rearing_points_the_head_up():
    clip = arena("home_cage", frames=300, seed=1)
    rearing = clip.truth[clip.truth["state"] == "rear"]
    assert len(rearing) > 10
    finished = rearing[rearing["frame"] < 290]  # a bout cut by the clip's end may be rising
    late = finished.groupby((finished["frame"].diff() != 1).cumsum()).tail(3)
    assert (np.sin(late["heading"]) < -0.5).all()  # image y points down: up is negative


def test_arena_exports_video_and_annotations(tmp_path):
    clip = arena("resident_intruder", frames=12, shape=(120, 160), seed=3)
    paths = clip.save(tmp_path, name="ri", formats=("yolo", "coco", "voc"), images=True)
    reader = open_video(paths["video"])
    assert len(reader) == 12 and reader.shape == clip.shape == (12, 120, 160, 3)
    assert (clip.height, clip.width) == (120, 160) and reader.fps == pytest.approx(30)
    assert np.abs(reader[:].astype(int) - clip.frames).mean() < 4
    coco = read_coco(paths["coco"])
    assert len(coco.boxes) == 24 and coco.classes == ["mouse"]
    np.testing.assert_allclose(
        coco.boxes[["x0", "y0", "x1", "y1"]], clip.truth[["x0", "y0", "x1", "y1"]]
    )
    assert coco.boxes["track"].tolist() == clip.truth["track"].tolist()
    yolo = read_yolo(paths["yolo"])  # shapes read from the written jpgs
    assert len(yolo.images) == 12 and len(yolo.boxes) == 24
    assert pd.read_csv(paths["truth"]).shape == clip.truth.shape


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"setup": "maze"}, "unknown setup 'maze'; choose one of"),
        ({"setup": "home_cage", "mice": 2}, "mice must be 1 or 2"),
        ({"mice": 3}, "mice must be 1 or 2"),
        ({"fur": "green"}, "fur must be"),
        ({"frames": 0}, "frames must be"),
        ({"shape": (32, 32)}, r"shape must be \(height, width\) in pixels, at least \(48, 64\)"),
        ({"fps": 0}, "fps must be positive"),
    ],
)
def test_arena_rejects_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        arena(**{"frames": 2, **kwargs})


def test_arena_save_rejects_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        arena(frames=1, shape=(48, 64)).save(tmp_path, formats=("kitti",))


def test_every_generator_takes_height_width():
    # 48 rows, 64 columns: a transposed size would give 64x48 frames.
    clip = arena("open_field", frames=1, shape=(48, 64), seed=0)
    assert clip.frames.shape == clip.shape == (1, 48, 64, 3)
    assert (clip.height, clip.width) == (48, 64)
    assert clip.annotations().images[["width", "height"]].values.tolist() == [[64, 48]]
    assert shapes(1, shape=(48, 64), seed=0).images.shape == (1, 48, 64, 3)
    assert actions(1, frames=2, shape=(48, 64), seed=0).clips.shape == (1, 2, 48, 64, 3)
    with pytest.raises(ValueError, match=r"shape must be \(height, width\) in pixels, two ints"):
        shapes(1, shape=np.zeros((48, 64, 3), np.uint8))  # an image is not a generator's shape


# ------------------------------------------------------------------------------ shapes


def test_shapes_boxes_labels_and_masks_agree():
    data = shapes(12, (80, 96), seed=3)
    assert data.images.shape == (12, 80, 96, 3) and data.masks.shape == (12, 80, 96)
    for index, name in enumerate(data.annotations.images["image"]):
        boxes = data.annotations.boxes_of(name)
        assert len(boxes) >= 1
        for number, box in enumerate(boxes.itertuples()):
            rows, columns = np.nonzero(data.masks[index] == number)
            assert (box.x0, box.y0, box.x1, box.y1) == (
                columns.min(),
                rows.min(),
                columns.max() + 1,
                rows.max() + 1,
            )
        largest = boxes.iloc[
            [np.argmax([np.sum(data.masks[index] == k) for k in range(len(boxes))])]
        ]
        assert data.classes[data.labels[index]] == largest["label"].item()


def test_shapes_are_deterministic_and_cover_every_class():
    first, again = shapes(30, (64, 64), seed=1), shapes(30, (64, 64), seed=1)
    np.testing.assert_array_equal(first.images, again.images)
    assert set(first.annotations.boxes["label"]) == set(CLASSES)
    assert not np.array_equal(first.images, shapes(30, (64, 64), seed=2).images)


def test_shapes_respect_object_counts_and_classes():
    data = shapes(10, (128, 128), classes=("star", "cross"), objects=(2, 2), seed=0)
    assert data.annotations.boxes.groupby("image").size().eq(2).all()
    assert set(data.annotations.boxes["label"]) <= {"star", "cross"}
    assert data.classes == ["star", "cross"]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"classes": ("hexagon",)}, "subset of"),
        ({"n": 0}, "n must be"),
        ({"objects": (2, 1)}, "objects must be"),
        ({"shape": (64, 16)}, r"at least \(32, 32\); got \(64, 16\)"),
    ],
)
def test_shapes_reject_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        shapes(**kwargs)


# ------------------------------------------------------------------------------ actions


@pytest.fixture(scope="module")
def action_set():
    return actions(len(ACTIONS), seed=0)


def centres(action_set, clip):
    boxes = action_set.boxes[action_set.boxes["clip"] == clip]
    return (boxes.x0 + boxes.x1).to_numpy() / 2, (boxes.y0 + boxes.y1).to_numpy() / 2, boxes


def test_actions_shapes_and_labels(action_set):
    assert action_set.clips.shape == (8, 16, 112, 112, 3)
    assert action_set.labels.tolist() == list(range(8)) and action_set.actions == list(ACTIONS)
    assert len(action_set.boxes) == 8 * 16


@pytest.mark.parametrize(
    ("action", "check"),
    [
        ("move_left", lambda x, y, b: np.all(np.diff(x) < 0)),
        ("move_right", lambda x, y, b: np.all(np.diff(x) > 0)),
        ("move_up", lambda x, y, b: np.all(np.diff(y) < 0)),
        ("move_down", lambda x, y, b: np.all(np.diff(y) > 0)),
        ("grow", lambda x, y, b: box_area(b).iloc[-1] > 2 * box_area(b).iloc[0]),
        ("bounce", lambda x, y, b: (np.diff(y) < 0).sum() >= 3 and (np.diff(y) > 0).sum() >= 3),
        ("rotate", lambda x, y, b: np.ptp(b.x1 - b.x0) > 3 or np.ptp(b.y1 - b.y0) > 3),
        ("wave", lambda x, y, b: np.ptp(b.y0) > 2 or np.ptp(b.x1) > 2),
    ],
)
def test_each_action_moves_as_named(action_set, action, check):
    x, y, boxes = centres(action_set, ACTIONS.index(action))
    assert check(x, y, boxes)


def test_actions_are_deterministic(action_set):
    np.testing.assert_array_equal(actions(len(ACTIONS), seed=0).clips, action_set.clips)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"actions": ("jump",)}, "subset of"),
        ({"frames": 1}, "frames must be"),
        ({"n": 0}, "n must be"),
        ({"shape": (20, 64)}, r"at least \(32, 32\); got \(20, 64\)"),
    ],
)
def test_actions_reject_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        actions(**kwargs)


# ------------------------------------------------------------------------------ observers


@pytest.fixture(scope="module")
def scenes():
    return shapes(6, (150, 200), seed=5)


def test_observers_timing_and_subjects(scenes):
    table = observers(scenes, subjects=4, seed=1)
    assert sorted(table["subject"].unique()) == ["s01", "s02", "s03", "s04"]
    assert (table["duration"] >= 80).all()
    assert 200 < table["duration"].mean() < 320
    for _, viewing in table.groupby(["subject", "image"]):
        assert viewing["start"].is_monotonic_increasing
        assert (viewing["start"] + viewing["duration"]).max() <= 5000
        assert len(viewing) >= 10
    assert table.equals(observers(scenes, subjects=4, seed=1))


def test_observers_look_at_objects(scenes):
    table = observers(scenes, subjects=5, object_bias=1.0, seed=0)
    later = table[table["start"] > 0]
    assert later["target"].notna().all()
    boxes = scenes.annotations.boxes
    for row in later.itertuples():
        candidates = boxes[(boxes["image"] == row.image) & (boxes["label"] == row.target)]
        inside = (
            (candidates.x0 <= row.x)
            & (row.x < candidates.x1)
            & (candidates.y0 <= row.y)
            & (row.y < candidates.y1)
        )
        assert inside.any()
    free = observers(scenes, subjects=5, object_bias=0.0, seed=0)
    assert free["target"].isna().all()
    assert abs(free["x"].mean() - 100) < 10 and abs(free["y"].mean() - 75) < 8


def test_observers_on_screen_invert_display_to_image(scenes):
    image_space = observers(scenes, subjects=2, seed=3)
    screen = observers(scenes, subjects=2, seed=3, screen=(1080, 1920), scale=2)
    back = display_to_image(screen, (150, 200), (1080, 1920), scale=2)
    np.testing.assert_allclose(back[["x", "y"]], image_space[["x", "y"]])


def test_observer_maps_peak_on_objects(scenes):
    table = observers(scenes, subjects=10, seed=0)
    first = scenes.annotations.images["image"][0]
    human = fixation_map(table[table["image"] == first], scenes.images[0], renormalize=True)
    on_objects = scenes.masks[0] >= 0
    assert human[on_objects].mean() > 1.5 * human[~on_objects].mean()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"subjects": 0}, ValueError), ({"object_bias": 2}, ValueError), ({"scale": 2}, ValueError)],
)
def test_observers_reject_bad_arguments(scenes, kwargs, error):
    with pytest.raises(error):
        observers(scenes, **kwargs)
    with pytest.raises(TypeError, match="Annotations"):
        observers(np.zeros(3))


def test_hidden_mice_are_difficult_in_voc_files(pair, tmp_path):
    from xaikit.data.annotations import read_voc
    from xaikit.data.synthetic import MIN_VISIBLE

    paths = pair.save(tmp_path, name="ri", formats=("voc",))
    boxes = read_voc(paths["voc"]).boxes.sort_values(["image", "x0"]).reset_index(drop=True)
    truth = pair.truth.assign(image=[f"ri_{f:06d}.jpg" for f in pair.truth["frame"]])
    truth = truth.sort_values(["image", "x0"]).reset_index(drop=True)
    hidden = (truth["visible"] < MIN_VISIBLE).astype(int)
    assert hidden.sum() > 0 and boxes["difficult"].tolist() == hidden.tolist()
