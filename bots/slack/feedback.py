"""Votes, reasons, comments, reactions and "Talk to a human" — each a call on SupportDesk.

The answer message is shared by the whole channel, so it is never edited for one person's
vote: the clicker alone sees the thanks and the "why?" prompt (ephemeral), and that prompt is
replaced in place (response_url, replace_original) when a reason is picked.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec

from slack_sdk import WebClient

from bots.common import REASONS, ChannelDirectory, reaction_value
from bots.slack.answering import PLATFORM, message_ref
from bots.slack.blocks import comment_modal, escalation_text, reason_prompt, reason_thanks
from bots.slack.dedupe import SeenKeys
from core.desk import SupportDesk

log = logging.getLogger(__name__)

THANKS_UP = "Thanks — glad it helped! 👍"
SORRY = "Sorry — I couldn't record that just now. Please try again in a moment."
ALREADY_ESCALATED = "A human has already been asked to help in this thread."

P = ParamSpec("P")


@dataclass(frozen=True)
class Click:
    """A button press, reduced to what the handlers need."""

    user: str
    channel: str
    thread: str | None  # the thread the clicked message lives in
    value: str
    trigger_id: str | None = None
    respond: Callable[..., Any] | None = None  # the clicked message's response_url


def guarded(
    handler: Callable[Concatenate[Feedback, Click, P], None],
) -> Callable[Concatenate[Feedback, Click, P], None]:
    """A failing vote is logged and the clicker gets an ephemeral sorry, never silence."""

    @functools.wraps(handler)
    def wrapper(self: Feedback, click: Click, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            handler(self, click, *args, **kwargs)
        except Exception:
            log.exception("feedback handler failed", extra={"handler": handler.__name__})
            try:
                self.ephemeral(click, text=SORRY)
            except Exception:
                log.exception("could not send the apology")

    return wrapper


class Feedback:
    def __init__(
        self,
        desk: SupportDesk,
        channels: ChannelDirectory,
        client: WebClient,
        seen: SeenKeys,
    ) -> None:
        self.desk = desk
        self.channels = channels
        self.client = client
        self.seen = seen

    def ephemeral(self, click: Click, **message: Any) -> None:
        kwargs: dict[str, Any] = {"channel": click.channel, "user": click.user, **message}
        if click.thread:
            kwargs["thread_ts"] = click.thread
        self.client.chat_postEphemeral(**kwargs)

    # -- buttons on the answer ----------------------------------------------------------------
    @guarded
    def up(self, click: Click) -> None:
        self.desk.vote(int(click.value), PLATFORM, click.user, 1)
        self.ephemeral(click, text=THANKS_UP)

    @guarded
    def down(self, click: Click) -> None:
        interaction_id = int(click.value)
        self.desk.vote(interaction_id, PLATFORM, click.user, -1)
        self.ephemeral(click, text="What was wrong?", blocks=reason_prompt(interaction_id))

    @guarded
    def human(self, click: Click) -> None:
        interaction_id = int(click.value)
        if not self.seen.claim(f"human:{interaction_id}"):  # one ping per answer, not per click
            self.ephemeral(click, text=ALREADY_ESCALATED)
            return
        self.desk.escalate(interaction_id)
        targets = self.channels.get(click.channel).escalate_to
        self.client.chat_postMessage(
            channel=click.channel,
            thread_ts=click.thread,
            text=escalation_text(targets, click.user, direct=click.channel.startswith("D")),
        )

    # -- the "why?" prompt --------------------------------------------------------------------
    @guarded
    def reason(self, click: Click, reason: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        interaction_id = int(click.value)
        if reason == "other":  # the trigger id expires after 3 s: open the modal first
            try:
                self.open_comment(click, interaction_id, reason)
            except Exception:  # the reason itself still counts
                log.warning("could not open the comment modal", exc_info=True)
        self.desk.vote(interaction_id, PLATFORM, click.user, -1, reason=reason)
        blocks = reason_thanks(interaction_id, reason)
        if click.respond is not None:
            click.respond(text="Thanks", blocks=blocks, replace_original=True)
        else:
            self.ephemeral(click, text="Thanks", blocks=blocks)

    @guarded
    def comment(self, click: Click) -> None:
        interaction_id, _, reason = click.value.partition(":")
        self.open_comment(click, int(interaction_id), reason or "other")

    def open_comment(self, click: Click, interaction_id: int, reason: str) -> None:
        view = comment_modal(interaction_id, reason, click.channel, click.thread)
        self.client.views_open(trigger_id=click.trigger_id, view=view)

    def save_comment(
        self, user: str, interaction_id: int, reason: str, comment: str | None
    ) -> None:
        """The modal's submission; errors propagate so the modal can show them."""
        self.desk.vote(
            interaction_id,
            PLATFORM,
            user,
            -1,
            reason=reason if reason in REASONS else "other",
            comment=comment,
        )

    # -- reactions ----------------------------------------------------------------------------
    def reaction(self, user: str, name: str, channel: str, ts: str) -> bool:
        """👍/👎 (any skin tone) on one of the bot's answers is a vote; returns whether it was.

        The caller has already checked that the message is the bot's own (`item_user`).
        `reaction_removed` is not subscribed: taking a reaction back keeps the vote, as a
        button vote is kept, and the next vote replaces it.
        """
        value = reaction_value(name)
        if value is None:
            return False
        interaction_id = self.desk.interaction_for_message(PLATFORM, message_ref(channel, ts))
        if interaction_id is None:
            return False
        self.desk.vote(interaction_id, PLATFORM, user, value, source="reaction")
        return True
