"""SupportDesk: thread context, votes with hashed users, escalation, crash → apology."""

from __future__ import annotations

import pytest

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.core.types import Question
from askdesk.feedback.store import FeedbackStore


@pytest.fixture
def desk(tmp_path, sample_searcher) -> SupportDesk:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'a.db'}")
    engine = AnswerEngine(
        sample_searcher, ExtractiveComposer(), recorder=store.interactions, asker_salt="salt"
    )
    return SupportDesk(engine, store, "salt")


def test_follow_up_in_a_thread_gets_the_earlier_turn(desk):
    first = desk.ask(
        Question(
            "How do I rotate my API key?",
            platform="slack",
            channel="C1",
            thread="111.1",
            asker_id="U1",
        )
    )
    desk.link_answer(first.interaction_id, "111.2")
    follow = desk.ask(
        Question(
            "how long does the old one keep working?",
            platform="slack",
            channel="C1",
            thread="111.1",
            asker_id="U1",
        )
    )
    assert "grace" in follow.text.lower()
    assert desk.interaction_for_message("slack", "111.2") == first.interaction_id
    assert desk.interaction_for_message("discord", "111.2") is None


def test_votes_are_hashed_and_last_one_wins(desk):
    a = desk.ask(Question("How do I rotate my API key?", platform="discord", asker_id="42"))
    desk.vote(a.interaction_id, "discord", "42", 1)
    desk.vote(a.interaction_id, "discord", "42", -1, reason="tone_format", comment="too long")
    desk.vote(a.interaction_id, "discord", "42", -1, reason="tone_format", comment="too long")
    (vote,) = desk.store.interactions.votes_for(a.interaction_id)
    assert vote["value"] == -1 and vote["reason"] == "tone_format"
    assert vote["voter_hash"] == desk.user_hash("discord", "42") != "42"


def test_escalation_marks_the_interaction(desk):
    a = desk.ask(Question("How do I rotate my API key?", platform="slack", asker_id="U1"))
    row = desk.escalate(a.interaction_id)
    assert row["escalated"] is True and row["question"] == "How do I rotate my API key?"


class _Exploding:
    def __getattr__(self, name):
        raise RuntimeError("index on fire")


def test_a_crash_becomes_an_apology_with_a_reference(desk, caplog):
    desk.engine.searcher = _Exploding()
    ans = desk.ask(Question("How do I rotate my API key?", platform="slack", asker_id="U1"))
    assert ans.text.startswith("Sorry") and f"#{ans.interaction_id}" in ans.text
    row = desk.store.interactions.get(ans.interaction_id)
    assert row["error"].startswith("RuntimeError") and row["unanswered"] is True
    assert any(getattr(r, "interaction_id", None) == ans.interaction_id for r in caplog.records)


@pytest.mark.parametrize("platform", ["slack", "discord", "cli"])
def test_lone_surrogates_in_any_platforms_question_are_cleaned_answered_and_recorded(
    desk, platform
):
    """A JSON "\\ud800" (Slack, Discord) or an undecodable argv byte (CLI) used to crash the
    tokenizer and the store: an apology with "reference #?" and nothing recorded."""
    ans = desk.ask(
        Question("How do I rotate my API key? \ud800 \udcff", platform=platform, asker_id="U\ud800")
    )
    assert ans.error is None and not ans.unanswered and "#?" not in ans.text
    row = desk.store.interactions.get(ans.interaction_id)
    assert row["question"] == "How do I rotate my API key? \ufffd \ufffd"
    assert row["platform"] == platform and row["asker_hash"]


def test_a_crash_on_a_huge_question_records_it_cut(desk):
    desk.engine.searcher = _Exploding()
    ans = desk.ask(Question("How do I rotate my API key? " + "x" * 100_000, platform="slack"))
    row = desk.store.interactions.get(ans.interaction_id)
    assert row["error"] and row["question"].endswith("[…cut: the question had 100,028 characters]")
    assert len(row["question"]) < 8192 + 60
