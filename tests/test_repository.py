"""What a newcomer meets: the README's quick start, and CI running exactly its test command."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Quick start\n(.*?)(?=^## )", readme, flags=re.S | re.M)
    assert section, "README.md has no '## Quick start' section"
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", section.group(1), flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_quick_start_has_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    assert all(command.startswith('pip install -e ".[dev]" && ') for command in commands)
    assert commands[0].endswith("jupyter lab notebooks/")


def test_ci_runs_the_readme_test_command():
    printed = subprocess.run(
        ["bash", str(ROOT / ".ci" / "run"), "--print-command"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert printed == quick_start_commands()[1]
    assert printed.endswith("pytest")


def test_readme_picture_exists():
    readme = (ROOT / "README.md").read_text()
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", readme)
    assert pictures, "README.md shows no picture"
    for picture in pictures:
        assert (ROOT / picture).is_file(), f"README.md shows {picture}, which does not exist"


def test_code_passes_ruff():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_python_example_runs(tmp_path, monkeypatch):
    import xaikit as xk

    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Using xaikit from Python\n(.*?)(?=^## |^### )", readme, re.S | re.M)
    (example,) = re.findall(r"```python\n(.*?)```", section.group(1), flags=re.S)
    monkeypatch.chdir(tmp_path)
    names = {"image": xk.data.synthetic.shapes(1, shape=(96, 128), seed=0).images[0]}
    exec(compile(example, "README.md", "exec"), names)  # noqa: S102 - the README's own code
    assert names["cam"].shape == (96, 128) and (tmp_path / "cam.pdf").stat().st_size > 0


def test_readme_darknet_example_runs(tmp_path, monkeypatch):
    import xaikit as xk
    from xaikit.models.zoo.detector import CFG

    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^### Your own data\n(.*?)(?=^## |^### )", readme, re.S | re.M)
    (example,) = re.findall(r"```python\n(.*?)```", section.group(1), flags=re.S)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "obj.names").write_text("mouse\n")
    (tmp_path / "my.cfg").write_text(CFG.read_text())
    weights = CFG.parent / "weights" / "demo-mice.weights"
    (tmp_path / "my.weights").symlink_to(weights)
    arena = xk.data.synthetic.arena(frames=1, shape=(240, 320), seed=0)
    names = {"xk": xk, "photo": arena.frames[0]}
    exec(compile(example, "README.md", "exec"), names)  # noqa: S102 - the README's own code
    assert len(names["found"]) >= 1 and names["cam"].shape == (240, 320)
    assert float(names["cam"].max()) > 0


@pytest.mark.realdata
def test_readme_training_example_runs_on_a_deeplabcut_project(tmp_path, monkeypatch):
    """The README's training example, in a DeepLabCut project laid out as it shows, made of the
    real ``m4s1`` labelled frames (a short video of them stands for ``videos/m4s1.mp4``)."""
    import cv2
    import numpy as np

    import xaikit as xk
    from tests.realdata import real_path

    labelled = real_path("mice", "dlc-openfield-m4s1")
    empty = real_path("mice", "empty-chamber", "Freezing_calibration.wmv")
    readme = (ROOT / "README.md").read_text()
    section = re.search(
        r"^### Train a detector on your own animals\n(.*?)(?=^## |^### )", readme, re.S | re.M
    )
    (example,) = re.findall(r"```python\n(.*?)```", section.group(1), flags=re.S)
    quick = example.replace("negatives=", "recipe=xk.track.Recipe(epochs=3), negatives=", 1)
    assert quick != example, "the example passes no negatives= to train_detector"
    (tmp_path / "labeled-data").mkdir()
    (tmp_path / "labeled-data" / "m4s1").symlink_to(labelled, target_is_directory=True)
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "empty-arena.mp4").symlink_to(empty)
    frames = [cv2.imread(str(labelled / f"img{i:04d}.png"))[..., ::-1] for i in range(0, 40, 2)]
    xk.data.write_video(tmp_path / "videos" / "m4s1.mp4", np.stack(frames), 10)
    monkeypatch.chdir(tmp_path)
    names = {}
    exec(compile(quick, "README.md", "exec"), names)  # noqa: S102 - the README's own code
    trained, result = names["trained"], names["result"]
    assert sorted(path.name for path in (tmp_path / "models" / "m4s1").iterdir()) == sorted(
        xk.track.training.FILES
    )
    data = trained.card["data"]
    assert data["format"] == "deeplabcut" and data["labelled_frames"] == 116
    assert data["val_frames"] > 0 and data["negatives"]["video_frames"] > 0
    assert len(trained.history) == 3 and 1 <= trained.best_epoch <= 3
    assert result.metrics["frames"] == 20  # every frame of videos/m4s1.mp4 was detected


@pytest.mark.realdata
def test_readme_eye_tracking_example_runs(tmp_path, monkeypatch):
    """The README's eye-tracking example on the real OSIE copy and OpenSesame recording."""
    from tests.realdata import real_path

    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^### Eye-tracking studies\n(.*?)(?=^## |^### )", readme, re.S | re.M)
    (example,) = re.findall(r"```python\n(.*?)```", section.group(1), flags=re.S)
    (tmp_path / "osie").symlink_to(real_path("eyetracking", "osie"))
    (tmp_path / "data1.asc").symlink_to(
        real_path("eyetracking", "asc", "eyelinkparser", "data1.asc")
    )
    monkeypatch.chdir(tmp_path)
    names = {}
    with pytest.warns(UserWarning):  # OSIE's 600 absent images, OpenSesame's missing image var
        exec(compile(example, "README.md", "exec"), names)  # noqa: S102 - the README's own code
    assert names["trials"]["trial"].nunique() == 20 and names["screen"].shape == (768, 1024)
    assert names["first"].shape == (240, 320) and names["human"].max() > 0
    assert len(names["floor_and_ceiling"]) == 2 * 5
