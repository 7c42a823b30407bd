"""Two Slack bots behind one request URL, on one PostgreSQL: every question answered once.

Two real Bolt apps served over real HTTP on 127.0.0.1 (each with its own store, engine pool
and claim set, as two processes would have), one fake Slack Web API, one PostgreSQL
database. Skipped without ASKDESK_TEST_PG_URL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from tcp_cut import CuttableRelay

from askdesk.bots.claims import SharedKeys
from askdesk.bots.common import ChannelConfig, ChannelDirectory
from askdesk.bots.slack.app import build_slack_app
from askdesk.bots.slack.blocks import HUMAN, UP
from askdesk.bots.slack.config import web_client
from askdesk.bots.slack.run import serve_http
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import APOLOGY, SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.feedback.store import FeedbackStore
from askdesk.testing.fake_slack import FakeSlackAPI
from askdesk.testing.pg_fleet import fresh_database, needs_pg
from askdesk.testing.slack_payloads import SECRET, SlackSender, block_actions, mention
from tests.waiting import wait_until

pytestmark = needs_pg

TOKEN = "xoxb-111-222-secretbottoken"
CHANNELS = ChannelDirectory(ChannelConfig(escalate_to=("S0HUMANS",)))
ROTATE = "How do I rotate my API key?"


class Bot:
    """One bot process's worth of objects, serving HTTP on a free port."""

    def __init__(self, url: str, searcher: Any, api: FakeSlackAPI) -> None:
        self.store = FeedbackStore(url)
        engine = AnswerEngine(
            searcher, ExtractiveComposer(), recorder=self.store.interactions, asker_salt="s"
        )
        self.desk = SupportDesk(engine, self.store, "s")
        self.pool = ThreadPoolExecutor(2)
        app = build_slack_app(
            self.desk,
            CHANNELS,
            client=web_client(TOKEN, api.base_url),
            signing_secret=SECRET,
            executor=self.pool,
            seen=SharedKeys(self.store.fleet.claim, self.store.fleet.release),
        )
        self.server = serve_http(app, "127.0.0.1", 0, signing_secret=SECRET)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.sender = SlackSender(f"http://127.0.0.1:{self.server.server_port}/slack/events")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.pool.shutdown(wait=True)
        self.store.close()


@pytest.fixture
def pg_url():
    yield from fresh_database()


@pytest.fixture
def api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


@pytest.fixture
def fleet(pg_url, sample_searcher, api) -> Iterator[tuple[Bot, Bot]]:
    FeedbackStore(pg_url).close()
    bots = (Bot(pg_url, sample_searcher, api), Bot(pg_url, sample_searcher, api))
    yield bots
    for bot in bots:
        bot.stop()


def test_a_retry_delivered_to_the_other_process_is_not_answered_again(fleet, api):
    a, b = fleet
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    events = [mention(ROTATE, user=f"U{i}") for i in range(6)]
    for i, event in enumerate(events):
        first, second = (a, b) if i % 2 else (b, a)
        assert first.sender.event(event, f"EvF{i}").status_code == 200
        assert second.sender.event(event, f"EvF{i}", retry).status_code == 200
    for event in events:
        wait_until(lambda e=event: api.posts_in(e["ts"]))
    time.sleep(1.0)  # a second answer would have arrived by now
    assert [len(api.posts_in(e["ts"])) for e in events] == [1] * 6
    assert a.store.counts()["interactions"] == 6


def test_a_timed_out_delivery_whose_process_died_is_answered_by_the_retry(fleet, api):
    """With claims in the database, a retry after `http_timeout` is no longer dropped
    blindly: the first delivery's process never claimed it (it died), so the survivor
    answers."""
    _, b = fleet
    event = mention(ROTATE, user="U77")
    timeout = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert b.sender.event(event, "EvLOST", timeout).status_code == 200
    assert wait_until(lambda: api.posts_in(event["ts"]))


def test_talk_to_a_human_on_both_processes_pings_once(fleet, api):
    a, b = fleet
    event = mention(ROTATE, user="U5")
    a.sender.event(event, "EvH")
    post = wait_until(lambda: api.posts_in(event["ts"]))[0]
    iid = next(
        e["value"]
        for blk in post["blocks"]
        if blk["type"] == "actions"
        for e in blk["elements"]
        if e["action_id"] == UP
    )
    for bot in (a, b, a):
        payload = block_actions(HUMAN, iid, channel="C111", message_ts=post["ts"])
        assert bot.sender.interaction(payload).status_code == 200

    def pings() -> list[dict]:
        posts = [c["body"] for c in api.calls_to("chat.postMessage")]
        return [p for p in posts if "S0HUMANS" in p.get("text", "")]

    # the ping and the two "already escalated" ephemerals are posted by different processes:
    # on a loaded machine the ping can come after them (CI saw 0 pings read too early)
    wait_until(pings)
    wait_until(lambda: len(api.calls_to("chat.postEphemeral")) >= 2)
    assert len(pings()) == 1
    assert a.store.interactions.get(int(iid))["escalated"]


def test_database_down_mid_run_keeps_acking_apologises_and_recovers(pg_url, sample_searcher, api):
    FeedbackStore(pg_url).close()
    target = make_url(pg_url)
    relay = CuttableRelay(target.host or "127.0.0.1", target.port or 5432)
    bot = Bot(
        target.set(host="127.0.0.1", port=relay.port).render_as_string(False), sample_searcher, api
    )
    try:
        before = mention(ROTATE, user="U1")
        bot.sender.event(before, "EvUP1")
        wait_until(lambda: api.posts_in(before["ts"]))
        relay.cut()
        down = mention(ROTATE, user="U2")
        t0 = time.perf_counter()
        assert bot.sender.event(down, "EvDOWN").status_code == 200
        assert time.perf_counter() - t0 < 3.0  # still acked in time
        post = wait_until(lambda: api.posts_in(down["ts"]))[0]
        assert post["text"].startswith(APOLOGY.split("—")[0])
        relay.restore()
        after = mention(ROTATE, user="U3")
        bot.sender.event(after, "EvUP2")
        post = wait_until(lambda: api.posts_in(after["ts"]))[0]
        assert "grace" in post["text"].lower()
        # nothing double-recorded: the two answered questions, not the apology's
        assert bot.store.counts()["interactions"] == 2
    finally:
        bot.stop()
        relay.close()
