"""Discord as a `askdesk.bots.surface.ChatSurface`: the delivery core's actions as discord.py calls.

The core is synchronous and runs on worker threads (it is CPU-bound: the event loop must keep
sending gateway heartbeats); every call here hands a coroutine to the bot's event loop and
waits for it. Each `discord.HTTPException` becomes a `SurfaceError`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import discord

from askdesk.bots.discord.components import CommentButton, CommentModal, ReasonSelect, feedback_view
from askdesk.bots.discord.render import escalation_targets, render_answer
from askdesk.bots.surface import CommentDialogue, Place, Prompt, ReasonChoice, SurfaceError
from askdesk.core.types import Answer

log = logging.getLogger(__name__)

PLATFORM = "discord"
CALL_TIMEOUT_S = 60.0
EMOJI = {"eyes": "👀"}
HANDOFF = "{mentions} — {user} would like a human to take over this question (answer #{iid}):"
_KEPT_MESSAGES = 2048  # posted messages remembered for their styled edit

T = TypeVar("T")


@dataclass(frozen=True)
class Piece:
    """One Discord message of an answer; the sources embed and the buttons ride on the last."""

    content: str
    embed: discord.Embed | None = None
    feedback: int | None = None  # the interaction id whose buttons this message carries


def on_loop(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on the bot's loop from a worker thread; platform refusals → SurfaceError."""
    try:
        future = asyncio.run_coroutine_threadsafe(coro, loop)
    except RuntimeError as exc:  # the loop is closed: the bot has stopped
        coro.close()
        raise SurfaceError("discord: the bot has stopped") from exc
    try:
        return future.result(CALL_TIMEOUT_S)
    except discord.HTTPException as exc:
        raise SurfaceError(f"discord: {exc.status} {exc.code}") from exc
    except TimeoutError as exc:
        future.cancel()
        raise SurfaceError("discord: no answer from the gateway loop in time") from exc


class DiscordSurface:
    platform = PLATFORM

    def __init__(self, client: discord.Client, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.loop = loop
        self._sent: OrderedDict[str, discord.Message] = OrderedDict()

    def render(self, answer: Answer) -> list[Piece]:
        rendered = render_answer(answer)
        last = len(rendered.pieces) - 1
        votes = answer.interaction_id if rendered.feedback else None
        return [
            Piece(text, rendered.embed if i == last else None, votes if i == last else None)
            for i, text in enumerate(rendered.pieces)
        ]

    def post(self, place: Place, piece: Piece, *, first: bool) -> str:
        extra: dict[str, Any] = {}
        if piece.embed is not None:
            extra["embed"] = piece.embed
        return self._send(place, piece.content, extra, piece.feedback)

    def post_text(self, place: Place, text: str, *, mentions: Sequence[str] = ()) -> str:
        return self._send(place, text, {})

    def _send(
        self, place: Place, content: str, extra: dict[str, Any], votes: int | None = None
    ) -> str:
        sent = on_loop(self.loop, self._send_async(place, content, extra, votes))
        self._sent[str(sent.id)] = sent
        while len(self._sent) > _KEPT_MESSAGES:
            self._sent.popitem(last=False)
        return str(sent.id)

    async def _send_async(
        self, place: Place, content: str, extra: dict[str, Any], votes: int | None
    ) -> discord.Message:
        if votes is not None:  # a View needs the running loop: made here, not on the worker
            extra = {**extra, "view": feedback_view(votes)}
        handle = place.handle
        if isinstance(handle, discord.Interaction):  # /ask: the deferred response's followup
            return await handle.followup.send(content, wait=True, **extra)
        if isinstance(handle, discord.Message):  # a reply to the question
            reference = handle.to_reference(fail_if_not_exists=False)
            return await handle.channel.send(
                content, reference=reference, mention_author=False, **extra
            )
        channel = self.client.get_channel(int(place.thread or place.channel))
        if channel is None:
            channel = await self.client.fetch_channel(int(place.thread or place.channel))
        return await channel.send(content, **extra)  # type: ignore[union-attr]

    def edit(self, place: Place, message: str, piece: Piece) -> None:
        """Only the text changes: the sources embed, buttons, reply and votes stay."""
        found = self._sent.get(message)
        if found is None:
            raise SurfaceError("discord: message no longer known")
        on_loop(self.loop, found.edit(content=piece.content))

    def react(self, place: Place, message: str, emoji: str, *, on: bool) -> None:
        handle = place.handle
        if not isinstance(handle, discord.Message) or str(handle.id) != message:
            return
        emoji = EMOJI.get(emoji, emoji)
        me = self.client.user
        if on:
            on_loop(self.loop, handle.add_reaction(emoji))
        elif me is not None:
            on_loop(self.loop, handle.remove_reaction(emoji, me))

    def answer_ref(self, place: Place, message: str) -> str:
        return message

    def hand_off(
        self, place: Place, targets: Sequence[str], user: str, question: str, interaction_id: int
    ) -> str | None:
        """The public hand-off, as the click's response: roles and users of `escalate_to`
        that exist here are pinged (only they may be), the question quoted below."""
        interaction = place.handle
        if place.direct or not isinstance(interaction, discord.Interaction):
            return None
        guild = interaction.guild
        resolved = escalation_targets(targets, [r.id for r in guild.roles] if guild else [])
        if not resolved.user_ids and not resolved.role_ids:
            return None
        head = HANDOFF.format(mentions=resolved.mentions, user=f"<@{user}>", iid=interaction_id)
        text = f"{head}\n{_quote(question, 2000 - len(head) - 1)}"
        on_loop(
            self.loop,
            interaction.response.send_message(text, allowed_mentions=resolved.allowed_mentions()),
        )
        return str(interaction.id)


class DiscordResponder:
    """Answers the one person behind an interaction (a click, a choice, a submitted form)."""

    def __init__(self, interaction: discord.Interaction[Any], loop: asyncio.AbstractEventLoop):
        self.interaction = interaction
        self.loop = loop

    def notice(self, text: str, prompt: Prompt | None = None) -> None:
        on_loop(self.loop, self._notice(text, prompt))

    async def _notice(self, text: str, prompt: Prompt | None) -> None:
        response = self.interaction.response
        view = _view(prompt)
        extra: dict[str, Any] = {"view": view} if view is not None else {}
        if response.is_done():
            await self.interaction.followup.send(text, ephemeral=True, **extra)
        else:
            await response.send_message(text, ephemeral=True, **extra)

    def replace(self, text: str, prompt: Prompt | None = None) -> None:
        on_loop(self.loop, self._replace(text, prompt))

    async def _replace(self, text: str, prompt: Prompt | None) -> None:
        interaction = self.interaction
        view = _view(prompt)
        if interaction.message is None:  # a form opened from nowhere to replace
            await self._notice(text, prompt)
        elif interaction.response.is_done():  # the comment form went out first
            await interaction.followup.edit_message(interaction.message.id, content=text, view=view)
        else:
            await interaction.response.edit_message(content=text, view=view)

    def open_dialogue(self, dialogue: CommentDialogue) -> None:
        if self.interaction.response.is_done():
            raise SurfaceError("discord: this interaction was already answered")
        on_loop(self.loop, self._open(dialogue))

    async def _open(self, dialogue: CommentDialogue) -> None:
        modal = CommentModal(dialogue.interaction_id, dialogue.reason)
        await self.interaction.response.send_modal(modal)
        modal.stop()  # the submission is handled from its custom_id, even after a restart


def _view(prompt: Prompt | None) -> discord.ui.View | None:
    if prompt is None:
        return None
    view = discord.ui.View(timeout=None)
    if isinstance(prompt, ReasonChoice):
        view.add_item(ReasonSelect(prompt.interaction_id))
    else:
        view.add_item(CommentButton(prompt.interaction_id, prompt.reason))
    return view


def _quote(text: str, limit: int) -> str:
    """Quote the question within `limit`: "> " per line at most doubles the length."""
    text = text.strip()[: max(limit // 2, 0)]
    return "\n".join(f"> {line}" for line in text.splitlines() or [""])[:limit]
