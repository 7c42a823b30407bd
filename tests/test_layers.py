"""Imports run only downward (DESIGN.md): a static check over every module's import lines.

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
