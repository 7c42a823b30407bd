"""Answers never wait for the voice (issue 12, part 1): the grounded answer is posted at once
and the same message is edited into the styled one, over the Slack and Discord fakes.

The desk is real (sample index, packaged embedder, SQLite); the style model is a real version
folder trained on the tiny random Llama the style tests use. Its `generate` is replaced by a
gate: the test decides when the "model" finishes (so a vote can land before the edit) and what
it writes (in voice with every placeholder, or missing a fact, so the guard refuses it).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio
import yarl

from askdesk.bots.common import ChannelDirectory
from askdesk.bots.discord import build_bot, serve
from askdesk.bots.slack.app import build_slack_app
from askdesk.bots.slack.blocks import UP
from askdesk.bots.slack.config import web_client
from askdesk.bots.slack.run import serve_http
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine, EngineConfig
from askdesk.feedback.store import FeedbackStore
from askdesk.styling.generation.rewrite import StyleRewriter
from askdesk.styling.training.fine_tune import TrainConfig, train_style_model
from askdesk.testing import fake_discord as fd
from askdesk.testing.fake_slack import FakeSlackAPI
from askdesk.testing.slack_payloads import SECRET, SlackSender, block_actions, mention
from tests.test_style_model import build_tiny_base
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(600)  # the shared machine is slow; each case ends itself

TOKEN = "xoxb-111-222-secretbottoken"
ROTATE = "How do I rotate my API key?"
OPENER = "Hey there! 👋"


@pytest.fixture(scope="module")
def version(tmp_path_factory) -> Path:
    """A trained style version folder (tiny random model: the pipeline, not the quality)."""
    root = tmp_path_factory.mktemp("delivery")
    base = build_tiny_base(root / "base")
    pairs = [("Rotate the key in Settings.", f"{OPENER}\nRotate the key in Settings.")] * 2
    cfg = TrainConfig(max_steps=1, batch_size=2, eval_every=1, warmup_steps=0, threads=1)
    return train_style_model(pairs, pairs[:1], root / "style", str(base), cfg).folder


class Gate:
    """Stands in for the model's decoding: waits until opened, then writes `mode`'s output.
    "voice" keeps the protected draft whole between an opener and a sign-off (the guard
    passes); "drop" loses the facts and makes one up (the guard refuses, also sentence by
    sentence); "raise" is a crashing model."""

    def __init__(self, mode: str = "voice") -> None:
        self.mode = mode
        self.opened = threading.Event()
        self.calls = 0

    def __call__(self, text: str, **kw: Any) -> tuple[str, bool]:
        self.calls += 1
        assert self.opened.wait(30), "the test never opened the gate"
        if self.mode == "raise":
            raise RuntimeError("model crashed")
        if self.mode == "drop":
            return f"{OPENER}\nIt takes 99 days.\nHappy building! 🌊", False  # adds a fact
        return f"{OPENER}\n{text}\nHappy building! 🌊", False


def make_desk(tmp_path: Path, searcher: Any, folder: Path, gate: Gate, delivery: str = "edit"):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'style.db'}")
    rewriter = StyleRewriter(folder, time_budget_s=30)
    rewriter.generate = gate  # type: ignore[method-assign]
    engine = AnswerEngine(
        searcher,
        ExtractiveComposer(),
        config=EngineConfig(style_by_default=True),
        rewriter=rewriter,
        recorder=store.interactions,
        asker_salt="s",
    )
    return SupportDesk(engine, store, "s", style_delivery=delivery)


# -- Slack ------------------------------------------------------------------------------------
@pytest.fixture
def api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


@pytest.fixture
def slack_for(api):
    servers: list[Any] = []
    pools: list[ThreadPoolExecutor] = []

    def start(desk: SupportDesk) -> SlackSender:
        pool = ThreadPoolExecutor(2, thread_name_prefix="test-answer")
        client = web_client(TOKEN, api.base_url)
        app = build_slack_app(
            desk, ChannelDirectory(), client=client, signing_secret=SECRET, executor=pool
        )
        server = serve_http(app, "127.0.0.1", 0, signing_secret=SECRET)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        pools.append(pool)
        return SlackSender(f"http://127.0.0.1:{server.server_port}/slack/events")

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
    for pool in pools:
        pool.shutdown(wait=True)


def _buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    actions = [b for b in blocks if b["type"] == "actions"]
    return {e["action_id"]: e["value"] for a in actions for e in a["elements"]}


def test_slack_posts_the_draft_then_edits_the_same_message_and_votes_say_what_they_saw(
    tmp_path, sample_searcher, version, api, slack_for
):
    gate = Gate("voice")
    desk = make_desk(tmp_path, sample_searcher, version, gate)
    slack = slack_for(desk)
    event = mention(ROTATE)
    slack.event(event)
    (draft,) = wait_until(lambda: api.posts_in(event["ts"]))
    assert not draft["text"].startswith(OPENER) and "[1]" in draft["text"]
    iid = int(_buttons(draft["blocks"])[UP])
    wait_until(lambda: desk.store.interactions.get(iid)["answer_ref"])
    # the rewrite runs in the background and starts a moment after the draft is stored: wait
    # for it to reach the model (held at the gate), then nothing may have been edited yet
    wait_until(lambda: gate.calls == 1)
    assert not api.calls_to("chat.update")  # the voice is still on its way

    # a vote cast before the edit lands records that the voter saw the draft
    click = {"message_ts": draft["ts"], "thread_ts": event["ts"]}
    slack.interaction(block_actions(UP, str(iid), user="U0EARLY", **click))
    early = wait_until(lambda: desk.store.interactions.votes_for(iid))
    assert early[0]["shown"] == "draft"

    gate.opened.set()
    (update,) = api.wait_for("chat.update")
    body = update["body"]
    assert body["ts"] == draft["ts"] and body["channel"] == "C111"
    assert body["text"].startswith(OPENER) and "Happy building!" in body["text"]
    assert _buttons(body["blocks"]) == _buttons(draft["blocks"])  # same buttons, same answer
    assert "*Sources*" in str(body["blocks"])
    row = wait_until(lambda: (r := desk.store.interactions.get(iid))["shown"] == "styled" and r)
    assert (
        row["answer"].startswith(OPENER) and row["style_used"] and row["style_note"] == "rewritten"
    )
    assert row["draft"] and not row["draft"].startswith(OPENER) and "[1]" in row["draft"]
    assert row["answer_ref"] == f"C111:{draft['ts']}"  # reactions still find it

    slack.interaction(block_actions(UP, str(iid), user="U0LATE", **click))
    votes = wait_until(
        lambda: (
            len(desk.store.interactions.votes_for(iid)) == 2
            and desk.store.interactions.votes_for(iid)
        )
    )
    assert [v["shown"] for v in votes] == ["draft", "styled"]
    assert len(api.posts_in(event["ts"])) == 1  # nothing posted twice


@pytest.mark.parametrize("mode", ["drop", "raise"])
def test_slack_a_failed_rewrite_leaves_the_grounded_answer_standing(
    tmp_path, sample_searcher, version, api, slack_for, mode
):
    gate = Gate(mode)
    gate.opened.set()
    desk = make_desk(tmp_path, sample_searcher, version, gate)
    slack = slack_for(desk)
    event = mention(ROTATE)
    slack.event(event)
    (draft,) = wait_until(lambda: api.posts_in(event["ts"]))
    iid = int(_buttons(draft["blocks"])[UP])
    row = wait_until(
        lambda: (r := desk.store.interactions.get(iid))["style_note"] not in (None, "pending") and r
    )
    expected = "guard:" if mode == "drop" else "model error: RuntimeError"
    assert row["style_note"].startswith(expected) and not row["style_used"]
    assert not row["answer"].startswith(OPENER) and row["draft"] is None  # one text: the draft
    assert row["shown"] == "draft"
    time.sleep(0.3)
    assert not api.calls_to("chat.update") and len(api.posts_in(event["ts"])) == 1


def test_slack_a_refused_edit_keeps_the_draft_shown(
    tmp_path, sample_searcher, version, api, slack_for
):
    gate = Gate("voice")
    gate.opened.set()
    desk = make_desk(tmp_path, sample_searcher, version, gate)
    api.fail("chat.update", "cant_update_message")
    slack = slack_for(desk)
    event = mention(ROTATE)
    slack.event(event)
    (draft,) = wait_until(lambda: api.posts_in(event["ts"]))
    iid = int(_buttons(draft["blocks"])[UP])
    api.wait_for("chat.update")
    row = wait_until(lambda: (r := desk.store.interactions.get(iid))["style_used"] and r)
    time.sleep(0.3)
    assert desk.store.interactions.get(iid)["shown"] == "draft"  # the message still shows it
    assert len(api.posts_in(event["ts"])) == 1 and row["draft"]


def test_slack_wait_delivery_posts_only_the_styled_text(
    tmp_path, sample_searcher, version, api, slack_for
):
    gate = Gate("voice")
    gate.opened.set()
    desk = make_desk(tmp_path, sample_searcher, version, gate, delivery="wait")
    slack = slack_for(desk)
    event = mention(ROTATE)
    slack.event(event)
    (post,) = wait_until(lambda: api.posts_in(event["ts"]))
    assert post["text"].startswith(OPENER)
    iid = int(_buttons(post["blocks"])[UP])
    row = desk.store.interactions.get(iid)
    assert row["style_used"] and row["shown"] is None
    time.sleep(0.3)
    assert not api.calls_to("chat.update")


# -- Discord ----------------------------------------------------------------------------------
@pytest_asyncio.fixture
async def fake(monkeypatch):
    f = await fd.FakeDiscord().start()
    monkeypatch.setattr(discord.http.Route, "BASE", f.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(f.ws_url))
    yield f
    await f.stop()


async def _running(fake: fd.FakeDiscord, desk: SupportDesk):
    bot = build_bot(desk, ChannelDirectory(), guild_ready_timeout=0.05)
    task = asyncio.create_task(serve(bot, fake.token))
    await asyncio.wait_for(bot.wait_until_ready(), 20)
    return bot, task


async def _until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def _replies(fake: fd.FakeDiscord, question: dict[str, Any]) -> list[dict[str, Any]]:
    ref = str(question["id"])
    return [
        m for m in fake.sent if str((m.get("message_reference") or {}).get("message_id")) == ref
    ]


@pytest.mark.asyncio
async def test_discord_posts_the_draft_then_edits_it_and_votes_say_what_they_saw(
    tmp_path, sample_searcher, version, fake
):
    gate = Gate("voice")
    desk = make_desk(tmp_path, sample_searcher, version, gate)
    bot, task = await _running(fake, desk)
    try:
        q = fake.mention(ROTATE)
        await fake.dispatch("MESSAGE_CREATE", q)
        (reply,) = await _until(lambda: _replies(fake, q))
        draft_text = reply["content"]
        assert not draft_text.startswith(OPENER) and reply["embeds"][0]["title"] == "Sources"
        iid = await _until(lambda: desk.interaction_for_message("discord", str(reply["id"])))
        assert not fake.edits

        # a 👍 before the edit lands
        click = fake.click(reply, f"askdesk:vote:up:{iid}")
        await fake.dispatch("INTERACTION_CREATE", click)
        early = await _until(lambda: desk.store.interactions.votes_for(iid))
        assert early[0]["shown"] == "draft"

        gate.opened.set()
        (edit,) = await _until(lambda: fake.edits)
        assert edit["id"] == reply["id"] and edit["body"]["content"].startswith(OPENER)
        assert "components" not in edit["body"] and "embeds" not in edit["body"]
        assert reply["content"].startswith(OPENER) and len(reply["components"]) == 1
        assert reply["embeds"][0]["title"] == "Sources"  # buttons and sources unchanged
        row = await _until(
            lambda: (r := desk.store.interactions.get(iid))["shown"] == "styled" and r
        )
        assert row["answer"] == reply["content"] and row["draft"] == draft_text

        late = fake.click(reply, f"askdesk:vote:down:{iid}", user=fd.BOB)
        await fake.dispatch("INTERACTION_CREATE", late)
        votes = await _until(
            lambda: (
                len(desk.store.interactions.votes_for(iid)) == 2
                and desk.store.interactions.votes_for(iid)
            )
        )
        assert [v["shown"] for v in votes] == ["draft", "styled"]
        assert len(_replies(fake, q)) == 1
    finally:
        await bot.close()
        await asyncio.wait_for(task, 10)


@pytest.mark.asyncio
async def test_discord_slash_ask_followup_is_edited_and_a_failure_keeps_the_draft(
    tmp_path, sample_searcher, version, fake
):
    gate = Gate("voice")
    gate.opened.set()
    desk = make_desk(tmp_path, sample_searcher, version, gate)
    bot, task = await _running(fake, desk)
    try:
        await fake.dispatch("INTERACTION_CREATE", fake.slash_ask(ROTATE))
        followup = await _until(lambda: fake.followups and fake.followups[-1])
        (edit,) = await _until(lambda: fake.edits)
        assert edit["id"] == followup["id"] and followup["content"].startswith(OPENER)

        gate.mode = "drop"  # the next rewrite loses a fact: the draft stays, no edit
        q = fake.mention(ROTATE)
        await fake.dispatch("MESSAGE_CREATE", q)
        (reply,) = await _until(lambda: _replies(fake, q))
        iid = await _until(lambda: desk.interaction_for_message("discord", str(reply["id"])))
        row = await _until(
            lambda: (r := desk.store.interactions.get(iid))["style_note"] != "pending" and r
        )
        assert row["style_note"].startswith("guard:") and row["shown"] == "draft"
        await asyncio.sleep(0.3)
        assert len(fake.edits) == 1 and not reply["content"].startswith(OPENER)

        gate.mode = "voice"  # Discord refuses the edit: the draft stays shown
        fake.refuse_edits = 1
        q2 = fake.mention(ROTATE)
        await fake.dispatch("MESSAGE_CREATE", q2)
        (reply2,) = await _until(lambda: _replies(fake, q2))
        iid2 = await _until(lambda: desk.interaction_for_message("discord", str(reply2["id"])))
        await _until(lambda: fake.refuse_edits == 0)
        await asyncio.sleep(0.3)
        assert desk.store.interactions.get(iid2)["shown"] == "draft"
        assert not reply2["content"].startswith(OPENER) and len(_replies(fake, q2)) == 1
    finally:
        await bot.close()
        await asyncio.wait_for(task, 10)
