"""The dashboard without a browser: basic auth over real HTTP, the background job runner and
its journal, the CLI's refusal to expose an unprotected dashboard, and the panels' helpers."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from askdesk.cli.dashboard_cmd import is_loopback
from askdesk.dashboard.auth import AuthConfig
from askdesk.dashboard.decision import Thresholds
from askdesk.dashboard.jobs import JobRunner
from askdesk.dashboard.services import Services
from askdesk.feedback.analytics import Analytics
from askdesk.feedback.records import InteractionRecord
from askdesk.feedback.store import FeedbackStore

ROOT = Path(__file__).resolve().parent.parent




def _services(store: FeedbackStore, **kwargs: Any) -> Services:
    jobs = kwargs.pop("jobs", None) or JobRunner(store.jobs, {})
    return Services(
        store=store, analytics=Analytics(store.engine), thresholds=Thresholds(), jobs=jobs, **kwargs
    )


@pytest.fixture
def served(store) -> Iterator[str]:
    from werkzeug.serving import make_server

    from askdesk.dashboard.app import create_app

    app = create_app(_services(store, auth=AuthConfig("alice", "s3cret")))
    server = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def _get(url: str, user: str | None = None, password: str = "") -> int:
    request = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("path", ["/", "/_dash-layout", "/_dash-dependencies"])
def test_every_route_needs_the_password(served, path):
    assert _get(served + path) == 401
    assert _get(served + path, "alice", "wrong") == 401
    assert _get(served + path, "mallory", "s3cret") == 401
    assert _get(served + path, "alice", "s3cret") == 200


def test_the_401_asks_the_browser_for_basic_auth(served):
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(served + "/", timeout=10)
    assert info.value.headers["WWW-Authenticate"].startswith("Basic ")


def test_a_job_runs_once_per_kind_and_its_progress_and_outcome_are_journalled(store):
    journal = store.jobs
    release = threading.Event()
    seen: list[str] = []

    def reindex(progress):
        progress(0.25, "loading documents")
        seen.append(journal.latest("reindex")[0]["message"])
        release.wait(10)
        return {"message": "2 documents reindexed", "docs_changed": 2}

    def retrain(progress):
        raise RuntimeError("no examples\nmore detail")

    runner = JobRunner(journal, {"reindex": reindex, "retrain": retrain})
    first = runner.start("reindex", "alice")
    assert first.started and first.job_id is not None
    second = runner.start("reindex", "bob")
    assert not second.started and second.job_id == first.job_id
    assert "already running" in second.message
    assert runner.start("retrain", "bob").started  # another kind may run alongside
    release.set()
    runner.wait("reindex", 10)
    runner.wait("retrain", 10)

    done = journal.get(first.job_id)
    assert seen == ["loading documents"]
    assert done["status"] == "ok" and done["progress"] == 1.0 and done["started_by"] == "alice"
    assert done["result"] == {"message": "2 documents reindexed", "docs_changed": 2}
    assert done["finished_at"] >= done["started_at"]
    failed = runner.latest("retrain")
    assert failed["status"] == "failed" and failed["message"] == "RuntimeError: no examples"
    assert runner.start("reindex", "carol").started  # free again once finished
    runner.wait("reindex", 10)


def test_an_unknown_job_kind_is_refused_without_a_row(store):
    runner = JobRunner(store.jobs, {})
    outcome = runner.start("reindex", "alice")
    assert not outcome.started and "not available" in outcome.message
    assert store.jobs.latest() == []
    with pytest.raises(ValueError):
        store.jobs.start("dance", "alice")


def test_the_recommendation_counts_docs_changed_on_disk(store):
    from askdesk.dashboard.panels.recommendation import recommend

    now = datetime.now(UTC)
    for i in range(25):
        store.interactions.record(InteractionRecord(
            platform="slack", question=f"q{i}", answer="a", created_at=now - timedelta(hours=i)
        ))
    quiet = recommend(_services(store, freshness=lambda: {"docs_changed": 0}))
    assert quiet.verdict == "HEALTHY"
    stale = recommend(_services(store, freshness=lambda: {"docs_changed": 3}))
    assert stale.verdict == "REINDEX"
    assert [r.name for r in stale.fired()] == ["docs_changed"]


def test_history_rows_by_id_match_the_analytics_rows_and_export_as_csv(store):
    import csv
    import io

    from askdesk.dashboard.panels.common import to_filters
    from askdesk.dashboard.panels.history import fetch, to_csv

    a = store.interactions.record(
        InteractionRecord(platform="slack", channel="C1", question="Q a", answer="A a")
    )
    b = store.interactions.record(
        InteractionRecord(platform="slack", channel="C1", question="Q b", answer="A b")
    )
    store.interactions.record_vote(a, "v1", -1, reason="wrong_facts", comment='old, "quoted" price')
    store.interactions.record_vote(a, "v2", 1)
    services = _services(store)
    everything = (None, None, None, None)
    by_ids, total = fetch(services, everything, "", [a], 20, 0)
    listed, _ = services.analytics.interactions(to_filters(*everything), "Q a", 20, 0)
    assert total == 1
    keys = ("id", "question", "answer", "up", "down", "reasons", "comments", "sources")
    assert [{k: r[k] for k in keys} for r in by_ids] == [{k: r[k] for k in keys} for r in listed]

    rows, total = fetch(services, everything, "", None, 20, 0)
    assert total == 2 and [r["id"] for r in rows] == [b, a]
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert [int(r["id"]) for r in parsed] == [b, a]
    assert parsed[1]["reasons"] == "wrong_facts ×1" and parsed[1]["up"] == "1"
    assert parsed[1]["comments"] == 'old, "quoted" price'


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("dash.example.com", False),
    ],
)
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    clean.update(ASKDESK_DATA_DIR=str(tmp_path / "data"), **env)
    return subprocess.run(
        [sys.executable, "-m", "askdesk", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_cli_refuses_a_public_address_without_a_password(tmp_path):
    result = _cli(tmp_path, "dashboard", "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: refusing to serve the dashboard on 0.0.0.0 without a password")

    result = _cli(tmp_path, "dashboard", "--port", "0", ASKDESK_DASHBOARD_HOST="10.1.2.3")
    assert result.returncode == 2 and "10.1.2.3" in result.stderr


def test_cli_serves_the_dashboard_on_loopback_with_basic_auth(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    clean.update(ASKDESK_DATA_DIR=str(tmp_path / "data"), ASKDESK_DASHBOARD_PASSWORD="pw")
    process = subprocess.Popen(
        [sys.executable, "-m", "askdesk", "dashboard", "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=clean,
    )
    try:
        line = process.stderr.readline()
        url = line.split(" at ", 1)[1].split(" ", 1)[0].rstrip(";")
        assert url.startswith("http://127.0.0.1:") and "(basic auth)" in line
        assert _get(url) == 401
        assert _get(url, "admin", "pw") == 200
        assert _get(url + "_dash-layout", "admin", "pw") == 200
    finally:
        process.terminate()
        process.wait(20)


def test_a_running_row_from_another_process_is_shown_as_not_ours(store):
    from askdesk.dashboard.panels.recommendation import _job_line

    journal = store.jobs
    stale = journal.start("reindex", "bob")
    journal.progress(stale, 0.4, "embedding")
    runner = JobRunner(journal, {})
    job = runner.latest("reindex")
    line = _job_line("reindex", job, runner.owns(job["id"]))
    assert line.startswith("reindex: running 40% — embedding (started by bob")
    assert "not in this process" in line


def test_a_job_with_nothing_to_do_is_journalled_as_skipped_not_ok(store):
    journal = store.jobs
    runner = JobRunner(
        journal, {"reindex": lambda progress: {"status": "skipped", "reason": "index is busy"}}
    )
    outcome = runner.start("reindex", "alice")
    runner.wait("reindex", 10)
    row = journal.get(outcome.job_id)
    assert row["status"] == "skipped" and row["message"] == "skipped: index is busy"


def test_the_tone_tab_names_the_active_style_version_not_just_the_latest(store):
    from askdesk.dashboard.panels.tone import _model_in_use

    for version in ("v1", "v2"):
        store.styles.record_train_run(
            {"version": version, "train_examples": 10}, f"/style/{version}"
        )
    assert _model_in_use(_services(store))["version"] == "v2"  # nothing chosen: the latest
    rolled_back = _services(store, style_version=lambda: "v1")
    assert _model_in_use(rolled_back)["version"] == "v1"
    unknown = _services(store, style_version=lambda: "hand-made")
    assert _model_in_use(unknown) is None  # a version no run recorded: not a wrong one


# -- other sites: Host, Origin, clicks that never happened (issue 9, defect 8) ----------------


def _start_dashboard(tmp_path: Path, **env: str) -> tuple[subprocess.Popen, str]:
    """`askdesk dashboard --port 0` without a password, as a user runs it; its URL."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    clean.update(ASKDESK_DATA_DIR=str(tmp_path / "data"), **env)
    process = subprocess.Popen(
        [sys.executable, "-m", "askdesk", "dashboard", "--port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=clean,
    )
    said: list[str] = []
    for line in process.stderr:  # warnings (e.g. jobs marked interrupted) come first
        said.append(line)
        if "askdesk dashboard at " in line:
            # keep reading, so the server never blocks on a full pipe; tests read `said`
            threading.Thread(target=lambda: said.extend(process.stderr), daemon=True).start()
            process.said = said  # type: ignore[attr-defined]
            return process, line.split(" at ", 1)[1].split(" ", 1)[0].rstrip(";").rstrip("/")
    process.kill()
    raise AssertionError(f"dashboard did not start: {''.join(said)}")


@pytest.fixture(scope="module")
def loopback_dashboard(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """One server for the module: every refusal test checks that it added no job row."""
    tmp_path = tmp_path_factory.mktemp("loopback")
    process, url = _start_dashboard(tmp_path, ASKDESK_DASHBOARD_ALLOWED_HOSTS="dash.internal")
    try:
        port = int(url.rsplit(":", 1)[1])
        yield {"url": url, "port": port, "db": tmp_path / "data/askdesk.db", "said": process.said}
    finally:
        process.terminate()
        process.wait(20)


def _job_payload(reindex: int | None, retrain: int | None, changed: list[str]) -> bytes:
    """The body Dash's page posts for the recommendation panel's job callback."""
    import json

    return json.dumps(
        {
            "output": "job-message.children",
            "outputs": {"id": "job-message", "property": "children"},
            "inputs": [
                {"id": "job-reindex", "property": "n_clicks", "value": reindex},
                {"id": "job-retrain", "property": "n_clicks", "value": retrain},
            ],
            "changedPropIds": changed,
            "state": [],
        }
    ).encode()


def _send(url: str, path: str, body: bytes | None = None, **headers: str) -> tuple[int, str]:
    """One real HTTP request (urllib sends the Host we give instead of its own)."""
    request = urllib.request.Request(url + path, data=body, method="POST" if body else "GET")
    if body:
        request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _job_rows(db: Path, after: int = 0) -> list[tuple[int, str, str]]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        query = "SELECT id, kind, status FROM job_run WHERE id > ? ORDER BY id"
        return conn.execute(query, (after,)).fetchall()


def _last_job_id(db: Path) -> int:
    rows = _job_rows(db)
    return rows[-1][0] if rows else 0


def test_a_forged_host_is_refused_before_any_callback_runs(loopback_dashboard):
    url, port, db = loopback_dashboard["url"], loopback_dashboard["port"], loopback_dashboard["db"]
    before = _last_job_id(db)
    evil = f"attacker.example:{port}"
    said = loopback_dashboard["said"]
    logged = len(said)
    status, body = _send(url, "/", Host=evil)
    assert status == 400 and "Host" in body
    deadline = time.monotonic() + 10
    while len(said) == logged and time.monotonic() < deadline:  # read by a thread
        time.sleep(0.02)
    assert said[logged:] == ["warning: dashboard request refused\n"]  # one short line
    status, _ = _send(url, "/_dash-layout", Host=evil)
    assert status == 400
    # the probe: a rebound name posting the job callback with nothing clicked
    probe = _job_payload(None, None, [])
    status, _ = _send(url, "/_dash-update-component", probe, Host=evil, Origin=f"http://{evil}")
    assert status == 400
    click = _job_payload(1, None, ["job-reindex.n_clicks"])
    assert _send(url, "/_dash-update-component", click, Host=evil)[0] == 400
    assert _job_rows(db, before) == []


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}", "dash.internal"],
)
def test_the_loopback_names_and_allowed_hosts_are_served(loopback_dashboard, host):
    port = loopback_dashboard["port"]
    assert _send(loopback_dashboard["url"], "/", Host=host.format(port=port))[0] == 200


@pytest.mark.parametrize("host", ["127.0.0.1:1", "localhost", "127.0.0.1.nip.io:{port}", ""])
def test_other_ports_and_names_are_refused(loopback_dashboard, host):
    port = loopback_dashboard["port"]
    assert _send(loopback_dashboard["url"], "/", Host=host.format(port=port))[0] == 400


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://attacker.example"},
        {"Origin": "http://localhost:3000"},  # another local app: same site, other origin
        {"Origin": "null"},
        {"Sec_Fetch_Site": "cross-site"},
        {"Sec_Fetch_Site": "same-site"},
        {"Referer": "http://attacker.example/page"},
    ],
)
def test_a_cross_site_post_is_refused_and_starts_no_job(loopback_dashboard, headers):
    url, db = loopback_dashboard["url"], loopback_dashboard["db"]
    before = _last_job_id(db)
    click = _job_payload(1, None, ["job-reindex.n_clicks"])
    status, body = _send(url, "/_dash-update-component", click, **headers)
    assert status == 403 and "cross-site" in body
    assert _job_rows(db, before) == []


def test_a_callback_with_nothing_clicked_starts_no_job(loopback_dashboard):
    url, port, db = loopback_dashboard["url"], loopback_dashboard["port"], loopback_dashboard["db"]
    before = _last_job_id(db)
    same = {"Origin": f"http://127.0.0.1:{port}", "Sec_Fetch_Site": "same-origin"}
    for payload in (
        _job_payload(None, None, []),  # the probe, from the dashboard's own origin
        _job_payload(0, 0, []),
        _job_payload(None, None, ["job-retrain.n_clicks"]),  # "clicked" but never was
        _job_payload(0, None, ["job-reindex.n_clicks"]),
        _job_payload("1", None, ["job-reindex.n_clicks"]),  # not a click count
    ):
        status, _ = _send(url, "/_dash-update-component", payload, **same)
        assert status == 204  # PreventUpdate: no output, no job
    assert _job_rows(db, before) == []


def test_a_same_origin_click_still_starts_its_job(loopback_dashboard):
    url, port, db = loopback_dashboard["url"], loopback_dashboard["port"], loopback_dashboard["db"]
    before = _last_job_id(db)
    local = f"localhost:{port}"
    click = _job_payload(None, 1, ["job-retrain.n_clicks"])
    status, body = _send(
        url, "/_dash-update-component", click, Origin=f"http://{local}", Host=local
    )
    assert status == 200 and "retrain started" in body
    assert [kind for _, kind, _ in _job_rows(db, before)] == ["retrain"]
    # a script without browser headers (curl) is left to the Host check and the password
    click = _job_payload(1, 1, ["job-reindex.n_clicks"])
    status, body = _send(url, "/_dash-update-component", click)
    assert status == 200 and "reindex started" in body
    assert [kind for _, kind, _ in _job_rows(db, before)] == ["retrain", "reindex"]


# -- jobs a stopped server left "running" (issue 9, defect 8) --------------------------------

_HOLD_A_JOB = """
import sys, time
from askdesk.feedback.jobs import JobJournal
from askdesk.feedback.store import FeedbackStore
job = FeedbackStore(sys.argv[1]).jobs.start("reindex", "bob")
print(job, flush=True)
time.sleep(120)
"""


def _running_job_in_a_process(url: str) -> tuple[subprocess.Popen, int]:
    """A real process that starts a job row and then just keeps running (until killed)."""
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_JOB, url],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    return process, int(process.stdout.readline())


def _owned(store: FeedbackStore, job_id: int, host: str | None, pid: int | None, age: timedelta):
    from sqlalchemy import update

    from askdesk.feedback.models import JobRun, utcnow

    with store.db.transaction() as session:
        values = {"host": host, "pid": pid, "started_at": utcnow() - age}
        session.execute(update(JobRun).where(JobRun.id == job_id).values(**values))


def test_a_job_left_running_by_a_killed_process_is_interrupted_at_the_next_start(tmp_path):
    import signal

    from askdesk.feedback.jobs import this_host

    url = f"sqlite:///{tmp_path / 'data' / 'askdesk.db'}"
    killed, killed_job = _running_job_in_a_process(url)
    alive, alive_job = _running_job_in_a_process(url)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(20)
        store = FeedbackStore(url)
        journal = store.jobs
        ours = journal.start("retrain", "carol")  # this test process: alive
        elsewhere = journal.start("reindex", "dave")
        _owned(store, elsewhere, "other-host", 4242, timedelta(hours=1))
        elsewhere_long_ago = journal.start("reindex", "erin")
        _owned(store, elsewhere_long_ago, "other-host", 4242, timedelta(days=2))
        no_owner = journal.start("retrain", "frank")  # a row from before owners were recorded
        _owned(store, no_owner, None, None, timedelta(hours=1))
        no_owner_long_ago = journal.start("retrain", "gina")
        _owned(store, no_owner_long_ago, None, None, timedelta(days=2))
        store.close()

        dashboard, _ = _start_dashboard(tmp_path)
        dashboard.terminate()
        dashboard.wait(20)

        store = FeedbackStore(url)
        rows = {job: store.jobs.get(job) for job in (killed_job, alive_job, ours)}
        rows.update({job: store.jobs.get(job) for job in (elsewhere, no_owner)})
        rows.update(
            {job: store.jobs.get(job) for job in (elsewhere_long_ago, no_owner_long_ago)}
        )
        store.close()
    finally:
        alive.kill()
        alive.wait(20)

    gone = rows[killed_job]
    assert gone["status"] == "interrupted" and gone["finished_at"] is not None
    assert gone["message"] == f"the process running it stopped (pid {killed.pid} on {this_host()})"
    assert rows[alive_job]["status"] == "running"  # a live process's job is never touched
    assert rows[ours]["status"] == "running"
    assert rows[elsewhere]["status"] == "running"  # another host: cannot tell, too recent
    assert rows[no_owner]["status"] == "running"
    assert rows[elsewhere_long_ago]["status"] == "interrupted"
    assert rows[no_owner_long_ago]["status"] == "interrupted"


def test_a_row_with_our_pid_from_before_this_process_started_is_abandoned():
    """A restarted container's server often has the same pid (1) as the one that died."""
    import os

    from askdesk.feedback.jobs import PROCESS_STARTED, abandoned, this_host

    now = PROCESS_STARTED + timedelta(minutes=5)
    mine = {"host": this_host(), "pid": os.getpid()}
    before = {**mine, "started_at": PROCESS_STARTED - timedelta(seconds=1)}
    after = {**mine, "started_at": PROCESS_STARTED + timedelta(seconds=1)}
    assert abandoned(before, now, this_host(), os.getpid())
    assert not abandoned(after, now, this_host(), os.getpid())


def test_the_job_line_shows_an_interrupted_job(store):
    from askdesk.dashboard.panels.recommendation import _job_line

    journal = store.jobs
    job = journal.start("reindex", "bob")
    _owned(store, job, this_host := "box", 999_999_999, timedelta(minutes=1))
    del this_host
    assert journal.interrupt_abandoned() == []  # another host, a minute ago: left alone
    _owned(store, job, "box", 999_999_999, timedelta(days=3))
    assert journal.interrupt_abandoned() == [job]
    line = _job_line("reindex", journal.get(job), False)
    assert line.startswith("reindex: interrupted — the process running it stopped (pid 999999999")
