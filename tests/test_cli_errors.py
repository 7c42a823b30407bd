"""One error style everywhere (issue 22, part 1): every failure a user can cause is one line,
`error: <what> (<hint>)`, on stderr, exit code 2, also the ones Typer's parser finds (a
missing argument, an unknown option or command), which used to print "Error: …" under a
usage block."""

from __future__ import annotations

import re

import pytest

from tests.clirun import run_main

ERROR = re.compile(r"^error: \S.* \(\S.*\)$")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["search"], "missing argument 'query' (see askdesk search --help)"),
        (["ask", "--k", "3", "hello"], "no such option: --k (see askdesk ask --help)"),
        (["nosuch"], "no such command 'nosuch' (see askdesk --help)"),
        (["style", "nosuch"], "no such command 'nosuch' (see askdesk style --help)"),
        (["index", "--every", "x", "--watch"], "invalid value for '--every'"),
        (["index", "./docs"], "docs folder not found: docs (give a folder that exists"),
        (["index", "--every", "3"], "--every goes with --watch (add --watch)"),
        (["eval", "golden.jsonl"], "golden file not found: golden.jsonl (the bundled sample"),
        (["eval"], "score which golden set? (e.g. askdesk eval askdesk/sample/golden.jsonl)"),
        (["ask", "hello"], "no index"),
        (["search", "x", "--mode", "magic"], "--mode must be one of"),
        (["vote", "12", "sideways"], "not a vote: 'sideways' (up or down"),
        (["vote", "12", "down"], "no interaction 12 (the number is printed under every answer)"),
        (["vote", "12", "down", "--reason", "typo"], "unknown --reason 'typo'"),
        (["privacy", "purge"], "purge older than how many days?"),
        (["style", "use", "v-nope"], "no style model version 'v-nope' (see `askdesk style list`)"),
        (["dashboard", "--host", "0.0.0.0"], "without a password (set ASKDESK_DASHBOARD_PASSWORD"),
    ],
)
def test_every_user_error_is_one_line_with_a_hint_and_exit_2(env, capsys, monkeypatch, args, says):
    r = run_main(capsys, monkeypatch, *args)
    assert r.code == 2, (r.out, r.err)
    assert len(r.err_lines) == 1, r.err
    line = r.err_lines[0]
    assert ERROR.match(line), line
    assert says in line, line
    assert "Traceback" not in r.err and "Usage:" not in r.err + r.out


def test_help_still_prints_and_exits_cleanly(env, capsys, monkeypatch):
    r = run_main(capsys, monkeypatch, "--help")
    assert r.code == 0 and "Usage: askdesk" in r.out and r.err == ""
    bare = run_main(capsys, monkeypatch)  # no command: the help, as before
    assert "Usage: askdesk" in bare.out + bare.err and "error:" not in bare.err
