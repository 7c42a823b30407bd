"""Retention purge, "forget me" and data export on a real SQLite file, with the audit log.

The audit rows are checked for what they must never hold: whose data it was.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from askdesk.feedback.hashing import hash_user
from askdesk.feedback.records import InteractionRecord
from askdesk.feedback.store import FeedbackStore

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SALT = "test-salt"
ALICE = hash_user(SALT, "slack", "U_ALICE")
BOB = hash_user(SALT, "slack", "U_BOB")


def _ask(store: FeedbackStore, asker: str | None, question: str, age: timedelta) -> int:
    return store.interactions.record(
        InteractionRecord(
            platform="slack",
            channel="C1",
            asker_hash=asker,
            question=question,
            answer=f"answer to {question} [1]",
            sources=[{"n": 1, "path": "faq.md"}],
            created_at=NOW - age,
        )
    )


def test_purge_deletes_only_what_is_older_than_the_cutoff_with_its_votes(store):
    old = _ask(store, ALICE, "old question", timedelta(days=30, seconds=1))
    edge = _ask(store, ALICE, "exactly thirty days", timedelta(days=30))
    new = _ask(store, BOB, "new question", timedelta(days=1))
    store.interactions.record_vote(old, BOB, -1, reason="wrong_facts")
    store.interactions.record_vote(old, ALICE, 1)
    store.interactions.record_vote(new, ALICE, 1)
    example = store.styles.curate(old)

    rows = store.privacy.purge_older_than(30, now=NOW, actor="cli:ops")

    assert rows == {"interaction": 1, "vote": 2}
    assert store.interactions.get(old) is None
    assert store.interactions.get(edge) is not None and store.interactions.get(new) is not None
    assert store.interactions.votes_for(old) == [] and len(store.interactions.votes_for(new)) == 1
    kept = store.styles.curated_examples()
    assert [e["id"] for e in kept] == [example] and kept[0]["interaction_id"] is None
    (audit,) = store.privacy.actions()
    assert audit["action"] == "purge" and audit["rows"] == rows
    assert audit["detail"] == "older than 30 days" and audit["actor"] == "cli:ops"
    assert store.privacy.purge_older_than(30, now=NOW) == {"interaction": 0, "vote": 0}


def test_purge_rejects_a_nonsense_window(store):
    with pytest.raises(ValueError, match="at least 1"):
        store.privacy.purge_older_than(0)


def test_forget_removes_their_questions_votes_on_them_and_their_votes_elsewhere(store):
    alice_q = _ask(store, ALICE, "alice asks about SSO", timedelta(hours=2))
    bob_q = _ask(store, BOB, "bob asks about billing", timedelta(hours=1))
    anon_q = _ask(store, None, "someone asks", timedelta(hours=1))
    store.interactions.record_vote(alice_q, BOB, 1)  # bob's vote on alice's question: goes with it
    store.interactions.record_vote(alice_q, ALICE, -1, reason="other", comment="not what I meant")
    store.interactions.record_vote(bob_q, ALICE, -1, reason="tone_format")  # alice's vote elsewhere
    store.interactions.record_vote(bob_q, BOB, 1)
    store.interactions.record_vote(anon_q, BOB, 1)
    store.styles.curate(alice_q, output="Edited answer about SSO [1].")
    bob_example = store.styles.curate(bob_q)

    rows = store.privacy.forget_asker(ALICE, actor="cli:ops")

    assert rows == {"interaction": 1, "vote": 3, "curated_example": 1}
    assert store.interactions.get(alice_q) is None
    assert [v["voter_hash"] for v in store.interactions.votes_for(bob_q)] == [BOB]
    assert [v["voter_hash"] for v in store.interactions.votes_for(anon_q)] == [BOB]
    assert store.interactions.get(bob_q)["question"] == "bob asks about billing"
    assert [e["id"] for e in store.styles.curated_examples()] == [bob_example]
    assert store.privacy.export_asker(ALICE) == {"interactions": [], "votes": []}


def test_export_holds_their_questions_and_votes_as_json(store):
    alice_q = _ask(store, ALICE, "how do I rotate a key?", timedelta(hours=2))
    bob_q = _ask(store, BOB, "bob's own question", timedelta(hours=1))
    store.interactions.record_vote(alice_q, BOB, -1, reason="wrong_facts", comment="bob's opinion")
    store.interactions.record_vote(bob_q, ALICE, 1)

    data = store.privacy.export_asker(ALICE, actor="cli:ops")

    json.dumps(data)  # JSON-ready as it is
    assert [i["question"] for i in data["interactions"]] == ["how do I rotate a key?"]
    assert data["interactions"][0]["created_at"] == (NOW - timedelta(hours=2)).isoformat()
    assert [(v["interaction_id"], v["value"]) for v in data["votes"]] == [(bob_q, 1)]
    assert "bob's opinion" not in json.dumps(data)  # other people's votes are theirs
    (audit,) = store.privacy.actions()
    assert audit["action"] == "export" and audit["rows"] == {"interaction": 1, "vote": 1}


def test_audit_rows_never_hold_whose_data_it_was(store):
    question = "my secret question about payroll"
    alice_q = _ask(store, ALICE, question, timedelta(days=90))
    store.interactions.record_vote(alice_q, BOB, 1)
    store.privacy.export_asker(ALICE, actor="cli:ops")
    store.privacy.forget_asker(BOB, actor="cli:ops")
    store.privacy.purge_older_than(30, now=NOW, actor="cli:ops")

    actions = store.privacy.actions()
    assert [a["action"] for a in actions] == ["purge", "forget", "export"]
    dumped = json.dumps([{k: v for k, v in a.items() if k != "created_at"} for a in actions])
    for personal in (ALICE, BOB, "U_ALICE", "U_BOB", question, "payroll"):
        assert personal not in dumped
    assert store.privacy.actions(limit=1)[0]["action"] == "purge"


# -- the CLI ---------------------------------------------------------------------------------


def _cli_store(env, monkeypatch) -> FeedbackStore:
    monkeypatch.setenv("ASKDESK_ASKER_SALT", SALT)
    return FeedbackStore(f"sqlite:///{env / 'data' / 'askdesk.db'}")


def test_cli_forget_and_export_hash_the_user_like_the_desk(env, monkeypatch, caplog):
    from typer.testing import CliRunner

    from askdesk.cli import app

    runner = CliRunner()
    with _cli_store(env, monkeypatch) as store:
        mine = store.interactions.record(
            InteractionRecord(
                platform="slack", asker_hash=ALICE, question="where is my invoice?", answer="a"
            )
        )
        theirs = store.interactions.record(
            InteractionRecord(platform="slack", asker_hash=BOB, question="bob's", answer="b")
        )
        store.interactions.record_vote(theirs, ALICE, -1, reason="other")

    out = env / "alice.json"
    r = runner.invoke(app, ["privacy", "export", "slack", "U_ALICE", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "Exported 1 interaction, 1 vote" in r.stdout
    data = json.loads(out.read_text())
    assert [i["id"] for i in data["interactions"]] == [mine]
    assert [v["interaction_id"] for v in data["votes"]] == [theirs]

    r = runner.invoke(app, ["privacy", "export", "slack", "U_ALICE"])
    assert json.loads(r.stdout)["interactions"][0]["question"] == "where is my invoice?"

    with caplog.at_level("INFO"):
        r = runner.invoke(app, ["privacy", "forget", "slack", "U_ALICE"])
    assert r.exit_code == 0, r.output
    assert "Forgot 1 interaction, 1 vote, 0 curated examples." in r.stdout
    logged = [rec for rec in caplog.records if rec.getMessage() == "privacy forget"]
    assert logged and logged[0].rows == {"interaction": 1, "vote": 1, "curated_example": 0}
    for rec in caplog.records:
        assert "U_ALICE" not in str(vars(rec)) and ALICE not in str(vars(rec))

    with FeedbackStore(f"sqlite:///{env / 'data' / 'askdesk.db'}") as store:
        assert store.interactions.get(mine) is None and store.interactions.votes_for(theirs) == []
        assert store.interactions.get(theirs)["question"] == "bob's"

    r = runner.invoke(app, ["privacy", "log"])
    lines = r.stdout.strip().splitlines()
    assert r.exit_code == 0 and len(lines) == 3
    assert "forget" in lines[0] and "export" in lines[2] and "U_ALICE" not in r.stdout
    assert len(json.loads(runner.invoke(app, ["privacy", "log", "--json"]).stdout)) == 3


def test_cli_purge_uses_days_or_the_retention_setting(env, monkeypatch):
    from typer.testing import CliRunner

    from askdesk.cli import app

    runner = CliRunner()
    with _cli_store(env, monkeypatch) as store:
        store.interactions.record(
            InteractionRecord(
                platform="cli",
                question="old",
                answer="a",
                created_at=datetime.now(UTC) - timedelta(days=40),
            )
        )
        store.interactions.record(InteractionRecord(platform="cli", question="new", answer="b"))

    r = runner.invoke(app, ["privacy", "purge", "--days", "60"])
    assert r.exit_code == 0 and "Purged 0 interactions, 0 votes older than 60 days." in r.stdout
    monkeypatch.setenv("ASKDESK_RETENTION_DAYS", "30")
    r = runner.invoke(app, ["privacy", "purge"])
    assert r.exit_code == 0 and "Purged 1 interaction, 0 votes older than 30 days." in r.stdout


def test_cli_purge_without_a_window_is_one_error_line(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKDESK_")}
    env["ASKDESK_DATA_DIR"] = str(tmp_path / "data")
    r = subprocess.run(
        [sys.executable, "-m", "askdesk", "privacy", "purge"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: purge older than how many days? "
        "(give --days N, or set retention_days or ASKDESK_RETENTION_DAYS)"
    ]


# -- PostgreSQL ----------------------------------------------------------------------------


def test_purge_forget_and_curate_on_postgres():
    """The same deletes on the scale-out backend (runs when ASKDESK_TEST_PG_URL is set)."""
    import os

    from sqlalchemy import create_engine, text

    url = os.environ.get("ASKDESK_TEST_PG_URL")
    if not url:
        pytest.skip("ASKDESK_TEST_PG_URL not set (no PostgreSQL)")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    with FeedbackStore(url) as store:
        old = _ask(store, ALICE, "old", timedelta(days=31))
        bob_q = _ask(store, BOB, "bob", timedelta(hours=1))
        store.interactions.record_vote(old, BOB, 1)
        store.interactions.record_vote(bob_q, ALICE, -1, reason="other", comment="the right answer")
        assert store.styles.curate(bob_q) == store.styles.curate(bob_q, output="edited")
        assert store.interactions.downvoted_with_comment()[0]["comment"] == "the right answer"
        assert store.privacy.purge_older_than(30, now=NOW) == {"interaction": 1, "vote": 1}
        assert store.privacy.forget_asker(ALICE) == {
            "interaction": 0,
            "vote": 1,
            "curated_example": 0,
        }
        assert store.privacy.export_asker(BOB)["interactions"][0]["question"] == "bob"
        assert [a["action"] for a in store.privacy.actions()] == ["export", "forget", "purge"]
        (example,) = store.styles.curated_examples()
        assert example["origin"] == "edited" and example["interaction_id"] == bob_q
