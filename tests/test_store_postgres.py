"""The same store, models and migrations on a real PostgreSQL (the scale-out path).

Runs when ASKDESK_TEST_PG_URL names a database (`.ci/run` starts Debian's PostgreSQL and sets
it); skipped otherwise, with the reason shown.
"""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import create_engine, text

from askdesk.feedback.migrate import current_revision, head_revision
from askdesk.feedback.records import IndexRunRecord, InteractionRecord
from askdesk.feedback.store import FeedbackStore

PG_URL = os.environ.get("ASKDESK_TEST_PG_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="ASKDESK_TEST_PG_URL not set (no PostgreSQL)")


@pytest.fixture
def pg_store():
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    store = FeedbackStore(PG_URL)
    yield store
    store.close()


def test_migrations_and_round_trip_on_postgres(pg_store):
    iid = pg_store.interactions.record(
        InteractionRecord(
            platform="slack",
            question="Wie rotiere ich den Schlüssel? 🔑",
            answer="Mit [1].",
            sources=[{"n": 1, "path": "security/api-keys.md", "score": 0.8}],
            versions={"index_version": 3},
            timings={"total_ms": 12.5},
            confidence=0.8,
        )
    )
    assert current_revision(pg_store.engine) == head_revision()
    row = pg_store.interactions.get(iid)
    assert row["question"].endswith("🔑") and row["sources"][0]["path"] == "security/api-keys.md"
    assert row["created_at"].tzinfo is not None


def test_vote_upsert_is_last_wins_and_safe_under_concurrency(pg_store):
    iid = pg_store.interactions.record(
        InteractionRecord(platform="discord", question="q", answer="a")
    )
    errors: list[Exception] = []

    def vote(n: int) -> None:
        try:
            for i in range(20):
                pg_store.interactions.record_vote(
                    iid,
                    f"user{i % 5}",
                    1 if (n + i) % 2 else -1,
                    reason=None if (n + i) % 2 else "wrong_facts",
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=vote, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    votes = pg_store.interactions.votes_for(iid)
    assert len(votes) == 5 and {v["voter_hash"] for v in votes} == {f"user{i}" for i in range(5)}
    pg_store.interactions.record_vote(iid, "user0", -1, reason="tone_format", comment="too chatty")
    v0 = next(v for v in pg_store.interactions.votes_for(iid) if v["voter_hash"] == "user0")
    assert v0["value"] == -1 and v0["reason"] == "tone_format"
    kept = pg_store.interactions.record_vote(iid, "user0", -1, source="reaction")
    assert kept["reason"] == "tone_format" and kept["comment"] == "too chatty"


def test_index_runs_on_postgres(pg_store):
    pg_store.index_runs.record(
        IndexRunRecord(
            docs_root="/docs",
            status="ok",
            embed_model="m",
            docs_added=3,
            skipped=[{"path": "a.pdf", "reason": "broken PDF"}],
            duration_s=1.5,
        )
    )
    last = pg_store.index_runs.last_finished("/docs")
    assert last["docs_added"] == 3 and last["skipped"][0]["reason"] == "broken PDF"


def test_the_vote_written_last_carries_the_latest_time_on_postgres(pg_store):
    """As on SQLite (test_feedback_store): updated_at is stamped once the vote holds the
    interaction's row lock, so a vote that waited for another writer is stamped after it."""
    from datetime import datetime

    from sqlalchemy import event, insert, select

    from askdesk.feedback.models import Interaction, Vote, utcnow

    interaction_id = pg_store.interactions.record(
        InteractionRecord(platform="slack", question="q", answer="a")
    )
    waiting = threading.Event()
    event.listen(pg_store.engine, "checkout", lambda *_: waiting.set())
    outcome: dict[str, dict] = {}
    other = create_engine(PG_URL)
    try:
        with other.connect() as holder:
            holder.begin()
            locked = select(Interaction.id).where(Interaction.id == interaction_id)
            holder.execute(locked.with_for_update())  # another writer's vote is in progress
            mine = threading.Thread(
                target=lambda: outcome.update(
                    vote=pg_store.interactions.record_vote(interaction_id, "v", 1)
                )
            )
            mine.start()
            assert waiting.wait(10)
            time_of_other: datetime = utcnow()
            holder.execute(
                insert(Vote).values(
                    interaction_id=interaction_id,
                    voter_hash="v",
                    value=-1,
                    reason="wrong_facts",
                    source="button",
                    created_at=time_of_other,
                    updated_at=time_of_other,
                )
            )
            assert mine.is_alive()
            holder.commit()
        mine.join(30)
    finally:
        other.dispose()
    (vote,) = pg_store.interactions.votes_for(interaction_id)
    assert vote["value"] == 1 and vote["reason"] is None
    assert vote["updated_at"] > time_of_other
    assert outcome["vote"]["updated_at"] == vote["updated_at"]
