"""The code's shape, checked statically over every module (ARCHITECTURE.md, "Imports").

- Imports run only downward: `askdesk` → `bots`, `dashboard` → `core` → `retrieval`,
  `styling`, `feedback`; an import inside a function counts like one at the top.
- No import cycles among the project's modules: imports inside functions and under
  `if TYPE_CHECKING:` count (a lazy import back is a cycle all the same, only hidden).
- An import inside a function is there for one of two reasons, said in the comment right
  above it (or at its end): `# optional: <package> (<extra>)`, a dependency an install may not
  have; or `# lean: <why>`, a heavy library kept off a path that must start fast (issue 23);
  in a bench that compares two checkouts, `# checkout: <why>`, code imported from the
  checkout under measurement only once its path is set.
- No function outside tests and migrations is longer than 100 lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from askdesk._layout import LAYERS as LAYER_FOLDERS

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
LAYERS = sorted(ALLOWED)
#: neither layer code nor the bench may import the test suite
NEVER_IMPORTED = {"tests"}
#: checked for in-function imports and long functions: the layers and the bench
CODE_DIRS = (*LAYERS, "bench")
MAX_FUNCTION_LINES = 100
LAZY_REASONS = ("# optional:", "# lean:", "# checkout:")


def _code_files(top: str) -> Iterator[Path]:
    for path in sorted((ROOT / top).rglob("*.py")):
        if "migrations" not in path.relative_to(ROOT).parts:
            yield path


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _layer_of(module: str) -> str:
    """The layer of a dotted name: `askdesk.core.engine` → core, `askdesk.wiring` → askdesk
    (the layer folders sit beside askdesk/ and import as askdesk.<layer>: askdesk/_layout.py);
    anything else → its top-level name."""
    head, _, rest = module.partition(".")
    second = rest.partition(".")[0]
    return second if head == "askdesk" and second in LAYER_FOLDERS else head


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, _layer_of(a.name)) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, _layer_of(node.module)))
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_downward(layer: str) -> None:
    bad = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for line, top in _imports(path):
            if (top in ALLOWED and top not in ALLOWED[layer]) or top in NEVER_IMPORTED:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {top}")
    assert bad == []


def test_the_direction_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    if True:\n        from askdesk.wiring import App\n")
    assert _imports(module) == [(3, "askdesk")]


# -- no import cycles (imports inside functions and under TYPE_CHECKING included) ------------
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] in LAYER_FOLDERS:  # core/engine.py is askdesk.core.engine
        parts.insert(0, "askdesk")
    return ".".join(parts)


def project_graph(paths: dict[str, Path]) -> dict[str, set[str]]:
    """module → the project's modules it imports, at any depth in the file. `from pkg import
    name` points at `pkg.name` when that is a module, else at `pkg`."""
    graph: dict[str, set[str]] = {m: set() for m in paths}
    for module, path in paths.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(_tree(path)):
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


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
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


def test_no_import_cycles_among_the_project_modules() -> None:
    paths = {_module_name(p): p for layer in LAYERS for p in (ROOT / layer).rglob("*.py")}
    found = cycles(project_graph(paths))
    assert found == []


def test_the_cycle_check_sees_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    """A lazy import back, or one under TYPE_CHECKING, closes a cycle as any other does."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import thing\n")
    (pkg / "b.py").write_text("def thing():\n    from pkg import a\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.d import D\n"
    )
    (pkg / "d.py").write_text("from pkg.c import x\n")
    paths = {
        ".".join(p.relative_to(tmp_path).with_suffix("").parts).removesuffix(".__init__"): p
        for p in pkg.glob("*.py")
    }
    assert cycles(project_graph(paths)) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.d"]]


# -- imports inside functions: only with a reason ------------------------------------------
def lazy_imports_without_reason(path: Path, root: Path = ROOT) -> list[str]:
    """In-function imports with neither `# optional:` nor `# lean:` on the line above the run
    of imports they belong to, or at the end of one of the run's lines."""
    lines = path.read_text().splitlines()
    bad: list[str] = []

    def check_body(body: list[ast.stmt]) -> None:
        run: list[ast.stmt] = []
        for stmt in [*body, None]:
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                run.append(stmt)
                continue
            if run:
                said = []  # the comment lines right above the run, then the run's own lines
                above = run[0].lineno - 2
                while above >= 0 and lines[above].strip().startswith("#"):
                    said.append(lines[above])
                    above -= 1
                said += [lines[i - 1] for s in run for i in range(s.lineno, s.end_lineno + 1)]
                if not any(reason in text for text in said for reason in LAZY_REASONS):
                    bad.extend(f"{path.relative_to(root)}:{s.lineno}" for s in run)
                run = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for field_name in ("body", "orelse", "finalbody"):
            body = getattr(node, field_name, None)
            if in_function and isinstance(body, list):
                check_body(body)
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inner)

    visit(_tree(path), False)
    return bad


@pytest.mark.parametrize("top", CODE_DIRS)
def test_imports_inside_functions_say_why(top: str) -> None:
    bad = [where for path in _code_files(top) for where in lazy_imports_without_reason(path)]
    assert bad == [], "an in-function import needs '# optional: …' or '# lean: …'"


def test_the_lazy_import_check_wants_a_reason(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import json\n\n"
        "def bare():\n    import os\n    import sys\n\n"
        "def optional():\n    # optional: torch (askdesk[torch])\n"
        "    import torch\n    import peft\n\n"
        "def lean():\n    try:\n        import alembic  # lean: keeps the cold ask free of it\n"
        "    except ImportError:\n        import os\n"
    )
    assert lazy_imports_without_reason(module, tmp_path) == ["m.py:4", "m.py:5", "m.py:16"]


# -- no long functions -----------------------------------------------------------------------
def long_functions(path: Path) -> list[str]:
    out = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - start + 1
            if length > MAX_FUNCTION_LINES:
                out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    return out


@pytest.mark.parametrize("top", CODE_DIRS)
def test_no_function_is_longer_than_100_lines(top: str) -> None:
    assert [f for path in _code_files(top) for f in long_functions(path)] == []
