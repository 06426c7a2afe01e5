"""The layering of the subpackages, read off the source: data <- models <- explain <- metrics
<- track, study <- viz <- widgets <- cli, and no cycle between subpackages.

Every import counts, at module level or inside a function, and so does attribute access
through the top-level package (``import xaikit`` then ``xaikit.explain(...)``).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "xaikit"

#: Each subpackage, with the subpackages it may import. Private top-level modules
#: (``_arrays``, ``_runtime``) are below all of them.
LAYERS = ["data", "models", "explain", "metrics", "track", "study", "viz", "widgets", "cli"]
ALLOWED = {
    "data": set(),
    "models": {"data"},
    "explain": {"data", "models"},
    "metrics": {"data", "models", "explain"},
    "track": {"data", "models", "explain", "metrics"},
    "study": {"data", "models", "explain", "metrics"},
    "viz": {"data", "models", "explain", "metrics", "track", "study"},
    "widgets": {"data", "models", "explain", "metrics", "track", "study", "viz"},
    "cli": {"data", "models", "explain", "metrics", "track", "study", "viz"},
}
TOP_ALIASES = {"xaikit", "xk"}


def subpackage_of(path: Path) -> str | None:
    """The subpackage a source file belongs to (``None`` for the top-level package files)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    name = parts[0]
    if name == "__main__":
        return "cli"
    if name.startswith("_"):
        return None
    return name


def imported_subpackages(tree: ast.AST) -> set[str]:
    """Subpackages of xaikit named by imports or ``xaikit.<name>`` attributes in ``tree``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "xaikit":
                names += [f"xaikit.{alias.name}" for alias in node.names]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in TOP_ALIASES
        ):
            names = [f"xaikit.{node.attr}"]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "xaikit" and len(parts) > 1 and parts[1] in ALLOWED:
                found.add(parts[1])
    return found


def import_graph() -> dict[str, dict[str, list[str]]]:
    """``{subpackage: {imported subpackage: [files]}}`` over every source file."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(PACKAGE.rglob("*.py")):
        source = subpackage_of(path)
        if source is None:
            continue
        for target in imported_subpackages(ast.parse(path.read_text(), str(path))):
            if target != source:
                graph[source][target].append(str(path.relative_to(PACKAGE.parent)))
    return graph


def test_every_subpackage_has_a_layer():
    found = {subpackage_of(path) for path in PACKAGE.rglob("*.py")} - {None}
    assert found <= set(ALLOWED), f"subpackages without a layer: {found - set(ALLOWED)}"
    assert list(ALLOWED) == LAYERS


@pytest.mark.parametrize("source", LAYERS)
def test_imports_follow_the_layering(source):
    graph = import_graph()
    wrong = {
        target: files for target, files in graph.get(source, {}).items()
        if target not in ALLOWED[source]
    }  # fmt: skip
    assert not wrong, f"xaikit.{source} may not import {sorted(wrong)}: {wrong}"


def test_no_cycles_between_subpackages():
    graph = {source: set(targets) for source, targets in import_graph().items()}
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                raise AssertionError(f"import cycle: {' -> '.join([*path, node, target])}")
            if target not in state:
                visit(target, [*path, node])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_the_checker_sees_function_level_and_attribute_imports():
    tree = ast.parse(
        "def f():\n    from xaikit.viz import overlay\n"
        "import xaikit\nxaikit.explain(model, x)\nfrom xaikit import track\n"
    )
    assert imported_subpackages(tree) == {"viz", "explain", "track"}
