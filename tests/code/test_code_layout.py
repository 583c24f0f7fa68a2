"""The layout's rules, checked on the source: arrows inside ``workloads/`` run one way (no import cycle), only
``workloads/kube/`` imports the ``kubernetes`` client, and no import hides inside a function (where a cycle would)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "workloads"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(APP.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> list[tuple[ast.stmt, list[str]]]:
    """Every import statement in the file, with the modules it names (``from a import b`` names a and a.b)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.append((node, [a.name for a in node.names]))
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: a relative import"
            out.append((node, [node.module] + [f"{node.module}.{a.name}" for a in node.names]))
    return out


def _graph() -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        targets = set()
        for _node, names in _imports(path):
            for target in names:
                # ``import workloads.a.b`` also runs workloads/a/__init__.py: that arrow counts too.
                while target and target not in MODULES:
                    target = target.rpartition(".")[0]
                if target and target != name and target != "workloads":
                    targets.add(target)
        graph[name] = targets
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_it_has_no_import_cycle_inside_workloads() -> None:
    graph = _graph()
    assert len(graph) > 50, "the walk found the app's modules"
    assert "workloads.browse.views" in graph["workloads.live.pages"], "the graph sees package imports"
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_it_finds_a_cycle_when_there_is_one() -> None:
    """The checker itself: a cycle drawn by hand is found, and a graph without one passes."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_it_lets_only_the_kube_boundary_import_the_kubernetes_client() -> None:
    importers = sorted(
        name
        for name, path in MODULES.items()
        for _node, names in _imports(path)
        if any(n == "kubernetes" or n.startswith("kubernetes.") for n in names)
    )
    assert importers, "the kube boundary imports the client"
    outside = [name for name in importers if not name.startswith("workloads.kube")]
    assert outside == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_it_has_no_import_inside_a_function(name: str) -> None:
    tree = ast.parse(MODULES[name].read_text())
    hidden = [
        f"line {inner.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    ]
    assert hidden == []


def test_it_writes_to_a_cluster_only_from_edits_apply() -> None:
    """Every create, patch and delete a page sends goes through ``edits/apply.py`` (one precondition path)."""
    writes = {"patch_object", "create_object", "delete_object"}
    writers = sorted(
        name
        for name, path in MODULES.items()
        if not name.startswith("workloads.kube")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute | ast.Name)
        and (getattr(node, "attr", None) or getattr(node, "id", "")) in writes
    )
    assert set(writers) == {"workloads.edits.apply"}
