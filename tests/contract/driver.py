"""The driver a chat surface implements to run the shared contract scenarios.

A surface is done when `tests/contract/test_chat_contract.py` passes with its driver. A driver
plays the people on the platform's fake (a real client library against a local stand-in) and
reads back what the bot did; it never calls `askdesk.bots.delivery` directly.

To add one: create `tests/contract/<name>_driver.py` with

    PLATFORM = "<name>"                # the platform name stored with interactions
    ESCALATE_TO = ("<target id>",)     # an escalate_to entry that pings someone there
    @contextmanager
    def open_driver(desk, channels, policy) -> Iterator[ChatDriver]: ...

`open_driver` starts the surface exactly as its CLI command would (the real adapter on the
fake) with that `SupportDesk`, `ChannelDirectory` and `FollowUpPolicy`, yields a
`ChatDriver`, and stops everything on exit. The scenarios find every `*_driver.py` here.

Methods are synchronous; each waits (bounded) for the bot's reaction it reports on. A
capability a platform does not have (the HTTP API has no mentions or emoji reactions) is
declared in `lacks`, and the scenarios that need it are skipped for that driver, saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Msg:
    """A message on the platform: a person's question or one of the bot's messages."""

    id: str
    text: str
    raw: Any = field(default=None, repr=False)  # the driver's own record (payload, marks…)


class ChatDriver(Protocol):
    platform: str
    lacks: frozenset[str]  # e.g. {"mention", "reaction", "edit_event"}: scenarios skipped

    # -- people talking ----------------------------------------------------------------------
    def ask(
        self,
        text: str,
        *,
        mention: bool = True,
        after: Msg | None = None,
        direct: bool = False,
        to_other: bool = False,
        user: str = "alice",
    ) -> Msg:
        """`user` ("alice" or "bob") sends `text`. `mention`: addressed to the bot by name.
        `after`: sent in the conversation of that earlier message (its thread, a reply to
        it); None: a new conversation at top level. `direct`: in a direct message to the bot.
        `to_other`: it mentions another person. Returns the sent message."""

    def redeliver(self, question: Msg) -> None:
        """The platform delivers the same message again (a retry, a second event for it)."""

    def edit(self, question: Msg, text: str) -> None:
        """The person edits their message to `text`."""

    def bot_posts(self, text: str, *, after: Msg | None = None) -> Msg:
        """Another bot posts `text` (in `after`'s conversation): never answered."""

    # -- what the bot did --------------------------------------------------------------------
    def replies(self, question: Msg, n: int = 1, timeout: float = 30.0) -> list[Msg]:
        """Wait until the bot has posted at least `n` messages in answer to `question` (in its
        conversation, after it); return all of them so far, oldest first."""

    def silent(self, question: Msg, wait_s: float = 2.0) -> None:
        """Assert the bot posted nothing in answer to `question` within `wait_s`."""

    def edits(self, answer: Msg, n: int = 1, timeout: float = 30.0) -> list[str]:
        """Wait for `n` edits of the bot's message `answer`; return the texts, in order."""

    # -- people clicking ---------------------------------------------------------------------
    def vote(self, answer: Msg, up: bool) -> str:
        """Click 👍 / 👎 on an answer; return what the clicker is shown."""

    def react(self, answer: Msg, emoji: str, user: str = "bob") -> None:
        """Add an emoji reaction ("👍", "👎", "👀") to the bot's answer."""

    def choose_reason(self, answer: Msg, reason: str) -> str:
        """After 👎, pick a reason code; return what the clicker is shown."""

    def comment(self, answer: Msg, reason: str, text: str) -> str:
        """Open the comment form for (answer, reason) and submit `text`; return the reply."""

    def talk_to_human(self, answer: Msg) -> str:
        """Click "Talk to a human"; return the public hand-off text, or the private note."""

    def refuse_next_post(self) -> None:
        """The platform refuses the bot's next message post (an error, not a timeout)."""
