"""The feedback store against real SQLite files: schema, round trips, upserts, concurrency."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from askdesk.feedback.db import StoreError, make_engine
from askdesk.feedback.hashing import hash_user
from askdesk.feedback.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    is_at_head,
    scripted_head,
    upgrade,
)
from askdesk.feedback.models import VOTE_REASONS, Base
from askdesk.feedback.records import IndexRunRecord, InteractionRecord
from askdesk.feedback.store import FeedbackStore


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with FeedbackStore(sqlite_url(tmp_path / "data" / "feedback.db")) as opened:
        yield opened


def ask(store: FeedbackStore, question: str = "How do I reset my password?", **fields: Any) -> int:
    defaults: dict[str, Any] = {"platform": "slack", "question": question, "answer": "See docs."}
    return store.interactions.record(InteractionRecord(**(defaults | fields)))


# -- schema ------------------------------------------------------------------------------


def test_migration_creates_the_tables_and_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "new" / "f.db"))
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        upgrade(engine)  # idempotent
        assert current_revision(engine) == head_revision() == "0013"
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            assert {"interaction", "vote", "index_run", "train_run", "alembic_version"} <= tables
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_migration_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "f.db"))
    try:
        upgrade(engine)
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == {"alembic_version"}
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_the_head_read_from_the_revision_files_is_alembics() -> None:
    """`is_at_head` reads the head from the files' literals, without Alembic: it must be the
    head Alembic would migrate to, or the fast path could skip a pending migration."""
    assert scripted_head() is not None
    assert scripted_head() == head_revision()


def test_is_at_head_only_when_nothing_is_pending(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "f.db"))
    try:
        assert not is_at_head(engine)  # empty: no version table yet
        upgrade(engine, revision_before_head())
        assert not is_at_head(engine)  # one migration pending
        upgrade(engine)
        assert is_at_head(engine)
    finally:
        engine.dispose()


def test_a_store_on_an_older_schema_still_migrates(tmp_path: Path) -> None:
    """The store skips Alembic only at head: one revision behind, it upgrades as before."""
    url = sqlite_url(tmp_path / "f.db")
    engine = make_engine(url)
    try:
        upgrade(engine, revision_before_head())
    finally:
        engine.dispose()
    with FeedbackStore(url) as s:
        assert current_revision(s.engine) == head_revision()


def test_an_unclear_head_leaves_the_decision_to_alembic(tmp_path: Path, monkeypatch) -> None:
    """Two heads, or a revision that is no literal: no fast answer (None), so the store runs
    Alembic's upgrade, which knows what to do or says what is wrong."""
    import shutil

    import askdesk.feedback.migrate as migrate

    versions = tmp_path / "versions"
    shutil.copytree(migrate.VERSIONS_DIR, versions, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrate, "VERSIONS_DIR", versions)
    migrate.scripted_head.cache_clear()
    try:
        assert migrate.scripted_head() == head_revision()
        (versions / "9998_branch.py").write_text(
            f'revision = "9998"\ndown_revision = "{revision_before_head()}"\n'
        )
        migrate.scripted_head.cache_clear()
        assert migrate.scripted_head() is None  # two heads
        (versions / "9998_branch.py").write_text(
            f'revision = "9998"\ndown_revision = "{head_revision()}"\n'
        )
        migrate.scripted_head.cache_clear()
        assert migrate.scripted_head() == "9998"
        (versions / "9999_odd.py").write_text('revision = make_id()\ndown_revision = "9998"\n')
        migrate.scripted_head.cache_clear()
        assert migrate.scripted_head() is None
    finally:
        migrate.scripted_head.cache_clear()


def revision_before_head() -> str:
    """The revision just before head, as Alembic sees it."""
    from alembic.script import ScriptDirectory

    down = ScriptDirectory.from_config(alembic_config()).get_revision(head_revision()).down_revision
    assert isinstance(down, str)
    return down


def test_sqlite_runs_in_wal_mode_with_foreign_keys(store: FeedbackStore, tmp_path: Path) -> None:
    interaction_id = ask(store)
    store.interactions.record_vote(interaction_id, "voter", 1)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM interaction WHERE id = :id"), {"id": interaction_id})
    assert store.interactions.votes_for(interaction_id) == []  # ON DELETE CASCADE
    assert (tmp_path / "data" / "feedback.db").is_file()  # parent folder was created


# -- interactions ------------------------------------------------------------------------


def test_interaction_round_trip_keeps_json_and_unicode(store: FeedbackStore) -> None:
    sources = [
        {
            "path": "guides/réinitialiser.md",
            "title": "Mot de passe 🔑",
            "heading": "Étapes",
            "score": 0.82,
            "url": "https://docs.example.com/reset",
        },
        {"path": "faq.md", "title": "FAQ", "heading": None, "score": 0.4},
    ]
    interaction_id = ask(
        store,
        question="Comment réinitialiser mon mot de passe ? 日本語",
        answer="Cliquez sur « Oublié » ✓",
        channel="C42",
        thread="1700000000.0001",
        asker_hash=hash_user("salt", "slack", "U1"),
        sources=sources,
        confidence=0.82,
        latency_ms=123.5,
        timings={"search_ms": 40.0, "compose_ms": 80.5},
        versions={"index_version": 7, "embed_model": "all-MiniLM-L6-v2", "style_model": None},
        style_model_version="style-3",
        style_used=True,
        tone_score=0.9,
    )
    row = store.interactions.get(interaction_id)
    assert row is not None
    assert row["question"] == "Comment réinitialiser mon mot de passe ? 日本語"
    assert row["answer"] == "Cliquez sur « Oublié » ✓"
    assert row["sources"] == sources
    assert row["timings"] == {"search_ms": 40.0, "compose_ms": 80.5}
    assert row["versions"]["index_version"] == 7
    assert (row["channel"], row["thread"], row["style_used"]) == ("C42", "1700000000.0001", True)
    assert (row["unanswered"], row["escalated"], row["error"]) == (False, False, None)
    assert row["created_at"].tzinfo is not None
    assert abs(row["created_at"] - datetime.now(UTC)) < timedelta(minutes=1)
    assert store.interactions.get(interaction_id + 1) is None


def test_datetimes_are_stored_as_utc(store: FeedbackStore) -> None:
    paris_noon = datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    interaction_id = ask(store, created_at=paris_noon, sources=[{"path": Path("a.md")}])
    row = store.interactions.get(interaction_id)
    assert row is not None
    assert row["created_at"] == paris_noon
    assert row["created_at"].utcoffset() == timedelta(0)
    assert row["sources"] == [{"path": "a.md"}]  # Path objects are stored as plain strings


def test_recent_interactions_escalation_and_counts(store: FeedbackStore) -> None:
    first = ask(store, "one", platform="slack")
    second = ask(store, "two", platform="discord", unanswered=True)
    third = ask(store, "three", platform="slack")
    assert [row["id"] for row in store.interactions.recent()] == [third, second, first]
    assert [row["id"] for row in store.interactions.recent(platform="slack")] == [third, first]
    assert len(store.interactions.recent(limit=1)) == 1
    store.interactions.mark_escalated(second)
    assert store.interactions.get(second)["escalated"] is True  # type: ignore[index]
    with pytest.raises(ValueError, match="no interaction 999"):
        store.interactions.mark_escalated(999)
    store.interactions.record_vote(first, "v", 1)
    assert store.counts() == {"interactions": 3, "votes": 1, "index_runs": 0}


# -- votes -------------------------------------------------------------------------------


def test_same_vote_twice_keeps_one_row(store: FeedbackStore) -> None:
    interaction_id = ask(store)
    first = store.interactions.record_vote(interaction_id, "voter", 1)
    again = store.interactions.record_vote(interaction_id, "voter", 1)
    assert len(store.interactions.votes_for(interaction_id)) == 1
    assert again["id"] == first["id"]
    assert again["created_at"] == first["created_at"]
    assert again["updated_at"] >= first["updated_at"]


def test_changed_vote_wins_and_keeps_the_reason(store: FeedbackStore) -> None:
    interaction_id = ask(store)
    store.interactions.record_vote(interaction_id, "alice", 1, source="reaction")
    store.interactions.record_vote(interaction_id, "bob", 1)
    changed = store.interactions.record_vote(
        interaction_id, "alice", -1, reason="wrong_facts", comment="v2 moved this page"
    )
    assert (changed["value"], changed["reason"], changed["comment"]) == (
        -1,
        "wrong_facts",
        "v2 moved this page",
    )
    assert changed["updated_at"] > changed["created_at"]
    votes = {vote["voter_hash"]: vote for vote in store.interactions.votes_for(interaction_id)}
    assert set(votes) == {"alice", "bob"}
    assert votes["alice"]["value"] == -1
    assert votes["bob"]["value"] == 1
    back = store.interactions.record_vote(interaction_id, "alice", 1)
    assert (back["value"], back["reason"], back["comment"]) == (1, None, None)


@pytest.mark.parametrize(
    ("value", "reason", "message"),
    [
        (0, None, "must be \\+1 or -1"),
        (2, None, "must be \\+1 or -1"),
        (True, None, "must be \\+1 or -1"),
        (-1, "too_long", "reason must be one of wrong_facts"),
        (1, "wrong_facts", "only for a 👎"),  # a 👍 "wrong facts" would count as a 👎
    ],
)
def test_invalid_votes_raise_value_error(
    store: FeedbackStore, value: int, reason: str | None, message: str
) -> None:
    interaction_id = ask(store)
    with pytest.raises(ValueError, match=message):
        store.interactions.record_vote(interaction_id, "voter", value, reason=reason)
    assert store.interactions.votes_for(interaction_id) == []


def test_vote_on_unknown_interaction_raises_value_error(store: FeedbackStore) -> None:
    with pytest.raises(ValueError, match=r"^no interaction 41$"):
        store.interactions.record_vote(41, "voter", -1, reason="other")
    assert store.counts()["votes"] == 0


def test_every_vote_reason_is_accepted(store: FeedbackStore) -> None:
    interaction_id = ask(store)
    for reason in VOTE_REASONS:
        assert (
            store.interactions.record_vote(interaction_id, reason, -1, reason=reason)["reason"]
            == reason
        )


def test_the_vote_written_last_carries_the_latest_time(tmp_path: Path) -> None:
    """updated_at is stamped after the write lock is held, not before waiting for it.

    Another connection holds the lock and writes this voter's 👎 (stamped at t_other, as a
    writer inside its transaction does); our 👍 has to wait for it and is written last, so it
    must carry a later time. Stamped before the wait, it carried an earlier one, and among
    near-simultaneous clicks the earlier one won (issue 9, defect 9a).
    """
    from sqlalchemy import event, insert

    from askdesk.feedback.models import Vote, utcnow

    url = sqlite_url(tmp_path / "data" / "feedback.db")
    with FeedbackStore(url) as store, FeedbackStore(url) as other:
        interaction_id = ask(store)
        waiting = threading.Event()
        event.listen(store.engine, "checkout", lambda *_: waiting.set())  # about to BEGIN
        outcome: dict[str, Any] = {}
        with other.engine.connect() as holder:
            holder.begin()  # BEGIN IMMEDIATE: the write lock
            mine = threading.Thread(
                target=lambda: outcome.update(
                    vote=store.interactions.record_vote(interaction_id, "v", 1)
                )
            )
            mine.start()
            assert waiting.wait(10)
            time_of_other = utcnow()
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
            assert mine.is_alive()  # still waiting for the lock
            holder.commit()
        mine.join(30)
        (vote,) = store.interactions.votes_for(interaction_id)
        assert vote["value"] == 1 and vote["reason"] is None  # ours was written last ...
        assert vote["updated_at"] > time_of_other  # ... so it is the newest
        assert outcome["vote"]["updated_at"] == vote["updated_at"]


def test_concurrent_votes_from_threads(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "threads.db")
    stores = [FeedbackStore(url), FeedbackStore(url)]  # two engines: two connection pools
    ids = [ask(stores[0], f"q{n}") for n in range(3)]
    errors: list[str] = []

    def vote(worker: int) -> None:
        try:
            for step in range(25):
                target = ids[step % len(ids)]
                value = 1 if (worker + step) % 2 else -1
                reason = None if value == 1 else "not_in_docs"
                stores[worker % 2].interactions.record_vote(
                    target, f"voter{step % 10}", value, reason=reason
                )
                stores[worker % 2].interactions.votes_for(target)
        except Exception as error:  # collected so the main thread can report them
            errors.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=vote, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        expected = {(ids[step % 3], f"voter{step % 10}") for step in range(25)}
        assert stores[0].counts()["votes"] == len(expected)
        assert sum(len(stores[1].interactions.votes_for(target)) for target in ids) == len(expected)
    finally:
        for opened in stores:
            opened.close()


VOTERS_PER_PROCESS = 10


def _process_worker(url: str, worker: int, barrier: Any, results: Any) -> None:
    """Opens (and so migrates) a fresh database at the same moment as its siblings, then votes
    on every sibling's interaction with voter names the siblings use too."""
    try:
        with FeedbackStore(url) as store:
            barrier.wait(timeout=60)
            ask(store, f"from process {worker}")
            barrier.wait(timeout=60)
            ids = [row["id"] for row in store.interactions.recent()]
            for voter in range(VOTERS_PER_PROCESS):
                for interaction_id in ids:
                    value = 1 if (voter + worker) % 2 else -1
                    store.interactions.record_vote(
                        interaction_id, f"voter{voter}", value, source="cli"
                    )
        results.put((worker, None))
    except Exception as error:
        results.put((worker, f"{type(error).__name__}: {str(error).splitlines()[0]}"))


def test_concurrent_start_and_votes_from_processes(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "procs" / "shared.db")
    context = mp.get_context("spawn")
    workers = 3
    barrier = context.Barrier(workers)
    results = context.Queue()
    processes = [
        context.Process(target=_process_worker, args=(url, worker, barrier, results))
        for worker in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=30)
    assert outcomes == dict.fromkeys(range(workers))
    assert [process.exitcode for process in processes] == [0] * workers
    with FeedbackStore(url) as store:
        assert store.counts() == {
            "interactions": workers,
            "votes": workers * VOTERS_PER_PROCESS,
            "index_runs": 0,
        }
        assert current_revision(store.engine) == head_revision()


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [os.urandom(8192), b"these are my notes, not a database\n" * 50],
    ids=["random-bytes", "text"],
)
def test_corrupted_file_gives_one_line_store_error_and_is_left_alone(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "feedback.db"
    path.write_bytes(content)
    store = FeedbackStore(sqlite_url(path))
    with pytest.raises(StoreError) as caught:
        store.interactions.record(InteractionRecord(platform="cli", question="q", answer="a"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path} is not a SQLite database")
    assert "ASKDESK_DATABASE_URL" in message
    store.close()
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feedback.db"]


# -- index runs --------------------------------------------------------------------------


def test_last_index_run_is_the_latest_finished(store: FeedbackStore) -> None:
    assert store.index_runs.last_finished() is None
    base = datetime(2024, 1, 1, tzinfo=UTC)

    def run(root: str, hours: int, status: str = "ok", **fields: Any) -> int:
        return store.index_runs.record(
            IndexRunRecord(
                docs_root=root,
                status=status,
                embed_model="all-MiniLM-L6-v2",
                finished_at=base + timedelta(hours=hours),
                duration_s=30.0,
                **fields,
            )
        )

    late_docs = run("/docs", 5, docs_added=3, skipped=[{"path": "x.bin", "reason": "binary"}])
    early = run("/docs", 1)
    failed = run("/docs", 7, status="failed", error="disk full")
    wiki = run("/wiki", 3)
    assert store.index_runs.last_finished()["id"] == failed  # type: ignore[index]
    assert store.index_runs.last_finished("/wiki")["id"] == wiki  # type: ignore[index]
    latest_ok = store.index_runs.last_finished("/docs", status="ok")
    assert latest_ok is not None
    assert latest_ok["id"] == late_docs
    assert latest_ok["skipped"] == [{"path": "x.bin", "reason": "binary"}]
    assert latest_ok["started_at"] == base + timedelta(hours=5, seconds=-30)
    assert store.index_runs.last_finished("/elsewhere") is None
    assert [r["id"] for r in store.index_runs.recent()] == [failed, late_docs, wiki, early]
    assert len(store.index_runs.recent(limit=2)) == 2
    with pytest.raises(ValueError, match="status must be one of"):
        store.index_runs.record(IndexRunRecord(docs_root="/docs", status="done", embed_model="m"))


# -- hashing -----------------------------------------------------------------------------


def test_hash_user_is_deterministic_salted_and_opaque() -> None:
    digest = hash_user("s3cret", "slack", "U024BE7LH")
    assert digest == hash_user("s3cret", "slack", "U024BE7LH")
    assert len(digest) == 32
    assert int(digest, 16) >= 0  # hex
    assert "U024BE7LH" not in digest
    assert "u024be7lh" not in digest
    assert digest != hash_user("other salt", "slack", "U024BE7LH")
    assert digest != hash_user("s3cret", "discord", "U024BE7LH")
    assert digest != hash_user("s3cret", "slack", "U024BE7LI")
    with pytest.raises(ValueError, match="salt"):
        hash_user("", "slack", "U024BE7LH")


def test_upgrade_from_0001_keeps_existing_rows(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "old.db")
    engine = make_engine(url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO interaction (created_at, platform, question, answer, sources, "
                "confidence, unanswered, latency_ms, timings, versions, style_used, escalated) "
                "VALUES ('2026-01-01 00:00:00', 'slack', 'q', 'a', '[]', 0.5, 0, 1.0, '{}', "
                "'{}', 0, 0)"
            )
    finally:
        engine.dispose()
    with FeedbackStore(url) as store:
        assert current_revision(store.engine) == head_revision()
        (row,) = store.interactions.recent()
        store.interactions.set_answer_ref(row["id"], "1700000000.000100")
        assert store.interactions.by_answer_ref("slack", "1700000000.000100")["question"] == "q"
        assert store.interactions.by_answer_ref("discord", "1700000000.000100") is None


def test_thread_interactions_are_the_latest_oldest_first(store: FeedbackStore) -> None:
    ids = [
        store.interactions.record(
            InteractionRecord(
                platform="slack", channel="C1", thread="T1", question=f"q{i}", answer=f"a{i}"
            )
        )
        for i in range(5)
    ]
    store.interactions.record(
        InteractionRecord(platform="slack", channel="C1", thread="T2", question="x", answer="y")
    )
    rows = store.interactions.in_thread("slack", "C1", "T1", limit=3)
    assert [r["id"] for r in rows] == ids[2:]
    with pytest.raises(ValueError, match="no interaction"):
        store.interactions.set_answer_ref(999_999, "ref")


def test_same_verdict_again_keeps_the_reason_and_comment(store: FeedbackStore) -> None:
    interaction_id = ask(store)
    store.interactions.record_vote(
        interaction_id, "v", -1, reason="wrong_facts", comment="price is old"
    )
    again = store.interactions.record_vote(interaction_id, "v", -1, source="reaction")
    assert again["reason"] == "wrong_facts" and again["comment"] == "price is old"
    changed = store.interactions.record_vote(interaction_id, "v", 1)
    assert changed["reason"] is None and changed["comment"] is None
