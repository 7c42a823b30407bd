"""Start the bot and turn the ways that fails into one line a user can act on.

A wrong token, a missing Message Content intent or an unreachable Discord surface from
discord.py as exceptions deep in its connection loop; `serve` maps each to a `StartupError`
naming the fix, so the CLI prints one line instead of a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
import discord

from askdesk.bots.claims import SeenKeys
from askdesk.bots.common import ChannelDirectory
from askdesk.bots.delivery import FollowUpPolicy
from askdesk.bots.discord.bot import AskdeskBot, build_bot
from askdesk.core.desk import SupportDesk

log = logging.getLogger(__name__)

NO_TOKEN = (
    "DISCORD_BOT_TOKEN is not set: copy the token from the Developer Portal "
    "(your application → Bot → Reset Token) into that environment variable"
)
BAD_TOKEN = (
    "Discord rejected the bot token: copy a fresh one from the Developer Portal "
    "(your application → Bot → Reset Token) into DISCORD_BOT_TOKEN"
)
NO_INTENT = (
    "Discord refused the Message Content intent: enable it in the Developer Portal "
    "(your application → Bot → Privileged Gateway Intents → Message Content Intent), then restart"
)


class StartupError(Exception):
    """The bot could not start; the message says what to change (and never holds the token)."""


async def serve(bot: AskdeskBot, token: str, *, warm_up: Callable[[], Any] | None = None) -> None:
    """Log in, warm up the answer core, then stay connected until closed or cancelled.

    The token is checked first (a fast HTTP call) so a typo fails in a second, before the
    model loads; warm-up runs before the gateway connects, so the first question is not slow.
    """
    token = (token or "").strip()
    if not token:
        raise StartupError(NO_TOKEN)
    quiet_library_debug()
    try:
        async with bot:
            await bot.login(token)
            if warm_up is not None:
                await asyncio.to_thread(warm_up)
            await bot.connect(reconnect=True)
    except discord.LoginFailure:
        raise StartupError(BAD_TOKEN) from None
    except discord.PrivilegedIntentsRequired:
        raise StartupError(NO_INTENT) from None
    except (aiohttp.ClientConnectionError, discord.GatewayNotFound) as exc:
        raise StartupError(f"cannot reach Discord ({type(exc).__name__})") from None
    except discord.HTTPException as exc:
        raise StartupError(f"Discord answered {exc.status} while starting: {exc.text}") from None


class Stoppable(Protocol):
    def stop(self) -> None: ...


class Readiness(Protocol):
    def mark_ready(self) -> None: ...


DRAIN_S = 30.0
"""How long a stopping bot waits for the answers under way."""


def run(
    token: str,
    desk: SupportDesk,
    channels: ChannelDirectory,
    *,
    warm_up: Callable[[], Any] | None = None,
    announce: Callable[[str], None] | None = None,
    claim: Callable[[str], bool] | None = None,
    claims: SeenKeys | None = None,
    policy: FollowUpPolicy | None = None,
    readiness: Readiness | None = None,
    probes: Callable[[], Any] | None = None,
    after_ready: Callable[[], Stoppable | None] | None = None,
    drain_s: float = DRAIN_S,
) -> None:
    """Run until Ctrl-C or SIGTERM, then stop taking messages, finish the answers under
    way (at most `drain_s` seconds) and close the gateway connection. `claim` decides which
    process of a fleet answers a message (see AskdeskBot).

    The adapter owns its life: `probes()` binds the health server first (a busy port is a
    `StartupError` before anything connects; shut down on exit); once Discord accepted the
    token, `warm_up` loads the model, `readiness.mark_ready()` turns /readyz green and
    `after_ready()` starts what stops with the bot (scheduled upkeep)."""
    bot = build_bot(desk, channels, announce=announce, claim=claim, claims=claims, policy=policy)
    try:
        server = probes() if probes is not None else None
    except OSError as exc:
        raise StartupError(f"cannot listen for the probes: {exc.strerror or exc}") from None
    started: list[Stoppable] = []

    def warm() -> None:
        if warm_up is not None:
            warm_up()
        if readiness is not None:
            readiness.mark_ready()
        extra = after_ready() if after_ready is not None else None
        if extra is not None:
            started.append(extra)

    async def main() -> None:
        stop = asyncio.Event()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        serving = asyncio.create_task(serve(bot, token, warm_up=warm))
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # SIGTERM, Ctrl-C (a cancel) or the connection's end
            stopping.cancel()
            if not serving.done():
                await asyncio.shield(bot.drain(drain_s))
                serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving  # raises what serve raised (StartupError)

    try:
        with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt):
            asyncio.run(main())
    finally:
        if server is not None:
            server.shutdown()
        for extra in started:
            extra.stop()


def quiet_library_debug() -> None:
    """discord.py's debug logs carry interaction tokens (in webhook URLs) and every gateway
    event with message text; neither belongs in askdesk's log, whatever its level."""
    for name in ("discord.http", "discord.gateway", "discord.webhook", "discord.client"):
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
