"""Run the `askdesk` entry point in-process as a shell would (argv, exit code, stdout and
stderr), through `askdesk.cli.main`: the error style lives there, not in Typer's test runner."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from askdesk.cli import main


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def run_main(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> Ran:
    capsys.readouterr()  # drop anything printed before
    monkeypatch.setattr(sys, "argv", ["askdesk", *args])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)
