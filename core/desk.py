"""SupportDesk: the one object a chat adapter talks to (the slack-bolt `App.dispatch` idea).

An adapter turns a platform event into a `Question` and calls `ask`; it turns a click or a
reaction into `vote` or `escalate`. Everything else — thread context for follow-ups, hashing
user ids, recording, and turning a crash into an apology — happens here, once, for every
platform, so the adapters stay thin translations.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from askdesk.core.engine import AnswerEngine, finish_style
from askdesk.core.types import Answer, Question, Turn
from askdesk.feedback.hashing import hash_user
from askdesk.feedback.records import InteractionRecord
from askdesk.feedback.store import FeedbackStore

log = logging.getLogger(__name__)

APOLOGY = (
    "Sorry — something went wrong while I was looking that up, and I can't answer right now. "
    "The team has been notified (reference #{ref})."
)


class SupportDesk:
    def __init__(
        self,
        engine: AnswerEngine,
        store: FeedbackStore,
        salt: str,
        *,
        history_turns: int = 2,
        style_delivery: str = "edit",
    ) -> None:
        self.engine = engine
        self.store = store
        self.salt = salt
        self.history_turns = history_turns
        # "edit": chat posts the grounded answer at once and edits the styled one in;
        # "wait": the styled text (or the draft after a failed rewrite) is the only post
        self.style_delivery = style_delivery

    def user_hash(self, platform: str, user_id: str) -> str:
        return hash_user(self.salt, platform, user_id)

    # -- answering ---------------------------------------------------------------------------
    def ask(self, question: Question, *, draft_first: bool = False) -> Answer:
        """Answer, with the thread's earlier turns as context; never raises.

        `draft_first` (a chat adapter that can edit its message) with style_delivery="edit":
        the answer comes back unstyled with `style_pending` set, and `finish_style` gives the
        text to edit in; the voice never delays the answer."""
        defer = draft_first and self.style_delivery == "edit"
        try:
            if question.thread and not question.history:
                question = replace(question, history=self._history(question))
            return self.engine.answer(question, defer_style=defer)
        except Exception as exc:
            return self._apology(question, exc)

    def finish_style(self, answer: Answer, question: Question) -> Answer | None:
        """The styled answer to edit into the posted draft, or None (the draft stands: no
        rewrite was pending, or it failed — the reason is recorded). Never raises."""
        try:
            return finish_style(self.engine, answer, question)
        except Exception:
            log.exception("style rewrite failed after the draft was posted")
            answer.style_pending = False
            return None

    def mark_shown(self, interaction_id: int, shown: str) -> None:
        """The chat message now shows `shown` ("styled" once the edit landed); later votes
        record it. A failure only costs that label, never the answer."""
        try:
            self.store.interactions.mark_shown(interaction_id, shown)
        except Exception as exc:
            log.warning("could not record what the answer shows", extra={"error": str(exc)[:200]})

    def _history(self, question: Question) -> tuple[Turn, ...]:
        rows = self.store.interactions.in_thread(
            question.platform, question.channel, question.thread or "", self.history_turns
        )
        return tuple(Turn(r["question"], r["answer"]) for r in rows if not r["unanswered"])

    def _apology(self, question: Question, exc: Exception) -> Answer:
        question, _ = self.engine.kept(question)  # stored like an answered one: cut if long
        ref: Any = "?"
        try:
            ref = self.store.interactions.record(
                InteractionRecord(
                    platform=question.platform,
                    channel=question.channel,
                    thread=question.thread,
                    asker_hash=self.user_hash(question.platform, question.asker_id)
                    if question.asker_id
                    else None,
                    question=question.text,
                    answer="",
                    unanswered=True,
                    error=f"{type(exc).__name__}: {str(exc)[:500]}",
                )
            )
        except Exception:  # the store may be what failed; the apology still goes out
            log.exception("could not record the failed question")
        log.error(
            "answering failed",
            exc_info=exc,
            extra={"interaction_id": ref, "platform": question.platform},
        )
        answer = Answer(APOLOGY.format(ref=ref), [], 0.0, True, question=question.text)
        answer.interaction_id = ref if isinstance(ref, int) else None
        answer.error = type(exc).__name__
        return answer

    # -- after the answer --------------------------------------------------------------------
    def link_answer(self, interaction_id: int, message_ref: str) -> None:
        """Remember which chat message carries the answer, so reactions on it count."""
        self.store.interactions.set_answer_ref(interaction_id, message_ref)

    def interaction_for_message(self, platform: str, message_ref: str) -> int | None:
        row = self.store.interactions.by_answer_ref(platform, message_ref)
        return None if row is None else int(row["id"])

    def vote(
        self,
        interaction_id: int,
        platform: str,
        user_id: str,
        value: int,
        *,
        reason: str | None = None,
        comment: str | None = None,
        source: str = "button",
    ) -> dict[str, Any]:
        """One vote per user and answer; voting again (or a retried delivery) replaces it."""
        return self.store.interactions.record_vote(
            interaction_id,
            self.user_hash(platform, user_id),
            value,
            reason=reason,
            comment=comment,
            source=source,
        )

    def escalate(self, interaction_id: int) -> dict[str, Any] | None:
        """Mark the interaction escalated and return it (question and answer for the handoff)."""
        self.store.interactions.mark_escalated(interaction_id)
        return self.store.interactions.get(interaction_id)
