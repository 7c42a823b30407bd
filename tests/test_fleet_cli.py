"""`askdesk slack --http` as a fleet member: probes, the first ack, an unreachable database.

Real subprocesses of the CLI, a fake Slack Web API on 127.0.0.1, a real index.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from askdesk.health import Readiness, probe
from askdesk.testing.fake_slack import FakeSlackAPI
from askdesk.testing.slack_payloads import SECRET, SlackSender, mention

TOKEN = "xoxb-111-222-secretbottoken"


@pytest.fixture
def api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def cli_env(tmp_path, api: FakeSlackAPI, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASKDESK_", "SLACK_"))}
    env.update(
        ASKDESK_DATA_DIR=str(tmp_path / "data"),
        ASKDESK_SLACK_API_URL=api.base_url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        **extra,
    )
    return env


def test_readiness_waits_for_the_start_and_follows_the_database():
    down = [False]

    def ping() -> None:
        if down[0]:
            raise ConnectionError("gone")

    ready = Readiness(ping)
    assert probe("/healthz", ready) == (200, {"status": "ok"})
    status, body = probe("/readyz", ready)
    assert status == 503 and body["reason"].startswith("starting")
    ready.mark_ready()
    assert probe("/readyz", ready)[0] == 200
    down[0] = True
    time.sleep(1.1)  # the database check is cached for a second
    status, body = probe("/readyz", ready)
    assert status == 503 and body["reason"] == "database unreachable (ConnectionError)"
    assert probe("/other", ready) is None


def test_an_unreachable_database_at_start_is_one_line_and_a_failing_exit(tmp_path, api):
    port = free_port()  # nothing listens there
    env = cli_env(
        tmp_path, api, ASKDESK_DATABASE_URL=f"postgresql+psycopg://u:pw@127.0.0.1:{port}/x"
    )
    run = subprocess.run(
        [sys.executable, "-m", "askdesk", "slack", "--http", "--port", str(free_port())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach database"), run.stderr
    assert "pw" not in run.stderr  # the password is never shown


@pytest.mark.slow
def test_the_first_event_after_start_is_acked_before_the_model_is_loaded(tmp_path, api, tiny_docs):
    env = cli_env(tmp_path, api)
    index = subprocess.run(
        [sys.executable, "-m", "askdesk", "index", str(tiny_docs)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert index.returncode == 0, index.stderr
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "askdesk",
            "slack",
            "--http",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:  # the first moment the port accepts a connection, as Slack would
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.02)
        event = mention("How do I rotate my API key?")
        t0 = time.perf_counter()
        reply = SlackSender(f"http://127.0.0.1:{port}/slack/events").event(event)
        acked = time.perf_counter() - t0
        assert reply.status_code == 200 and acked < 3.0, acked
        assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        deadline = time.monotonic() + 120
        while get(f"http://127.0.0.1:{port}/readyz")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        deadline = time.monotonic() + 60
        while not api.posts_in(event["ts"]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert "rotate" in api.posts_in(event["ts"])[0]["text"].lower()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err[-3000:]
