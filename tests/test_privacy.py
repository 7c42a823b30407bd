"""Retention purge, "forget me" and data export on a real SQLite file, with the audit log.

The audit rows are checked for what they must never hold: whose data it was.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from feedback.hashing import hash_user
from feedback.store import FeedbackStore

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SALT = "test-salt"
ALICE = hash_user(SALT, "slack", "U_ALICE")
BOB = hash_user(SALT, "slack", "U_BOB")


@pytest.fixture
def store(tmp_path):
    with FeedbackStore(f"sqlite:///{tmp_path / 'askdesk.db'}") as s:
        yield s


def _ask(store: FeedbackStore, asker: str | None, question: str, age: timedelta) -> int:
    return store.record_interaction(
        platform="slack",
        channel="C1",
        asker_hash=asker,
        question=question,
        answer=f"answer to {question} [1]",
        sources=[{"n": 1, "path": "faq.md"}],
        created_at=NOW - age,
    )


def test_purge_deletes_only_what_is_older_than_the_cutoff_with_its_votes(store):
    old = _ask(store, ALICE, "old question", timedelta(days=30, seconds=1))
    edge = _ask(store, ALICE, "exactly thirty days", timedelta(days=30))
    new = _ask(store, BOB, "new question", timedelta(days=1))
    store.record_vote(old, BOB, -1, reason="wrong_facts")
    store.record_vote(old, ALICE, 1)
    store.record_vote(new, ALICE, 1)
    example = store.curate(old)

    rows = store.purge_older_than(30, now=NOW, actor="cli:ops")

    assert rows == {"interaction": 1, "vote": 2}
    assert store.get_interaction(old) is None
    assert store.get_interaction(edge) is not None and store.get_interaction(new) is not None
    assert store.votes_for(old) == [] and len(store.votes_for(new)) == 1
    kept = store.curated_examples()
    assert [e["id"] for e in kept] == [example] and kept[0]["interaction_id"] is None
    (audit,) = store.privacy_actions()
    assert audit["action"] == "purge" and audit["rows"] == rows
    assert audit["detail"] == "older than 30 days" and audit["actor"] == "cli:ops"
    assert store.purge_older_than(30, now=NOW) == {"interaction": 0, "vote": 0}


def test_purge_rejects_a_nonsense_window(store):
    with pytest.raises(ValueError, match="at least 1"):
        store.purge_older_than(0)


def test_forget_removes_their_questions_votes_on_them_and_their_votes_elsewhere(store):
    alice_q = _ask(store, ALICE, "alice asks about SSO", timedelta(hours=2))
    bob_q = _ask(store, BOB, "bob asks about billing", timedelta(hours=1))
    anon_q = _ask(store, None, "someone asks", timedelta(hours=1))
    store.record_vote(alice_q, BOB, 1)  # bob's vote on alice's question: goes with it
    store.record_vote(alice_q, ALICE, -1, reason="other", comment="not what I meant")
    store.record_vote(bob_q, ALICE, -1, reason="tone_format")  # alice's vote elsewhere
    store.record_vote(bob_q, BOB, 1)
    store.record_vote(anon_q, BOB, 1)
    store.curate(alice_q, output="Edited answer about SSO [1].")
    bob_example = store.curate(bob_q)

    rows = store.forget_asker(ALICE, actor="cli:ops")

    assert rows == {"interaction": 1, "vote": 3, "curated_example": 1}
    assert store.get_interaction(alice_q) is None
    assert [v["voter_hash"] for v in store.votes_for(bob_q)] == [BOB]
    assert [v["voter_hash"] for v in store.votes_for(anon_q)] == [BOB]
    assert store.get_interaction(bob_q)["question"] == "bob asks about billing"
    assert [e["id"] for e in store.curated_examples()] == [bob_example]
    assert store.export_asker(ALICE) == {"interactions": [], "votes": []}


def test_export_holds_their_questions_and_votes_as_json(store):
    alice_q = _ask(store, ALICE, "how do I rotate a key?", timedelta(hours=2))
    bob_q = _ask(store, BOB, "bob's own question", timedelta(hours=1))
    store.record_vote(alice_q, BOB, -1, reason="wrong_facts", comment="bob's opinion")
    store.record_vote(bob_q, ALICE, 1)

    data = store.export_asker(ALICE, actor="cli:ops")

    json.dumps(data)  # JSON-ready as it is
    assert [i["question"] for i in data["interactions"]] == ["how do I rotate a key?"]
    assert data["interactions"][0]["created_at"] == (NOW - timedelta(hours=2)).isoformat()
    assert [(v["interaction_id"], v["value"]) for v in data["votes"]] == [(bob_q, 1)]
    assert "bob's opinion" not in json.dumps(data)  # other people's votes are theirs
    (audit,) = store.privacy_actions()
    assert audit["action"] == "export" and audit["rows"] == {"interaction": 1, "vote": 1}


def test_audit_rows_never_hold_whose_data_it_was(store):
    question = "my secret question about payroll"
    alice_q = _ask(store, ALICE, question, timedelta(days=90))
    store.record_vote(alice_q, BOB, 1)
    store.export_asker(ALICE, actor="cli:ops")
    store.forget_asker(BOB, actor="cli:ops")
    store.purge_older_than(30, now=NOW, actor="cli:ops")

    actions = store.privacy_actions()
    assert [a["action"] for a in actions] == ["purge", "forget", "export"]
    dumped = json.dumps([{k: v for k, v in a.items() if k != "created_at"} for a in actions])
    for personal in (ALICE, BOB, "U_ALICE", "U_BOB", question, "payroll"):
        assert personal not in dumped
    assert store.privacy_actions(limit=1)[0]["action"] == "purge"
