"""The Slack bot in HTTP mode, end to end over real HTTP.

Signed Events API, interactivity and slash-command requests go to the real Bolt app served by
`askdesk.bots.slack.run.serve_http` on 127.0.0.1:0; the bot answers through the real SupportDesk
(packaged model, sample index, SQLite) and calls a local fake of the Slack Web API.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from askdesk.bots.common import ChannelConfig, ChannelDirectory
from askdesk.bots.slack.app import build_slack_app
from askdesk.bots.slack.blocks import COMMENT, DOWN, HUMAN, REASON_PREFIX, UP
from askdesk.bots.slack.config import web_client
from askdesk.bots.slack.run import serve_http
from askdesk.bots.slack.surface import message_ref
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.desk import SupportDesk
from askdesk.core.engine import AnswerEngine
from askdesk.feedback.store import FeedbackStore
from askdesk.testing.fake_slack import FakeSlackAPI
from askdesk.testing.slack_payloads import (
    BOT_USER,
    SECRET,
    SlackSender,
    block_actions,
    event_body,
    mention,
    message,
    reaction,
    sign,
    slash,
    view_submission,
)
from tests.waiting import wait_until

TOKEN = "xoxb-111-222-secretbottoken"
CHANNELS = ChannelDirectory(
    ChannelConfig(),
    {
        "CALL": ChannelConfig(respond_to="all"),
        "CHELP": ChannelConfig(escalate_to=("S0HUMANS", "U0LEAD", "123456789012345678")),
        "CBILL": ChannelConfig(paths=("billing/",)),
    },
)
ROTATE = "How do I rotate my API key?"


@pytest.fixture
def desk(tmp_path, sample_searcher) -> SupportDesk:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'slack.db'}")
    engine = AnswerEngine(
        sample_searcher, ExtractiveComposer(), recorder=store.interactions, asker_salt="s"
    )
    return SupportDesk(engine, store, "s")


@pytest.fixture
def api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


@pytest.fixture
def slack(desk, api) -> Iterator[SlackSender]:
    pool = ThreadPoolExecutor(2, thread_name_prefix="test-answer")
    client = web_client(TOKEN, api.base_url)
    app = build_slack_app(desk, CHANNELS, client=client, signing_secret=SECRET, executor=pool)
    server = serve_http(app, "127.0.0.1", 0, signing_secret=SECRET)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield SlackSender(f"http://127.0.0.1:{server.server_port}/slack/events")
    server.shutdown()
    server.server_close()
    pool.shutdown(wait=True)


def answer_in(api: FakeSlackAPI, thread: str, n: int = 1) -> dict[str, Any]:
    """The n-th message the bot posted in the thread (waits for it)."""
    return wait_until(lambda: api.posts_in(thread)[n - 1 : n], timeout=15)[0]


def buttons(post: dict[str, Any]) -> dict[str, str]:
    actions = [b for b in post["blocks"] if b["type"] == "actions"]
    return {e["action_id"]: e["value"] for a in actions for e in a["elements"]}


def answered(slack, api, desk, channel: str = "C111") -> tuple[str, str, int]:
    """Mention the bot; return (question ts, answer ts, interaction id) once it is linked."""
    event = mention(ROTATE, channel=channel)
    slack.event(event)
    iid = int(buttons(answer_in(api, event["ts"]))[UP])
    ref = wait_until(lambda: desk.store.interactions.get(iid)["answer_ref"])
    assert ref.startswith(f"{channel}:")
    return event["ts"], ref.split(":", 1)[1], iid


# -- answering -------------------------------------------------------------------------------
def test_mention_gets_a_threaded_answer_with_buttons_and_eyes(slack, api, desk, caplog):
    caplog.set_level(logging.DEBUG)
    event = mention(ROTATE)
    t0 = time.perf_counter()
    response = slack.event(event)
    assert response.status_code == 200 and time.perf_counter() - t0 < 3.0

    post = answer_in(api, event["ts"])
    assert post["channel"] == "C111" and "grace" in post["text"].lower()
    values = buttons(post)
    assert set(values) == {UP, DOWN, HUMAN} and len(set(values.values())) == 1
    labels = [
        e["text"]["text"] for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert labels == ["👍 Helpful", "👎 Not helpful", "Talk to a human"]
    assert any("*Sources*" in b.get("text", {}).get("text", "") for b in post["blocks"])

    row = desk.store.interactions.get(int(values[UP]))
    assert row["platform"] == "slack" and row["channel"] == "C111"
    assert row["thread"] == event["ts"] and row["question"] == ROTATE

    removed = api.wait_for("reactions.remove")[0]
    order = [c["method"] for c in api.calls if c["method"].startswith(("reactions", "chat.post"))]
    assert order == ["reactions.add", "chat.postMessage", "reactions.remove"]
    assert api.calls_to("reactions.add")[0]["body"] == {
        "channel": "C111",
        "timestamp": event["ts"],
        "name": "eyes",
    }
    assert removed["body"]["timestamp"] == event["ts"]
    assert desk.interaction_for_message("slack", message_ref("C111", post["ts"])) == row["id"]

    assert all(c["auth"] == f"Bearer {TOKEN}" for c in api.calls)
    assert not any(TOKEN in r.getMessage() or SECRET in r.getMessage() for r in caplog.records)


def test_direct_message_is_answered_in_its_thread(slack, api, desk):
    event = message("what happens when my webhook endpoint is down?", channel="D42")
    slack.event(event)
    post = answer_in(api, event["ts"])
    assert post["channel"] == "D42" and buttons(post)


def test_slash_command_acks_ephemerally_then_answers_in_the_channel(slack, api, desk):
    response = slack.command(slash(ROTATE, channel="C777", response_url=api.response_url + "c1"))
    assert response.status_code == 200
    ack = response.json()
    assert "Looking that up" in ack["text"] and ack["response_type"] == "ephemeral"

    root = api.wait_for("chat.postMessage")[0]
    body = root["body"]
    assert body["channel"] == "C777" and "<@U123> asked:" in body["text"]
    assert "thread_ts" not in body
    root_ts = root["result"]["ts"]
    post = answer_in(api, root_ts)
    assert post["reply_broadcast"] is True and buttons(post)
    assert desk.store.interactions.get(int(buttons(post)[UP]))["thread"] == root_ts

    empty = slack.command(slash("   ", channel="C777"))
    assert "e.g." in empty.json()["text"]


def test_slash_command_where_the_bot_cannot_post_says_so(slack, api):
    api.fail("chat.postMessage", "not_in_channel")
    slack.command(slash(ROTATE, channel="C888", response_url=api.response_url + "c2"))
    reply = api.wait_for("response")[0]["body"]
    assert "Invite me" in reply["text"] and reply["response_type"] == "ephemeral"


def test_follow_up_in_the_thread_uses_the_earlier_turn(slack, api, desk):
    first = mention(ROTATE)
    slack.event(first)
    answer_in(api, first["ts"])
    follow = mention("how long does the old one keep working?", thread=first["ts"])
    slack.event(follow)
    second = answer_in(api, first["ts"], n=2)
    assert "grace" in second["text"].lower()
    row = desk.store.interactions.get(int(buttons(second)[UP]))
    assert row["thread"] == first["ts"] and row["question"].startswith("how long")


def test_a_reply_in_the_thread_without_a_mention_is_a_follow_up_and_thanks_is_not(slack, api, desk):
    """Issue 21: a reply without a mention in a thread askdesk answered was acknowledged and
    then nothing was posted; now it is answered, and a "thanks" there is left alone."""
    first = mention(ROTATE)
    slack.event(first)
    answer_in(api, first["ts"])
    follow = message(FOLLOW_UP_TEXT, channel="C111", channel_type="channel", thread_ts=first["ts"])
    slack.event(follow)
    second = answer_in(api, first["ts"], n=2)
    row = desk.store.interactions.get(int(buttons(second)[UP]))
    assert row["thread"] == first["ts"] and row["question"] == FOLLOW_UP_TEXT
    slack.event(message("thanks!", channel="C111", channel_type="channel", thread_ts=first["ts"]))
    time.sleep(2.0)
    assert len(api.posts_in(first["ts"])) == 2


FOLLOW_UP_TEXT = "how long does the old one keep working?"


def test_respond_to_all_channels_answer_top_level_messages_only(slack, api):
    top = message(ROTATE, channel="CALL", channel_type="channel")
    in_thread = message(ROTATE, channel="CALL", channel_type="channel", thread_ts=top["ts"])
    elsewhere = message(ROTATE, channel="C111", channel_type="channel")
    edited = message(ROTATE, channel="D1", subtype="message_changed")
    joined = message("joined", channel="CALL", channel_type="channel", subtype="channel_join")
    from_bot = message(ROTATE, channel="D1", bot_id="B999")
    for event in (in_thread, elsewhere, edited, joined, from_bot, top):
        assert slack.event(event).status_code == 200
    answer_in(api, top["ts"])
    time.sleep(0.5)  # give any wrongly accepted event time to show up
    assert {c["body"]["thread_ts"] for c in api.calls_to("chat.postMessage")} == {top["ts"]}


def test_channel_path_prefixes_scope_retrieval(slack, api, desk):
    event = mention("How much does the Team plan cost?", channel="CBILL")
    slack.event(event)
    post = answer_in(api, event["ts"])
    row = desk.store.interactions.get(int(buttons(post)[UP]))
    assert row["sources"] and all(s["path"].startswith("billing/") for s in row["sources"])


# -- retries and signatures ------------------------------------------------------------------
def test_retries_and_double_deliveries_are_answered_once(slack, api):
    event = mention(ROTATE)
    assert slack.event(event, "EvSAME").status_code == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
    assert slack.event(event, "EvSAME", retry).status_code == 200
    # A timed-out first delivery was received somewhere: its retry is dropped even if new here.
    other = mention("what are the rate limits?")
    timeout = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert slack.event(other, "EvNEW", timeout).status_code == 200
    # One post, two event types (respond_to=all and a mention): one answer.
    both = message(f"<@{BOT_USER}> {ROTATE}", channel="CALL", channel_type="channel")
    slack.event(both)
    slack.event({**both, "type": "app_mention"})

    answer_in(api, event["ts"])
    answer_in(api, both["ts"])
    time.sleep(0.5)
    assert len(api.posts_in(event["ts"])) == 1 and len(api.posts_in(both["ts"])) == 1
    assert api.posts_in(other["ts"]) == []


def test_forged_unsigned_and_stale_requests_are_rejected(slack, api):
    raw = json.dumps(event_body(mention(ROTATE)))
    forged = sign(raw, "application/json", secret="not-the-secret")
    stale = sign(raw, "application/json", ts=int(time.time()) - 6 * 60)
    assert slack.raw(raw, forged).status_code == 401
    assert slack.raw(raw, stale).status_code == 401
    assert slack.raw(raw, {"content-type": "application/json"}).status_code == 401
    time.sleep(0.3)
    assert api.calls_to("chat.postMessage") == []


def test_url_verification_echoes_the_challenge(slack):
    raw = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "x"})
    response = slack.raw(raw, sign(raw, "application/json"))
    assert response.status_code == 200 and response.json() == {"challenge": "abc123"}


# -- feedback --------------------------------------------------------------------------------
def test_buttons_vote_ask_why_and_store_reason_and_comment(slack, api, desk):
    thread, answer_ts, iid = answered(slack, api, desk)
    click = {"message_ts": answer_ts, "thread_ts": thread, "response_url": api.response_url + "a"}

    assert slack.interaction(block_actions(UP, str(iid), **click)).status_code == 200
    thanks = api.wait_for("chat.postEphemeral")[0]["body"]
    assert thanks["user"] == "U123" and thanks["thread_ts"] == thread and "Thanks" in thanks["text"]
    (vote,) = wait_until(lambda: desk.store.interactions.votes_for(iid))
    assert vote["value"] == 1 and vote["source"] == "button"

    slack.interaction(block_actions(DOWN, str(iid), **click))
    prompt = api.wait_for("chat.postEphemeral", 2)[1]["body"]
    reasons = [
        e["text"]["text"] for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert reasons == ["Wrong or outdated facts", "Not in the docs", "Tone or format", "Other"]
    (vote,) = wait_until(
        lambda: [v for v in desk.store.interactions.votes_for(iid) if v["value"] == -1]
    )

    pick = block_actions(
        REASON_PREFIX + "not_in_docs",
        str(iid),
        thread_ts=thread,
        response_url=api.response_url + "prompt",
        ephemeral=True,
    )
    slack.interaction(pick)
    replaced = api.wait_for("response")[0]["body"]
    assert replaced["replace_original"] is True and "Not in the docs" in json.dumps(replaced)
    (vote,) = wait_until(lambda: [v for v in desk.store.interactions.votes_for(iid) if v["reason"]])
    assert vote["value"] == -1 and vote["reason"] == "not_in_docs"

    comment_button = next(b for b in replaced["blocks"] if b["type"] == "actions")["elements"][0]
    assert comment_button["action_id"] == COMMENT
    slack.interaction(block_actions(COMMENT, comment_button["value"], thread_ts=thread))
    opened = api.wait_for("views.open")[0]["body"]
    assert opened["trigger_id"].startswith("trigger.")
    response = slack.interaction(view_submission(opened["view"], "The page moved to /keys."))
    assert response.status_code == 200 and response.text == ""
    (vote,) = wait_until(
        lambda: [v for v in desk.store.interactions.votes_for(iid) if v["comment"]]
    )
    assert vote["comment"] == "The page moved to /keys." and vote["reason"] == "not_in_docs"
    assert len(desk.store.interactions.votes_for(iid)) == 1  # one user, one row: the last vote wins


def test_other_reason_opens_the_comment_modal_and_counts(slack, api, desk):
    thread, _, iid = answered(slack, api, desk)
    pick = block_actions(REASON_PREFIX + "other", str(iid), thread_ts=thread, ephemeral=True)
    slack.interaction(pick)
    view = api.wait_for("views.open")[0]["body"]["view"]
    assert view["type"] == "modal" and view["blocks"][-1]["optional"] is True
    (vote,) = wait_until(lambda: desk.store.interactions.votes_for(iid))
    assert vote["reason"] == "other" and vote["comment"] is None
    slack.interaction(view_submission(view, None))  # an empty comment is fine
    time.sleep(0.2)
    assert desk.store.interactions.votes_for(iid)[0]["comment"] is None


def test_thumbs_reactions_on_the_bots_answer_are_votes(slack, api, desk):
    thread, answer_ts, iid = answered(slack, api, desk)
    slack.event(reaction("+1::skin-tone-2", "C111", answer_ts, item_user=BOT_USER))
    (vote,) = wait_until(lambda: desk.store.interactions.votes_for(iid))
    assert vote["value"] == 1 and vote["source"] == "reaction"

    slack.event(reaction("-1", "C111", thread, item_user="U123"))  # the question, not the bot's
    slack.event(reaction("-1", "C111", "1.000100", item_user=BOT_USER))  # not an answer
    slack.event(reaction("tada", "C111", answer_ts, item_user=BOT_USER))
    slack.event(reaction("-1", "C111", answer_ts, item_user=BOT_USER, user="U555"))
    wait_until(lambda: len(desk.store.interactions.votes_for(iid)) == 2)
    slack.event(reaction("thumbsdown", "C111", answer_ts, item_user=BOT_USER))  # U999 changes
    wait_until(lambda: desk.store.interactions.votes_for(iid)[0]["value"] == -1)
    time.sleep(0.3)
    votes = desk.store.interactions.votes_for(iid)
    assert [v["value"] for v in votes] == [-1, -1] and len(votes) == 2


def test_talk_to_a_human_tags_the_configured_people_once(slack, api, desk):
    thread, answer_ts, iid = answered(slack, api, desk, "CHELP")
    click = {"channel": "CHELP", "message_ts": answer_ts, "thread_ts": thread}
    slack.interaction(block_actions(HUMAN, str(iid), **click))
    post = answer_in(api, thread, n=2)
    assert post["text"].startswith("<!subteam^S0HUMANS> <@U0LEAD> — <@U123>")
    assert "123456789012345678" not in post["text"]  # a Discord id in the shared setting
    assert wait_until(lambda: desk.store.interactions.get(iid)["escalated"]) is True

    slack.interaction(block_actions(HUMAN, str(iid), **click))
    note = api.wait_for("chat.postEphemeral")[0]["body"]
    assert "already" in note["text"] and len(api.posts_in(thread)) == 2


def test_talk_to_a_human_with_nobody_configured_says_so(slack, api, desk):
    thread, answer_ts, iid = answered(slack, api, desk)
    slack.interaction(block_actions(HUMAN, str(iid), message_ts=answer_ts, thread_ts=thread))
    post = answer_in(api, thread, n=2)
    assert "no one is set up" in post["text"]


# -- failures --------------------------------------------------------------------------------
class _Exploding:
    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("index on fire")


def test_an_answering_crash_is_an_apology_and_the_bot_keeps_serving(slack, api, desk, caplog):
    searcher = desk.engine.searcher
    desk.engine.searcher = _Exploding()
    event = mention(ROTATE)
    slack.event(event)
    post = answer_in(api, event["ts"])
    assert post["text"].startswith("Sorry") and not buttons(post)
    assert api.wait_for("reactions.remove")[0]["body"]["timestamp"] == event["ts"]

    desk.engine.searcher = searcher
    again = mention(ROTATE)
    slack.event(again)
    assert buttons(answer_in(api, again["ts"]))


def test_a_failing_feedback_handler_logs_and_says_sorry(slack, api, caplog):
    slack.interaction(block_actions(UP, "999999", message_ts="1.1", thread_ts="1.0"))
    sorry = api.wait_for("chat.postEphemeral")[0]["body"]
    assert sorry["text"].startswith("Sorry") and sorry["user"] == "U123"
    assert any(r.message == "vote on an unknown answer" for r in caplog.records)


def test_rate_limited_calls_are_retried_after_retry_after(slack, api):
    api.rate_limit(1, "chat.postMessage", retry_after=1)
    event = mention(ROTATE)
    slack.event(event)
    answer_in(api, event["ts"])
    attempts = api.calls_to("chat.postMessage")
    assert [c["status"] for c in attempts] == [429, 200]
    assert attempts[1]["t"] - attempts[0]["t"] >= 1.0


# -- the command -----------------------------------------------------------------------------
@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith(("ASKDESK_", "SLACK_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no askdesk.toml or .env from elsewhere
    monkeypatch.setenv("ASKDESK_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    """`askdesk …` in-process through `main()`, i.e. with the real one-line error handling."""
    from askdesk.cli import main

    monkeypatch.setattr(sys, "argv", ["askdesk", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    return int(exit_.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({}, [], "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-1-2-3"}, [], "must start with xoxb- but looks like a user"),
        ({"SLACK_BOT_TOKEN": "xoxb-1-2 3"}, [], "SLACK_BOT_TOKEN contains whitespace"),
        ({"SLACK_BOT_TOKEN": "xoxb-1-2"}, [], "SLACK_APP_TOKEN is not set"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_APP_TOKEN": "xoxb-1-2"},
            [],
            "SLACK_APP_TOKEN must start with xapp- but looks like a bot token",
        ),
        ({"ASKDESK_SLACK_BOT_TOKEN": "xoxb-1-2"}, ["--http"], "SLACK_SIGNING_SECRET is not set"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1-2", "SLACK_SIGNING_SECRET": "xoxb-9"},
            ["--http"],
            "SLACK_SIGNING_SECRET is not a signing secret",
        ),
    ],
)
def test_missing_or_malformed_credentials_are_one_clear_line(cli_env, capsys, env, args, message):
    for key, value in env.items():
        cli_env.setenv(key, value)
    code, err = run_cli(cli_env, capsys, "slack", *args)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error:"), err
    assert message in lines[0] and "Traceback" not in err
    assert not any(v in err for v in env.values() if len(v) > 4)


def test_tokens_slack_rejects_are_one_clear_line_and_the_api_url_is_honoured(cli_env, capsys, api):
    cli_env.setenv("ASKDESK_SLACK_API_URL", api.base_url)
    cli_env.setenv("SLACK_BOT_TOKEN", "xoxb-invalid-1")
    cli_env.setenv("SLACK_APP_TOKEN", "xapp-1-A1-1-ok")
    code, err = run_cli(cli_env, capsys, "slack")
    assert code == 2 and err.strip() == "error: Slack rejected SLACK_BOT_TOKEN (invalid_auth)"
    assert api.calls_to("auth.test")[0]["auth"] == "Bearer xoxb-invalid-1"

    cli_env.setenv("SLACK_BOT_TOKEN", "xoxb-1-good")
    cli_env.setenv("SLACK_APP_TOKEN", "xapp-1-A1-1-invalid")
    code, err = run_cli(cli_env, capsys, "slack")
    assert code == 2 and err.strip() == "error: Slack rejected SLACK_APP_TOKEN (invalid_auth)"
    assert "invalid" in api.calls_to("apps.connections.open")[0]["auth"]

    cli_env.setenv("ASKDESK_SLACK_API_URL", "http://127.0.0.1:9/api")
    code, err = run_cli(cli_env, capsys, "slack")
    assert code == 2 and err.startswith(
        "error: could not reach the Slack API at http://127.0.0.1:9"
    )
