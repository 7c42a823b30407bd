"""A lean install (README "Installs": no torch, transformers or peft) asked for the style model
says in one line which install it needs, instead of a traceback from inside the conversion.

Real CLI processes; the style modules are made unimportable the way a lean venv has them
(`sys.modules[name] = None`: `import` raises ModuleNotFoundError, `find_spec` finds nothing).
A real lean venv was checked the same way by hand (BENCHMARKS.md, issue 23).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from askdesk.testing.lean_runs import clean_env

LEAN = (
    "import sys; sys.modules.update(torch=None, transformers=None, peft=None);"
    "from askdesk.cli import main; sys.argv = ['askdesk', *sys.argv[1:]]; main()"
)


@pytest.mark.parametrize(
    "args", [("style", "train", "--max-steps", "1"), ("style", "use", "sample")]
)
def test_style_commands_on_a_lean_install_name_the_install_in_one_line(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    data = tmp_path / "data"
    run = subprocess.run([sys.executable, "-c", LEAN, *args], capture_output=True, text=True,
                         env=clean_env(data), cwd=tmp_path, timeout=300)
    said = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert run.returncode == 2, run.stderr[-2000:]
    assert len(said) == 1, run.stderr[-2000:]
    assert said[0].startswith("error: the style model needs the style install"), said
    assert "torch, transformers, peft not installed" in said[0]
    assert "pip install torch==2.13.0 '.[style]'" in said[0]
    assert not (data / "models" / "smollm2-135m-instruct").exists()  # nothing half-written
