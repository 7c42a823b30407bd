"""The Discord client: events in, SupportDesk calls out, rendered answers back.

Each handler only translates — a message, `/ask`, a reaction or a form becomes a `Question`
or a vote — and everything else (thread context, hashing, recording, crash → apology) is
SupportDesk's. SupportDesk is synchronous and CPU-bound, so every call runs in a worker
thread (`asyncio.to_thread`): the event loop must keep sending gateway heartbeats while the
model thinks, or Discord drops the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord
from discord import app_commands

from bots.common import ChannelConfig, ChannelDirectory, reaction_value, strip_mentions
from bots.discord.components import (
    CommentButton,
    EscalateButton,
    FeedbackButton,
    ReasonSelect,
    feedback_view,
    handle_comment_submit,
)
from bots.discord.render import render_answer
from core.desk import SupportDesk
from core.types import Answer, Question

log = logging.getLogger(__name__)

PLATFORM = "discord"
REPLY_HOPS = 8  # how far back a reply chain is followed to find the conversation's root
FALLBACK_APOLOGY = (
    "Sorry — something went wrong while I was answering, and I can't answer right now. "
    "Please try again in a moment."
)
_ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)

Send = Callable[..., Awaitable[discord.Message]]


def channel_keys(channel: Any) -> tuple[str, str | None]:
    """(channel id, thread id): a thread's questions belong to its parent channel.

    Discord gives a thread started from a message the id of that message, so a mention in a
    channel (whose conversation is named by its own id) continues seamlessly in the thread
    someone opens from it.
    """
    if isinstance(channel, discord.Thread):
        return str(channel.parent_id), str(channel.id)
    return str(getattr(channel, "id", "")), None


class AskdeskBot(discord.Client):
    """Answers mentions, DMs, replies to its answers, `/ask`, and every message in channels
    configured with respond_to="all"; counts 👍/👎 clicks and reactions as votes."""

    def __init__(
        self,
        desk: SupportDesk,
        channels: ChannelDirectory,
        *,
        sync_commands: bool = True,
        max_concurrent_answers: int = 1,
        announce: Callable[[str], None] | None = None,
        claim: Callable[[str], bool] | None = None,
        **options: Any,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = True  # privileged: enable it in the Developer Portal too
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        # a text bot needs no voice: don't warn users that voice libraries are missing
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(intents=intents, **options)
        self.desk = desk
        self.channels = channels
        self.sync_commands = sync_commands
        self.announce = announce
        # Several processes on one bot token all receive each message: on a shared database
        # `claim` (an insert-or-skip row) lets exactly one of them answer it.
        self.claim = claim
        # Answering is CPU-bound: running several at once on a small machine only slows all.
        self._answering = asyncio.Semaphore(max_concurrent_answers)
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(_ask_command())

    # -- lifecycle ---------------------------------------------------------------------------
    async def setup_hook(self) -> None:
        self.add_dynamic_items(FeedbackButton, EscalateButton, ReasonSelect, CommentButton)
        if self.sync_commands:
            await self._sync_commands()

    async def _sync_commands(self) -> None:
        """Upload /ask only when it changed: Discord rate-limits command creation per day."""
        try:
            remote = [c.to_dict() for c in await self.tree.fetch_commands()]
            local = [c.to_dict(self.tree) for c in self.tree.get_commands()]
            if _shape(remote) != _shape(local):
                await self.tree.sync()
                log.info("discord application commands synced")
        except discord.HTTPException as exc:  # mentions and DMs still work without /ask
            log.warning("could not register /ask", extra={"status": exc.status})

    async def on_ready(self) -> None:
        guilds = len(self.guilds)
        log.info("discord connected", extra={"bot_user": str(self.user), "guilds": guilds})
        if self.announce:  # once: on_ready fires again after a full reconnect
            self.announce(
                f"Connected to Discord as {self.user} in {guilds} server(s). Ctrl-C stops."
            )
            self.announce = None

    async def _mine(self, key: str) -> bool:
        """Whether this process answers `key` (always, without a fleet claim). A database
        that cannot be reached leaves the decision to this process, and says so."""
        if self.claim is None:
            return True
        try:
            return await asyncio.to_thread(self.claim, key)
        except Exception as exc:
            log.warning("shared claim unavailable", extra={"error": type(exc).__name__})
            return True

    def config_for(self, channel: Any) -> ChannelConfig:
        """A thread's own settings if it has any, else its parent channel's, else defaults."""
        channel_id, thread_id = channel_keys(channel)
        if thread_id is not None and thread_id in self.channels.channels:
            return self.channels.channels[thread_id]
        return self.channels.get(channel_id)

    # -- questions ---------------------------------------------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.webhook_id or message.type not in _ANSWERED_TYPES:
            return
        config = self.config_for(message.channel)
        called = self._called(message)
        if not called and config.respond_to != "all":
            return
        text = strip_mentions(message.content, *self._mention_patterns(message))
        if not text and not called:
            return  # an image or sticker in a respond-to-all channel: nothing to answer
        if not await self._mine(f"discord:message:{message.id}"):
            return
        channel_id, thread_id = channel_keys(message.channel)
        question = Question(
            text,
            platform=PLATFORM,
            channel=channel_id,
            thread=thread_id or await self._conversation_root(message),
            asker_id=str(message.author.id),
            path_prefixes=config.paths,
        )
        async with message.channel.typing():
            answer = await self._answer(question)

        async def reply(content: str, **extra: Any) -> discord.Message:
            reference = message.to_reference(fail_if_not_exists=False)
            return await message.channel.send(
                content, reference=reference, mention_author=False, **extra
            )

        sent = await self._deliver(answer, reply)
        await self._edit_in_style(answer, question, sent)

    async def handle_ask(self, interaction: discord.Interaction[Any], text: str) -> None:
        """`/ask`: acknowledge at once (Discord allows 3 s), answer in the followup."""
        if not await self._mine(f"discord:interaction:{interaction.id}"):
            return
        await interaction.response.defer(thinking=True)
        channel_id, thread_id = channel_keys(interaction.channel)
        if interaction.channel is None:
            channel_id = str(interaction.channel_id)
        question = Question(
            text,
            platform=PLATFORM,
            channel=channel_id,
            # outside a thread the conversation is named by the command's interaction id,
            # which Discord shows on the followup as interaction_metadata (see replies)
            thread=thread_id or str(interaction.id),
            asker_id=str(interaction.user.id),
            path_prefixes=self.config_for(interaction.channel).paths,
        )
        answer = await self._answer(question)

        async def followup(content: str, **extra: Any) -> discord.Message:
            return await interaction.followup.send(content, wait=True, **extra)

        sent = await self._deliver(answer, followup)
        await self._edit_in_style(answer, question, sent)

    def _called(self, message: discord.Message) -> bool:
        """A DM, a mention of the bot (or its role), or a reply to one of its messages."""
        if message.guild is None:
            return True
        me = self.user
        if me is None:
            return False
        if any(user.id == me.id for user in message.mentions):
            return True
        role = message.guild.self_role
        if role is not None and role in message.role_mentions:
            return True
        parent = message.reference.resolved if message.reference else None
        return isinstance(parent, discord.Message) and parent.author.id == me.id

    def _mention_patterns(self, message: discord.Message) -> list[str]:
        patterns = [rf"<@!?{self.user.id}>"] if self.user else []
        role = message.guild.self_role if message.guild else None
        if role is not None:
            patterns.append(rf"<@&{role.id}>")
        return patterns

    async def _conversation_root(self, message: discord.Message) -> str:
        """Name the conversation a message belongs to, so follow-ups get the earlier turns.

        A new question names its own conversation. A reply to one of the bot's answers
        belongs to the question that answer replied to (followed back through the chain),
        or to the /ask command the answer came from.
        """
        current = message
        for _ in range(REPLY_HOPS):
            answer = await self._replied_to(current)
            if answer is None or self.user is None or answer.author.id != self.user.id:
                break
            if answer.reference is not None and answer.reference.message_id is not None:
                question = await self._replied_to(answer)
                if question is None:
                    return str(answer.reference.message_id)
                current = question
                continue
            origin = answer.interaction_metadata
            return str(origin.id) if origin is not None else str(answer.id)
        return str(current.id)

    async def _replied_to(self, message: discord.Message) -> discord.Message | None:
        ref = message.reference
        if ref is None or ref.message_id is None:
            return None
        if isinstance(ref.resolved, discord.Message):
            return ref.resolved
        if ref.cached_message is not None:
            return ref.cached_message
        if ref.channel_id != message.channel.id:
            return None
        try:
            return await message.channel.fetch_message(ref.message_id)
        except discord.HTTPException:
            return None

    # -- answers -----------------------------------------------------------------------------
    async def _answer(self, question: Question) -> Answer:
        """SupportDesk.ask already turns a crash into an apology; this guards the adapter too.
        The grounded answer comes first; a styled edit may follow (`_edit_in_style`)."""
        async with self._answering:
            try:
                return await asyncio.to_thread(self.desk.ask, question, draft_first=True)
            except Exception:
                log.exception("answering failed in the discord adapter")
                answer = Answer(FALLBACK_APOLOGY, [], 0.0, True, question=question.text)
                answer.error = "adapter"
                return answer

    async def _deliver(self, answer: Answer, send: Send) -> list[discord.Message]:
        """Send the pieces; the sources and buttons ride on the last, which reactions target.
        Returns the sent messages, in order (what a styled edit replaces)."""
        rendered = render_answer(answer)
        sent: list[discord.Message] = []
        for i, piece in enumerate(rendered.pieces):
            extra: dict[str, Any] = {}
            if i == len(rendered.pieces) - 1:
                if rendered.embed is not None:
                    extra["embed"] = rendered.embed
                if rendered.feedback and answer.interaction_id is not None:
                    extra["view"] = feedback_view(answer.interaction_id)
            sent.append(await send(piece, **extra))
        if rendered.feedback and sent and answer.interaction_id is not None:
            await asyncio.to_thread(self.desk.link_answer, answer.interaction_id, str(sent[-1].id))
        return sent

    async def _edit_in_style(
        self, answer: Answer, question: Question, sent: list[discord.Message]
    ) -> None:
        """Edit the posted draft into the styled answer: only the text changes (the sources
        embed, buttons, reply and votes stay). The rewrite runs outside the answering
        semaphore, so the next question's answer never waits for this one's voice. The draft
        stands when the rewrite fails, when the styled text needs another number of pieces,
        or when Discord refuses the first edit (an edit failing halfway is put back)."""
        if not answer.style_pending or not sent or answer.interaction_id is None:
            return
        styled = await asyncio.to_thread(self.desk.finish_style, answer, question)
        if styled is None:
            return
        before, after = render_answer(answer).pieces, render_answer(styled).pieces
        if len(after) != len(sent):
            log.info("styled answer kept as draft", extra={"reason": "message count"})
            return
        done: list[int] = []
        try:
            for i, (message, piece) in enumerate(zip(sent, after, strict=True)):
                await message.edit(content=piece)
                done.append(i)
        except discord.HTTPException as exc:
            log.warning("styled edit failed", extra={"status": exc.status})
            for i in done:  # best effort: one answer, one voice
                try:
                    await sent[i].edit(content=before[i])
                except discord.HTTPException:
                    log.warning("could not put the draft back", extra={"status": exc.status})
            return
        await asyncio.to_thread(self.desk.mark_shown, answer.interaction_id, "styled")

    # -- feedback ----------------------------------------------------------------------------
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """👍/👎 (any skin tone) on one of the bot's answers is a vote; raw, so it works for
        messages that are not in the cache (sent before a restart)."""
        me = self.user
        if me is None or payload.user_id == me.id or payload.emoji.is_custom_emoji():
            return
        if payload.member is not None and payload.member.bot:
            return
        if payload.message_author_id is not None and payload.message_author_id != me.id:
            return
        value = reaction_value(payload.emoji.name or "")
        if value is None:
            return
        interaction_id = await asyncio.to_thread(
            self.desk.interaction_for_message, PLATFORM, str(payload.message_id)
        )
        if interaction_id is None:
            return  # not an answer (another message of the bot, or someone else's)
        try:
            await asyncio.to_thread(
                self.desk.vote,
                interaction_id,
                PLATFORM,
                str(payload.user_id),
                value,
                source="reaction",
            )
        except ValueError:
            log.warning("reaction on an unknown answer", extra={"interaction_id": interaction_id})

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        if interaction.type is discord.InteractionType.modal_submit:
            await handle_comment_submit(interaction)


def _ask_command() -> app_commands.Command[Any, ..., None]:
    @app_commands.command(
        name="ask", description="Ask a question about the docs; the answer cites its sources."
    )
    @app_commands.describe(question="What do you want to know?")
    async def ask(interaction: discord.Interaction, question: str) -> None:
        bot: AskdeskBot = interaction.client  # type: ignore[assignment]
        await bot.handle_ask(interaction, question)

    return ask


def _shape(commands: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """What users see of each command, for comparing the uploaded set with ours."""
    return {
        (
            c.get("name"),
            c.get("description"),
            tuple(
                (o.get("name"), o.get("description"), o.get("type"), bool(o.get("required")))
                for o in c.get("options") or []
            ),
        )
        for c in commands
    }


def build_bot(desk: SupportDesk, channels: ChannelDirectory, **options: Any) -> AskdeskBot:
    """The bot, ready for `serve()`; options go to AskdeskBot / discord.Client."""
    return AskdeskBot(desk, channels, **options)
