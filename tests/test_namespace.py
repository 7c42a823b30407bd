"""One namespace (ARCHITECTURE.md, "Layout"): everything imports as `askdesk.…`.

The layer folders stay at the top of the repository; setup.py maps them into the package for
the wheel and `askdesk._layout` finds them in a checkout. These tests hold both ends: the wheel
installs only `askdesk`, a checkout refuses the bare folder names, and no module uses them.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from askdesk._layout import LAYERS, checkout_root

ROOT = Path(__file__).resolve().parent.parent
#: what a source distribution never holds (caches, builds, local data, the venv)
NOT_SOURCE = (".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", "_data",
              ".askdesk", ".pytest_cache", ".ruff_cache", "node_modules")


def _python_files() -> list[Path]:
    skip = {".venv", ".git", "node_modules", "_data", "build", "dist"}
    return [p for p in ROOT.rglob("*.py") if not skip & set(p.relative_to(ROOT).parts)]


def test_setup_py_maps_the_same_layers_as_the_finder() -> None:
    tree = ast.parse((ROOT / "setup.py").read_text())
    assigned = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id == "LAYERS"
    }
    assert assigned["LAYERS"] == LAYERS
    assert all((ROOT / layer / "__init__.py").is_file() for layer in LAYERS)
    assert checkout_root() == ROOT


def test_no_module_imports_a_layer_by_its_bare_name() -> None:
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [
                f"{path.relative_to(ROOT)}:{node.lineno} {name}"
                for name in names
                if name.split(".")[0] in LAYERS
            ]
    assert offenders == []


def test_a_checkout_finds_the_layers_in_the_namespace_and_refuses_bare_names(tmp_path) -> None:
    script = (
        "import askdesk.core.engine as engine, sys\n"
        "print(engine.__file__)\n"
        "try:\n"
        "    import core\n"
        "except ImportError as error:\n"
        "    print('refused:', error)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60, check=True,
    )
    engine_file, refused = done.stdout.splitlines()
    assert Path(engine_file) == ROOT / "core" / "engine.py"
    assert refused == "refused: import askdesk.core, not core (askdesk/_layout.py)"


@pytest.mark.slow
def test_the_wheel_installs_only_askdesk_and_runs_from_it(tmp_path) -> None:
    """`pip install` of the wheel puts `askdesk` and its dist-info in site-packages, nothing
    else; the installed copy answers `import askdesk.core…` from itself, not from this checkout."""
    # built from a copy: setuptools writes build/ and *.egg-info into the tree it builds
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(source)],
        check=True, timeout=600, capture_output=True,
    )
    (wheel,) = wheels.glob("askdesk-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"askdesk", wheel.name.split("-py3")[0]
                                                      + ".dist-info"}
    for layer in LAYERS:
        assert f"askdesk/{layer}/__init__.py" in names
    assert "askdesk/feedback/migrations/env.py" in names
    assert "askdesk/bots/slack/manifest.yaml" in names

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)],
        check=True, timeout=600, capture_output=True,
    )
    assert sorted(p.name for p in site.iterdir() if p.name != "bin") == sorted(
        {"askdesk", wheel.name.split("-py3")[0] + ".dist-info"}
    )
    script = (
        "import importlib.util, askdesk, askdesk.core.engine as engine, askdesk.retrieval.search\n"
        "from askdesk._layout import checkout_root\n"
        "print(engine.__file__)\n"
        "print(checkout_root())\n"
        "print(importlib.util.find_spec('core'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-P", "-c", script], cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)}, capture_output=True, text=True,
        timeout=120, check=True,
    )
    engine_file, root, bare = done.stdout.splitlines()
    assert Path(engine_file) == site / "askdesk" / "core" / "engine.py"
    assert root == "None"
    assert bare == "None"
