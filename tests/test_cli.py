"""The CLI as a user runs it: in-process for speed, and as real processes for exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from askdesk.cli import app
from askdesk.feedback.records import InteractionRecord

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, list(args), catch_exceptions=True)
    return result


def test_index_ask_search_status_eval_vote(env, tiny_docs):
    r = invoke("index", str(tiny_docs), "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["docs_added"] == 3 and report["status"] == "ok"

    r = invoke("ask", "--json", "How", "do", "I", "rotate", "an", "API", "key?")
    assert r.exit_code == 0, r.output
    ans = json.loads(r.stdout)
    assert ans["sources"][0]["path"] == "keys.md" and not ans["unanswered"]
    assert {"answer", "sources", "confidence", "timings_ms", "versions"} <= set(ans)
    assert {"path", "title", "heading", "score"} <= set(ans["sources"][0])
    iid = ans["interaction_id"]
    assert isinstance(iid, int)

    r = invoke("ask", "How do I rotate an API key?")
    assert r.exit_code == 0 and "[1]" in r.stdout and "Sources" in r.stdout

    r = invoke("search", "retry backoff", "--k", "2", "--json")
    hits = json.loads(r.stdout)["hits"]
    assert len(hits) == 2 and hits[0]["doc_id"] == "guides/retries.txt"

    r = invoke("vote", str(iid), "down", "--reason", "facts", "--comment", "old")
    assert r.exit_code == 0 and "recorded" in r.stdout
    r = invoke("vote", str(iid), "sideways")
    assert r.exit_code != 0

    (tiny_docs / "keys.md").write_text("# Keys\n\nChanged content about key rotation.\n")
    r = invoke("status", "--json")
    st = json.loads(r.stdout)
    assert st["documents"] == 3 and st["changed_since_last_run"]["changed"] == ["keys.md"]
    assert st["last_run"]["status"] == "ok" and st["interactions"]["votes"] == 1

    golden = env / "golden.jsonl"
    golden.write_text(
        json.dumps(
            {
                "question": "how much is the team plan?",
                "answer": "49 dollars per month",
                "sources": ["billing/plans.md"],
            }
        )
        + "\n"
        + json.dumps(
            {"question": "When are failed deliveries retried?", "sources": ["retries.txt"]}
        )
        + "\n"
    )
    r = invoke("eval", str(golden), "--json")
    assert r.exit_code == 0, r.output
    ev = json.loads(r.stdout)
    assert ev["summary"]["hit@1"] == 1.0 and len(ev["questions"]) == 2
    for key in (
        "hit@1",
        "hit@3",
        "hit@5",
        "mrr",
        "ndcg@10",
        "answer_f1",
        "unanswered_rate",
        "latency_p50_ms",
        "latency_p95_ms",
    ):
        assert key in ev["summary"]


def test_index_reuses_the_last_folder_and_reports_no_changes(env, tiny_docs):
    assert invoke("index", str(tiny_docs)).exit_code == 0
    r = invoke("index", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["docs_unchanged"] == 3


def test_help_lists_every_command(env):
    r = invoke("--help")
    commands = ("index", "ask", "search", "eval", "status", "demo", "vote", "slack", "discord")
    for cmd in (*commands, "chat"):
        assert cmd in r.stdout


def _cli(*args: str, cwd: Path, timeout: int = 300, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "askdesk", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def test_help_is_instant_and_imports_nothing_heavy(tmp_path):
    code = (
        "import sys, askdesk.cli; heavy = {'torch', 'lancedb', 'sentence_transformers', "
        "'sqlalchemy', 'pyarrow'} & set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
    t = time.perf_counter()
    r = _cli("--help", cwd=tmp_path)
    assert r.returncode == 0 and "index" in r.stdout
    assert time.perf_counter() - t < 5  # generous: a cold start on a loaded CI machine


@pytest.mark.parametrize(
    ("args", "setup", "message"),
    [
        (["index", "missing-folder"], None, "docs folder not found"),
        (["index"], None, "which folder?"),
        (["ask", "hello"], None, "no index"),
        (["eval", "nope.jsonl"], None, "golden file not found"),
        (
            ["eval", "golden.jsonl"],
            "unanswerable_with_sources",
            'golden.jsonl:1: a question marked "answerable": false cannot have sources',
        ),
        (["status"], "corrupt_db", "not a SQLite database"),
        (["status"], "data_dir_is_file", "not a folder"),
        (["search", "x", "--mode", "magic"], None, "--mode must be one of"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path, args, setup, message):
    data = tmp_path / "data"
    if setup == "corrupt_db":
        data.mkdir()
        (data / "askdesk.db").write_bytes(b"this is not a database" * 100)
    if setup == "data_dir_is_file":
        data.write_text("oops")
    if setup == "unanswerable_with_sources":
        (tmp_path / "golden.jsonl").write_text(
            '{"question": "zapier?", "answerable": false, "sources": ["faq.md"]}\n'
        )
    before = (data / "askdesk.db").read_bytes() if setup == "corrupt_db" else None
    r = _cli(*args, cwd=tmp_path, ASKDESK_DATA_DIR=str(data))
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    if before is not None:
        assert (data / "askdesk.db").read_bytes() == before


def test_a_reason_on_an_up_vote_is_refused_and_nothing_is_stored(tmp_path):
    """`askdesk vote 6 up --reason facts` used to store a 👍 with reason wrong_facts."""
    from askdesk.feedback.store import FeedbackStore

    data = tmp_path / "data"
    with FeedbackStore(f"sqlite:///{data / 'askdesk.db'}") as store:
        iid = store.interactions.record(InteractionRecord(platform="cli", question="q", answer="a"))
    r = _cli("vote", str(iid), "up", "--reason", "facts", cwd=tmp_path, ASKDESK_DATA_DIR=str(data))
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.strip().splitlines() if line.strip()]
    assert lines == [
        f"error: --reason is only for a down vote (e.g. askdesk vote {iid} down --reason facts)"
    ]
    assert r.stdout == ""
    with FeedbackStore(f"sqlite:///{data / 'askdesk.db'}") as store:
        assert store.interactions.votes_for(iid) == []


@pytest.mark.slow
def test_demo_runs_end_to_end_and_ends_serving_the_dashboard(tmp_path):
    """The README's first command: index, answers, a stored eval run, real traffic with
    labelled demo votes, then the dashboard answering over HTTP until Ctrl-C."""
    import re
    import signal
    import urllib.request

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "askdesk", "demo", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 900
        seen = []
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            seen.append(line)
            m = re.search(r"dashboard at (http://\S+/)", line)
            url = m.group(1) if m else None
        assert url, "".join(seen)[-2000:]
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.status == 200 and "askdesk" in r.read().decode()
        with urllib.request.urlopen(url + "_dash-layout", timeout=60) as r:
            assert r.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert "Index done" in out and "How do I rotate my API key?" in out and "[1]" in out
    assert "couldn't find this in the docs" in out  # the off-topic sample question
    assert "eval run #1" in out and "demo votes" in out

    from askdesk.feedback.store import FeedbackStore

    data = tmp_path / ".askdesk" / "demo"
    assert "SIMULATED history" in out and "a reindex on" in out
    from askdesk.feedback.analytics import Analytics

    def real(rows: list) -> list:
        return [r for r in rows if not r["simulated"]]

    with FeedbackStore(f"sqlite:///{data / 'askdesk.db'}") as store:
        runs = real(store.styles.eval_runs())
        assert len(runs) == 1 and runs[0]["label"] == "demo"
        versions = [r["version"] for r in real(store.styles.train_runs())]
        assert versions == ["sample-v1"]  # the bundled model
        platforms = {i["platform"] for i in real(store.interactions.recent(limit=500))}
        assert {"slack", "discord", "web", "cli"} <= platforms
        span = Analytics(store.engine).simulated_span()
        assert span["eval_runs"] == 7 and span["answers"] > 200
    again = _cli("demo", "--no-dashboard", cwd=tmp_path, timeout=900)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 added, 0 changed" in again.stdout and "eval run #" in again.stdout
    with FeedbackStore(f"sqlite:///{data / 'askdesk.db'}") as store:
        assert len(real(store.styles.eval_runs())) == 2  # the simulated ones were replaced
        assert Analytics(store.engine).simulated_span()["eval_runs"] == 7


def test_a_second_index_run_waits_its_turn(env, tiny_docs):
    from askdesk.locking import Busy, exclusive

    with exclusive(env / "data" / "index.lock", "index run"):
        r = invoke("index", str(tiny_docs))
    assert isinstance(r.exception, Busy) and "another index run is running" in str(r.exception)
    assert invoke("index", str(tiny_docs)).exit_code == 0


def test_a_broken_config_file_is_named(env):
    (env / "askdesk.toml").write_text("top_k = = 3\n")
    r = invoke("status")
    assert "askdesk.toml is not valid TOML" in str(r.exception)
    (env / "askdesk.toml").write_text("top_k = 0\n")
    r = invoke("status")
    assert "invalid setting top_k" in str(r.exception)


@pytest.mark.slow
def test_ask_with_invalid_utf8_in_argv_or_random_bytes_on_stdin_is_answered_and_stored(
    tmp_path, tiny_docs
):
    """`askdesk ask --json $'rotate \\xff key'` and random bytes on `ask -` crashed with
    "TextEncodeInput must be…" (rc 1, nothing stored); a 100 kB question was stored whole."""
    import random

    from askdesk.feedback.store import FeedbackStore

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    env["ASKDESK_DATA_DIR"] = str(tmp_path / "data")

    def ask(args: list, stdin: bytes = b"") -> dict:
        r = subprocess.run(
            [sys.executable, "-m", "askdesk", "ask", "--json", *args],
            cwd=tmp_path,
            env=env,
            input=stdin,
            capture_output=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr.decode(errors="replace")[-2000:]
        return json.loads(r.stdout)

    assert _cli("index", str(tiny_docs), cwd=tmp_path, **env).returncode == 0
    argv = ask([b"How do I rotate an API \xff key?"])
    noise = ask(["-"], random.Random(9).randbytes(3000))
    long = ask(["-"], b"How do I rotate an API key? " + b"words " * 17_000)  # ~100 kB
    assert argv["sources"][0]["path"] == "keys.md" and argv["error"] is None
    assert noise["error"] is None and long["error"] is None
    assert "kept only its first 8,192" in long["notice"]
    with FeedbackStore(f"sqlite:///{tmp_path / 'data' / 'askdesk.db'}") as store:
        assert store.interactions.get(argv["interaction_id"])["question"] == (
            "How do I rotate an API \ufffd key?"
        )
        assert "\ufffd" in store.interactions.get(noise["interaction_id"])["question"]
        stored = store.interactions.get(long["interaction_id"])["question"]
        assert len(stored) < 8192 + 60 and stored.endswith("102,028 characters]")


def test_ask_shows_a_hedged_answer_with_its_line_and_the_setting_sets_the_zone(
    env, tiny_docs, monkeypatch
):
    """`answer_hedge_shift` is the hedged zone's width: at its widest (-10) an answer the
    decision accepts is given hedged, at 0 never; the CLI prints the line first and says why."""
    from askdesk.core.engine import HEDGE_LINE

    assert invoke("index", str(tiny_docs), "--json").exit_code == 0
    monkeypatch.setenv("ASKDESK_ANSWER_HEDGE_SHIFT", "-10")
    r = invoke("ask", "--json", "How do I rotate an API key?")
    assert r.exit_code == 0, r.output
    ans = json.loads(r.stdout)
    assert ans["hedged"] is True and ans["decision"]["hedged"] is True
    assert ans["answer"].startswith(HEDGE_LINE + "\n\n") and not ans["unanswered"]
    r = invoke("ask", "How do I rotate an API key?")
    assert r.exit_code == 0 and r.stdout.lstrip().startswith(HEDGE_LINE)
    assert "[1]" in r.stdout and "hedged:" in r.stdout
    monkeypatch.setenv("ASKDESK_ANSWER_HEDGE_SHIFT", "0")
    ans = json.loads(invoke("ask", "--json", "How do I rotate an API key?").stdout)
    assert ans["hedged"] is False and HEDGE_LINE not in ans["answer"]
    monkeypatch.setenv("ASKDESK_ANSWER_HEDGE_SHIFT", "2")  # a bad value: one clear line
    r = invoke("ask", "How do I rotate an API key?")
    assert r.exit_code != 0 and "answer_hedge_shift" in f"{r.output}{r.exception}"
