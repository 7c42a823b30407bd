"""Curated style examples and the 👎-with-comment feed for golden sets, on a real SQLite file."""

from __future__ import annotations

import pytest

from askdesk.feedback.records import InteractionRecord


def test_curate_pairs_the_draft_with_the_answer_and_is_idempotent(store):
    styled = store.interactions.record(
        InteractionRecord(
            platform="slack",
            question="q",
            answer="Hey! Rotate it under Settings [1].",
            draft="To rotate a key, open Settings [1].",
            style_used=True,
        )
    )
    first = store.styles.curate(styled, curated_by="dash:ana")
    assert store.styles.curate(styled, curated_by="dash:ana") == first
    (example,) = store.styles.curated_examples()
    assert example["input"] == "To rotate a key, open Settings [1]."
    assert example["output"] == "Hey! Rotate it under Settings [1]."
    assert example["origin"] == "thumbs_up" and example["curated_by"] == "dash:ana"

    store.styles.mark_examples_used([first], "style-v1")
    assert store.styles.curated_examples(unused_only=True) == []
    assert store.styles.curate(styled, curated_by="dash:ana") == first  # same text: still used
    assert store.styles.curated_examples(unused_only=True) == []

    assert store.styles.curate(styled, output="Rotate it in Settings, it's quick [1].") == first
    (edited,) = store.styles.curated_examples(
        unused_only=True
    )  # new text: a new example to train on
    assert edited["origin"] == "edited" and edited["output"].startswith("Rotate it in Settings")
    assert edited["used_in"] is None and len(store.styles.curated_examples()) == 1


def test_curate_without_a_draft_uses_the_answer_as_input(store):
    plain = store.interactions.record(
        InteractionRecord(platform="cli", question="q", answer="The answer [1].")
    )
    other = store.interactions.record(
        InteractionRecord(platform="cli", question="q2", answer="Other [1].")
    )
    a = store.styles.curate(plain)
    b = store.styles.curate(other)
    rows = {r["id"]: r for r in store.styles.curated_examples()}
    assert rows[a]["input"] == rows[a]["output"] == "The answer [1]."
    store.styles.mark_examples_used([a], "v2")
    assert [r["id"] for r in store.styles.curated_examples(unused_only=True)] == [b]
    store.styles.mark_examples_used([], "v3")  # nothing to do, no error


def test_curate_unknown_interaction(store):
    with pytest.raises(ValueError, match="no interaction 99"):
        store.styles.curate(99)


def test_downvoted_with_comment_lists_corrections_once_per_interaction(store):
    wrong = store.interactions.record(
        InteractionRecord(platform="slack", question="how much?", answer="10")
    )
    silent = store.interactions.record(
        InteractionRecord(platform="slack", question="silent?", answer="x")
    )
    liked = store.interactions.record(
        InteractionRecord(platform="slack", question="liked?", answer="y")
    )
    store.interactions.record_vote(
        wrong, "u1", -1, reason="wrong_facts", comment="  It costs 49 dollars.  "
    )
    store.interactions.record_vote(
        wrong, "u2", -1, reason="wrong_facts", comment="49 dollars per month"
    )
    store.interactions.record_vote(silent, "u1", -1, reason="not_in_docs")
    store.interactions.record_vote(silent, "u2", -1, comment="   ")
    store.interactions.record_vote(liked, "u1", 1, comment="great")

    rows = store.interactions.downvoted_with_comment()
    assert [r["id"] for r in rows] == [wrong]
    assert rows[0]["question"] == "how much?" and rows[0]["comment"] == "49 dollars per month"
    assert rows[0]["reason"] == "wrong_facts"
