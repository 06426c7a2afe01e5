import hashlib
import tarfile
import zipfile

import pytest

from tests.loopback import serve
from xaikit._download import DownloadError, download, unpack

PAYLOAD = b"weights" * 1000


@pytest.fixture
def online(monkeypatch):
    monkeypatch.setenv("XAIKIT_OFFLINE", "0")


@pytest.fixture
def served(tmp_path):
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "model-0123abcd.pth").write_bytes(PAYLOAD)
    with serve(tmp_path / "srv") as url:
        yield url


def test_a_file_is_fetched_and_its_hash_checked(tmp_path, served, online):
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    path = download(f"{served}/model-0123abcd.pth", tmp_path / "cache" / "m.pth", sha256=sha[:8])
    assert path.read_bytes() == PAYLOAD
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    assert download(f"{served}/model-0123abcd.pth", tmp_path / "m2", md5=md5).is_file()


@pytest.mark.parametrize(
    ("route", "hashes", "reason"),
    [
        ("model-0123abcd.pth", {"sha256": "deadbeef"}, "does not match the expected deadbeef"),
        ("model-0123abcd.pth", {"md5": "0" * 32}, "does not match"),
        ("missing.pth", {}, "HTTP 404"),
        ("cut/model-0123abcd.pth", {}, "bytes"),
    ],
)
def test_a_failed_download_names_file_url_and_folder_and_leaves_nothing(
    tmp_path, served, online, route, hashes, reason
):
    target = tmp_path / "cache" / "m.pth"
    with pytest.raises(DownloadError, match=reason) as caught:
        download(f"{served}/{route}", target, progress=False, **hashes)
    message = str(caught.value)
    assert "m.pth" in message and f"{served}/{route}" in message and str(target.parent) in message
    assert not target.exists()
    assert not target.parent.exists() or list(target.parent.iterdir()) == []


def test_offline_nothing_is_fetched(tmp_path, served, monkeypatch):
    monkeypatch.setenv("XAIKIT_OFFLINE", "1")
    with pytest.raises(DownloadError, match="XAIKIT_OFFLINE is set"):
        download(f"{served}/model-0123abcd.pth", tmp_path / "m.pth")
    assert not (tmp_path / "m.pth").exists()


def test_an_unreachable_server_is_a_download_error(tmp_path, online):
    with pytest.raises(DownloadError, match="127.0.0.1:9"):
        download("http://127.0.0.1:9/x.zip", tmp_path / "x.zip", timeout=2)


def test_archives_unpack_whole_and_refuse_escaping_members(tmp_path):
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as archive:
        archive.writestr("data/eye/fixations.mat", b"mat")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    unpack(tmp_path / "ok.zip", tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").rglob("*") if p.is_file()] == ["fixations.mat"]

    with tarfile.open(tmp_path / "bad.tar", "w") as archive:
        (tmp_path / "evil").write_text("x")
        archive.add(tmp_path / "evil", arcname="../evil")
    with pytest.raises(ValueError, match="outside the folder"):
        unpack(tmp_path / "bad.tar", tmp_path / "out")
    assert (tmp_path / "out" / "data" / "eye" / "fixations.mat").is_file()
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        unpack(tmp_path / "evil", tmp_path / "x")
