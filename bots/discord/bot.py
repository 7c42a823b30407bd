"""The Discord client: events in, SupportDesk calls out, rendered answers back.

Each handler only translates — a message, `/ask`, a reaction or a form becomes a `Question`
or a vote — and everything else (thread context, hashing, recording, crash → apology) is
SupportDesk's. SupportDesk is synchronous and CPU-bound, so every call runs in a worker
thread (`asyncio.to_thread`): the event loop must keep sending gateway heartbeats while the
model thinks, or Discord drops the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands

from askdesk.bots.claims import SeenKeys, SharedKeys
from askdesk.bots.common import ChannelConfig, ChannelDirectory, strip_mentions
from askdesk.bots.delivery import Delivery, FollowUpPolicy
from askdesk.bots.discord.components import (
    CommentButton,
    EscalateButton,
    FeedbackButton,
    ReasonSelect,
    handle_comment_submit,
)
from askdesk.bots.discord.surface import DiscordResponder, DiscordSurface
from askdesk.bots.surface import Click, Incoming, Place
from askdesk.core.desk import SupportDesk

log = logging.getLogger(__name__)

REPLY_HOPS = 8  # how far back a reply chain is followed to find the conversation's root
_ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)


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
    """Answers mentions, DMs, replies to its answers, follow-ups in threads it answered in,
    `/ask`, and top-level messages in channels configured with respond_to="all"; counts
    👍/👎 clicks and reactions as votes. Every decision and step is the delivery core's
    (`askdesk.bots.delivery`); this class only turns gateway events into its `Incoming`/`Click`."""

    def __init__(
        self,
        desk: SupportDesk,
        channels: ChannelDirectory,
        *,
        sync_commands: bool = True,
        max_concurrent_answers: int = 1,
        announce: Callable[[str], None] | None = None,
        claim: Callable[[str], bool] | None = None,
        claims: SeenKeys | None = None,
        policy: FollowUpPolicy | None = None,
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
        # (`claims`: the fleet's guard, as `askdesk.fleet.delivery_keys` makes it; `claim`: a
        # bare insert-or-skip callable)
        self.claims: SeenKeys = (
            claims if claims is not None else SharedKeys(claim) if claim else SeenKeys()
        )
        self.policy = policy or FollowUpPolicy()
        self.delivery: Delivery | None = None  # made in setup_hook, on the running loop
        # Answering is CPU-bound: running several at once on a small machine only slows all.
        self._answering = asyncio.Semaphore(max_concurrent_answers)
        self.accepting = True  # False once stopping: new messages are left alone
        self._in_flight: set[asyncio.Task[Any]] = set()
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(_ask_command())

    # -- lifecycle ---------------------------------------------------------------------------
    async def setup_hook(self) -> None:
        surface = DiscordSurface(self, asyncio.get_running_loop())
        self.delivery = Delivery(
            self.desk, self.channels, surface, claims=self.claims, policy=self.policy
        )
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

    @property
    def channels(self) -> ChannelDirectory:
        return self._channels

    @channels.setter
    def channels(self, value: ChannelDirectory) -> None:
        """Settings swapped at run time reach the delivery core too."""
        self._channels = value
        if getattr(self, "delivery", None) is not None:
            self.delivery.channels = value  # type: ignore[union-attr]

    def config_for(self, channel: Any) -> ChannelConfig:
        """A thread's own settings if it has any, else its parent channel's, else defaults."""
        parent, thread = channel_keys(channel)
        return self.channels.lookup((thread, parent) if thread else (parent,))

    def _track(self) -> None:
        """Count the running answer, so stopping can wait for it (`drain`)."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def drain(self, within_s: float) -> bool:
        """Stop taking questions and wait (bounded) for the answers under way; whether all
        finished."""
        self.accepting = False
        pending = {t for t in self._in_flight if t is not asyncio.current_task()}
        if pending:
            _, left = await asyncio.wait(pending, timeout=within_s)
            log.info("stopped", extra={"answers_drained": not left})
            return not left
        return True

    def _core(self) -> Delivery:
        if self.delivery is None:
            raise RuntimeError("the bot is not set up yet")
        return self.delivery

    # -- questions ---------------------------------------------------------------------------
    async def on_message(self, message: discord.Message) -> None:
        if message.type not in _ANSWERED_TYPES or self.user is None:
            return
        if not self.accepting:
            return
        incoming = await self._incoming(message)
        delivery = self._core()
        ask = await asyncio.to_thread(delivery.accept, incoming)
        if ask is None:
            return
        self._track()
        async with self._answering:
            with contextlib.suppress(discord.HTTPException):
                await message.channel.typing()  # typing… while the answer is looked up
            posted = await asyncio.to_thread(delivery.answer_draft, ask)
        if posted is not None:  # the voice runs outside the semaphore: never delays answers
            await asyncio.to_thread(delivery.finish_style, posted)

    async def _incoming(self, message: discord.Message) -> Incoming:
        me = self.user
        assert me is not None
        parent, thread = channel_keys(message.channel)
        direct = message.guild is None
        replied = await self._replied_to(message)
        to_bot = replied is not None and replied.author.id == me.id
        to_other = replied is not None and replied.author.id not in (me.id, message.author.id)
        role = message.guild.self_role if message.guild else None
        mentioned = (
            any(user.id == me.id for user in message.mentions)
            or (role is not None and role in message.role_mentions)
            or to_bot
        )
        others = any(u.id not in (me.id, message.author.id) for u in message.mentions)
        conversation = thread or await self._conversation_root(message)
        return Incoming(
            key=f"discord:message:{message.id}",
            text=strip_mentions(message.content, *self._mention_patterns(message)),
            user=str(message.author.id),
            place=Place(str(message.channel.id), thread, direct=direct, handle=message),
            channel=parent,
            conversation=conversation,
            message=str(message.id),
            settings=(thread, parent) if thread else (parent,),
            mentioned=mentioned,
            direct=direct,
            in_thread=thread is not None or message.reference is not None,
            others_mentioned=others or to_other,
            from_bot=message.author.bot or message.webhook_id is not None,
        )

    async def handle_ask(self, interaction: discord.Interaction[Any], text: str) -> None:
        """`/ask`: acknowledge at once (Discord allows 3 s), answer in the followup."""
        parent, thread = channel_keys(interaction.channel)
        if interaction.channel is None:
            parent = str(interaction.channel_id)
        channel_id = str(interaction.channel_id or parent)
        incoming = Incoming(
            key=f"discord:interaction:{interaction.id}",
            text=text,
            user=str(interaction.user.id),
            place=Place(
                channel_id, thread, direct=interaction.guild_id is None, handle=interaction
            ),
            channel=parent,
            # outside a thread the conversation is named by the command's interaction id,
            # which Discord shows on the followup as interaction_metadata (see replies)
            conversation=thread or str(interaction.id),
            settings=(thread, parent) if thread else (parent,),
            mentioned=True,
            direct=interaction.guild_id is None,
        )
        delivery = self._core()
        if not self.accepting:
            return
        ask = await asyncio.to_thread(delivery.accept, incoming)
        if ask is None:
            return
        self._track()
        await interaction.response.defer(thinking=True)
        async with self._answering:
            posted = await asyncio.to_thread(delivery.answer_draft, ask)
        if posted is not None:
            await asyncio.to_thread(delivery.finish_style, posted)

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
            return None  # deleted: the reply starts over

    # -- feedback ----------------------------------------------------------------------------
    async def on_component(
        self,
        action: str,
        interaction: discord.Interaction[Any],
        interaction_id: int,
        reason: str | None = None,
        comment: str | None = None,
    ) -> None:
        """A click, a choice or a submitted form (`askdesk.bots.discord.components`) → the core."""
        parent, thread = channel_keys(interaction.channel)
        if interaction.channel is None:
            parent = str(interaction.channel_id)
        place = Place(
            str(interaction.channel_id or parent),
            thread,
            direct=interaction.guild_id is None,
            handle=interaction,
        )
        responder = DiscordResponder(interaction, asyncio.get_running_loop())
        click = Click(
            str(interaction.user.id),
            interaction_id,
            place,
            responder,
            settings=(thread, parent) if thread else (parent,),
        )
        delivery = self._core()
        steps: dict[str, Callable[[], object]] = {
            "up": lambda: delivery.up(click),
            "down": lambda: delivery.down(click),
            "reason": lambda: delivery.reason(click, reason or ""),
            "comment": lambda: delivery.comment(click, reason or ""),
            "human": lambda: delivery.escalate(click),
            "submit": lambda: delivery.submit_comment(click, reason, comment),
        }
        step = steps.get(action)
        if step is not None:
            await asyncio.to_thread(step)

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
        place = Place(str(payload.channel_id))
        await asyncio.to_thread(
            self._core().reaction,
            str(payload.user_id),
            payload.emoji.name or "",
            place,
            str(payload.message_id),
        )

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
