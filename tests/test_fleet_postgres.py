"""Several askdesk processes on one PostgreSQL: what must hold across the fleet.

Each "process" is its own FeedbackStore/App (own engine and connection pool) on a fresh
database; where a real second process matters (a lock holder killed -9, concurrent
migrations) it is a real subprocess. Skipped without ASKDESK_TEST_PG_URL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from askdesk.asker_salt import shared_salt
from askdesk.feedback.migrate import current_revision, head_revision
from askdesk.feedback.records import InteractionRecord
from askdesk.feedback.store import FeedbackStore
from askdesk.fleet import fleet_lock, lock_held
from askdesk.locking import Busy
from askdesk.settings import Settings
from askdesk.testing.pg_fleet import fresh_database, needs_pg
from askdesk.upkeep.scheduler import Scheduler
from askdesk.wiring import App

pytestmark = needs_pg


@pytest.fixture
def pg_url():
    yield from fresh_database()


@pytest.fixture
def two_stores(pg_url):
    a, b = FeedbackStore(pg_url), FeedbackStore(pg_url)
    a.engine, b.engine  # noqa: B018 - migrate now, one after the other
    yield a, b
    a.close()
    b.close()


def app_for(pg_url: str, data_dir, monkeypatch) -> App:
    for key in list(os.environ):
        if key.startswith("ASKDESK_"):
            monkeypatch.delenv(key)
    return App(Settings(data_dir=data_dir, database_url=pg_url))


def test_a_delivery_is_claimed_by_exactly_one_process(two_stores):
    a, b = two_stores
    keys = [f"event:Ev{i}" for i in range(50)]
    wins: list[tuple[str, str]] = []
    lock = threading.Lock()

    def race(store: FeedbackStore, who: str, key: str) -> None:
        if store.fleet.claim(key, owner=who):
            with lock:
                wins.append((key, who))

    with ThreadPoolExecutor(8) as pool:
        for key in keys:
            pool.submit(race, a, "a", key)
            pool.submit(race, b, "b", key)
    assert sorted(k for k, _ in wins) == sorted(keys)  # each key won once, none twice
    assert {who for _, who in wins} <= {"a", "b"}


def test_claims_expire_after_their_ttl_and_can_be_released(two_stores):
    a, b = two_stores
    assert a.fleet.claim("event:E1", ttl_s=0.2)
    assert not b.fleet.claim("event:E1")
    time.sleep(0.3)
    assert b.fleet.claim("event:E1")  # expired: a day later the same key is new again
    b.fleet.release("event:E1")
    assert a.fleet.claim("event:E1")


def test_escalation_and_curation_are_idempotent_across_processes(two_stores):
    a, b = two_stores
    iid = a.interactions.record(
        InteractionRecord(platform="slack", question="q", answer="the answer")
    )
    with ThreadPoolExecutor(4) as pool:
        flips = list(pool.map(lambda s: s.interactions.mark_escalated(iid), [a, b, a, b]))
    assert flips.count(True) == 1  # one process pings the humans, the rest see it done
    assert b.interactions.get(iid)["escalated"]
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda s: s.styles.curate(iid, curated_by="x"), [a, b, a, b]))
    assert len(set(ids)) == 1 and len(a.styles.curated_examples()) == 1
    for store in (a, b):
        store.interactions.record_vote(iid, "voter", 1)
        store.interactions.record_vote(iid, "voter", 1)
    assert len(a.interactions.votes_for(iid)) == 1


def test_the_salt_is_created_once_and_a_salt_file_is_imported_never_replaced(
    pg_url, tmp_path, monkeypatch
):
    old = tmp_path / "one"
    old.mkdir()
    (old / "salt").write_text("the-salt-this-machine-always-had\n")
    first = app_for(pg_url, old, monkeypatch)
    assert first.salt() == "the-salt-this-machine-always-had"
    other = tmp_path / "two"
    other.mkdir()
    (other / "salt").write_text("another-machines-salt")
    second = app_for(pg_url, other, monkeypatch)
    assert second.salt() == "the-salt-this-machine-always-had"  # the fleet's, everywhere
    assert (other / "salt").read_text() == "another-machines-salt"  # left as it was
    third = app_for(pg_url, tmp_path / "fresh", monkeypatch)
    assert third.salt() == first.salt()
    assert not (tmp_path / "fresh" / "salt").exists()  # nothing written to the data dir
    assert third.desk().user_hash("slack", "U1") == first.desk().user_hash("slack", "U1")


def test_shared_salt_races_agree(two_stores, tmp_path):
    a, b = two_stores
    with ThreadPoolExecutor(6) as pool:
        values = set(pool.map(lambda s: shared_salt(s, tmp_path / "none"), [a, b, a, b, a, b]))
    assert len(values) == 1


def test_the_index_lock_is_fleet_wide_and_dies_with_its_holder(pg_url, tmp_path, monkeypatch):
    one = app_for(pg_url, tmp_path / "one", monkeypatch)
    two = app_for(pg_url, tmp_path / "two", monkeypatch)  # another machine: another data dir
    with fleet_lock(one, "index", "index run"):
        assert lock_held(two, "index")
        with (
            pytest.raises(Busy, match="another index run is running in the fleet"),
            fleet_lock(two, "index", "index run"),
        ):
            pass
    assert not lock_held(two, "index")
    # a holder killed outright: PostgreSQL drops its lock with its connection
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from askdesk.feedback.fleet import advisory_lock\n"
            "from askdesk.feedback.db import make_engine\n"
            "with advisory_lock(make_engine(sys.argv[1]), 'index') as taken:\n"
            "    print(taken, flush=True)\n"
            "    time.sleep(60)\n",
            pg_url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "True"
        assert lock_held(two, "index")
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        deadline = time.monotonic() + 10
        while lock_held(two, "index") and time.monotonic() < deadline:
            time.sleep(0.05)
        with fleet_lock(two, "index", "index run"):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_a_scheduled_tick_runs_in_one_process_of_the_fleet(pg_url, tmp_path, monkeypatch):
    ran: list[str] = []

    def make(name: str) -> Scheduler:
        app = app_for(pg_url, tmp_path / name, monkeypatch)

        def job(_app: App) -> dict:
            ran.append(name)
            return {"status": "ok"}

        return Scheduler(
            app,
            reindex_every_s=60,
            reindex=job,
            claim=lambda key, ttl: app.store.fleet.claim(key, ttl_s=ttl, owner=name),
            clock=lambda: 6_000_030.0,  # both in the same wall-clock minute
        )

    one, two = make("one"), make("two")
    results = [one.tick("reindex"), two.tick("reindex")]
    assert ran == ["one"]
    assert results[1] == {"status": "skipped", "reason": "another process has this tick"}


def test_two_processes_migrating_at_once_one_migrates_the_other_waits(pg_url):
    code = (
        "import sys\n"
        "from askdesk.feedback.db import make_engine\n"
        "from askdesk.feedback.migrate import upgrade\n"
        "upgrade(make_engine(sys.argv[1]))\n"
        "print('ok')\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, pg_url], stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0] and outs == ["ok"] * 3
    store = FeedbackStore(pg_url)
    assert current_revision(store.engine) == head_revision()
    store.close()
