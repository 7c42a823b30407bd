"""The delivery core's rules and steps on a recording surface: fast, no platform, no model.

A real SQLite store and SupportDesk; the engine is a stand-in that returns a fixed grounded
answer (recorded like a real one), since what is under test is when askdesk speaks and what
it does around the answer, not the answer. The same steps run over Slack and Discord in
tests/contract/.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from askdesk.bots.common import ChannelConfig, ChannelDirectory
from askdesk.bots.conversations import Conversations, ThreadLimit, asks_nothing
from askdesk.bots.delivery import (
    ALREADY_ESCALATED,
    NOBODY,
    NOT_POSTED,
    SLOW_DOWN,
    Delivery,
    FollowUpPolicy,
)
from askdesk.bots.surface import Click, CommentDialogue, Incoming, Place, Prompt, SurfaceError
from askdesk.core.desk import SupportDesk
from askdesk.core.types import Answer, Question, Source
from askdesk.feedback.reasons import Reason, parse_reason
from askdesk.feedback.records import InteractionRecord


class Engine:
    """Answers every question with one sourced sentence and records it, like AnswerEngine."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.questions: list[Question] = []

    def answer(self, question: Question, *, defer_style: bool = False) -> Answer:
        self.questions.append(question)
        answer = Answer(
            "Rotate the key in Settings [1].",
            [Source(1, "keys.md", "Keys", "", 1.0)],
            0.9,
            False,
            question=question.text,
        )
        answer.interaction_id = self.store.interactions.record(
            InteractionRecord(
                platform=question.platform,
                channel=question.channel,
                thread=question.thread,
                question=question.text,
                answer=answer.text,
            )
        )
        answer.style_pending = defer_style
        return answer

    def kept(self, question: Question) -> tuple[Question, None]:
        return question, None


@dataclass
class Recording:
    """A ChatSurface that records every call; `refuse` makes the named calls fail."""

    platform: str = "test"
    calls: list[tuple[str, Any]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    n: int = 0

    def _id(self) -> str:
        self.n += 1
        return f"m{self.n}"

    def render(self, answer: Answer) -> list[str]:
        return [answer.text]

    def post(self, place: Place, piece: str, *, first: bool) -> str:
        if "post" in self.refuse:
            raise SurfaceError("refused")
        self.calls.append(("post", piece))
        return self._id()

    def edit(self, place: Place, message: str, piece: str) -> None:
        self.calls.append(("edit", piece))

    def react(self, place: Place, message: str, emoji: str, *, on: bool) -> None:
        self.calls.append(("react", (emoji, on)))

    def post_text(self, place: Place, text: str, *, mentions: Sequence[str] = ()) -> str:
        self.calls.append(("text", text))
        return self._id()

    def answer_ref(self, place: Place, message: str) -> str:
        return f"{place.channel}:{message}"

    def hand_off(
        self, place: Place, targets: Sequence[str], user: str, question: str, interaction_id: int
    ) -> str | None:
        if not targets:
            return None
        self.calls.append(("hand_off", (tuple(targets), question)))
        return self._id()

    def said(self, kind: str) -> list[Any]:
        return [v for k, v in self.calls if k == kind]


@dataclass
class Told:
    """A Responder that records what the clicker is shown."""

    notices: list[tuple[str, Prompt | None]] = field(default_factory=list)
    replaced: list[tuple[str, Prompt | None]] = field(default_factory=list)
    dialogues: list[CommentDialogue] = field(default_factory=list)

    def notice(self, text: str, prompt: Prompt | None = None) -> None:
        self.notices.append((text, prompt))

    def replace(self, text: str, prompt: Prompt | None = None) -> None:
        self.replaced.append((text, prompt))

    def open_dialogue(self, dialogue: CommentDialogue) -> None:
        self.dialogues.append(dialogue)


@pytest.fixture
def desk(store) -> SupportDesk:
    return SupportDesk(Engine(store), store, "salt")  # type: ignore[arg-type]


def make_core(desk: SupportDesk, channels: ChannelDirectory | None = None, **policy: Any):
    surface = Recording()
    return Delivery(
        desk, channels or ChannelDirectory(), surface, policy=FollowUpPolicy(**policy)
    ), surface


_n = iter(range(1, 10_000))


def msg(text: str, *, thread: str | None = None, direct: bool = False, **facts: Any) -> Incoming:
    """A human message in channel C1 (D1 for a DM): a new conversation, or one in `thread`."""
    mid = f"t{next(_n)}"
    channel = "D1" if direct else "C1"
    conversation = thread or mid
    return Incoming(
        key=f"k:{mid}",
        text=text,
        user="U1",
        place=Place(channel, conversation, direct=direct),
        channel=channel,
        conversation=conversation,
        message=mid,
        settings=(channel,),
        direct=direct,
        in_thread=thread is not None,
        **facts,
    )


def answered(delivery: Delivery, text: str = "How do I rotate a key?") -> Incoming:
    first = msg(text, mentioned=True)
    ask = delivery.accept(first)
    assert ask is not None
    delivery.answer(ask)
    return first


# -- when askdesk speaks -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "thanks!",
        "Thank you so much 🙏",
        "ok",
        "OK, got it.",
        "👍",
        "🎉🎉",
        "",
        "great, that helped",
    ],
)
def test_messages_that_ask_nothing(text):
    assert asks_nothing(text)


@pytest.mark.parametrize(
    "text", ["and on Windows?", "ok?", "thanks, but what about SSO", "no, the webhook one", "ok 2"]
)
def test_messages_that_ask_something(text):
    assert not asks_nothing(text)


def test_a_follow_up_in_an_answered_thread_needs_no_mention_and_gets_the_turns(desk):
    delivery, _ = make_core(desk)
    first = answered(delivery)
    ask = delivery.accept(msg("and on Windows?", thread=first.conversation))
    assert ask is not None and ask.kind == "follow_up"
    delivery.answer(ask)
    engine: Engine = desk.engine  # type: ignore[assignment]
    assert engine.questions[-1].thread == first.conversation
    assert [t.question for t in engine.questions[-1].history] == ["How do I rotate a key?"]


def test_silence_for_thanks_other_people_unanswered_threads_edits_and_bots(desk):
    delivery, _ = make_core(desk)
    first = answered(delivery)
    thread = first.conversation
    assert delivery.accept(msg("thanks!", thread=thread)) is None
    assert delivery.accept(msg("can you look?", thread=thread, others_mentioned=True)) is None
    assert delivery.accept(msg("how do I rotate?", thread="never-answered")) is None
    assert delivery.accept(msg("how do I rotate?", thread=thread, edited=True)) is None
    assert delivery.accept(msg("how do I rotate?", thread=thread, from_bot=True)) is None
    assert delivery.accept(msg("how do I rotate?")) is None  # top level, no mention


def test_follow_ups_mention_setting(desk):
    channels = ChannelDirectory(ChannelConfig(follow_ups="mention"))
    delivery, _ = make_core(desk, channels)
    first = answered(delivery)
    assert delivery.accept(msg("and on Windows?", thread=first.conversation)) is None
    again = delivery.accept(msg("and on Windows?", thread=first.conversation, mentioned=True))
    assert again is not None


def test_a_thread_whose_answer_message_was_deleted_still_continues_once(desk):
    """The record of the conversation outlives its chat message: the follow-up is answered,
    and a redelivery of it is not answered again."""
    delivery, _ = make_core(desk)
    first = answered(delivery)
    follow = msg("and on Windows?", thread=first.conversation)
    assert delivery.accept(follow) is not None
    assert delivery.accept(follow) is None  # the same delivery again


def test_the_dm_window(desk):
    delivery, _ = make_core(desk, dm_window_s=600)
    first = delivery.accept(msg("How do I rotate a key?", direct=True))
    assert first is not None
    delivery.answer(first)
    second = delivery.accept(msg("and on Windows?", direct=True))
    assert second is not None and second.question.thread == first.question.thread
    later = Conversations(
        desk.store, dm_window_s=600, clock=lambda: datetime.now(UTC) + timedelta(minutes=11)
    )
    assert later.dm_continued("test", "D1") is None
    assert delivery.accept(msg("thanks", direct=True)) is None


def test_a_flood_is_cut_and_said_once(desk):
    delivery, surface = make_core(desk, thread_limit=2, thread_window_s=600)
    first = answered(delivery)
    verdicts = [
        delivery.accept(msg(f"what about {i}?", thread=first.conversation)) for i in range(6)
    ]
    assert sum(v is not None for v in verdicts) == 1
    assert surface.said("text").count(SLOW_DOWN) == 1


def test_thread_limit_window_moves_on():
    now = [0.0]
    limit = ThreadLimit(1, 10.0, clock=lambda: now[0])
    assert [limit.check("a"), limit.check("a"), limit.check("a")] == [
        "answer",
        "say_once",
        "silent",
    ]
    now[0] = 11.0
    assert limit.check("a") == "answer"


# -- what askdesk does around the answer -------------------------------------------------------
def test_eyes_on_then_off_and_the_styled_edit(desk):
    delivery, surface = make_core(desk)
    desk.finish_style = lambda answer, question: replace(answer, text="Hey! " + answer.text)  # type: ignore[method-assign]
    first = msg("How do I rotate a key?", mentioned=True)
    delivery.answer(delivery.accept(first))  # type: ignore[arg-type]
    kinds = [k for k, _ in surface.calls]
    assert kinds == ["react", "post", "react", "edit"]
    assert surface.said("react") == [("eyes", True), ("eyes", False)]
    assert surface.said("edit") == ["Hey! Rotate the key in Settings [1]."]
    (row,) = [desk.store.interactions.get(1)]
    assert row["shown"] == "styled" and row["answer_ref"] == "C1:m1"


def test_a_refused_post_gets_a_plain_apology_with_the_reference(desk):
    delivery, surface = make_core(desk)
    surface.refuse.add("post")
    delivery.answer(delivery.accept(msg("How do I rotate a key?", mentioned=True)))  # type: ignore[arg-type]
    assert surface.said("text") == [NOT_POSTED.format(ref=1)]
    row = desk.store.interactions.get(1)
    assert row["answer_ref"] is None and row["shown"] == "not_posted"


def test_down_reason_comment_and_escalation(desk):
    channels = ChannelDirectory(ChannelConfig(escalate_to=("S0HELP",)))
    delivery, surface = make_core(desk, channels)
    answered(delivery)
    told = Told()
    click = Click("U2", 1, Place("C1", "t1"), told, settings=("C1",))
    delivery.down(click)
    delivery.reason(click, "other")
    assert told.dialogues == [CommentDialogue(1, Reason.OTHER)]  # "other" opens the form
    delivery.save_comment("U2", 1, "other", "  say which menu  ")
    (vote,) = desk.store.interactions.votes_for(1)
    assert (vote["value"], vote["reason"], vote["comment"]) == (-1, "other", "say which menu")
    delivery.escalate(click)
    delivery.escalate(click)
    assert len(surface.said("hand_off")) == 1 and told.notices[-1][0] == ALREADY_ESCALATED
    assert desk.store.interactions.get(1)["escalated"] is True


def test_escalation_with_nobody_to_ping_says_so_privately(desk):
    delivery, surface = make_core(desk)
    answered(delivery)
    told = Told()
    delivery.escalate(Click("U2", 1, Place("C1", "t1"), told))
    assert told.notices == [(NOBODY, None)] and surface.said("hand_off") == []


def test_reasons_are_one_vocabulary():
    assert [r.value for r in Reason] == ["wrong_facts", "not_in_docs", "tone_format", "other"]
    assert parse_reason("facts") is Reason.WRONG_FACTS and parse_reason("nope") is None
