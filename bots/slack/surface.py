"""Slack as a `askdesk.bots.surface.ChatSurface`: Web API calls for the delivery core's actions.

Rendering is `askdesk.bots.slack.blocks`; every `SlackApiError` becomes a `SurfaceError`, so the
core falls back (draft stands, apology) without knowing the SDK.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from askdesk.bots.slack.blocks import (
    Message,
    answer_messages,
    comment_modal,
    escalation_text,
    mention,
    prompt_blocks,
)
from askdesk.bots.surface import CommentDialogue, Place, Prompt, SurfaceError
from askdesk.core.types import Answer

log = logging.getLogger(__name__)

PLATFORM = "slack"


def message_ref(channel: str, ts: str) -> str:
    """What `link_answer` stores: a Slack `ts` is unique only within its channel."""
    return f"{channel}:{ts}"


@contextmanager
def _refused() -> Iterator[None]:
    try:
        yield
    except SlackApiError as exc:
        raise SurfaceError(f"slack: {exc.response.get('error')}") from exc


class SlackSurface:
    """The delivery core's actions as Slack Web API calls (threaded replies, Block Kit)."""

    platform = PLATFORM

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def render(self, answer: Answer) -> list[Message]:
        return answer_messages(answer)

    def post(self, place: Place, piece: Message, *, first: bool) -> str:
        with _refused():
            return str(
                self.client.chat_postMessage(
                    channel=place.channel,
                    thread_ts=place.thread,
                    text=piece.text,
                    blocks=piece.blocks,
                    reply_broadcast=place.broadcast and first,
                    unfurl_links=False,
                    unfurl_media=False,
                )["ts"]
            )

    def edit(self, place: Place, message: str, piece: Message) -> None:
        with _refused():
            self.client.chat_update(
                channel=place.channel, ts=message, text=piece.text, blocks=piece.blocks
            )

    def react(self, place: Place, message: str, emoji: str, *, on: bool) -> None:
        method = self.client.reactions_add if on else self.client.reactions_remove
        with _refused():
            method(channel=place.channel, timestamp=message, name=emoji)

    def post_text(self, place: Place, text: str, *, mentions: Sequence[str] = ()) -> str:
        with _refused():
            return str(
                self.client.chat_postMessage(
                    channel=place.channel, thread_ts=place.thread, text=text, unfurl_links=False
                )["ts"]
            )

    def answer_ref(self, place: Place, message: str) -> str:
        return message_ref(place.channel, message)

    def hand_off(
        self, place: Place, targets: Sequence[str], user: str, question: str, interaction_id: int
    ) -> str | None:
        """The thread reply for "Talk to a human". Slack ids in `targets` are tagged (others,
        e.g. Discord's, skipped); with nobody to tag it says so in the thread, and in a DM it
        names whom to contact, since a tag there reaches no one."""
        tags = tuple(t for t in targets if mention(t))
        return self.post_text(place, escalation_text(tags, user, direct=place.direct))


class SlackResponder:
    """Answers one clicker: ephemeral messages, the response_url, and views.open."""

    def __init__(
        self,
        client: WebClient,
        *,
        channel: str,
        user: str,
        thread: str | None,
        respond: Callable[..., Any] | None = None,
        trigger_id: str | None = None,
    ) -> None:
        self.client = client
        self.channel = channel
        self.user = user
        self.thread = thread
        self.respond = respond
        self.trigger_id = trigger_id

    def notice(self, text: str, prompt: Prompt | None = None) -> None:
        kwargs: dict[str, Any] = {"channel": self.channel, "user": self.user, "text": text}
        if prompt is not None:
            kwargs["blocks"] = prompt_blocks(text, prompt)
        if self.thread:
            kwargs["thread_ts"] = self.thread
        with _refused():
            self.client.chat_postEphemeral(**kwargs)

    def replace(self, text: str, prompt: Prompt | None = None) -> None:
        if self.respond is None:
            self.notice(text, prompt)
            return
        blocks = prompt_blocks(text, prompt) if prompt is not None else None
        self.respond(text=text, blocks=blocks, replace_original=True)

    def open_dialogue(self, dialogue: CommentDialogue) -> None:
        if not self.trigger_id:
            raise SurfaceError("slack: no trigger_id to open a modal with")
        view = comment_modal(dialogue.interaction_id, dialogue.reason, self.channel, self.thread)
        with _refused():
            self.client.views_open(trigger_id=self.trigger_id, view=view)
