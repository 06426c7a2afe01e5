"""Fetching a public fixation dataset from its official URLs, when the user asks.

:func:`download` puts each file of a dataset into a hidden staging folder beside the target
(``.<name>.download.partial``), checking each published MD5; a cut connection costs only the
file in flight, and the next call resumes with the files already there. Once every file is in,
archives are unpacked and the whole layout is moved into ``<root>/<name>`` in one step, so a
reader never sees half a dataset. Offline (``XAIKIT_OFFLINE=1``, or no network) the error
names the file, its URL and the folder to put it in.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from xaikit._atomic import atomic_folder
from xaikit._download import download as fetch
from xaikit._download import extract


@dataclass(frozen=True)
class Resource:
    """One file of a dataset: where it is, where it goes in the layout, its MD5, and whether
    it is an archive to unpack into the dataset folder."""

    url: str
    path: str
    md5: str | None = None
    archive: bool = False


_OSIE = "https://github.com/NUS-VIP/predicting-human-gaze-beyond-pixels/raw/master/data"
_MIT = "http://people.csail.mit.edu/tjudd/WherePeopleLook"

#: The files of each dataset, from the URLs and MD5 sums its authors publish (as pysaliency
#: fetches them). OSIE's 700 stimuli have no published hashes; its fixations file does.
DATASETS: dict[str, tuple[Resource, ...]] = {
    "osie": (
        Resource(
            f"{_OSIE}/eye/fixations.mat",
            "data/eye/fixations.mat",
            "8efdf6fe66f38b6e70f854c7ff45aa70",
        ),
        *(
            Resource(f"{_OSIE}/stimuli/{number}.jpg", f"data/stimuli/{number}.jpg")
            for number in range(1001, 1701)
        ),
    ),
    "mit1003": (
        Resource(
            f"{_MIT}/ALLSTIMULI.zip",
            "ALLSTIMULI.zip",
            "0d7df8b954ecba69b6796e77b9afe4b6",
            archive=True,
        ),
        Resource(f"{_MIT}/DATA.zip", "DATA.zip", "ea19d74ad0a0144428c53e9d75c2d71c", archive=True),
    ),
    "cat2000": (
        Resource(
            "http://saliency.mit.edu/trainSet.zip",
            "trainSet.zip",
            "56ad5c77e6c8f72ed9ef2901628d6e48",
            archive=True,
        ),
    ),
}


def download(name: str, root: str | os.PathLike, *, progress: bool = True) -> Path:
    """Fetch dataset ``name`` into ``<root>/<name>`` and return that folder.

    Read it with the reader of the same name: ``osie(download("osie", root))``,
    ``mit1003(...)``, ``cat2000(download("cat2000", root) / "trainSet")``. An existing
    ``<root>/<name>`` is returned as it is (delete it to fetch again).

    Args:
        name: ``"osie"``, ``"mit1003"`` or ``"cat2000"``.
        root: The folder that holds your datasets.
        progress: Show a progress bar per file.

    Raises:
        ValueError: an unknown name.
        DownloadError: offline, unreachable, or a file whose MD5 differs; the files already
            fetched stay in the staging folder and the next call goes on from there.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}")
    target = Path(root) / name
    if target.is_dir():
        return target
    staging = Path(root) / f".{name}.download.partial"
    for resource in DATASETS[name]:
        path = staging / resource.path
        if not path.is_file():
            fetch(resource.url, path, md5=resource.md5, progress=progress)
    with atomic_folder(target) as part:
        for resource in DATASETS[name]:
            source = staging / resource.path
            if resource.archive:
                extract(source, part)
            else:
                (part / resource.path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, part / resource.path)
    shutil.rmtree(staging)
    return target
