"""`styling/` in subpackages by concern, imports running downward between them, no function
over 100 lines, and imports inside functions only for the optional style install (issue 24).

Read from the source (ast), so an import hidden inside a function counts like any other.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STYLING = ROOT / "styling"

#: Which subpackages each one may import: guards, model and tone at the bottom, generation
#: over them, training at the top (it calibrates and evaluates with the rewriter).
ALLOWED: dict[str, set[str]] = {
    "guards": {"guards"},
    "model": {"model"},
    "tone": {"tone"},
    "generation": {"generation", "guards", "model", "tone"},
    "training": {"training", "generation", "guards", "model", "tone"},
}
#: What `askdesk[style]` adds: the only reason an import may wait inside a function.
OPTIONAL = {"torch", "transformers", "peft", "gguf", "accelerate", "sentence_transformers"}


def _modules() -> list[Path]:
    return sorted(STYLING.rglob("*.py"))


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        return [node.module]
    return []


#: Modules allowed at the top of styling/: the package's settings block (askdesk.settings
#: assembles one per package), which belongs to no single concern.
TOP_LEVEL = {"__init__.py", "style_settings.py"}


def test_every_module_lives_in_a_subpackage_of_one_concern():
    flat = [p.name for p in STYLING.glob("*.py") if p.name not in TOP_LEVEL]
    assert flat == []
    assert {p.name for p in STYLING.iterdir() if (p / "__init__.py").is_file()} == set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_subpackages_import_only_downward(package: str):
    bad = []
    for path in sorted((STYLING / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            for name in _imported(node):
                parts = name.split(".")
                if parts[:2] == ["askdesk", "styling"] and len(parts) > 2 and (
                    parts[2] not in ALLOWED[package]
                ):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert bad == []


def test_imports_inside_functions_are_only_for_the_style_install_and_say_so():
    bad = []
    for path in _modules():
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                for name in _imported(node):
                    where = f"{path.relative_to(ROOT)}:{node.lineno} {name}"
                    if name.split(".")[0] not in OPTIONAL:
                        bad.append(f"{where}: not an optional dependency, import it at the top")
                    elif not _says_why(lines, node.lineno):
                        bad.append(f"{where}: no `# optional: …` comment")
    assert bad == []


def _says_why(lines: list[str], lineno: int) -> bool:
    """The import's line, or the one above it in the same group, names it optional."""
    here, above = lines[lineno - 1], lines[lineno - 2] if lineno > 1 else ""
    return bool(re.search(r"# optional: ", here) or re.search(r"# optional: ", above))


def test_no_function_in_styling_is_longer_than_100_lines():
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})"
        for path in _modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > 100
    ]
    assert long == []
