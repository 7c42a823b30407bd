"""Imports run only downward (ARCHITECTURE.md, "Layers and import direction"): a static check
over every module's import lines.

`askdesk` → `bots`, `dashboard` → `core` → `retrieval`, `styling`, `feedback`. A lower layer
that imports a higher one (even lazily, inside a function) fails here with the offending line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED: dict[str, set[str]] = {
    "askdesk": {"askdesk", "bots", "dashboard", "core", "retrieval", "styling", "feedback"},
    "bots": {"bots", "core", "retrieval", "styling", "feedback"},
    "dashboard": {"dashboard", "core", "retrieval", "styling", "feedback"},
    "core": {"core", "retrieval", "styling", "feedback"},
    "retrieval": {"retrieval"},
    "styling": {"styling"},
    "feedback": {"feedback"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name.split(".")[0]) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_downward(layer: str) -> None:
    bad = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for line, top in _imports(path):
            if top in ALLOWED and top not in ALLOWED[layer]:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {top}")
    assert bad == []


# -- no import cycles inside a package (imports inside functions included) ---------------------
KNOWN_CYCLES: dict[str, list[list[str]]] = {
    # older cycles outside the chat adapters, listed so that no new one slips in; remove an
    # entry when its cycle is broken
    "askdesk": [["askdesk.fleet", "askdesk.wiring"]],
    "retrieval": [["retrieval.ingest", "retrieval.sources"]],
    "styling": [["styling.rewrite", "styling.training"]],
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_graph(layer: str) -> dict[str, set[str]]:
    """module → the package's own modules it imports (any depth in the file: lazy imports
    inside functions count, since they cycle at run time all the same)."""
    paths = {_module_name(p): p for p in (ROOT / layer).rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in paths}
    for module, path in paths.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    keep = len(module.split(".")) - node.level + (1 if is_package else 0)
                    base = ".".join(module.split(".")[:keep] + ([base] if base else []))
                names = [base, *(f"{base}.{a.name}" for a in node.names)]
            for name in names:
                while name and name not in paths:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    graph[module].add(name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_no_import_cycles_within_a_package(layer: str) -> None:
    assert _cycles(_package_graph(layer)) == KNOWN_CYCLES.get(layer, [])


def test_the_cycle_check_sees_imports_inside_functions(tmp_path) -> None:
    """The check itself: a lazy import back (the old `bots.discord.components` → bot) counts."""
    assert _cycles({"a.x": {"a.y"}, "a.y": {"a.x"}, "a.z": set()}) == [["a.x", "a.y"]]
