"""Issue 20 D10: fleet ownership survives a PostgreSQL restart.

Two work journals (two bots' worth: separate engines, separate owner locks) on a private
PostgreSQL cluster that the test really restarts (`pg_ctl restart -m fast`: every session and
every session advisory lock ends). Before the fix a restart freed both owner locks for good:
each bot then saw the other as dead and took over its questions, so they were answered two
or three times. Now each bot notices, takes its own lock again, and takes over only the
questions of an owner that is really gone — exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from askdesk.feedback.fleet import WorkJournal, lock_holder
from askdesk.feedback.store import FeedbackStore
from askdesk.testing.pg_private import (
    needs_private_pg,
    remove_private_postgres,
    start_private_postgres,
)

pytestmark = [needs_private_pg, pytest.mark.timeout(300)]

STALE_S = 1.5
BEAT_S = 0.3


@pytest.fixture
def cluster() -> Iterator:
    pg = start_private_postgres()
    try:
        yield pg
    finally:
        remove_private_postgres(pg)


def _orphans(journal: WorkJournal) -> list:
    """What the bots' takeover loop does: a failed check is logged and tried again later."""
    try:
        return journal.orphans()
    except Exception:
        return []


def test_a_restart_makes_nobody_take_over_a_living_owner_and_a_dead_one_once(cluster):
    with FeedbackStore(cluster.url) as store_a, FeedbackStore(cluster.url) as store_b:
        a = WorkJournal(store_a.fleet, stale_after_s=STALE_S, heartbeat_s=BEAT_S)
        b = WorkJournal(store_b.fleet, stale_after_s=STALE_S, heartbeat_s=BEAT_S)
        try:
            work = {"text": "How do I rotate my API key?", "channel": "C1", "ts": "1.1"}
            assert store_b.fleet.claim("msg:C1:1.1", owner=b.owner)
            b.hold("msg:C1:1.1", {**work, "thread": "1.1"})
            assert _orphans(a) == []  # b is alive: nothing to take

            cluster.restart()

            # for several stale windows after the restart, b (alive, answering) keeps its
            # question: a must not take it over, however often it looks
            taken: list = []
            until = time.monotonic() + 4 * STALE_S + 2.0
            while time.monotonic() < until:
                taken += _orphans(a)
                time.sleep(BEAT_S)
            assert taken == []
            # both noticed and hold their own locks again
            assert a.retaken >= 1 and b.retaken >= 1
            assert lock_holder(store_a.engine, f"owner:{a.owner}") is not None
            assert lock_holder(store_a.engine, f"owner:{b.owner}") is not None

            # b really goes (its lock ends, its heartbeat stops): a takes its question once
            b.close()
            until = time.monotonic() + 4 * STALE_S + 5.0
            while time.monotonic() < until and not taken:
                taken += _orphans(a)
                time.sleep(BEAT_S)
            assert [key for key, _ in taken] == ["msg:C1:1.1"]
            assert taken[0][1]["text"] == work["text"]
            for _ in range(3):  # and never again
                time.sleep(BEAT_S)
                assert _orphans(a) == []
        finally:
            a.close()
            b.close()


def test_a_bot_that_cannot_confirm_its_own_lock_takes_nothing_over(cluster):
    """While the database is down, or just back, the check takes nothing: a free lock then
    says nothing about its owner."""
    with FeedbackStore(cluster.url) as store_a, FeedbackStore(cluster.url) as store_b:
        a = WorkJournal(store_a.fleet, stale_after_s=STALE_S, heartbeat_s=60.0)  # no beat between
        b = WorkJournal(store_b.fleet, stale_after_s=STALE_S, heartbeat_s=60.0)
        try:
            assert store_b.fleet.claim("msg:C1:2.2", owner=b.owner)
            b.hold("msg:C1:2.2", {"text": "q", "channel": "C1", "ts": "2.2", "thread": "2.2"})
            cluster.restart()
            time.sleep(STALE_S + 0.5)  # b's question is stale, b's lock free: b has not beaten
            # a's first look after the restart retakes its own lock and then waits a stale
            # window before judging anyone
            assert _orphans(a) == []
            assert a.retaken == 1
            b._beat()  # b's heartbeat comes round: its lock and question are renewed
            time.sleep(STALE_S + 0.2)
            b._beat()
            assert _orphans(a) == []
        finally:
            a.close()
            b.close()
