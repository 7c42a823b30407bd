"""Socket Mode end to end: apps.connections.open on the fake Web API hands out the URL of a
local aiohttp WebSocket, which says `hello` and pushes envelopes the way Slack does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from askdesk.bots.common import ChannelDirectory
from askdesk.bots.slack.app import build_slack_app
from askdesk.bots.slack.blocks import UP
from askdesk.bots.slack.config import web_client
from askdesk.bots.slack.run import connect_socket_mode
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.feedback.store import FeedbackStore
from askdesk.testing.fake_slack import FakeSlackAPI, FakeSocketMode
from askdesk.testing.slack_payloads import block_actions, event_body, mention

APP_TOKEN = "xapp-1-A000-1-abc"


@pytest.fixture
def desk(tmp_path, sample_searcher) -> SupportDesk:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'socket.db'}")
    engine = AnswerEngine(
        sample_searcher, ExtractiveComposer(), recorder=store.interactions, asker_salt="s"
    )
    return SupportDesk(engine, store, "s")


@pytest.fixture
def socket(desk) -> Iterator[tuple[FakeSocketMode, FakeSlackAPI]]:
    ws = FakeSocketMode()
    pool = ThreadPoolExecutor(2)
    with FakeSlackAPI() as api:
        api.ws_url = ws.start()
        client = web_client("xoxb-test", api.base_url)
        app = build_slack_app(desk, ChannelDirectory(), client=client, executor=pool)
        handler = connect_socket_mode(app, APP_TOKEN)  # no signing secret in Socket Mode
        try:
            yield ws, api
        finally:
            handler.close()
            ws.stop()
            pool.shutdown(wait=True)


def envelope(envelope_id: str, kind: str, payload: dict, retry: int = 0) -> dict:
    return {
        "envelope_id": envelope_id,
        "type": kind,
        "accepts_response_payload": kind != "events_api",
        "retry_attempt": retry,
        "retry_reason": "timeout" if retry else "",
        "payload": payload,
    }


def test_socket_mode_mention_is_acked_and_answered_and_votes_arrive(socket, desk):
    ws, api = socket
    event = mention("How do I rotate my API key?")
    body = event_body(event, "EvSOCK1")
    ws.push(envelope("env-1", "events_api", body))
    assert ws.wait_for_ack("env-1")["envelope_id"] == "env-1"

    api.wait_for("chat.postMessage", where=lambda b: b.get("thread_ts") == event["ts"])
    (post,) = api.posts_in(event["ts"])
    assert "grace" in post["text"].lower()
    assert api.calls_to("apps.connections.open")[0]["auth"] == f"Bearer {APP_TOKEN}"
    assert {c["auth"] for c in api.calls if c["method"] != "apps.connections.open"} == {
        "Bearer xoxb-test"
    }

    ws.push(envelope("env-2", "events_api", body, retry=1))  # Slack's redelivery
    ws.wait_for_ack("env-2")

    value = next(
        e["value"] for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    click = block_actions(UP, value, message_ts=post["ts"], thread_ts=event["ts"])
    ws.push(envelope("env-3", "interactive", click))
    ws.wait_for_ack("env-3")
    api.wait_for("chat.postEphemeral")
    assert desk.store.interactions.votes_for(int(value))[0]["value"] == 1
    time.sleep(0.3)
    assert len(api.posts_in(event["ts"])) == 1  # the redelivery was not answered
