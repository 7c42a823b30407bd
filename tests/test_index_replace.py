"""No silent replacement (issue 22, part 5): `askdesk index OTHER` on a desk holding documents
from somewhere else says how many documents from which sources would go, asks on a
terminal, and needs --replace otherwise; the index is untouched until the user agrees."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.clirun import run_main
from tests.conftest import write


def _doc_ids(capsys, monkeypatch) -> set[str]:
    r = run_main(capsys, monkeypatch, "search", "widgets keys retries", "--k", "20", "--json")
    assert r.code == 0, r.err
    return {h["doc_id"] for h in json.loads(r.out)["hits"]}


def _other(root: Path) -> Path:
    other = root / "other"
    write(other, "widgets.md", "# Widgets\n\nWidgets are configured in the widget panel.\n")
    return other


def test_another_folder_is_refused_without_replace_and_the_index_kept(
    env, tiny_docs, capsys, monkeypatch
):
    assert run_main(capsys, monkeypatch, "index", str(tiny_docs)).code == 0
    before = _doc_ids(capsys, monkeypatch)
    assert len(before) == 3
    other = _other(env)

    r = run_main(capsys, monkeypatch, "index", str(other))  # stdin is no terminal here
    assert r.code == 2
    assert r.err_lines == [
        f"error: indexing {other} as the whole desk would remove 3 documents from "
        f"{tiny_docs.resolve()} (add --replace to go ahead; to keep both, list each under "
        "[[sources]] in askdesk.toml)"
    ]
    assert _doc_ids(capsys, monkeypatch) == before  # nothing was touched

    # a folder that isn't there is "not found", not a question about replacing
    r = run_main(capsys, monkeypatch, "index", str(env / "nope"))
    assert r.code == 2
    assert len(r.err_lines) == 1 and r.err_lines[0].startswith("error: docs folder not found")
    assert _doc_ids(capsys, monkeypatch) == before

    # the same folder again is an ordinary sync, and so is the first index of an empty desk
    assert run_main(capsys, monkeypatch, "index", str(tiny_docs)).code == 0
    r = run_main(capsys, monkeypatch, "index", str(other), "--replace", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["docs_removed"] == 3
    assert _doc_ids(capsys, monkeypatch) == {"widgets.md"}


def test_documents_of_configured_sources_are_counted_by_source(env, tiny_docs, capsys, monkeypatch):
    (env / "askdesk.toml").write_text(f'[[sources]]\nname = "handbook"\npath = "{tiny_docs}"\n')
    assert run_main(capsys, monkeypatch, "index").code == 0
    r = run_main(capsys, monkeypatch, "index", str(_other(env)))
    assert r.code == 2
    assert "would remove 3 documents from source 'handbook'" in r.err_lines[0]


def test_on_a_terminal_it_asks_and_a_yes_replaces(env, tiny_docs, capsys, monkeypatch):
    assert run_main(capsys, monkeypatch, "index", str(tiny_docs)).code == 0
    other = _other(env)
    child_env = {k: v for k, v in os.environ.items() if k != "ASKDESK_CONFIG"}
    for answer, code, kept in (("n", 1, 3), ("y", 0, 1)):
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "askdesk", "index", str(other)],
            cwd=env,
            env=child_env,
            stdin=follower,
            stdout=follower,
            stderr=follower,
        )
        os.close(follower)
        seen = b""
        deadline = time.monotonic() + 300
        while b"Replace them?" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    seen += os.read(leader, 4096)
                except OSError:
                    break
        assert b"would remove 3 documents from" in seen, seen.decode(errors="replace")
        os.write(leader, f"{answer}\n".encode())
        rest = b""
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    rest += os.read(leader, 4096)
                except OSError:
                    break
        proc.wait(timeout=300)
        os.close(leader)
        assert proc.returncode == code, (seen + rest).decode(errors="replace")
        assert len(_doc_ids(capsys, monkeypatch)) == kept
