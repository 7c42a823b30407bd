"""The Discord bot in a fleet: a message another process already claimed is not answered.

Every process on one bot token receives each message; the shared claim
(`askdesk.feedback.fleet.Fleet.claim`, here on a real SQLite file standing in for the shared
database) lets one of them answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import discord
import pytest
import pytest_asyncio
import yarl

from askdesk.bots.common import ChannelDirectory
from askdesk.bots.discord.bot import build_bot
from askdesk.bots.discord.run import serve
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.feedback.store import FeedbackStore
from askdesk.testing import fake_discord as fd


@pytest_asyncio.fixture
async def fake(monkeypatch) -> AsyncIterator[fd.FakeDiscord]:
    f = await fd.FakeDiscord().start()
    monkeypatch.setattr(discord.http.Route, "BASE", f.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(f.ws_url))
    yield f
    await f.stop()


@contextlib.asynccontextmanager
async def running(fake, desk, claim):
    bot = build_bot(desk, ChannelDirectory(), guild_ready_timeout=0.05, claim=claim)
    task = asyncio.create_task(serve(bot, fake.token))
    await asyncio.wait_for(bot.wait_until_ready(), 20)
    try:
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(task, 10)


def replies(fake, question):
    ref = str(question["id"])
    return [
        m for m in fake.sent if str((m.get("message_reference") or {}).get("message_id")) == ref
    ]


@pytest.mark.asyncio
async def test_a_message_claimed_by_another_process_is_left_to_it(fake, tmp_path, sample_searcher):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'fleet.db'}")
    engine = AnswerEngine(
        sample_searcher, ExtractiveComposer(), recorder=store.interactions, asker_salt="s"
    )
    desk = SupportDesk(engine, store, "s")
    async with running(fake, desk, store.fleet.claim):
        taken = fake.mention("How do I rotate my API key?")
        assert store.fleet.claim(f"discord:message:{taken['id']}")  # the other process got it
        mine = fake.mention("How do I rotate my API key?")
        await fake.dispatch("MESSAGE_CREATE", taken)
        await fake.dispatch("MESSAGE_CREATE", mine)
        for _ in range(1000):
            if replies(fake, mine):
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)
        assert replies(fake, mine) and not replies(fake, taken)
        assert store.counts()["interactions"] == 1
    store.close()
