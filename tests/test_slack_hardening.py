"""Issue 9's probes against the Slack bot's HTTP mode, over real HTTP on 127.0.0.1.

The in-process cases serve the real Bolt app exactly as `askdesk slack --http` does
(`serve_http`, the request guard in front of Bolt's WSGI handler); the last case runs the
command itself and reads the JSON log file it writes. Unsigned bodies are sent bare, signed
ones with Slack's v0 signature; replies land in the local fake of the Slack Web API.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlencode

import pytest

from askdesk.bots.common import ChannelConfig, ChannelDirectory
from askdesk.bots.slack.app import build_slack_app
from askdesk.bots.slack.blocks import UP
from askdesk.bots.slack.config import web_client
from askdesk.bots.slack.run import serve_http
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.feedback.store import FeedbackStore
from askdesk.logs import JsonFormatter
from askdesk.testing.fake_slack import FakeSlackAPI
from askdesk.testing.slack_payloads import (
    BOT_USER,
    SECRET,
    SlackSender,
    event_body,
    mention,
    message,
    sign,
    slash,
)
from tests.waiting import wait_until

TOKEN = "xoxb-111-222-secretbottoken"
SNEAKY_USER = "U0SNEAKY42"
SNEAKY_TEXT = "my-private-message-text"
MB = 1_000_000


@pytest.fixture(autouse=True)
def no_leftover_cli_logging() -> Iterator[None]:
    """In-process CLI tests leave askdesk's stderr handler on the root logger, bound to a
    capture stream that is closed by now; its "--- Logging error ---" would be noise here."""
    root = logging.getLogger()
    left = [h for h in root.handlers if getattr(h, "_askdesk", False)]
    for handler in left:
        root.removeHandler(handler)
    yield
    for handler in left:
        root.addHandler(handler)


@pytest.fixture
def desk(tmp_path, sample_searcher) -> SupportDesk:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'slack.db'}")
    engine = AnswerEngine(
        sample_searcher, ExtractiveComposer(), recorder=store.interactions, asker_salt="s"
    )
    return SupportDesk(engine, store, "s")


@pytest.fixture
def api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


@pytest.fixture
def slack(desk, api) -> Iterator[SlackSender]:
    pool = ThreadPoolExecutor(2, thread_name_prefix="test-answer")
    app = build_slack_app(
        desk,
        ChannelDirectory(ChannelConfig()),
        client=web_client(TOKEN, api.base_url),
        signing_secret=SECRET,
        executor=pool,
    )
    server = serve_http(app, "127.0.0.1", 0, signing_secret=SECRET)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield SlackSender(f"http://127.0.0.1:{server.server_port}/slack/events")
    server.shutdown()
    server.server_close()
    pool.shutdown(wait=True)




def log_lines(caplog) -> list[str]:
    """Every captured record as the JSON line the log file would get."""
    fmt = JsonFormatter()
    return [fmt.format(r) for r in caplog.records]


def sneaky_event(size: int) -> str:
    """An Events API body of about `size` bytes holding a user id and message text."""
    event = mention(SNEAKY_TEXT + " " + "x" * size, user=SNEAKY_USER)
    return json.dumps(event_body(event))


def post_of(api: FakeSlackAPI, thread: str) -> dict[str, Any]:
    return wait_until(lambda: api.posts_in(thread))[0]


# -- 6: unsigned bodies are refused without being read or logged -------------------------------
def test_unsigned_5mb_posts_are_413_unread_and_each_one_short_line(slack, api, caplog):
    caplog.set_level(logging.DEBUG)
    raw = sneaky_event(5 * MB)
    for _ in range(3):
        assert slack.raw(raw, {"content-type": "application/json"}).status_code == 413
    lines = log_lines(caplog)
    refused = [json.loads(line) for line in lines if "refused a request" in line]
    assert [r["reason"] for r in refused] == ["too large"] * 3
    assert all(r["bytes"] == len(raw) and r["limit"] == MB for r in refused)
    assert sum(len(line) for line in lines) < 2000, lines  # was 15 MB of logged bodies
    assert not any(SNEAKY_USER in line or SNEAKY_TEXT in line for line in lines)
    assert api.calls_to("chat.postMessage") == []


def test_unsigned_bodies_under_the_limit_are_401_in_one_line_without_text_or_ids(
    slack, api, caplog
):
    caplog.set_level(logging.DEBUG)
    raw = sneaky_event(500_000)
    forged = sign(raw, "application/json", secret="not-the-secret")
    assert slack.raw(raw, {"content-type": "application/json"}).status_code == 401
    assert slack.raw(raw, forged).status_code == 401
    lines = log_lines(caplog)
    refused = [json.loads(line) for line in lines if "refused a request" in line]
    assert [r["reason"] for r in refused] == ["unsigned", "bad signature"]
    assert len(lines) <= 4  # the two refusals and, at debug level, the two access lines
    assert all(len(line) < 300 for line in lines)
    assert not any(SNEAKY_USER in line or SNEAKY_TEXT in line for line in lines)


# -- 7: malformed unsigned bodies are 401, not 500 -------------------------------------------
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"type": "event_callback", "event": {', "application/json"),
        (b'["an", "array"]', "application/json"),
        (b"payload=\xff\xfe\x80 not utf-8", "application/x-www-form-urlencoded"),
        (b'{"text": "\xff\xfe"}', "application/json"),
    ],
)
def test_unsigned_malformed_bodies_are_401_without_a_traceback(
    slack, api, capsys, caplog, body, content_type
):
    caplog.set_level(logging.DEBUG)
    assert slack.raw(body, {"content-type": content_type}).status_code == 401
    assert "Traceback" not in capsys.readouterr().err
    assert not any(r.exc_info for r in caplog.records)


def test_a_signed_body_that_is_not_utf8_is_400_without_a_traceback(slack, capsys):
    body = b'{"type": "event_callback", "event": {"text": "\xff"}}'
    assert slack.raw(body, sign(body, "application/json")).status_code == 400
    assert "Traceback" not in capsys.readouterr().err


# -- 5: invalid text is cleaned, answered and recorded ---------------------------------------
def test_a_signed_event_with_a_lone_surrogate_is_answered_and_recorded(slack, api, desk):
    event = mention("How do I rotate my API key? \ud800")
    raw = json.dumps(event_body(event))  # JSON carries it as the escape \ud800
    assert "\\ud800" in raw
    assert slack.raw(raw, sign(raw, "application/json")).status_code == 200
    post = post_of(api, event["ts"])
    assert "reference #" not in post["text"] and "grace" in post["text"].lower()
    iid = int(next(e["value"] for b in post["blocks"] if b["type"] == "actions"
                   for e in b["elements"] if e["action_id"] == UP))
    row = desk.store.interactions.get(iid)
    assert row["question"] == "How do I rotate my API key? \ufffd" and not row["error"]


# -- 7: a signed huge question is stored cut, and the reply says so --------------------------
def test_a_signed_900kb_question_is_answered_and_stored_cut_to_8k(slack, api, desk):
    event = mention("How do I rotate my API key? " + "x" * 900_000)
    raw = json.dumps(event_body(event))
    assert slack.raw(raw, sign(raw, "application/json")).status_code == 200
    post = post_of(api, event["ts"])
    assert "kept only its first 8,192" in json.dumps(post["blocks"])
    rows = wait_until(lambda: desk.store.interactions.recent(limit=5))
    assert len(rows) == 1
    assert len(rows[0]["question"]) <= 8192 + 60
    assert rows[0]["question"].endswith("[…cut: the question had 900,028 characters]")


def test_a_signed_5mb_event_is_413_and_never_stored(slack, api, desk):
    raw = sneaky_event(5 * MB)
    assert slack.raw(raw, sign(raw, "application/json")).status_code == 413
    time.sleep(0.3)
    assert api.calls_to("chat.postMessage") == [] and desk.store.interactions.recent() == []


# -- 9d: a repeated /ask is answered once ----------------------------------------------------
def test_the_same_signed_slash_command_twice_is_answered_once(slack, api):
    fields = slash("How do I rotate my API key?")
    assert slack.command(fields).status_code == 200
    second = slack.command(fields)  # the same body, re-signed within the window
    assert second.status_code == 200 and second.text == ""
    root = api.wait_for("chat.postMessage", where=lambda b: "asked:" in b.get("text", ""))[0]
    post_of(api, root["result"]["ts"])
    time.sleep(0.5)
    asked = api.calls_to("chat.postMessage", lambda b: "asked:" in b.get("text", ""))
    assert len(asked) == 1
    # Without a trigger_id the body itself is the key; a different /ask still goes through.
    bare = {k: v for k, v in slash("what are the rate limits?").items() if k != "trigger_id"}
    raw = urlencode(bare)
    for _ in range(2):
        slack.raw(raw, sign(raw, "application/x-www-form-urlencoded"))
    api.wait_for("chat.postMessage", n=2, where=lambda b: "asked:" in b.get("text", ""))
    time.sleep(0.5)
    assert len(api.calls_to("chat.postMessage", lambda b: "asked:" in b.get("text", ""))) == 2


def test_bolts_own_lines_never_carry_a_payload(slack, api, caplog):
    """Even at debug level: Bolt logs a skipped self event with the whole event in it."""
    caplog.set_level(logging.DEBUG)
    own = message(SNEAKY_TEXT, user=BOT_USER, bot_id="BBOT")
    assert slack.event(own).status_code == 200
    time.sleep(0.3)
    lines = log_lines(caplog)
    assert any("Skipped self event" in line for line in lines), lines
    assert not any(SNEAKY_TEXT in line for line in lines)


# -- the command itself: `askdesk slack --http` and its log file --------------------------------
@pytest.mark.slow
def test_askdesk_slack_http_refuses_unsigned_and_huge_requests_and_logs_one_line_each(
    tmp_path, tiny_docs, api
):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASKDESK_", "SLACK_"))}
    env.update(
        ASKDESK_DATA_DIR=str(tmp_path / "data"),
        ASKDESK_SLACK_API_URL=api.base_url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
    )
    index = subprocess.run(
        [sys.executable, "-m", "askdesk", "index", str(tiny_docs)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert index.returncode == 0, index.stderr
    log_file = tmp_path / "data" / "askdesk.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "askdesk", "slack", "--http", "--host", "127.0.0.1", "--port", "0"],
        cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = _served_url(proc)
        slack = SlackSender(url)
        before = log_file.stat().st_size
        raw = sneaky_event(5 * MB)
        for _ in range(3):
            assert slack.raw(raw, {"content-type": "application/json"}).status_code == 413
        for body in (sneaky_event(1000), b"[1, 2]"):
            assert slack.raw(body, {"content-type": "application/json"}).status_code == 401
        grown = log_file.read_text()[before:]
        assert log_file.stat().st_size - before < 1500, grown  # was 15 MB
        assert len(grown.splitlines()) == 5
        assert SNEAKY_USER not in grown and SNEAKY_TEXT not in grown

        event = mention("How do I rotate an API key? \ud800", user=SNEAKY_USER)
        body = json.dumps(event_body(event))
        assert slack.raw(body, sign(body, "application/json")).status_code == 200
        post = post_of(api, event["ts"])
        assert "reference #" not in post["text"] and "rotate" in post["text"].lower()
        assert SNEAKY_USER not in log_file.read_text() and "rotate" not in log_file.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err, err[-3000:]


def _served_url(proc: subprocess.Popen) -> str:
    deadline = time.monotonic() + 300
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        found = re.search(r"HTTP mode, http://127\.0\.0\.1:(\d+)/slack/events", line)
        if found:
            return f"http://127.0.0.1:{found.group(1)}/slack/events"
    raise AssertionError("".join(seen)[-3000:])
