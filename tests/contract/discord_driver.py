"""The contract driver for Discord: discord.py unmodified against `FakeDiscord` (REST and
gateway), the bot and the fake on one event loop in a background thread.

New conversations start in the fake's thread (#support › "help with keys"), so a follow-up
without a mention is a plain message in that thread; DMs go to Alice's DM channel.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import discord
import yarl

from askdesk.bots.common import ChannelDirectory
from askdesk.bots.delivery import FollowUpPolicy
from askdesk.bots.discord import build_bot, serve
from askdesk.core.desk import SupportDesk
from askdesk.testing import fake_discord as fd
from tests.contract.driver import Msg
from tests.waiting import wait_until

PLATFORM = "discord"
ESCALATE_TO = (f"role:{fd.ROLE_ID}",)
USERS = {"alice": fd.ALICE, "bob": fd.BOB}


class DiscordDriver:
    platform = PLATFORM
    lacks: frozenset[str] = frozenset()

    def __init__(self, fake: fd.FakeDiscord) -> None:
        self.fake = fake
        self._prompts: dict[str, dict[str, Any]] = {}  # answer id → its "what was wrong?" menu

    def _on_loop(self, coro: Any) -> Any:
        assert self.fake.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.fake.loop).result(30)

    def _dispatch(self, event: str, payload: dict[str, Any]) -> None:
        self._on_loop(self.fake.dispatch(event, payload))

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
        channel = fd.DM_ID if direct else (after.raw["channel_id"] if after else fd.THREAD_ID)
        author = USERS[user]
        mentions: list[dict[str, Any]] = []
        content = text
        if to_other:
            content, mentions = f"<@{fd.BOB['id']}> {content}", [fd.BOB]
        if mention and not direct:
            content, mentions = f"<@{fd.APP_ID}> {content}", [*mentions, fd.BOT]
        payload = self.fake.message(content, author, channel, mentions=tuple(mentions))
        self._dispatch("MESSAGE_CREATE", payload)
        return Msg(payload["id"], text, payload)

    def redeliver(self, question: Msg) -> None:
        self._dispatch("MESSAGE_CREATE", question.raw)

    def edit(self, question: Msg, text: str) -> None:
        edited = {**question.raw, "content": text, "edited_timestamp": fd.NOW}
        self._dispatch("MESSAGE_UPDATE", edited)

    def bot_posts(self, text: str, *, after: Msg | None = None) -> Msg:
        channel = after.raw["channel_id"] if after else fd.THREAD_ID
        payload = self.fake.message(text, fd.OTHER_BOT, channel)
        self._dispatch("MESSAGE_CREATE", payload)
        return Msg(payload["id"], text, payload)

    # -- what the bot did --------------------------------------------------------------------
    def _replies(self, question: Msg) -> list[Msg]:
        ref = str(question.id)
        return [
            # the text as posted, like the other drivers (an edit is read through edits())
            Msg(m["id"], m.get("posted_content", m["content"]), m)
            for m in list(self.fake.sent)
            if str((m.get("message_reference") or {}).get("message_id")) == ref
        ]

    def replies(self, question: Msg, n: int = 1, timeout: float = 30.0) -> list[Msg]:
        if n == 0:
            return self._replies(question)
        return wait_until(lambda: len(r := self._replies(question)) >= n and r, timeout)

    def silent(self, question: Msg, wait_s: float = 2.0) -> None:
        time.sleep(wait_s)
        assert self._replies(question) == []

    def edits(self, answer: Msg, n: int = 1, timeout: float = 30.0) -> list[str]:
        def found() -> list[str]:
            return [e["body"]["content"] for e in self.fake.edits if e["id"] == answer.id]

        return wait_until(lambda: len(texts := found()) >= n and texts, timeout)

    # -- people clicking ---------------------------------------------------------------------
    def _respond(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._dispatch("INTERACTION_CREATE", payload)
        return wait_until(
            lambda: next((c for c in self.fake.callbacks if c["id"] == payload["id"]), None),
            timeout=20,
        )

    def vote(self, answer: Msg, up: bool) -> str:
        iid = _interaction_id(answer)
        reply = self._respond(
            self.fake.click(answer.raw, f"askdesk:vote:{'up' if up else 'down'}:{iid}")
        )
        if not up and reply.get("message_id"):
            self._prompts[answer.id] = self.fake.messages[reply["message_id"]]
        return str(reply["data"].get("content", ""))

    def react(self, answer: Msg, emoji: str, user: str = "bob") -> None:
        self._dispatch("MESSAGE_REACTION_ADD", self.fake.reaction(answer.raw, emoji, USERS[user]))

    def choose_reason(self, answer: Msg, reason: str) -> str:
        menu = self._prompts[answer.id]
        iid = _interaction_id(answer)
        reply = self._respond(self.fake.choose(menu, f"askdesk:reason:{iid}", reason))
        if reply["type"] == 9:  # the comment form opened first; the menu is edited after
            edit = wait_until(
                lambda: next((e for e in self.fake.edits if e["id"] == menu["id"]), None), 20
            )
            return str(edit["body"].get("content", ""))
        return str(reply["data"].get("content", ""))

    def comment(self, answer: Msg, reason: str, text: str) -> str:
        menu = self._prompts.get(answer.id, answer.raw)
        iid = _interaction_id(answer)
        form = self._respond(self.fake.click(menu, f"askdesk:comment:{iid}:{reason}"))
        assert form["type"] == 9, form  # the comment form (a modal)
        saved = self._respond(self.fake.submit(menu, form["data"]["custom_id"], {"comment": text}))
        return str(saved["data"].get("content", ""))

    def talk_to_human(self, answer: Msg) -> str:
        reply = self._respond(
            self.fake.click(answer.raw, f"askdesk:human:{_interaction_id(answer)}")
        )
        return str(reply["data"].get("content", ""))

    def refuse_next_post(self) -> None:
        self.fake.refuse_posts += 1


def _interaction_id(answer: Msg) -> int:
    for row in answer.raw.get("components") or []:
        for c in row.get("components", []):
            if str(c.get("custom_id", "")).startswith("askdesk:vote:up:"):
                return int(c["custom_id"].rsplit(":", 1)[1])
    raise AssertionError("the message has no vote buttons")


@contextmanager
def open_driver(
    desk: SupportDesk, channels: ChannelDirectory, policy: FollowUpPolicy
) -> Iterator[DiscordDriver]:
    with fd.fake_in_thread() as fake:
        saved = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = fake.api_base  # type: ignore[misc]
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.ws_url)
        assert fake.loop is not None
        bot = build_bot(desk, channels, guild_ready_timeout=0.05, policy=policy)
        task = asyncio.run_coroutine_threadsafe(serve(bot, fake.token), fake.loop)
        try:
            wait_until(lambda: bot.is_ready() or task.done(), timeout=30)
            if task.done():
                task.result()
            yield DiscordDriver(fake)
        finally:
            asyncio.run_coroutine_threadsafe(bot.close(), fake.loop).result(10)
            try:
                task.result(10)
            finally:
                discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = saved
