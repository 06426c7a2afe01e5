"""environment.yml is generated from pyproject.toml, so the two never drift.

Regenerate it after editing dependencies:  python tests/test_environment_file.py
"""

from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
HEADER = (
    "# Generated from pyproject.toml by `python tests/test_environment_file.py`.\n"
    "# Do not edit: change pyproject.toml and regenerate.\n"
)


def expected_environment() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    python = project["requires-python"]
    requirements = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    lines = [
        HEADER.rstrip("\n"),
        "name: xaikit",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python{python}",
        "  - pip",
        "  - pip:",
        *(f'      - "{requirement}"' for requirement in requirements),
        "      - -e .",
    ]
    return "\n".join(lines) + "\n"


def test_environment_file_matches_pyproject():
    actual = (ROOT / "environment.yml").read_text()
    assert actual == expected_environment(), (
        "environment.yml is out of step with pyproject.toml; "
        "run `python tests/test_environment_file.py` to regenerate it"
    )


if __name__ == "__main__":
    (ROOT / "environment.yml").write_text(expected_environment())
    print("wrote", ROOT / "environment.yml")
