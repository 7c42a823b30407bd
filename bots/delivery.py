"""The delivery core: every step of answering in chat, written once for every surface.

A surface adapter (Slack, Discord, the HTTP API) translates events into `Incoming` / `Click`
and implements `askdesk.bots.surface.ChatSurface`; this module does the rest, in this order:

1. `accept(incoming)` — fast, on the event's thread: the rules (bot or edit: never; a
   mention or a command: always; a DM unless it asks nothing; an unmentioned message in a
   thread askdesk answered, unless `follow_ups = "mention"`, it names someone else or asks
   nothing; top level in a `respond_to = "all"` channel), then the one duplicate-delivery
   guard (`askdesk.bots.claims`), the DM continuation window and the per-thread flood limit. Returns
   an `Ask`, or None (silence).
2. `answer(ask)` — slow, on a worker: 👀 on the question, `SupportDesk.ask` with the
   conversation id (the desk adds the earlier turns), post the rendered answer, link its last
   message (reactions find the answer), 👀 off; then the styled edit of the same messages
   and `mark_shown("styled")`. A surface that refuses the post gets a plain apology with the
   interaction's reference; nothing here raises.
3. Votes and the dialogue: `up`, `down` (→ the reason choice), `reason` (→ "noted" and a
   comment offer; "other" opens the comment form at once), `comment`, `save_comment`,
   `reaction` (👍/👎 on an answer), and `escalate` ("Talk to a human", once per answer).

With a `journal` (a fleet on PostgreSQL) each accepted question is held until posted, so a
survivor answers the questions of a process that died (`take_over_loop`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol

from askdesk.bots.claims import SeenKeys
from askdesk.bots.common import ChannelConfig, ChannelDirectory, reaction_value
from askdesk.bots.conversations import Conversations, ThreadLimit, asks_nothing
from askdesk.bots.surface import (
    WORKING,
    ChatSurface,
    Click,
    CommentDialogue,
    CommentOffer,
    Incoming,
    Place,
    ReasonChoice,
    SurfaceError,
)
from askdesk.core.desk import SupportDesk
from askdesk.core.types import Answer, Question
from askdesk.feedback.reasons import Reason, parse_reason

log = logging.getLogger(__name__)

# -- what people read (one wording on every surface) -------------------------------------------
THANKS_UP = "Thanks for the feedback — glad it helped! 👍"
ASK_WHY = "Sorry it didn't help. What was wrong? (Optional: your 👎 is already counted.)"
REASON_NOTED = "Thanks — noted as “{label}”. Anything to add?"
COMMENT_SAVED = "Thanks — your comment is saved."
SORRY = "Sorry — I couldn't record that just now. Please try again in a moment."
LOST = "Sorry, I can't find that answer in my records any more, so nothing was saved."
ALREADY_ESCALATED = "A human has already been asked to help with this answer."
NOBODY = (
    "Nobody is set up to take over questions here yet, so I couldn't ping anyone. "
    "I've flagged this answer for the team to review."
)
IN_DM = (
    "I've flagged this answer for the team. People can't see our private chat: for a human, "
    "ask in your team's support channel."
)
NOT_POSTED = (
    "Sorry — I found an answer but couldn't post it here. The team has been notified "
    "(reference #{ref})."
)
SLOW_DOWN = (
    "I'm getting a lot of messages in this thread, so I'll pause here for a few minutes. "
    "Mention me when you need me again, or start a new thread."
)
ADAPTER_APOLOGY = (
    "Sorry — something went wrong while I was answering, and I can't answer right now. "
    "Please try again in a moment."
)


class Journal(Protocol):
    """Where a fleet keeps the questions being answered (see `askdesk.fleet.WorkJournal`), so
    those of a process killed mid-answer are answered by a survivor, not lost."""

    def hold(self, key: str, work: dict[str, Any]) -> None: ...
    def finish(self, key: str) -> None: ...
    def orphans(self) -> list[tuple[str, dict[str, Any]]]: ...
    def wait(self, seconds: float) -> bool: ...  # True once the journal is closed


TAKEOVER_EVERY_S = 3.0
"""How often a process looks for questions whose owner died (then answered within seconds)."""


@dataclass(frozen=True)
class Ask:
    """An accepted message: what `Delivery.answer` needs."""

    incoming: Incoming
    question: Question
    kind: str  # "mention", "direct", "follow_up", "channel" (for logs and tests)


@dataclass(frozen=True)
class Posted:
    """An answer as it went out: where, the message ids (in order), and what they show."""

    place: Place
    sent: list[str]
    answer: Answer
    question: Question


@dataclass(frozen=True)
class FollowUpPolicy:
    """The conversation settings shared by every channel (per-channel: `follow_ups`)."""

    dm_window_s: float = 1800.0
    thread_limit: int = 8
    thread_window_s: float = 300.0


class Delivery:
    """The delivery steps for one surface; one instance per running adapter."""

    def __init__(
        self,
        desk: SupportDesk,
        channels: ChannelDirectory,
        surface: ChatSurface[Any],
        *,
        claims: SeenKeys | None = None,
        journal: Journal | None = None,
        executor: Executor | None = None,
        policy: FollowUpPolicy = FollowUpPolicy(),
    ) -> None:
        self.desk = desk
        self.channels = channels
        self.surface = surface
        self.platform = surface.platform
        self.claims = claims if claims is not None else SeenKeys()
        self.journal = journal
        self.executor = executor
        self.policy = policy
        self.conversations = Conversations(desk.store, dm_window_s=policy.dm_window_s)
        self.limit = ThreadLimit(policy.thread_limit, policy.thread_window_s)
        if journal is not None:
            threading.Thread(
                target=self.take_over_loop, name="askdesk-takeover", daemon=True
            ).start()

    def config(self, settings: Sequence[str]) -> ChannelConfig:
        return self.channels.lookup(settings)

    # -- 1. accept -----------------------------------------------------------------------------
    def accept(self, incoming: Incoming) -> Ask | None:
        """Whether to answer this message, and as what; None is silence. Fast (one claim, at
        most two indexed reads): call it on the event's thread, then `answer` on a worker."""
        kind = self._kind(incoming)
        if kind is None:
            return None
        if not self.claims.claim(incoming.key):
            log.info("dropped a repeated delivery", extra={"platform": self.platform})
            return None
        conversation = incoming.conversation
        if incoming.direct and not self.conversations.answered_in(
            self.platform, incoming.channel, conversation
        ):
            conversation = (
                self.conversations.dm_continued(self.platform, incoming.channel) or conversation
            )
        verdict = self.limit.check(f"{incoming.channel}:{conversation}")
        if verdict != "answer":
            log.info("thread over its answer limit", extra={"platform": self.platform})
            if verdict == "say_once":
                self._post_text(incoming.place, SLOW_DOWN)
            return None
        question = Question(
            incoming.text,
            platform=self.platform,
            channel=incoming.channel,
            thread=conversation,
            asker_id=incoming.user or None,
            path_prefixes=self.config(incoming.settings).paths,
        )
        ask = Ask(incoming, question, kind)
        if self.journal is not None:
            self._journal("hold", incoming.key, _work(ask))
        return ask

    def _kind(self, m: Incoming) -> str | None:
        if m.from_bot or m.edited:
            return None
        if asks_nothing(m.text) and (m.text.strip() or not m.mentioned):
            return None  # thanks, ok, an emoji, an image without text (a bare mention: help)
        if m.mentioned:
            return "mention"
        if m.direct:
            return "direct"
        config = self.config(m.settings)
        if m.in_thread:
            if config.follow_ups != "thread" or m.others_mentioned:
                return None
            if not self.conversations.answered_in(self.platform, m.channel, m.conversation):
                return None  # a thread askdesk never answered in: people talking
            return "follow_up"
        if config.respond_to == "all" and not m.others_mentioned:
            return "channel"
        return None

    # -- 2. answer -----------------------------------------------------------------------------
    def answer(self, ask: Ask) -> list[str]:
        """Answer and post, then edit the styled text in; returns the posted message ids.
        Never raises (a worker thread must not die silently)."""
        posted = self.answer_draft(ask)
        if posted is not None:
            self.finish_style(posted)
        return posted.sent if posted is not None else []

    def answer_draft(self, ask: Ask) -> Posted | None:
        """👀, the answer, the post, the link; what `finish_style` needs next (None: nothing
        was posted). The held question is done the moment its answer is out. Never raises."""
        try:
            return self._answer(ask)
        except Exception:
            log.exception("answering failed", extra={"platform": self.platform})
            return None
        finally:
            self._finish(ask)

    def finish_style(self, posted: Posted) -> None:
        """Edit the posted draft into the styled answer, if a rewrite is pending (run it off
        any lock that answers wait for: the voice never delays the next answer)."""
        if not posted.answer.style_pending or not posted.sent:
            return
        try:
            self._edit_in_style(posted.place, posted.sent, posted.answer, posted.question)
        except Exception:
            log.exception("styled edit failed", extra={"platform": self.platform})

    def _answer(self, ask: Ask) -> Posted:
        place, message = ask.incoming.place, ask.incoming.message
        if message:
            self._react(place, message, on=True)
        try:
            answer = self._ask(ask.question)
            sent, whole = self._post(place, answer)
            self._finish(ask)  # before linking: the shorter that gap, the rarer a double answer
            if whole and sent and answer.interaction_id is not None and not answer.error:
                self._link(answer.interaction_id, place, sent[-1])
        finally:
            if message:
                self._react(place, message, on=False)
        return Posted(place, sent, answer, ask.question)

    def _ask(self, question: Question) -> Answer:
        """SupportDesk.ask turns a crash into an apology with a reference; this also guards
        against the desk itself failing."""
        try:
            return self.desk.ask(question, draft_first=True)
        except Exception:
            log.exception("the desk failed", extra={"platform": self.platform})
            answer = Answer(ADAPTER_APOLOGY, [], 0.0, True, question=question.text)
            answer.error = "adapter"
            return answer

    def _post(self, place: Place, answer: Answer) -> tuple[list[str], bool]:
        """Post every rendered message: (their ids, whether all went out). When the platform
        refuses, a plain apology with the reference follows (or, failing that too, a log)."""
        sent: list[str] = []
        try:
            for i, piece in enumerate(self.surface.render(answer)):
                sent.append(self.surface.post(place, piece, first=i == 0))
            return sent, True
        except SurfaceError as exc:
            log.warning("answer not posted", extra={"platform": self.platform, "error": str(exc)})
        answer.style_pending = False  # nothing whole to edit
        ref = answer.interaction_id if answer.interaction_id is not None else "?"
        if answer.interaction_id is not None:
            self.desk.mark_shown(answer.interaction_id, "not_posted")
        posted = self._post_text(place, NOT_POSTED.format(ref=ref))
        return sent + ([posted] if posted else []), False

    def _edit_in_style(
        self, place: Place, sent: list[str], answer: Answer, question: Question
    ) -> None:
        """Replace the posted draft with the styled answer, message for message (the thread,
        buttons, sources and votes stay). The draft stands when the rewrite fails, when the
        styled text needs another number of messages, or when the platform refuses the
        first edit; an edit failing halfway puts the draft back where it was changed."""
        styled = self.desk.finish_style(answer, question)
        if styled is None or answer.interaction_id is None:
            return
        before, after = list(self.surface.render(answer)), list(self.surface.render(styled))
        if len(after) != len(sent) or len(before) != len(sent):
            log.info("styled answer kept as draft", extra={"reason": "message count"})
            return
        done: list[int] = []
        try:
            for i, (message, piece) in enumerate(zip(sent, after, strict=True)):
                self.surface.edit(place, message, piece)
                done.append(i)
        except SurfaceError as exc:
            log.warning("styled edit failed", extra={"error": str(exc)})
            for i in done:  # best effort: one answer, one voice
                try:
                    self.surface.edit(place, sent[i], before[i])
                except SurfaceError as again:
                    log.warning("could not put the draft back", extra={"error": str(again)})
            return
        self.desk.mark_shown(answer.interaction_id, "styled")

    def _link(self, interaction_id: int, place: Place, message: str) -> None:
        try:
            self.desk.link_answer(interaction_id, self.surface.answer_ref(place, message))
        except Exception as exc:  # only reactions on this answer are lost
            log.warning("answer not linked", extra={"error": type(exc).__name__})

    def _react(self, place: Place, message: str, *, on: bool) -> None:
        """👀 is a courtesy: a missing scope or a race with the user never blocks the answer."""
        try:
            self.surface.react(place, message, WORKING, on=on)
        except Exception as exc:
            log.debug("reaction failed", extra={"on": on, "error": str(exc)[:200]})

    def _post_text(self, place: Place, text: str) -> str | None:
        try:
            return self.surface.post_text(place, text)
        except Exception as exc:
            log.warning("notice not posted", extra={"error": str(exc)[:200]})
            return None

    # -- the fleet's journal -------------------------------------------------------------------
    def _finish(self, ask: Ask) -> None:
        if self.journal is not None:
            self._journal("finish", ask.incoming.key)

    def _journal(self, method: str, *args: Any) -> None:
        try:
            getattr(self.journal, method)(*args)
        except Exception as exc:  # the answer still goes out; only a takeover is lost
            log.warning("work journal unavailable", extra={"error": type(exc).__name__})

    def take_over_loop(self) -> None:
        """Every few seconds, answer the held questions of processes that died."""
        assert self.journal is not None
        while not self.journal.wait(TAKEOVER_EVERY_S):
            try:
                orphans = self.journal.orphans()
            except Exception as exc:
                log.warning("takeover check failed", extra={"error": type(exc).__name__})
                continue
            for key, work in orphans:
                ask = self._from_work(key, work)
                if ask is None:
                    log.warning("unreadable held question skipped")
                    continue
                log.info("answering a question whose process died", extra={"key": key[:80]})
                if self.executor is not None:
                    self.executor.submit(self.answer, ask)
                else:
                    self.answer(ask)

    def _from_work(self, key: str, work: dict[str, Any]) -> Ask | None:
        try:
            place = Place(
                str(work["channel"]),
                work.get("thread"),
                direct=bool(work.get("direct")),
                broadcast=bool(work.get("broadcast")),
            )
            channel = str(work.get("stored_channel") or work["channel"])
            conversation = str(work.get("conversation") or work["thread"] or work["ts"])
            incoming = Incoming(
                key=key,
                text=str(work["text"]),
                user="",  # never held: a taken-over answer has no asker
                place=place,
                channel=channel,
                conversation=conversation,
                message=work.get("ts"),
                settings=tuple(work.get("settings") or (channel,)),
            )
        except (KeyError, TypeError):
            return None
        question = Question(
            incoming.text,
            platform=self.platform,
            channel=channel,
            thread=conversation,
            path_prefixes=self.config(incoming.settings).paths,
        )
        return Ask(incoming, question, "takeover")

    # -- 3. votes, the 👎 dialogue, escalation -------------------------------------------------
    def up(self, click: Click) -> None:
        if self._vote(click, 1):
            self._tell(click, THANKS_UP)

    def down(self, click: Click) -> None:
        if self._vote(click, -1):
            self._tell(click, ASK_WHY, ReasonChoice(click.interaction_id))

    def reason(self, click: Click, code: str) -> None:
        """A reason chosen for the 👎; "other" opens the comment form at once (a platform's
        trigger for it expires within seconds), the others offer it."""
        reason = parse_reason(code)
        if reason is None:
            log.warning("unknown vote reason", extra={"reason": code[:40]})
            self._tell(click, SORRY)
            return
        if reason is Reason.OTHER:
            try:
                click.responder.open_dialogue(CommentDialogue(click.interaction_id, reason))
            except Exception as exc:  # the reason itself still counts
                log.warning("could not open the comment form", extra={"error": str(exc)[:200]})
        if not self._vote(click, -1, reason=reason):
            return
        noted = REASON_NOTED.format(label=reason.label)
        try:
            click.responder.replace(noted, CommentOffer(click.interaction_id, reason))
        except Exception:
            log.exception("could not confirm the reason")

    def comment(self, click: Click, code: str) -> None:
        """ "Add a comment": open the form for this answer and reason."""
        reason = parse_reason(code) or Reason.OTHER
        try:
            click.responder.open_dialogue(CommentDialogue(click.interaction_id, reason))
        except Exception as exc:
            log.warning("could not open the comment form", extra={"error": str(exc)[:200]})
            self._tell(click, SORRY)

    def save_comment(
        self, user: str, interaction_id: int, code: str | None, comment: str | None
    ) -> None:
        """The comment form's submission. Errors propagate: the form shows them."""
        reason = parse_reason(code) or Reason.OTHER
        self.desk.vote(
            interaction_id,
            self.platform,
            user,
            -1,
            reason=reason.value,
            comment=(comment or "").strip() or None,
        )

    def submit_comment(self, click: Click, code: str | None, comment: str | None) -> None:
        """`save_comment` for a surface whose form replies like a click (Discord)."""
        try:
            self.save_comment(click.user, click.interaction_id, code, comment)
        except ValueError:
            self._tell(click, LOST)
            return
        except Exception:
            log.exception("could not store a comment")
            self._tell(click, SORRY)
            return
        try:
            click.responder.replace(COMMENT_SAVED)
        except Exception:
            log.exception("could not confirm the comment")

    def reaction(self, user: str, emoji: str, place: Place, message: str) -> bool:
        """👍/👎 (any skin tone) by a person on one of the bot's answers is a vote; returns
        whether it was. The surface has checked that the message is the bot's own.
        Taking a reaction back keeps the vote, as a button vote is kept."""
        value = reaction_value(emoji)
        if value is None:
            return False
        try:
            ref = self.surface.answer_ref(place, message)
            interaction_id = self.desk.interaction_for_message(self.platform, ref)
            if interaction_id is None:
                return False  # another message of the bot's, not an answer
            self.desk.vote(interaction_id, self.platform, user, value, source="reaction")
        except Exception as exc:
            log.warning("reaction vote failed", extra={"error": type(exc).__name__})
            return False
        return True

    def escalate(self, click: Click) -> None:
        """ "Talk to a human": flag the answer, ping the channel's `escalate_to` once per
        answer (fleet-wide with shared claims), or say privately why nobody was pinged."""
        if not self.claims.claim(f"human:{self.platform}:{click.interaction_id}"):
            self._tell(click, ALREADY_ESCALATED)
            return
        try:
            row = self.desk.escalate(click.interaction_id) or {}
        except ValueError:
            self._tell(click, LOST)
            return
        except Exception:
            log.exception("escalation failed")
            self.claims.forget(f"human:{self.platform}:{click.interaction_id}")
            self._tell(click, SORRY)
            return
        targets = self.config(click.settings).escalate_to
        try:
            posted = self.surface.hand_off(
                click.place,
                targets,
                click.user,
                str(row.get("question") or ""),
                click.interaction_id,
            )
        except Exception:
            log.exception("hand-off not posted")
            posted = None
        if posted is None:
            self._tell(click, IN_DM if click.place.direct else NOBODY)

    def _vote(self, click: Click, value: int, *, reason: Reason | None = None) -> bool:
        """Record the clicker's vote (one per user and answer: the last one wins)."""
        try:
            self.desk.vote(
                click.interaction_id,
                self.platform,
                click.user,
                value,
                reason=reason.value if reason is not None else None,
            )
        except ValueError:
            log.warning("vote on an unknown answer", extra={"interaction_id": click.interaction_id})
            self._tell(click, LOST)
            return False
        except Exception:
            log.exception("vote failed")
            self._tell(click, SORRY)
            return False
        return True

    def _tell(self, click: Click, text: str, prompt: ReasonChoice | None = None) -> None:
        try:
            click.responder.notice(text, prompt)
        except Exception:
            log.exception("could not answer the click")


def _work(ask: Ask) -> dict[str, Any]:
    """What a survivor needs to answer a held question: no user id, no platform handle."""
    m = ask.incoming
    return {
        "text": m.text,
        "channel": m.place.channel,
        "ts": m.message,
        "thread": m.place.thread,
        "conversation": ask.question.thread,
        "stored_channel": m.channel,
        "settings": list(m.settings),
        "direct": m.place.direct,
        "broadcast": m.place.broadcast,
    }


def run_guarded(work: Callable[[], object]) -> None:
    """Run background work whose failure must be logged, never lost with its thread."""
    try:
        work()
    except Exception:
        log.exception("background work failed")
