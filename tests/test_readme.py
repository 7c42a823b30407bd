"""The README is executable (issue 22, part 1): its shell blocks marked as runnable are run
as written, so a command in the README cannot drift from the CLI again.

Marking is opt-in: an HTML comment on the line before a fenced ```bash block (blank lines
between are allowed), invisible on GitHub.

    <!-- readme: run -->    every command runs in order in one bash session, in a fresh
                            copy of the repository's files (the state after `make demo`
                            minus its demo data dir); each must exit 0
    <!-- readme: serve -->  each command serves until Ctrl-C: it must say where (an
                            http:// URL on stderr or stdout), answer 200 there, and exit 0
                            on SIGINT (ASKDESK_DASHBOARD_PORT=0: a free port, never a
                            fixed one)

Unmarked blocks (configuration examples, commands that need tokens, the network or a
model server) are never run. Comment-only lines are skipped; a line ending in a backslash
continues on the next.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MARKER = re.compile(r"^\s*<!--\s*readme:\s*(run|serve)\s*-->\s*$")
FENCE = re.compile(r"^\s*```\s*(\S*)\s*$")
URL = re.compile(r"(http://[^\s;,)]+/)")
KEPT_OUT = {".git", ".venv", ".askdesk", "askdesk.toml", ".env"}


@dataclass(frozen=True)
class Block:
    mode: str  # "run" or "serve"
    line: int  # of the opening fence, 1-based
    commands: tuple[tuple[int, str], ...]  # (line, command)
    section: str  # the nearest "## " heading above


def marked_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    blocks: list[Block] = []
    section = ""
    i = 0
    while i < len(lines):
        if lines[i].startswith("## "):
            section = lines[i][3:].strip()
        marker = MARKER.match(lines[i])
        if not marker:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        fence = FENCE.match(lines[j]) if j < len(lines) else None
        if fence is None or fence.group(1) not in ("bash", "sh", "shell"):
            raise ValueError(f"README.md:{i + 1}: a readme marker must precede a ```bash block")
        commands: list[tuple[int, str]] = []
        pending = ""
        k = j + 1
        while k < len(lines) and not FENCE.match(lines[k]):
            raw = lines[k].rstrip()
            if raw.endswith("\\"):
                pending += raw[:-1] + " "
            else:
                command = (pending + raw).strip()
                pending = ""
                if command and not command.startswith("#"):
                    commands.append((k + 1, command))
            k += 1
        blocks.append(Block(marker.group(1), j + 1, tuple(commands), section))
        i = k + 1
    return blocks


def test_the_quick_start_stays_two_commands_and_using_it_is_marked():
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    fenced = re.findall(r"```bash\n(.*?)```", quick, re.S)
    commands = [c.split("#")[0].strip() for c in fenced[0].splitlines() if c.strip()]
    assert commands == ["make demo", "make test"]
    blocks = marked_blocks(text)
    using = [b for b in blocks if b.section == "Using it"]
    assert {b.mode for b in using} == {"run", "serve"}
    every = " ".join(c for b in using for _, c in b.commands)
    for command in ("index", "ask", "search", "eval", "status", "vote", "demo", "dashboard"):
        assert f"askdesk {command}" in every


def test_markers_are_parsed_as_documented():
    text = (
        "## A\n<!-- readme: run -->\n\n```bash\n# a comment\nfoo --a \\\n  --b\nbar  # why\n```\n"
        "```bash\nnot marked\n```\n<!-- readme: serve -->\n```bash\nserve-it\n```\n"
    )
    run, serve = marked_blocks(text)
    assert run.mode == "run" and [c for _, c in run.commands] == ["foo --a    --b", "bar  # why"]
    assert serve.mode == "serve" and serve.commands == ((15, "serve-it"),)
    with pytest.raises(ValueError, match="must precede"):
        marked_blocks("<!-- readme: run -->\n```toml\nx = 1\n```\n")


def _fresh_clone(tmp: Path) -> Path:
    """The repository's files as a clone has them (linked, not copied), with `.venv` the
    environment running these tests, and none of this checkout's own data."""
    clone = tmp / "clone"
    clone.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in KEPT_OUT and not entry.name.startswith(".pytest"):
            (clone / entry.name).symlink_to(entry)
    (clone / ".venv").symlink_to(Path(sys.prefix))
    return clone


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["ASKDESK_DASHBOARD_PORT"] = "0"  # `askdesk dashboard` and `demo` on a free port
    return env


def _run_block(block: Block, clone: Path) -> None:
    script = ["set -u"]
    for line, command in block.commands:
        script.append(command)
        script.append(
            "rc=$?; if [ $rc -ne 0 ]; then echo "
            + shlex.quote(f"README.md:{line} failed: {command}")
            + ' " (exit $rc)" >&2; exit 1; fi'
        )
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=clone,
        env=_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-2000:]


def _serve(line: int, command: str, clone: Path) -> None:
    proc = subprocess.Popen(
        ["bash", "-c", f". .venv/bin/activate && exec {command}"],
        cwd=clone,
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    try:
        url = None
        deadline = time.monotonic() + 1500
        while url is None and time.monotonic() < deadline:
            out = proc.stdout.readline() if proc.stdout else ""
            if not out and proc.poll() is not None:
                break
            seen.append(out)
            found = URL.search(out) if "Ctrl-C" in out else None
            url = found.group(1) if found else None
        assert url, f"README.md:{line} `{command}` never served:\n" + "".join(seen)[-3000:]
        with urllib.request.urlopen(url, timeout=60) as r:
            assert r.status == 200, f"README.md:{line} `{command}`: {url} answered {r.status}"
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"README.md:{line} `{command}` exited {proc.returncode}:\n{rest}"


@pytest.mark.slow
@pytest.mark.timeout(3600)  # indexes and evaluates the sample, then runs the whole demo
def test_every_runnable_readme_block_runs_as_written(tmp_path):
    blocks = marked_blocks(README.read_text(encoding="utf-8"))
    assert blocks
    clone = _fresh_clone(tmp_path)
    for block in blocks:
        if block.mode == "run":
            _run_block(block, clone)
    for block in blocks:
        if block.mode == "serve":
            for line, command in block.commands:
                _serve(line, command, clone)
