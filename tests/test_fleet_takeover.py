"""A question claimed by a process that then dies (kill -9) is answered by a survivor, once.

Slack never resends an event that was acked, so the claim itself carries the question
(`delivery_claim.work`) and an owner whose liveness is a session advisory lock. Real Bolt
apps over HTTP on 127.0.0.1, a fake Slack Web API, real PostgreSQL, and a real subprocess
killed with SIGKILL. Skipped without ASKDESK_TEST_PG_URL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from askdesk.bots.claims import SharedKeys
from askdesk.bots.common import ChannelConfig, ChannelDirectory
from askdesk.bots.slack.app import build_slack_app
from askdesk.bots.slack.config import web_client
from askdesk.bots.slack.run import serve_http
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.feedback.fleet import WorkJournal, advisory_lock
from askdesk.feedback.models import DeliveryClaim
from askdesk.feedback.store import FeedbackStore
from askdesk.testing.fake_slack import FakeSlackAPI
from askdesk.testing.pg_fleet import fresh_database, needs_pg
from askdesk.testing.slack_payloads import SECRET, mention, new_ts
from tests.waiting import wait_until

pytestmark = needs_pg

TOKEN = "xoxb-111-222-secretbottoken"
CHANNELS = ChannelDirectory(ChannelConfig())
ROTATE = "How do I rotate my API key?"


class Survivor:
    """One live bot process's objects: its own store, claim set and work journal."""

    def __init__(self, url: str, searcher: Any, api: FakeSlackAPI) -> None:
        self.store = FeedbackStore(url)
        engine = AnswerEngine(
            searcher, ExtractiveComposer(), recorder=self.store.interactions, asker_salt="s"
        )
        self.pool = ThreadPoolExecutor(2)
        self.journal = WorkJournal(self.store.fleet, stale_after_s=0.5)
        app = build_slack_app(
            SupportDesk(engine, self.store, "s"),
            CHANNELS,
            client=web_client(TOKEN, api.base_url),
            signing_secret=SECRET,
            executor=self.pool,
            seen=SharedKeys(self.store.fleet.claim, self.store.fleet.release),
            journal=self.journal,
        )
        self.server = serve_http(app, "127.0.0.1", 0, signing_secret=SECRET)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.journal.close()
        self.server.shutdown()
        self.server.server_close()
        self.pool.shutdown(wait=True)
        self.store.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    url = next(gen := fresh_database())
    FeedbackStore(url).close()  # migrate once, before the processes start
    yield url
    gen.close()


@pytest.fixture
def api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


def held(channel: str, ts: str) -> dict[str, str]:
    return {"text": ROTATE, "channel": channel, "ts": ts, "thread": ts}


def pending(url: str) -> list[str]:
    store = FeedbackStore(url)
    try:
        with store.db.transaction() as session:
            keys = session.scalars(select(DeliveryClaim.key).where(DeliveryClaim.work.is_not(None)))
            return list(keys)
    finally:
        store.close()


def test_a_question_held_by_a_killed_process_is_answered_once_by_a_survivor(
    pg_url, sample_searcher, api
):
    """A real subprocess claims and holds a question, then is killed -9 before answering;
    of two survivors, exactly one answers it, and the claim is marked done."""
    ts = new_ts()
    script = textwrap.dedent(
        f"""
        import sys, time
        from askdesk.feedback.fleet import WorkJournal
        from askdesk.feedback.store import FeedbackStore
        store = FeedbackStore({pg_url!r})
        journal = WorkJournal(store.fleet)
        key = "msg:C111:{ts}"
        assert store.fleet.claim(key, owner=journal.owner)
        journal.hold(key, {held("C111", ts)!r})
        print("held", flush=True)
        time.sleep(120)
        """
    )
    doomed = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert doomed.stdout is not None
        assert doomed.stdout.readline().strip() == "held"
        survivors = [Survivor(pg_url, sample_searcher, api) for _ in range(2)]
        try:
            time.sleep(4.0)  # the owner is alive: nobody takes its question
            assert api.posts_in(ts) == []
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(10)
            wait_until(lambda: api.posts_in(ts))
            time.sleep(4.0)  # a second answer (a second survivor, a later pass) would be here
            assert len(api.posts_in(ts)) == 1
            wait_until(lambda: pending(pg_url) == [])
        finally:
            for bot in survivors:
                bot.stop()
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait(10)


def test_a_claim_left_by_a_dead_owner_is_taken_over_and_a_live_ones_is_not(
    pg_url, sample_searcher, api
):
    """Claim rows written as an owner whose lock connection is then closed are answered;
    rows of an owner still holding its lock are left alone."""
    admin = create_engine(pg_url, poolclass=NullPool)  # close() really disconnects
    store = FeedbackStore(pg_url)
    dead_ts, live_ts = new_ts(), new_ts()
    locks = {}
    for owner, ts in (("dead-owner", dead_ts), ("live-owner", live_ts)):
        locks[owner] = contextlib.ExitStack()
        assert locks[owner].enter_context(advisory_lock(admin, f"owner:{owner}"))
        assert store.fleet.claim(f"msg:C111:{ts}", owner=owner)
        store.fleet.hold(f"msg:C111:{ts}", held("C111", ts), owner=owner)
    locks["dead-owner"].close()
    bot = Survivor(pg_url, sample_searcher, api)
    try:
        wait_until(lambda: api.posts_in(dead_ts))
        time.sleep(4.0)
        assert len(api.posts_in(dead_ts)) == 1
        assert api.posts_in(live_ts) == []
        assert pending(pg_url) == [f"msg:C111:{live_ts}"]
    finally:
        bot.stop()
        locks["live-owner"].close()
        store.close()
        admin.dispose()


def test_a_question_answered_by_its_own_process_is_not_taken_over(pg_url, sample_searcher, api):
    """The normal path: the receiving process answers and marks it done, so when that
    process later stops, nobody answers the question again."""
    from askdesk.testing.slack_payloads import SlackSender

    first = Survivor(pg_url, sample_searcher, api)
    event = mention(ROTATE, user="U9")
    sender = SlackSender(f"http://127.0.0.1:{first.server.server_port}/slack/events")
    assert sender.event(event, "EvDONE").status_code == 200
    wait_until(lambda: api.posts_in(event["ts"]))
    wait_until(lambda: pending(pg_url) == [])
    first.stop()
    second = Survivor(pg_url, sample_searcher, api)
    try:
        time.sleep(4.0)
        assert len(api.posts_in(event["ts"])) == 1
    finally:
        second.stop()
