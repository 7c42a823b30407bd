"""The root command loads each command's module only when that command runs (askdesk/cli).

`askdesk --help` lists every command from the table in `askdesk.cli.COMMANDS`; the table must
say what the commands themselves say, and running one command imports no other command module.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer.main

import askdesk.cli as cli

ROOT = Path(__file__).resolve().parents[1]


def test_the_table_names_every_command_module_with_its_own_help() -> None:
    modules = {p.stem for p in (ROOT / "askdesk" / "cli").glob("*_cmd.py")}
    assert {module for module, _ in cli.COMMANDS.values()} == modules
    for name, (_, help_line) in cli.COMMANDS.items():
        command = cli.load_command(name)
        assert command.name == name
        assert command.get_short_help_str(1000) == help_line, name


def test_help_lists_every_command_and_imports_no_command_module(tmp_path) -> None:
    code = (
        "import sys; from askdesk.cli import main; sys.argv = ['askdesk', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.endswith('_cmd')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 0, out.stderr
    *help_lines, loaded = out.stdout.strip().splitlines()
    assert loaded == "[]"
    listed = [line.split()[0] for line in help_lines if line.startswith("  ") and line.split()]
    for name in cli.COMMANDS:
        assert name in listed


def test_a_command_imports_only_its_own_module(tmp_path) -> None:
    code = (
        "import sys; from askdesk.cli import main; sys.argv = ['askdesk', 'config', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.endswith('_cmd')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "['askdesk.cli.config_cmd']"


def test_the_loaded_group_runs_commands_by_name() -> None:
    group = typer.main.get_command(cli.app)
    assert group.list_commands(None) == list(cli.COMMANDS)  # type: ignore[attr-defined]
    assert group.get_command(None, "vote") is not None  # type: ignore[attr-defined]
    assert group.get_command(None, "nosuch") is None  # type: ignore[attr-defined]
