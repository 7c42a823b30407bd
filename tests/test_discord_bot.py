"""The Discord bot end to end: discord.py unmodified against the local fake Discord.

Real SQLite per test, the real packaged model and sample index (session fixtures); only
`discord.http.Route.BASE` and `DiscordWebSocket.DEFAULT_GATEWAY` point at the fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
import pytest
import pytest_asyncio
import yarl

from askdesk.bots.common import ChannelConfig, ChannelDirectory
from askdesk.bots.discord import StartupError, build_bot, serve
from askdesk.bots.discord.bot import AskdeskBot
from askdesk.bots.discord.run import BAD_TOKEN, NO_INTENT, NO_TOKEN
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.feedback.reasons import Reason
from askdesk.feedback.store import FeedbackStore
from askdesk.testing import fake_discord as fd

pytestmark = pytest.mark.timeout(120)

KEY_QUESTION = "How do I rotate my API key?"
FOLLOW_UP = "how long does the old one keep working?"


def make_desk(db_url: str, searcher: Any) -> SupportDesk:
    store = FeedbackStore(db_url)
    engine = AnswerEngine(
        searcher, ExtractiveComposer(), recorder=store.interactions, asker_salt="salt"
    )
    return SupportDesk(engine, store, "salt")


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'askdesk.db'}"


@pytest.fixture
def desk(db_url, sample_searcher) -> SupportDesk:
    return make_desk(db_url, sample_searcher)


@pytest_asyncio.fixture
async def fake(monkeypatch) -> AsyncIterator[fd.FakeDiscord]:
    f = await fd.FakeDiscord().start()
    monkeypatch.setattr(discord.http.Route, "BASE", f.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(f.ws_url))
    yield f
    await f.stop()


@contextlib.asynccontextmanager
async def running(
    fake: fd.FakeDiscord, desk: SupportDesk, channels: ChannelDirectory | None = None
) -> AsyncIterator[AskdeskBot]:
    """A bot started the way `askdesk discord` starts it (serve), closed afterwards."""
    bot = build_bot(desk, channels or ChannelDirectory(), guild_ready_timeout=0.05)
    task = asyncio.create_task(serve(bot, fake.token))
    ready = asyncio.create_task(bot.wait_until_ready())
    await asyncio.wait({task, ready}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        task.result()  # raises what serve raised
    assert bot.is_ready(), "bot did not connect"
    try:
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(task, 10)


async def wait_until(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def replies(fake: fd.FakeDiscord, question: dict[str, Any]) -> list[dict[str, Any]]:
    ref = str(question["id"])
    return [
        m for m in fake.sent if str((m.get("message_reference") or {}).get("message_id")) == ref
    ]


async def answer_to(fake: fd.FakeDiscord, question: dict[str, Any]) -> dict[str, Any]:
    """Dispatch a message and wait for the bot's (last) reply to it."""
    await fake.dispatch("MESSAGE_CREATE", question)
    await wait_until(lambda: replies(fake, question))
    await asyncio.sleep(0.05)  # let a split answer's later pieces arrive
    return replies(fake, question)[-1]


async def linked(desk: SupportDesk, message: dict[str, Any]) -> int:
    """The interaction behind an answer message, once the bot has linked it."""
    return await wait_until(lambda: desk.interaction_for_message("discord", str(message["id"])))


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message["components"] for c in row["components"]]


async def callback(fake: fd.FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
    """Dispatch an interaction and wait for the bot's response to it."""
    await fake.dispatch("INTERACTION_CREATE", payload)
    return await wait_until(
        lambda: next((c for c in fake.callbacks if c["id"] == payload["id"]), None)
    )


def votes(desk: SupportDesk, iid: int) -> list[dict[str, Any]]:
    return desk.store.interactions.votes_for(iid)


def alice(desk: SupportDesk) -> str:
    return desk.user_hash("discord", fd.ALICE["id"])


# -- answering ---------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_mention_gets_a_reply_with_sources_and_the_three_buttons(fake, desk):
    async with running(fake, desk) as bot:
        assert fake.identify["intents"] == bot.intents.value and bot.intents.message_content
        q = fake.mention(KEY_QUESTION)
        reply = await answer_to(fake, q)

        assert "[1]" in reply["content"] and len(reply["content"]) <= 2000
        assert fd.SUPPORT_ID in fake.typing  # typing… shown while answering
        assert reply["allowed_mentions"]["parse"] == []  # docs text never pings anyone
        (embed,) = reply["embeds"]
        assert embed["title"] == "Sources" and "**[1]**" in embed["description"]
        assert "faq.md" in embed["description"] or "api-keys.md" in embed["description"]

        iid = await linked(desk, reply)
        assert [b["custom_id"] for b in buttons(reply)] == [
            f"askdesk:vote:up:{iid}",
            f"askdesk:vote:down:{iid}",
            f"askdesk:human:{iid}",
        ]
        assert [b.get("emoji", {}).get("name") for b in buttons(reply)[:2]] == ["👍", "👎"]
        assert buttons(reply)[2]["label"] == "Talk to a human"
        row = desk.store.interactions.get(iid)
        assert row["platform"] == "discord" and row["channel"] == fd.SUPPORT_ID
        assert row["thread"] == q["id"] and row["question"] == KEY_QUESTION
        assert row["asker_hash"] == alice(desk)

        # the bot's own reply came back as MESSAGE_CREATE, a plain message is not for it
        await fake.dispatch("MESSAGE_CREATE", fake.message("lunch anyone?"))
        await asyncio.sleep(0.3)
        assert len(fake.sent) == 1


@pytest.mark.asyncio
async def test_a_direct_message_is_answered_without_a_mention(fake, desk):
    async with running(fake, desk):
        q = fake.message(KEY_QUESTION, channel_id=fd.DM_ID)
        reply = await answer_to(fake, q)
        assert reply["channel_id"] == fd.DM_ID and "[1]" in reply["content"]
        assert len(buttons(reply)) == 3 and fd.DM_ID in fake.typing
        row = desk.store.interactions.get(await linked(desk, reply))
        assert row["channel"] == fd.DM_ID


@pytest.mark.asyncio
async def test_slash_ask_defers_then_answers_in_the_followup(fake, desk):
    async with running(fake, desk):
        assert [c["name"] for c in fake.commands] == ["ask"]  # synced at start
        assert fake.commands[0]["options"][0]["name"] == "question"
        payload = fake.slash_ask(KEY_QUESTION)
        first = await callback(fake, payload)
        assert first["type"] == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: "thinking…"
        followup = await wait_until(lambda: fake.followups and fake.followups[-1])
        assert "[1]" in followup["content"] and followup["embeds"][0]["title"] == "Sources"
        iid = await linked(desk, followup)
        assert len(buttons(followup)) == 3
        assert desk.store.interactions.get(iid)["thread"] == payload["id"]

        # a reply to the /ask answer continues that conversation
        follow = fake.message(FOLLOW_UP, reply_to=followup)
        answer = await answer_to(fake, follow)
        assert "grace" in answer["content"].lower()
        row = desk.store.interactions.get(await linked(desk, answer))
        assert row["thread"] == payload["id"]


@pytest.mark.asyncio
async def test_a_follow_up_in_a_thread_uses_the_earlier_turn(fake, desk):
    async with running(fake, desk):
        await answer_to(fake, fake.mention(KEY_QUESTION, channel_id=fd.THREAD_ID))
        reply = await answer_to(fake, fake.mention(FOLLOW_UP, channel_id=fd.THREAD_ID))
        assert "grace" in reply["content"].lower()
        row = desk.store.interactions.get(await linked(desk, reply))
        assert (row["channel"], row["thread"]) == (fd.SUPPORT_ID, fd.THREAD_ID)


@pytest.mark.asyncio
async def test_a_follow_up_in_a_thread_needs_no_mention_and_thanks_gets_none(fake, desk):
    """Issue 21: a message without a mention in a thread where the bot answered got nothing;
    now it is a follow-up, and a "thanks" or a message to someone else is left alone."""
    async with running(fake, desk):
        await answer_to(fake, fake.mention(KEY_QUESTION, channel_id=fd.THREAD_ID))
        reply = await answer_to(fake, fake.message(FOLLOW_UP, channel_id=fd.THREAD_ID))
        row = desk.store.interactions.get(await linked(desk, reply))
        assert (row["thread"], row["question"]) == (fd.THREAD_ID, FOLLOW_UP)
        quiet = [
            fake.message("thanks! 🙏", channel_id=fd.THREAD_ID),
            fake.message(
                f"<@{fd.BOB['id']}> can you check?", channel_id=fd.THREAD_ID, mentions=(fd.BOB,)
            ),
        ]
        for message in quiet:
            await fake.dispatch("MESSAGE_CREATE", message)
        await asyncio.sleep(2.0)
        assert all(replies(fake, m) == [] for m in quiet)
        assert desk.store.counts()["interactions"] == 2


@pytest.mark.asyncio
async def test_replies_to_the_bot_continue_the_conversation_without_a_mention(fake, desk):
    async with running(fake, desk):
        q = fake.mention(KEY_QUESTION)
        first = await answer_to(fake, q)
        second = await answer_to(fake, fake.message(FOLLOW_UP, reply_to=first))
        assert "grace" in second["content"].lower()
        third = await answer_to(fake, fake.message("and can I revoke it?", reply_to=second))
        for answer in (second, third):  # the chain is followed back to the first question
            assert desk.store.interactions.get(await linked(desk, answer))["thread"] == q["id"]


@pytest.mark.asyncio
async def test_respond_to_all_channels_answer_without_a_mention_and_bots_are_ignored(fake, desk):
    channels = ChannelDirectory(channels={fd.GENERAL_ID: ChannelConfig(respond_to="all")})
    async with running(fake, desk, channels):
        await fake.dispatch("MESSAGE_CREATE", fake.message(KEY_QUESTION))  # #support: mentions
        await fake.dispatch(
            "MESSAGE_CREATE", fake.message(KEY_QUESTION, fd.OTHER_BOT, fd.GENERAL_ID)
        )
        reply = await answer_to(fake, fake.message(KEY_QUESTION, channel_id=fd.GENERAL_ID))
        assert "[1]" in reply["content"]
        await asyncio.sleep(0.5)  # the bot's echoed reply in #general must not be answered
        assert fake.sent == [reply]


@pytest.mark.asyncio
async def test_channel_settings_scope_the_search_and_threads_fall_back_to_their_parent(fake, desk):
    channels = ChannelDirectory(
        channels={
            fd.SUPPORT_ID: ChannelConfig(paths=("billing/",)),
            fd.GENERAL_ID: ChannelConfig(respond_to="all"),
        }
    )
    async with running(fake, desk, channels) as bot:
        thread = bot.get_channel(int(fd.THREAD_ID))
        assert isinstance(thread, discord.Thread)
        assert bot.config_for(thread).paths == ("billing/",)  # the parent's settings
        reply = await answer_to(fake, fake.mention(KEY_QUESTION, channel_id=fd.THREAD_ID))
        row = desk.store.interactions.get(await linked(desk, reply))
        assert row["sources"] and all(s["path"].startswith("billing/") for s in row["sources"])

        bot.channels = ChannelDirectory(
            channels={**channels.channels, fd.THREAD_ID: ChannelConfig(respond_to="all")}
        )
        assert bot.config_for(thread).paths == ()  # a thread's own settings win
        reply = await answer_to(fake, fake.message(KEY_QUESTION, channel_id=fd.THREAD_ID))
        description = reply["embeds"][0]["description"]  # the key pages, no longer billing/
        assert "faq.md" in description or "security/api-keys.md" in description


@pytest.mark.asyncio
async def test_an_answering_crash_is_an_apology_and_the_bot_keeps_serving(fake, desk):
    class Exploding:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("index on fire")

    searcher = desk.engine.searcher
    async with running(fake, desk) as bot:
        desk.engine.searcher = Exploding()
        sorry = await answer_to(fake, fake.mention(KEY_QUESTION))
        assert sorry["content"].startswith("Sorry") and sorry["components"] == []
        assert sorry["embeds"] == []

        def broken(question: Any) -> Any:
            raise RuntimeError("desk on fire")

        bot.desk.ask = broken  # type: ignore[method-assign]  # even SupportDesk failing
        sorry2 = await answer_to(fake, fake.mention(KEY_QUESTION))
        assert sorry2["content"].startswith("Sorry") and sorry2["components"] == []

        del bot.desk.ask
        desk.engine.searcher = searcher
        fine = await answer_to(fake, fake.mention(KEY_QUESTION))
        assert "[1]" in fine["content"] and len(buttons(fine)) == 3


# -- votes -------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_thumbs_up_click_stores_a_vote_and_thanks_privately(fake, desk):
    async with running(fake, desk):
        reply = await answer_to(fake, fake.mention(KEY_QUESTION))
        iid = await linked(desk, reply)
        resp = await callback(fake, fake.click(reply, f"askdesk:vote:up:{iid}"))
        assert resp["type"] == 4 and resp["data"]["flags"] & 64  # ephemeral
        assert "thanks" in resp["data"]["content"].lower()
        (vote,) = votes(desk, iid)
        assert vote["value"] == 1 and vote["voter_hash"] == alice(desk)
        assert vote["source"] == "button"


@pytest.mark.asyncio
async def test_thumbs_down_asks_why_then_takes_a_reason_and_a_comment(fake, desk):
    async with running(fake, desk):
        reply = await answer_to(fake, fake.mention(KEY_QUESTION))
        iid = await linked(desk, reply)
        ask_why = await callback(fake, fake.click(reply, f"askdesk:vote:down:{iid}"))
        assert ask_why["type"] == 4 and ask_why["data"]["flags"] & 64
        assert votes(desk, iid)[0]["value"] == -1  # counted before any reason
        (select,) = buttons(fake.messages[ask_why["message_id"]])
        assert select["type"] == 3 and select["custom_id"] == f"askdesk:reason:{iid}"
        assert [(o["value"], o["label"]) for o in select["options"]] == [
            (r.value, r.label) for r in Reason
        ]

        menu = fake.messages[ask_why["message_id"]]
        noted = await callback(fake, fake.choose(menu, select["custom_id"], "not_in_docs"))
        assert noted["type"] == 7 and "Not in the docs" in noted["data"]["content"]
        (vote,) = votes(desk, iid)
        assert (vote["value"], vote["reason"]) == (-1, "not_in_docs")

        (comment_button,) = buttons(fake.messages[noted["message_id"]])
        form = await callback(fake, fake.click(menu, comment_button["custom_id"]))
        assert form["type"] == 9  # MODAL
        assert form["data"]["custom_id"] == f"askdesk:comment-form:{iid}:not_in_docs"
        saved = await callback(
            fake, fake.submit(menu, form["data"]["custom_id"], {"comment": "Mention the CLI"})
        )
        assert saved["type"] == 7 and "comment is saved" in saved["data"]["content"]
        (vote,) = votes(desk, iid)
        assert (vote["value"], vote["reason"], vote["comment"]) == (
            -1,
            "not_in_docs",
            "Mention the CLI",
        )


@pytest.mark.asyncio
async def test_buttons_keep_working_after_a_restart(fake, db_url, sample_searcher):
    first_desk = make_desk(db_url, sample_searcher)
    async with running(fake, first_desk):
        reply = await answer_to(fake, fake.mention(KEY_QUESTION))
        iid = await linked(first_desk, reply)

    fresh = make_desk(db_url, sample_searcher)  # a new process: nothing shared in memory
    async with running(fake, fresh):
        resp = await callback(fake, fake.click(reply, f"askdesk:vote:down:{iid}"))
        assert resp["type"] == 4 and resp["data"]["components"]  # asks why
        menu = fake.messages[resp["message_id"]]
        await callback(fake, fake.choose(menu, f"askdesk:reason:{iid}", "wrong_facts"))
        # a comment form opened before a restart is still read from its custom_id
        done = await callback(
            fake, fake.submit(menu, f"askdesk:comment-form:{iid}:wrong_facts", {"comment": "x"})
        )
        assert done["type"] == 7
        await fake.dispatch("MESSAGE_REACTION_ADD", fake.reaction(reply, "👍", fd.BOB))
        await wait_until(lambda: len(votes(fresh, iid)) == 2)
    by_voter = {v["voter_hash"]: v for v in votes(fresh, iid)}
    assert (by_voter[alice(fresh)]["reason"], by_voter[alice(fresh)]["comment"]) == (
        "wrong_facts",
        "x",
    )
    puts = [r for r in fake.requests if r[0] == "PUT" and r[1].endswith("/commands")]
    assert len(puts) == 1  # /ask uploaded once, not on every start


@pytest.mark.asyncio
async def test_changing_a_vote_keeps_one_vote_and_the_last_one_wins(fake, desk):
    async with running(fake, desk):
        reply = await answer_to(fake, fake.mention(KEY_QUESTION))
        iid = await linked(desk, reply)
        await callback(fake, fake.click(reply, f"askdesk:vote:up:{iid}"))
        await callback(fake, fake.click(reply, f"askdesk:vote:down:{iid}"))
        (vote,) = votes(desk, iid)
        assert vote["value"] == -1
        await fake.dispatch("MESSAGE_REACTION_ADD", fake.reaction(reply, "👍"))
        await wait_until(lambda: votes(desk, iid)[0]["value"] == 1)
        (vote,) = votes(desk, iid)
        assert vote["source"] == "reaction"


@pytest.mark.asyncio
async def test_thumbs_reactions_on_answers_count_and_others_do_not(fake, desk):
    async with running(fake, desk) as bot:
        q = fake.mention(KEY_QUESTION)
        reply = await answer_to(fake, q)
        iid = await linked(desk, reply)
        not_an_answer = fake.message("I'm a bot notice", author=fd.BOT)
        ignored = [
            fake.reaction(q, "👍"),  # on Alice's own message
            fake.reaction(reply, "👀"),  # not a vote
            fake.reaction(not_an_answer, "👍"),  # the bot's, but no answer
            fake.reaction(reply, "👎", fd.BOT),  # the bot itself
        ]
        for event in ignored:
            await fake.dispatch("MESSAGE_REACTION_ADD", event)
        await fake.dispatch("MESSAGE_REACTION_ADD", fake.reaction(reply, "👍🏽"))
        await fake.dispatch("MESSAGE_REACTION_ADD", fake.reaction(reply, "👎🏿", fd.BOB))
        await wait_until(lambda: len(votes(desk, iid)) == 2)
        await asyncio.sleep(0.3)
        by_voter = {v["voter_hash"]: v["value"] for v in votes(desk, iid)}
        assert by_voter == {alice(desk): 1, desk.user_hash("discord", fd.BOB["id"]): -1}
        assert desk.store.counts()["votes"] == 2
        assert bot.is_ready()


# -- escalation --------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_talk_to_a_human_pings_the_configured_role_and_marks_the_answer(fake, desk):
    channels = ChannelDirectory(
        channels={fd.SUPPORT_ID: ChannelConfig(escalate_to=(f"role:{fd.ROLE_ID}", "U123SLACK"))}
    )
    async with running(fake, desk, channels):
        reply = await answer_to(fake, fake.mention(KEY_QUESTION, channel_id=fd.THREAD_ID))
        iid = await linked(desk, reply)
        resp = await callback(fake, fake.click(reply, f"askdesk:human:{iid}"))
        assert resp["type"] == 4 and not resp["data"].get("flags", 0) & 64  # public
        content = resp["data"]["content"]
        assert content.startswith(f"<@&{fd.ROLE_ID}>") and f"<@{fd.ALICE['id']}>" in content
        assert f"> {KEY_QUESTION}" in content and "U123SLACK" not in content
        assert resp["data"]["allowed_mentions"]["roles"] == [int(fd.ROLE_ID)]
        assert desk.store.interactions.get(iid)["escalated"] is True

        # #general has nobody configured: an honest private note, still flagged
        other = await answer_to(fake, fake.mention(KEY_QUESTION, channel_id=fd.GENERAL_ID))
        other_iid = await linked(desk, other)
        resp = await callback(fake, fake.click(other, f"askdesk:human:{other_iid}"))
        assert resp["data"]["flags"] & 64 and "Nobody is set up" in resp["data"]["content"]
        assert desk.store.interactions.get(other_iid)["escalated"] is True


# -- starting --------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_a_bad_or_missing_token_is_one_clear_message(fake, desk):
    secret = "MTE5OTk5OTk5OTk5OTk5OTk5OQ.Gabcde.wrong-token-0123456789abcdefghijklmn"
    with pytest.raises(StartupError) as bad:
        await serve(build_bot(desk, ChannelDirectory()), secret)
    assert str(bad.value) == BAD_TOKEN and secret not in str(bad.value)
    with pytest.raises(StartupError) as missing:
        await serve(build_bot(desk, ChannelDirectory()), "  ")
    assert str(missing.value) == NO_TOKEN


@pytest.mark.asyncio
async def test_a_refused_message_content_intent_is_one_clear_message(fake, desk):
    fake.message_content_allowed = False  # Discord closes the gateway with 4014
    with pytest.raises(StartupError) as refused:
        await serve(build_bot(desk, ChannelDirectory(), guild_ready_timeout=0.05), fake.token)
    assert str(refused.value) == NO_INTENT and "Message Content Intent" in NO_INTENT


@pytest.fixture
def discord_log_levels():
    names = ("discord.http", "discord.gateway", "discord.webhook", "discord.client")
    saved = {n: logging.getLogger(n).level for n in names}
    yield
    for n, level in saved.items():
        logging.getLogger(n).setLevel(level)


@pytest.mark.asyncio
async def test_tokens_never_reach_the_logs(fake, desk, caplog, discord_log_levels):
    fake.token = "MTE5OTk5OTk5OTk5OTk5OTk5OQ.Gabcde.secret-token-0123456789abcdefghijklm"
    caplog.set_level(logging.DEBUG)
    async with running(fake, desk):
        payload = fake.slash_ask(KEY_QUESTION)
        await callback(fake, payload)
        await wait_until(lambda: fake.followups)
    assert "discord" in caplog.text  # the library did log, at debug level too
    assert fake.token not in caplog.text and payload["token"] not in caplog.text
