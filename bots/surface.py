"""The chat-surface port: what the delivery core (`askdesk.bots.delivery`) needs from a chat
platform.

Every step of answering in chat — the duplicate guard, 👀, the answer, the styled edit, what
was shown, votes, the 👎 → reason → comment dialogue, escalation, the apology — is written
once, in `askdesk.bots.delivery.Delivery`. A platform is plugged in by two small translations:

1. **Events in.** The adapter turns a platform event into an `Incoming` (a human message,
   with the facts the core's rules need: was the bot mentioned, is it a DM, is it in a thread,
   does it name someone else) or into a `Click` (a vote button, a reason choice, a comment
   form, "Talk to a human"), and hands it to `Delivery`. It decides nothing itself.
2. **Actions out.** The adapter implements `ChatSurface` (post, edit, react, plain text,
   render an `Answer`) and, for each click, a `Responder` (ephemeral notice, replace the
   prompt in place, open a dialogue). Calls are synchronous: an asyncio platform bridges
   them to its loop (see `askdesk.bots.discord.surface`).

How to add a surface (an HTTP API, Teams, Matrix…; ARCHITECTURE.md, "Adding a chat surface"
— a surface registered in the `askdesk.surfaces` entry points runs with `askdesk chat NAME`):

- Implement `ChatSurface` (below): `platform` is the name stored with each interaction;
  `render` cuts an answer into the platform's messages (the last carries the vote buttons);
  `post` / `edit` / `react` / `post_text` / `answer_ref` as documented. Raise `SurfaceError`
  when the platform refuses a call: the core then falls back (draft stands, apology, …).
- Build an `Incoming` for each human message (`key` must be the same for a redelivery of
  the same message), call `Delivery.accept(incoming)` (fast: rules and the claim), then run
  `Delivery.answer(ask)` on a worker (slow: retrieval and the model).
- Map your buttons or endpoints onto `Delivery.up/down/reason/comment/save_comment/
  escalate/reaction` with a `Click` whose `responder` talks back to the clicker.
- Write a driver for `tests/contract/` (see `tests/contract/driver.py`): the surface is done
  when the shared scenarios pass against your platform's fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from askdesk.core.types import Answer

WORKING = "eyes"
"""The reaction shown on a question while its answer is being looked up (👀)."""


class SurfaceError(Exception):
    """The platform refused a call (missing permission, deleted message, rate limit given up).

    Surfaces raise this instead of their SDK's error so the core can fall back without
    knowing any SDK. The message is safe to log (no tokens, no user ids)."""


@dataclass(frozen=True)
class Place:
    """Where the bot's messages for one question go.

    `channel` and `thread` are platform ids (`thread` None: top level / a DM without
    threads). `handle` is the surface's own object for replying (a Discord message to reply
    to, an interaction to follow up; None on Slack) and never read by the core.
    `broadcast` asks the first message to also show in the channel (Slack's /ask)."""

    channel: str
    thread: str | None = None
    direct: bool = False
    broadcast: bool = False
    handle: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Incoming:
    """A human message as a surface saw it, translated: the core's rules decide the rest.

    key            unique per message on the platform; a redelivery carries the same key
    text           the message with the bot's own mention stripped
    user           the raw platform user id (hashed before storage; never logged)
    place          where the answer is posted
    channel        the channel stored with the interaction (Discord: a thread's parent)
    conversation   the conversation it belongs to: a thread root, a reply chain's root, or
                   the message's own id when it starts one (earlier turns are looked up by it)
    message        the question's own message id (👀 goes there); None without one (/ask)
    settings       channel ids whose `[channels]` settings apply, most specific first
    mentioned      addressed to the bot: @mention, its role, a reply to its answer, a command
    direct         a direct message
    in_thread      inside a thread or reply chain (so a possible follow-up)
    others_mentioned  names another person (then it is addressed to them, not the bot)
    from_bot       written by a bot (this one or another): never answered
    edited         an edit of an earlier message: never answered again
    """

    key: str
    text: str
    user: str
    place: Place
    channel: str
    conversation: str
    message: str | None = None
    settings: tuple[str, ...] = ()
    mentioned: bool = False
    direct: bool = False
    in_thread: bool = False
    others_mentioned: bool = False
    from_bot: bool = False
    edited: bool = False


# -- what a click's reply shows (each surface renders these its own way) ---------------------
@dataclass(frozen=True)
class ReasonChoice:
    """ "What was wrong?" with one choice per `askdesk.feedback.reasons.Reason`."""

    interaction_id: int


@dataclass(frozen=True)
class CommentOffer:
    """An "Add a comment" button that opens a `CommentDialogue`."""

    interaction_id: int
    reason: str


@dataclass(frozen=True)
class CommentDialogue:
    """A form with one optional free-text field; its submission reaches
    `Delivery.save_comment(user, interaction_id, reason, comment)`."""

    interaction_id: int
    reason: str


Prompt = ReasonChoice | CommentOffer


class Responder(Protocol):
    """Talks back to the one person who clicked (a vote, a reason, a form)."""

    def notice(self, text: str, prompt: Prompt | None = None) -> None:
        """Show `text` (and the prompt's controls) to the clicker alone."""

    def replace(self, text: str, prompt: Prompt | None = None) -> None:
        """Replace the clicked prompt with `text` (a notice when it cannot be replaced)."""

    def open_dialogue(self, dialogue: CommentDialogue) -> None:
        """Open the comment form for the clicker; raise `SurfaceError` if it cannot."""


@dataclass(frozen=True)
class Click:
    """A button press, a choice or a form, reduced to what the core needs.

    `place` is where the clicked answer lives (an escalation hand-off is posted there);
    `escalate_to` the resolved hand-off targets are looked up from `settings`."""

    user: str
    interaction_id: int
    place: Place
    responder: Responder
    settings: tuple[str, ...] = ()


Piece = TypeVar("Piece")


class ChatSurface(Protocol[Piece]):
    """One chat platform, as the delivery core drives it. Every call is synchronous and may
    raise `SurfaceError`; `Piece` is the platform's rendered message (Block Kit, a Discord
    content + embed + view, JSON…), opaque to the core."""

    platform: str

    def render(self, answer: Answer) -> Sequence[Piece]:
        """The answer as the messages to post, in order; the last carries sources and the
        vote controls when the answer has an interaction id and no error."""

    def post(self, place: Place, piece: Piece, *, first: bool) -> str:
        """Post one rendered message; return its message id."""

    def edit(self, place: Place, message: str, piece: Piece) -> None:
        """Replace a posted message's text with `piece`'s (buttons, sources and votes stay)."""

    def react(self, place: Place, message: str, emoji: str, *, on: bool) -> None:
        """Add (`on`) or remove the bot's `emoji` reaction on a message (best effort)."""

    def post_text(self, place: Place, text: str, *, mentions: Sequence[str] = ()) -> str:
        """Post plain text (a hand-off, a notice); `mentions` are the escalation targets the
        text may ping (everything else must not ping). Returns the message id."""

    def answer_ref(self, place: Place, message: str) -> str:
        """What identifies a posted message among this platform's answers (stored with the
        interaction, so reactions on it find their answer): Slack `channel:ts`."""

    def hand_off(
        self, place: Place, targets: Sequence[str], user: str, question: str, interaction_id: int
    ) -> str | None:
        """Post "Talk to a human" where the answer is: ping `targets` (the channel's
        `escalate_to`, platform ids) for `user` (raw id), quoting `question`; nothing else may
        ping. Return the message id, or None when no target is usable here (none configured,
        none of this platform's, or a DM nobody else can see): the core then tells the
        clicker privately instead."""
