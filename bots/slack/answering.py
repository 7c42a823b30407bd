"""Answering in the background: 👀 on the question, SupportDesk.ask, the threaded reply, link.

Slack wants an ack within 3 seconds and Bolt's own listener pool also acks button clicks, so
answers (and every Web API call they make, 429 waits included) run on a separate pool: a
burst of questions can never delay a click's ack.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bots.common import ChannelDirectory
from bots.slack.blocks import Message, answer_messages, escape
from bots.slack.dedupe import SeenKeys
from core.desk import SupportDesk
from core.types import Answer, Question

log = logging.getLogger(__name__)

PLATFORM = "slack"
WORKING = "eyes"  # 👀 while the answer is being looked up


def message_ref(channel: str, ts: str) -> str:
    """What `link_answer` stores: a Slack `ts` is unique only within its channel."""
    return f"{channel}:{ts}"


@dataclass(frozen=True)
class Ask:
    """A question as Slack delivered it, already stripped of the bot's mention."""

    text: str
    user: str
    channel: str
    ts: str  # the question's own message (where 👀 goes)
    thread: str  # the thread root: reply there, and the Question.thread for follow-ups


@dataclass(frozen=True)
class SlashAsk:
    """`/ask`: there is no message yet, so the question is posted first and answered below."""

    text: str
    user: str
    channel: str
    respond: Callable[..., object] | None = None  # response_url, for "I can't post here"


class Journal(Protocol):
    """Where a fleet keeps the questions being answered (see `askdesk.fleet.WorkJournal`), so
    those of a process killed mid-answer are answered by a survivor, not lost."""

    def hold(self, key: str, work: dict[str, Any]) -> None: ...
    def finish(self, key: str) -> None: ...
    def orphans(self) -> list[tuple[str, dict[str, Any]]]: ...
    def wait(self, seconds: float) -> bool: ...  # True once the journal is closed


TAKEOVER_EVERY_S = 3.0
"""How often a process looks for questions whose owner died (then answered within seconds)."""


class Answerer:
    def __init__(
        self,
        desk: SupportDesk,
        channels: ChannelDirectory,
        client: WebClient,
        executor: Executor,
        seen: SeenKeys,
        journal: Journal | None = None,
    ) -> None:
        self.desk = desk
        self.channels = channels
        self.client = client
        self.executor = executor
        self.seen = seen
        self.journal = journal
        if journal is not None:
            threading.Thread(
                target=self._take_over_loop, name="askdesk-takeover", daemon=True
            ).start()

    # -- entry points (called from Bolt listeners; must return quickly) -----------------------
    def take(self, ask: Ask) -> bool:
        """Queue an answer unless this message is already being answered (retry, or both
        `app_mention` and `message` for one post). Returns whether it was queued."""
        key = f"msg:{message_ref(ask.channel, ask.ts)}"
        if not self.seen.claim(key):
            return False
        if self.journal is not None:
            work = {"text": ask.text, "channel": ask.channel, "ts": ask.ts, "thread": ask.thread}
            self._journal("hold", key, work)  # no user id: a taken-over answer has no asker
        self.executor.submit(self._guard, self._answer_held, ask)
        return True

    def _take_over_loop(self) -> None:
        """Every few seconds, answer the held questions of processes that died."""
        assert self.journal is not None
        while not self.journal.wait(TAKEOVER_EVERY_S):
            try:
                orphans = self.journal.orphans()
            except Exception as exc:
                log.warning("takeover check failed", extra={"error": type(exc).__name__})
                continue
            for _key, work in orphans:
                try:
                    ask = Ask(str(work["text"]), "", work["channel"], work["ts"], work["thread"])
                except (KeyError, TypeError):
                    log.warning("unreadable held question skipped")
                    continue
                log.info("answering a question whose process died", extra={"channel": ask.channel})
                self.executor.submit(self._guard, self._answer_held, ask)

    def _journal(self, method: str, *args: Any) -> None:
        try:
            getattr(self.journal, method)(*args)
        except Exception as exc:  # the answer still goes out; only a takeover is lost
            log.warning("work journal unavailable", extra={"error": type(exc).__name__})

    def take_slash(self, ask: SlashAsk) -> None:
        self.executor.submit(self._guard, self._answer_slash, ask)

    # -- background work ----------------------------------------------------------------------
    def _guard(self, work: Callable[..., None], ask: Ask | SlashAsk) -> None:
        try:
            work(ask)
        except Exception:  # a worker thread must never die silently
            log.exception("answering failed", extra={"channel": ask.channel})

    def _answer_held(self, ask: Ask) -> None:
        """Answer, then mark the held question done the moment its answer is posted (before
        linking and un-reacting: the shorter that gap, the rarer a double answer when this
        process dies in it), or when answering failed here."""
        finished = []

        def finish() -> None:
            if self.journal is not None and not finished:
                finished.append(True)
                self._journal("finish", f"msg:{message_ref(ask.channel, ask.ts)}")

        try:
            self._answer(ask, posted=finish)
        finally:
            finish()

    def _answer(
        self, ask: Ask, *, broadcast: bool = False, posted: Callable[[], None] | None = None
    ) -> None:
        """The grounded answer is posted as soon as it exists; with the voice wanted (and
        style_delivery="edit") the same messages are then edited into the styled answer.
        `posted` runs the moment the last message is out (a held question is then done)."""
        self._react("reactions_add", ask.channel, ask.ts)
        question = self._question(ask)
        try:
            answer = self.desk.ask(question, draft_first=True)
            sent = self.post_all(
                ask.channel, ask.thread, answer, broadcast=broadcast, posted=posted
            )
        finally:
            self._react("reactions_remove", ask.channel, ask.ts)
        if answer.style_pending:
            self._edit_in_style(ask.channel, sent, answer, question)

    def _answer_slash(self, ask: SlashAsk) -> None:
        shown, _ = self.desk.engine.kept(Question(ask.text))  # a huge /ask is echoed cut
        try:
            root = self.client.chat_postMessage(
                channel=ask.channel,
                text=f"<@{ask.user}> asked: {escape(shown.text)}",
                unfurl_links=False,
            )
        except SlackApiError as exc:
            log.warning("could not post /ask", extra={"error": exc.response.get("error")})
            if ask.respond is not None:
                ask.respond(
                    text="I can't post in this channel. Invite me (`/invite @askdesk`) or "
                    "send me a direct message.",
                    response_type="ephemeral",
                    replace_original=False,
                )
            return
        ts = root["ts"]
        self._answer(Ask(ask.text, ask.user, ask.channel, ts, ts), broadcast=True)

    def _question(self, ask: Ask) -> Question:
        return Question(
            ask.text,
            platform=PLATFORM,
            channel=ask.channel,
            thread=ask.thread,
            asker_id=ask.user or None,
            path_prefixes=self.channels.get(ask.channel).paths,
        )

    def post(self, channel: str, thread: str, answer: Answer, *, broadcast: bool = False) -> str:
        """Post the answer's messages in the thread; the last one's ts (it has the buttons)."""
        posted = self.post_all(channel, thread, answer, broadcast=broadcast)
        return posted[-1] if posted else ""

    def post_all(
        self,
        channel: str,
        thread: str,
        answer: Answer,
        *,
        broadcast: bool = False,
        posted: Callable[[], None] | None = None,
    ) -> list[str]:
        """Post the answer's messages in the thread; link the one with the buttons for votes.
        Returns every posted message's ts, in order (what a styled edit replaces); `posted`
        runs as soon as the last message is posted."""
        sent: list[str] = []
        for i, message in enumerate(answer_messages(answer)):
            sent.append(
                self.client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread,
                    text=message.text,
                    blocks=message.blocks,
                    reply_broadcast=broadcast and i == 0,
                    unfurl_links=False,
                    unfurl_media=False,
                )["ts"]
            )
        if posted is not None:
            posted()
        if answer.interaction_id is not None and not answer.error and sent:
            self.desk.link_answer(answer.interaction_id, message_ref(channel, sent[-1]))
        return sent

    def _edit_in_style(
        self, channel: str, posted: list[str], answer: Answer, question: Question
    ) -> None:
        """Replace the posted draft with the styled answer (chat.update, same messages: the
        thread, buttons, sources and votes stay). The draft stands when the rewrite fails,
        when the styled text needs a different number of messages, or when Slack refuses the
        first edit; an edit that fails halfway puts the draft back where it was changed."""
        styled = self.desk.finish_style(answer, question)
        if styled is None or answer.interaction_id is None:
            return
        before, after = answer_messages(answer), answer_messages(styled)
        if len(after) != len(posted):
            log.info("styled answer kept as draft", extra={"reason": "message count"})
            return
        done: list[int] = []
        try:
            for i, (ts, message) in enumerate(zip(posted, after, strict=True)):
                self.client.chat_update(
                    channel=channel, ts=ts, text=message.text, blocks=message.blocks
                )
                done.append(i)
        except SlackApiError as exc:
            log.warning("styled edit failed", extra={"error": exc.response.get("error")})
            for i in done:  # best effort: one answer, one voice
                self._restore(channel, posted[i], before[i])
            return
        self.desk.mark_shown(answer.interaction_id, "styled")

    def _restore(self, channel: str, ts: str, message: Message) -> None:
        try:
            self.client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except SlackApiError as exc:
            log.warning("could not put the draft back", extra={"error": exc.response.get("error")})

    def _react(self, method: str, channel: str, ts: str) -> None:
        """👀 is a courtesy: a missing scope or a race with the user never blocks the answer."""
        try:
            getattr(self.client, method)(channel=channel, timestamp=ts, name=WORKING)
        except Exception as exc:
            log.debug("reaction failed", extra={"method": method, "error": str(exc)[:200]})
