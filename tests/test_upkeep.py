"""Upkeep jobs on real parts: a docs folder, a LanceDB index, a SQLite store, a tiny model.

The scheduler is exercised with a fractional-minute interval so a real reindex tick lands
within a second or two; every wait is a poll with a deadline, never a bare sleep.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from askdesk.feedback.models import utcnow
from askdesk.feedback.records import InteractionRecord
from askdesk.locking import exclusive
from askdesk.settings import Settings
from askdesk.upkeep import (
    Scheduler,
    UpkeepError,
    purge_job,
    reindex_job,
    retrain_job,
    start_upkeep,
)
from askdesk.upkeep.reindex import index_lock
from askdesk.wiring import App
from tests.conftest import SAMPLE, write

NEW_DOC = """# Single sign-on

## Okta

Single sign-on with Okta needs the Enterprise plan. Paste the metadata URL under Settings,
then choose SAML and click Verify.
"""


def make_app(env: Path, embedder: Any, **settings: Any) -> App:
    app = App(Settings(data_dir=env / "data", **settings))
    app.embedder = embedder  # the session's loaded model, not a second copy
    return app


def doc_ids(app: App, query: str) -> set[str]:
    return {h.doc_id for h in app.searcher.search(query, k=5).hits}


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def app(env, embedder, tiny_docs) -> App:
    return make_app(env, embedder, docs_dir=tiny_docs)


# -- reindex ---------------------------------------------------------------------------------


def test_reindex_job_indexes_records_the_run_and_reports_progress(app, tiny_docs):
    seen: list[tuple[float, str]] = []
    result = reindex_job(app, lambda f, m: seen.append((f, m)))
    assert result["status"] == "ok" and result["docs_added"] == 3
    assert result["message"].startswith("3 added, 0 changed, 0 removed, 0 unchanged")
    assert "keys.md" in doc_ids(app, "how do I rotate an API key")
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    run = app.store.index_runs.last_finished()
    assert run["status"] == "ok" and run["docs_added"] == 3
    assert run["docs_root"] == str(tiny_docs.resolve())

    again = reindex_job(app)
    assert again["docs_added"] == 0 and again["docs_unchanged"] == 3
    assert again["chunks_embedded"] == 0
    assert len(app.store.index_runs.recent()) == 2


def test_reindex_job_without_a_known_folder_is_skipped_with_a_reason(env, embedder):
    app = make_app(env, embedder)
    result = reindex_job(app)
    assert result["status"] == "skipped" and "docs folder" in result["reason"]
    assert app.store.index_runs.recent() == []


def test_overlapping_runs_are_refused(app):
    with exclusive(index_lock(app), "index run"):  # as another process's run would
        held = reindex_job(app)
    assert held["status"] == "skipped" and "another index run" in held["reason"]
    assert held["message"].startswith("skipped: another index run is running")
    assert app.store.index_runs.recent() == []  # a refused run did nothing, so nothing to record

    # a second run started while the first is mid-way (from its own progress callback)
    inner: list[dict[str, Any]] = []

    def progress(fraction: float, message: str) -> None:
        if not inner and 0 < fraction < 1:
            inner.append(reindex_job(app))

    outer = reindex_job(app, progress)
    assert outer["status"] == "ok" and outer["docs_added"] == 3
    assert inner[0]["status"] == "skipped"
    assert [r["status"] for r in app.store.index_runs.recent()] == ["ok"]


def test_a_failing_run_is_recorded_and_the_last_good_index_keeps_serving(
    app, tiny_docs, monkeypatch
):
    reindex_job(app)
    write(tiny_docs, "guides/sso.md", NEW_DOC)

    def broken_loader(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("askdesk.retrieval.ingest.parse", broken_loader)  # loaders parse bytes
    with pytest.raises(UpkeepError, match=r"disk on fire.*last good index keeps serving"):
        reindex_job(app)
    run = app.store.index_runs.last_finished()
    assert run["status"] == "failed" and "disk on fire" in run["error"]
    # searches still answer from the last good index, in this process and a fresh one
    assert "keys.md" in doc_ids(app, "how do I rotate an API key")
    fresh = make_app(app.settings.data_dir.parent, app.embedder, docs_dir=tiny_docs)
    assert "keys.md" in doc_ids(fresh, "how do I rotate an API key")

    monkeypatch.undo()
    assert reindex_job(app)["docs_added"] == 1  # the next good run picks the change up


def test_a_vanished_docs_folder_is_a_recorded_failure(app, tiny_docs, tmp_path):
    reindex_job(app)
    with pytest.raises(UpkeepError, match="docs folder not found"):
        reindex_job(app, docs_root=tmp_path / "gone")
    assert app.store.index_runs.last_finished()["status"] == "failed"
    assert "keys.md" in doc_ids(app, "rotate an API key")


# -- schedule --------------------------------------------------------------------------------


def test_scheduled_reindex_picks_up_a_new_file(env, embedder, tiny_docs, caplog):
    app = make_app(env, embedder, docs_dir=tiny_docs, reindex_every_minutes=0.02)
    reindex_job(app)
    caplog.set_level(logging.INFO, logger="askdesk.upkeep.scheduler")
    scheduler = start_upkeep(app)
    assert scheduler is not None and scheduler.intervals["purge"] is None
    try:
        write(tiny_docs, "guides/sso.md", NEW_DOC)
        assert wait_for(lambda: "guides/sso.md" in doc_ids(app, "Okta single sign-on SAML"))
    finally:
        scheduler.stop()
    assert not scheduler.running
    assert scheduler.runs["reindex"] >= 1 and scheduler.runs["purge"] == 0
    added = [r for r in app.store.index_runs.recent() if r["docs_added"] == 1]
    assert len(added) == 1 and added[0]["status"] == "ok"
    lines = [r for r in caplog.records if r.getMessage() == "upkeep job finished"]
    assert lines and all(r.job == "reindex" for r in lines)
    assert any(getattr(r, "docs_added", 0) == 1 for r in lines)


def test_a_failing_scheduled_run_is_logged_and_the_schedule_goes_on(env, embedder, caplog):
    app = make_app(env, embedder)
    calls: list[int] = []

    def flaky(_: App) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("index store unreachable")
        return {"status": "ok", "docs_added": 0}

    caplog.set_level(logging.INFO, logger="askdesk.upkeep.scheduler")
    scheduler = Scheduler(app, reindex_every_s=0.05, reindex=flaky).start()
    try:
        assert wait_for(lambda: scheduler.runs["reindex"] >= 2, timeout=10)
    finally:
        scheduler.stop()
    failed = [r for r in caplog.records if r.getMessage() == "upkeep job failed"]
    assert failed[0].job == "reindex" and failed[0].error == "index store unreachable"
    assert scheduler.last["reindex"]["status"] == "ok"


def test_stop_is_prompt_between_runs(env, embedder):
    app = make_app(env, embedder)
    scheduler = Scheduler(app, reindex_every_s=3600, reindex=lambda _: {"status": "ok"}).start()
    t0 = time.monotonic()
    scheduler.stop()
    assert time.monotonic() - t0 < 2 and not scheduler.running
    assert scheduler.runs["reindex"] == 0  # the first reindex waits one interval


def test_nothing_scheduled_starts_nothing(env, embedder):
    assert start_upkeep(make_app(env, embedder)) is None


def test_starting_the_schedule_interrupts_jobs_a_dead_process_left_running(env, embedder):
    """The bots run the schedule too: their start marks a stopped process's job, not ours."""
    from sqlalchemy import update

    from askdesk.feedback.models import JobRun

    app = make_app(env, embedder)
    journal = app.store.jobs
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead, live = journal.start("reindex", "bob"), journal.start("retrain", "carol")
    with app.store.db.transaction() as session:
        session.execute(update(JobRun).where(JobRun.id == dead).values(pid=int(gone.stdout)))
    assert start_upkeep(app) is None  # nothing scheduled, but the check ran
    assert journal.get(dead)["status"] == "interrupted"
    assert journal.get(live)["status"] == "running"  # this process is alive


# -- retention -------------------------------------------------------------------------------


def _interactions(app: App, ages_days: list[int]) -> list[int]:
    ids = []
    for age in ages_days:
        iid = app.store.interactions.record(
            InteractionRecord(
                platform="cli",
                question=f"question {age} days ago",
                answer="an answer",
                created_at=utcnow() - timedelta(days=age),
            )
        )
        app.store.interactions.record_vote(iid, "voter-hash", 1)
        ids.append(iid)
    return ids


def test_purge_job_is_a_clear_no_op_without_retention(env, embedder):
    app = make_app(env, embedder)
    ids = _interactions(app, [400])
    result = purge_job(app)
    assert result["status"] == "skipped" and "retention_days" in result["reason"]
    assert app.store.interactions.get(ids[0]) is not None


def test_purge_job_deletes_old_interactions_and_their_votes(env, embedder):
    app = make_app(env, embedder, retention_days=30)
    old, recent = _interactions(app, [45, 2])
    result = purge_job(app)
    assert result == {
        "status": "ok",
        "retention_days": 30,
        "deleted": {"interaction": 1, "vote": 1},
        "message": "deleted 1 interaction(s) and 1 vote(s) older than 30 days",
    }
    assert app.store.interactions.get(old) is None
    assert app.store.interactions.get(recent) is not None
    assert len(app.store.interactions.votes_for(recent)) == 1


def test_the_schedule_purges_at_start_when_retention_is_set(env, embedder):
    app = make_app(env, embedder, retention_days=7)
    old, recent = _interactions(app, [8, 1])
    scheduler = start_upkeep(app)
    assert scheduler is not None and scheduler.intervals["reindex"] is None
    try:
        assert wait_for(lambda: scheduler.runs["purge"] == 1, timeout=10)
    finally:
        scheduler.stop()
    assert scheduler.last["purge"]["deleted"]["interaction"] == 1
    assert app.store.interactions.get(old) is None and app.store.interactions.get(recent)


# -- index --watch ---------------------------------------------------------------------------


def test_watch_prints_one_line_per_run_and_keeps_going_after_a_failure(app, tiny_docs):
    from askdesk.cli.index_cmd import watch_folder

    stop = threading.Event()
    lines: list[str] = []

    def echo(line: str) -> None:
        lines.append(line)
        if len(lines) == 1:
            write(tiny_docs, "guides/sso.md", NEW_DOC)
        if len(lines) == 2:
            tiny_docs.rename(tiny_docs.with_name("moved"))  # the third run fails
        if len(lines) == 3:
            stop.set()

    runs = watch_folder(app, tiny_docs, 0.01, echo=echo, stop=stop)
    assert runs == 3
    assert "reindexed: 3 added" in lines[0]
    assert "reindexed: 1 added, 0 changed, 0 removed, 3 unchanged" in lines[1]
    assert "failed: reindex failed (docs folder not found" in lines[2]


def test_watch_json_lines_and_flag_errors(app, tiny_docs):
    from askdesk.cli.index_cmd import watch_folder

    stop = threading.Event()
    lines: list[str] = []
    watch_folder(
        app, tiny_docs, 0.01, as_json=True, echo=lambda s: (lines.append(s), stop.set()), stop=stop
    )
    assert json.loads(lines[0])["docs_added"] == 3

    for flags, message in (
        (["--every", "1"], "error: --every goes with --watch"),
        (["--watch", "--rebuild"], "error: --rebuild re-embeds everything (run it once"),
    ):
        done = _cli("index", str(tiny_docs), *flags, cwd=tiny_docs.parent)
        assert done.returncode == 2 and done.stderr.startswith(message)


@pytest.mark.slow
def test_watch_runs_in_the_foreground_until_ctrl_c(env, tiny_docs):
    proc = subprocess.Popen(
        [sys.executable, "-m", "askdesk", "index", str(tiny_docs), "--watch", "--every", "0.01"],
        cwd=env,
        env=_cli_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        second = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    assert "reindexed: 3 added" in first, err
    assert "reindexed: 0 added, 0 changed, 0 removed, 3 unchanged" in second
    assert proc.returncode == 0 and "stopped" in out
    assert "every 0.01 min" in err


def _cli_env(env: Path) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    return full | {"ASKDESK_DATA_DIR": str(env / "data")}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "askdesk", *args],
        cwd=cwd,
        env=_cli_env(cwd),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


# -- retrain ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    from tests.test_style_model import build_tiny_base

    return build_tiny_base(tmp_path_factory.mktemp("tiny") / "base")


def _curate(app: App, draft: str, answer: str) -> int:
    iid = app.store.interactions.record(
        InteractionRecord(
            platform="slack", question="q", answer=answer, draft=draft, style_used=True
        )
    )
    return app.store.styles.curate(iid)


def test_retrain_job_trains_records_marks_curated_examples_and_activates(env, embedder, tiny_base):
    app = make_app(env, embedder, style_base_model=str(tiny_base))
    examples = env / "examples.jsonl"
    lines = (SAMPLE / "style" / "examples.jsonl").read_text().splitlines()[:12]
    examples.write_text("\n".join(lines) + "\n")
    good = _curate(
        app,
        "Webhooks retry 5 times over 12 hours. [1]",
        "Good news! 🎉 Webhooks retry 5 times over 12 hours. [1]",
    )
    invents = _curate(app, "Keys rotate in Settings. [1]", "Keys rotate in 30 days, easy! [1]")
    seen: list[float] = []

    result = retrain_job(app, lambda f, m: seen.append(f), examples=examples, max_steps=2)

    assert result["status"] == "ok" and result["steps"] == 2
    assert result["curated_used"] == 1 and result["curated_rejected"] == 1
    assert result["message"].startswith(f"version {result['version']} is active: 2 steps")
    version = result["version"]
    run = app.store.styles.last_train_run()
    assert run["version"] == version and run["id"] == result["train_run_id"]
    assert app.active_style_version() == version
    used = {e["id"]: e["used_in"] for e in app.store.styles.curated_examples()}
    assert used == {good: version, invents: None}  # an invented fact never trains the voice
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    assert json.loads((Path(result["folder"]) / "report.json").read_text())["version"] == version

    # a second run has no unused curated example left, and refuses to overlap a running one
    with exclusive(app.settings.data_dir / "style.lock", "training run"):
        assert retrain_job(app, examples=examples, max_steps=1)["status"] == "skipped"


def test_retrain_job_refuses_a_broken_examples_file(env, embedder, tmp_path):
    app = make_app(env, embedder)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": "a"}\nnot json\n')
    with pytest.raises(UpkeepError, match=r"bad\.jsonl"):
        retrain_job(app, examples=bad, max_steps=1)
    assert app.store.styles.last_train_run() is None


def test_style_train_command_shares_the_training_and_records_it(
    env, embedder, tiny_base, monkeypatch
):
    from typer.testing import CliRunner

    from askdesk.cli import app as cli_app

    monkeypatch.setattr(App, "embedder", property(lambda self: embedder))
    monkeypatch.setenv("ASKDESK_STYLE_BASE_MODEL", str(tiny_base))
    examples = env / "examples.jsonl"
    lines = (SAMPLE / "style" / "examples.jsonl").read_text().splitlines()[:12]
    examples.write_text("\n".join(lines) + "\n")
    r = CliRunner().invoke(cli_app, ["style", "train", str(examples), "--max-steps", "1"])
    assert r.exit_code == 0, r.output
    app = App(Settings(data_dir=env / "data"))  # embedder already patched in
    run = app.store.styles.last_train_run()
    assert run["steps"] == 1 and app.active_style_version() == run["version"]
    assert f"version {run['version']}: 1 steps" in r.output
    assert run["folder"] == f"style/{run['version']}"  # relative to the data dir: it can move
    folder = app.settings.data_dir / run["folder"]
    assert (folder / "tone").is_dir() or "tone scorer not fitted" in r.output


@pytest.mark.slow
def test_the_discord_bot_runs_the_schedule_and_stops_it_on_sigterm(tmp_path, sample_index):
    from askdesk.feedback.store import FeedbackStore
    from askdesk.testing import fake_discord as fd
    from tests.test_discord_cli import TOKEN, _Lines, _start

    store = FeedbackStore(f"sqlite:///{tmp_path / 'data' / 'askdesk.db'}")
    old = store.interactions.record(
        InteractionRecord(
            platform="discord", question="q", answer="a", created_at=utcnow() - timedelta(days=9)
        )
    )
    with fd.fake_in_thread(token=TOKEN) as fake:
        proc = _start(
            fake,
            tmp_path,
            DISCORD_BOT_TOKEN=TOKEN,
            ASKDESK_LANCEDB_URI=sample_index[0].uri,
            ASKDESK_RETENTION_DAYS="7",
        )
        lines = _Lines(proc)
        try:
            lines.wait_for("Connected to Discord as askdesk", timeout=300)
            assert wait_for(lambda: store.interactions.get(old) is None, timeout=60)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        stderr = lines.finish()
    assert "Traceback" not in stderr
    log = [
        json.loads(line) for line in (tmp_path / "data" / "askdesk.log").read_text().splitlines()
    ]
    purges = [e for e in log if e["msg"] == "upkeep job finished" and e.get("job") == "purge"]
    assert purges and purges[0]["deleted"] == {"interaction": 1, "vote": 0}
    assert any(e["msg"] == "upkeep schedule stopped" for e in log)


def test_a_scheduled_tick_is_skipped_while_another_run_holds_the_lock(app):
    scheduler = Scheduler(app, reindex_every_s=0.05)
    try:
        with exclusive(index_lock(app), "index run"):  # another process is reindexing
            scheduler.start()
            assert wait_for(lambda: scheduler.runs["reindex"] >= 2, timeout=10)
            assert scheduler.last["reindex"]["status"] == "skipped"
            assert app.store.index_runs.recent() == []
        # the lock released, the next tick runs
        assert wait_for(lambda: scheduler.last["reindex"].get("status") == "ok")
    finally:
        scheduler.stop()
    assert [r["docs_added"] for r in app.store.index_runs.recent()][-1] == 3


def test_a_broken_progress_display_never_fails_the_job(app):
    def broken(fraction: float, message: str) -> None:
        raise RuntimeError("job row not writable")

    assert reindex_job(app, broken)["docs_added"] == 3


@pytest.mark.slow
def test_the_slack_bot_reindexes_on_schedule_and_stops_it_on_exit(env, embedder, tiny_docs):
    from askdesk.testing.fake_slack import FakeSlackAPI
    from askdesk.testing.slack_payloads import SECRET
    from tests.test_discord_cli import _Lines

    app = make_app(env, embedder, docs_dir=tiny_docs)
    reindex_job(app)
    old = app.store.interactions.record(
        InteractionRecord(
            platform="slack", question="q", answer="a", created_at=utcnow() - timedelta(days=9)
        )
    )
    with FakeSlackAPI() as api:
        proc = subprocess.Popen(
            [sys.executable, "-m", "askdesk", "slack", "--http", "--port", "0"],
            cwd=env,
            env=_cli_env(env)
            | {
                "SLACK_BOT_TOKEN": "xoxb-1-good",
                "SLACK_SIGNING_SECRET": SECRET,
                "ASKDESK_SLACK_API_URL": api.base_url,
                "ASKDESK_DOCS_DIR": str(tiny_docs),
                "ASKDESK_REINDEX_EVERY_MINUTES": "0.02",
                "ASKDESK_RETENTION_DAYS": "7",
            },
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines = _Lines(proc)
        try:
            lines.wait_for("askdesk is answering in Slack", timeout=300)
            write(tiny_docs, "guides/sso.md", NEW_DOC)
            assert wait_for(lambda: store_saw_new_doc(app), timeout=60), lines.text
            assert app.store.interactions.get(old) is None
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        stderr = lines.finish()
    assert "Traceback" not in stderr
    log = [json.loads(line) for line in (env / "data" / "askdesk.log").read_text().splitlines()]
    jobs = {e.get("job") for e in log if e["msg"] == "upkeep job finished"}
    assert jobs == {"reindex", "purge"}
    assert any(e["msg"] == "upkeep schedule stopped" for e in log)


def store_saw_new_doc(app: App) -> bool:
    return any(r["docs_added"] == 1 and r["status"] == "ok" for r in app.store.index_runs.recent())
