"""Public fixation datasets: OSIE for real; MIT1003, CAT2000 and folders as generated copies."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.io import savemat

import xaikit as xk
from tests.loopback import serve
from tests.realdata import real_path
from xaikit._download import DownloadError
from xaikit.data import datasets
from xaikit.data.datasets.download import Resource
from xaikit.data.errors import DataFileError
from xaikit.data.fixations import fixation_map, fixation_mask

# ------------------------------------------------------------------------------ OSIE, real


@pytest.fixture(scope="module")
def real_osie():
    root = real_path("eyetracking", "osie")
    with pytest.warns(UserWarning, match="skipped 600 of 700 images") as caught:
        dataset = datasets.osie(root)
    assert len(caught) == 1
    csv = pd.read_csv(root / "fixations.csv")
    return dataset, csv


@pytest.mark.realdata
def test_osie_loads_its_100_images_15_observers_and_13785_fixations(real_osie):
    dataset, _ = real_osie
    assert (len(dataset), len(dataset.subjects), len(dataset.fixations)) == (100, 15, 13785)
    assert dataset.images[:2] == ["1001.jpg", "1002.jpg"] and dataset.sigma == 24
    assert dataset.shape("1001.jpg") == (600, 800)
    assert dataset.image("1050.jpg").shape == (600, 800, 3)
    assert dataset.check_sizes() == 0
    assert list(dataset.fixations.columns) == list(datasets.COLUMNS)


@pytest.mark.realdata
def test_osie_fixations_are_its_csv_half_a_pixel_up_left(real_osie):
    dataset, csv = real_osie
    csv = csv.sort_values(["image", "subject", "fix_index"], kind="stable").reset_index(drop=True)
    ours = dataset.fixations
    assert ours["image"].tolist() == csv["image"].tolist()
    assert ours["subject"].tolist() == csv["subject"].tolist()
    np.testing.assert_array_equal(ours["x"], csv["x"] - 0.5)
    np.testing.assert_array_equal(ours["y"], csv["y"] - 0.5)
    np.testing.assert_array_equal(ours["duration"], csv["duration_ms"])


def _round_half_away(values):
    return np.floor(np.abs(values) + 0.5) * np.sign(values)


@pytest.mark.realdata
def test_osie_maps_and_scores_equal_those_from_its_csv(real_osie):
    dataset, csv = real_osie
    names = dataset.images[:4]
    from_csv = csv.rename(columns={"duration_ms": "duration"}).assign(
        x=csv["x"] - 0.5, y=csv["y"] - 0.5
    )
    for name in names:
        ours, theirs = dataset.fixations_of(name), from_csv[from_csv["image"] == name]
        np.testing.assert_array_equal(
            fixation_map(ours, (600, 800), 24, 168), fixation_map(theirs, (600, 800), 24, 168)
        )
        # OSIE's own binary map: round half away from zero, then 1-based to 0-based.
        expected = np.zeros((600, 800), bool)
        rows = _round_half_away(theirs["y"].to_numpy() + 0.5).astype(int) - 1
        columns = _round_half_away(theirs["x"].to_numpy() + 0.5).astype(int) - 1
        expected[rows, columns] = True
        np.testing.assert_array_equal(fixation_mask(ours, (600, 800)), expected)
    saliency = {("centre", ""): np.stack([np.ones((600, 800)) for _ in names])}
    saliency[("centre", "")][:, 200:400, 300:500] = 2.0
    scores = [
        xk.study.fixation_scores(
            saliency, *xk.study.human_references(table, names, (600, 800), sigma=24, kernel=168)
        )
        for table in (dataset.fixations, from_csv)
    ]
    pd.testing.assert_frame_equal(*scores)


@pytest.mark.realdata
def test_osie_resized_keeps_fixations_on_their_content(real_osie):
    dataset, _ = real_osie
    images, fixations = dataset.resized((240, 320), names=["1001.jpg", "1002.jpg"])
    assert images.shape == (2, 240, 320, 3) and images.dtype == np.uint8
    original = dataset.fixations[dataset.fixations["image"].isin(["1001.jpg", "1002.jpg"])]
    np.testing.assert_allclose(fixations["x"], original["x"].to_numpy() * 0.4)
    np.testing.assert_allclose(fixations["y"], original["y"].to_numpy() * 0.4)


@pytest.mark.realdata
def test_osie_round_trips_through_pysaliency(real_osie):
    pytest.importorskip("pysaliency")
    dataset, _ = real_osie
    small = datasets.folder(
        dataset.root / "data" / "stimuli",
        dataset.fixations[dataset.fixations["image"].isin(dataset.images[:3])],
        name="OSIE",
    )
    stimuli, trains = datasets.to_pysaliency(small)
    assert len(stimuli) == 3 and trains.subject_count == 15
    np.testing.assert_array_equal(trains.x_int, np.floor(small.fixations["x"]).astype(int))
    back = datasets.from_pysaliency(stimuli, trains, name="OSIE")
    pd.testing.assert_frame_equal(
        back.fixations.drop(columns="onset"), small.fixations.drop(columns="onset")
    )
    assert back.images == small.images and back.shape("1002.jpg") == (600, 800)


# ------------------------------------------------------------------------------ OSIE layout


def _image(path, shape=(30, 40)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*shape, 3), 128, np.uint8)).save(path)


def _osie_copy(root, subjects_per_image, present=("1.jpg", "2.jpg")):
    records = np.empty((len(subjects_per_image), 1), dtype=object)
    for index, subjects in enumerate(subjects_per_image):
        cell = np.empty((len(subjects), 1), dtype=object)
        for j, (x, y, duration) in enumerate(subjects):
            cell[j, 0] = {
                "fix_x": np.array([x], float),
                "fix_y": np.array([y], float),
                "fix_duration": np.array([duration], float),
            }
        records[index, 0] = {"img": f"{index + 1}.jpg", "subjects": cell}
    (root / "data" / "eye").mkdir(parents=True)
    savemat(root / "data" / "eye" / "fixations.mat", {"fixations": records})
    for name in present:
        _image(root / "data" / "stimuli" / name)
    return root


def test_an_osie_copy_converts_matlab_pixels_and_counts_gaps(tmp_path):
    subjects = [
        [([1.0, 40.0], [1.0, 30.0], [100, 200]), ([20.5], [15.5], [300])],
        [([], [], [])],  # an observer without fixations
        [([5.0], [5.0], [50])],  # its image is not in the folder
    ]
    root = _osie_copy(tmp_path, subjects)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = datasets.osie(root)
    messages = sorted(str(warning.message) for warning in caught)
    assert len(messages) == 2
    assert "1 observer-image pair(s)" in messages[0] and "skipped 1 of 2 images" in messages[1]
    assert dataset.images == ["1.jpg"]
    assert dataset.fixations[["subject", "x", "y", "duration"]].values.tolist() == [
        [0, 0.5, 0.5, 100.0],
        [0, 39.5, 29.5, 200.0],
        [1, 20.0, 15.0, 300.0],
    ]
    assert fixation_mask(dataset.fixations, (30, 40))[[0, 29, 15], [0, 39, 20]].all()


def test_a_mat_of_another_layout_is_a_clear_error(tmp_path):
    (tmp_path / "data" / "eye").mkdir(parents=True)
    _image(tmp_path / "data" / "stimuli" / "1.jpg")
    savemat(tmp_path / "data" / "eye" / "fixations.mat", {"fixLocs": np.eye(3)})
    with pytest.raises(DataFileError, match="no 'fixations' variable"):
        datasets.osie(tmp_path)
    savemat(tmp_path / "data" / "eye" / "fixations.mat", {"fixations": np.eye(3)})
    with pytest.raises(DataFileError, match="expected a struct with fields"):
        datasets.osie(tmp_path)
    (tmp_path / "data" / "eye" / "fixations.mat").write_text("not a mat file")
    with pytest.raises(DataFileError, match="cannot be read as a MATLAB .mat file"):
        datasets.osie(tmp_path)


def test_images_of_other_sizes_than_the_fixations_imply_are_reported(tmp_path):
    root = _osie_copy(tmp_path, [[([39.0], [29.0], [100])]], present=("1.jpg",))
    _image(root / "data" / "stimuli" / "1.jpg", shape=(15, 20))  # a half-size copy
    dataset = datasets.osie(root)
    with pytest.warns(UserWarning, match="1 of 1 fixations lie outside their image"):
        assert dataset.check_sizes() == 1


# ------------------------------------------------------------------------------ MIT1003


def _gaze(*runs):
    """240 Hz samples: ``(x, y, samples)`` runs; x < 0 marks lost samples."""
    return np.vstack([np.tile([[x, y]], (count, 1)) for x, y, count in runs]).astype(float)


def _mit_copy(root):
    _image(root / "ALLSTIMULI" / "street_1.jpeg", shape=(80, 100))
    # the central cross, 50 ms lost, then 200 ms at (30, 20) and 150 ms at (70.5, 50)
    eye = _gaze((50, 40, 48), (-1, -1, 12), (30, 20, 48), (70.5, 50, 36))
    for subject in ("ajs", "CNG"):
        (root / "DATA" / subject).mkdir(parents=True)
        savemat(
            root / "DATA" / subject / "street_1.mat",
            {"street_1": {"DATA": np.array([[{"eyeData": eye}]], dtype=object)}},
        )
    return root


def test_an_mit1003_copy_gives_fixations_from_its_raw_gaze(tmp_path):
    dataset = datasets.mit1003(_mit_copy(tmp_path))
    assert dataset.images == ["street_1.jpeg"] and dataset.subjects == ["CNG", "ajs"]
    rows = dataset.fixations_of("street_1.jpeg")
    assert (
        rows[["x", "y", "onset", "duration"]].values.tolist()
        == [
            [29.5, 19.5, 250.0, 200.0],
            [70.0, 49.5, 450.0, 150.0],
        ]
        * 2
    )
    # 19-inch 5:4 screen: 37.683 cm for 1280 px; at 61 cm a degree is 1.06468 cm: 36.163 px.
    assert dataset.pixels_per_degree == pytest.approx(36.163, abs=1e-3)
    first = datasets.mit1003(tmp_path, initial_fixation=True).fixations_of("street_1.jpeg")
    assert first["x"].tolist()[:1] == [49.5] and len(first) == 6


def test_an_mit1003_mat_of_another_layout_is_a_clear_error(tmp_path):
    root = _mit_copy(tmp_path)
    savemat(root / "DATA" / "ajs" / "street_1.mat", {"other": np.eye(2)})
    with pytest.raises(DataFileError, match="no variable 'street_1'"):
        datasets.mit1003(root)


# ------------------------------------------------------------------------------ CAT2000


def test_a_cat2000_copy_pools_its_fixated_pixels(tmp_path):
    _image(tmp_path / "Stimuli" / "Action" / "001.jpg", shape=(6, 8))
    locations = np.zeros((6, 8))
    locations[1, 2] = locations[5, 7] = 1
    (tmp_path / "FIXATIONLOCS" / "Action").mkdir(parents=True)
    savemat(tmp_path / "FIXATIONLOCS" / "Action" / "001.mat", {"fixLocs": locations})
    dataset = datasets.cat2000(tmp_path)
    assert dataset.images == ["Action/001.jpg"]
    assert dataset.fixations[["subject", "x", "y"]].values.tolist() == [
        ["pooled", 2.5, 1.5],
        ["pooled", 7.5, 5.5],
    ]
    assert dataset.fixations["duration"].isna().all()
    np.testing.assert_array_equal(fixation_mask(dataset.fixations, (6, 8)), locations > 0)
    # no durations: each fixated pixel weighs 1 in the map
    np.testing.assert_array_equal(
        fixation_map(dataset.fixations, (6, 8), 1, 3),
        fixation_map(dataset.fixations[["x", "y"]].to_numpy(), (6, 8), 1, 3),
    )
    savemat(tmp_path / "FIXATIONLOCS" / "Action" / "001.mat", {"fixLocs": np.eye(3)})
    with pytest.raises(DataFileError, match=r"fixLocs is \(3, 3\) but image"):
        datasets.cat2000(tmp_path)


# ------------------------------------------------------------------------------ folder


def test_a_folder_and_a_csv_table(tmp_path):
    _image(tmp_path / "img" / "a.png")
    (tmp_path / "fix.csv").write_text(
        "Subject,Image,X,Y,Duration\ns1,a.png,3,4,250\ns2,a.png,10,5,100\ns1,gone.png,1,1,50\n"
    )
    with pytest.warns(UserWarning, match="skipped 1 of 2 images"):
        dataset = datasets.folder(tmp_path / "img", tmp_path / "fix.csv", name="mine")
    assert repr(dataset) == "<FixationDataset mine: 1 images, 2 observers, 2 fixations>"
    with pytest.raises(KeyError, match="has no image 'b.png'"):
        dataset.image("b.png")
    with pytest.raises(DataFileError, match="holds none of the 1 other images"):
        datasets.folder(
            tmp_path / "img",
            pd.DataFrame({"subject": [1], "image": ["z.png"], "x": [1.0], "y": [1.0]}),
            name="other",
        )


# ------------------------------------------------------------------------------ download


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A two-file OSIE served from 127.0.0.1, its entry in DATASETS pointed there."""
    served = tmp_path / "served"
    _osie_copy(served, [[([5.0], [6.0], [120])]], present=("1.jpg",))
    mat = served / "data" / "eye" / "fixations.mat"
    monkeypatch.setenv("XAIKIT_OFFLINE", "0")
    with serve(served) as url:
        resources = (
            Resource(
                f"{url}/data/eye/fixations.mat",
                "data/eye/fixations.mat",
                hashlib.md5(mat.read_bytes()).hexdigest(),
            ),
            Resource(f"{url}/data/stimuli/1.jpg", "data/stimuli/1.jpg"),
        )
        monkeypatch.setitem(datasets.DATASETS, "osie", resources)
        yield served


def test_a_dataset_downloads_resumes_and_reads(tmp_path, mirror):
    image = mirror / "data" / "stimuli" / "1.jpg"
    kept = image.read_bytes()
    image.unlink()  # the second file fails: the first stays staged
    with pytest.raises(DownloadError, match="HTTP 404") as caught:
        datasets.download("osie", tmp_path / "mine", progress=False)
    assert str(tmp_path / "mine" / ".osie.download.partial" / "data" / "stimuli") in str(
        caught.value
    )
    assert not (tmp_path / "mine" / "osie").exists()
    image.write_bytes(kept)
    (mirror / "data" / "eye" / "fixations.mat").unlink()  # already staged: not fetched again
    folder = datasets.download("osie", tmp_path / "mine", progress=False)
    assert folder == tmp_path / "mine" / "osie"
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["osie"]
    assert datasets.osie(folder).fixations[["x", "y"]].values.tolist() == [[4.5, 5.5]]
    assert datasets.download("osie", tmp_path / "mine") == folder


def test_a_corrupt_dataset_file_is_refused(tmp_path, mirror):
    (mirror / "data" / "eye" / "fixations.mat").write_bytes(b"changed")
    with pytest.raises(DownloadError, match="md5 .* does not match"):
        datasets.download("osie", tmp_path, progress=False)


def test_offline_a_dataset_download_names_url_and_folder(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv("XAIKIT_OFFLINE", "1")
    with pytest.raises(DownloadError, match="XAIKIT_OFFLINE") as caught:
        datasets.download("osie", tmp_path, progress=False)
    assert "fixations.mat" in str(caught.value) and "127.0.0.1" in str(caught.value)
    with pytest.raises(ValueError, match="unknown dataset 'salicon'"):
        datasets.download("salicon", tmp_path)
