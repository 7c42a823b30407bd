"""The contract driver for Slack: signed Events API and interactivity requests to the real
Bolt app in HTTP mode (`serve_http` on 127.0.0.1:0), the Web API answered by `FakeSlackAPI`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from askdesk.bots.common import ChannelDirectory
from askdesk.bots.delivery import FollowUpPolicy
from askdesk.bots.slack.app import build_slack_app
from askdesk.bots.slack.blocks import COMMENT, DOWN, HUMAN, REASON_PREFIX, UP
from askdesk.bots.slack.config import web_client
from askdesk.bots.slack.run import serve_http
from askdesk.core.desk import SupportDesk
from askdesk.testing.fake_slack import FakeSlackAPI
from askdesk.testing.slack_payloads import (
    BOT_USER,
    SECRET,
    SlackSender,
    block_actions,
    mention,
    message,
    new_ts,
    reaction,
    view_submission,
)
from tests.contract.driver import Msg
from tests.waiting import wait_until

PLATFORM = "slack"
ESCALATE_TO = ("S0HUMANS",)
TOKEN = "xoxb-111-222-contracttoken"
CHANNEL, DM = "C111", "D111"
USERS = {"alice": "U123", "bob": "U456"}
EMOJI = {"👍": "+1", "👎": "-1", "👀": "eyes"}


class SlackDriver:
    platform = PLATFORM
    lacks: frozenset[str] = frozenset()

    def __init__(self, api: FakeSlackAPI, sender: SlackSender) -> None:
        self.api = api
        self.slack = sender

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
        channel = DM if direct else CHANNEL
        thread = after.raw["thread"] if after is not None else None
        body = f"<@{USERS['bob']}> {text}" if to_other else text
        mark = len(self.api.calls)
        events = []
        if mention and not direct:
            first = _mention(body, channel, USERS[user], thread)
            # Slack sends a mention twice: as app_mention and as message.channels
            events = [first, {**first, "type": "message", "channel_type": "channel"}]
        else:
            kind = "im" if direct else "channel"
            extra = {"thread_ts": thread} if thread else {}
            events = [message(body, channel, kind, USERS[user], **extra)]
        ids = []
        for event in events:
            ids.append(f"Ev{new_ts().replace('.', '')}")
            assert self.slack.event(event, event_id=ids[-1]).status_code == 200
        ts = events[0]["ts"]
        raw = {"channel": channel, "thread": thread or ts, "mark": mark, "event": events[0]}
        return Msg(ts, text, {**raw, "event_id": ids[0]})

    def redeliver(self, question: Msg) -> None:
        event = question.raw["event"]
        retry = {"x-slack-retry-num": "1", "x-slack-retry-reason": "http_error"}
        self.slack.event(event, event_id=question.raw["event_id"], headers=retry)
        self.slack.event(event)  # the same message under a new event id: the core's claim

    def edit(self, question: Msg, text: str) -> None:
        event = question.raw["event"]
        changed = {
            "type": "message",
            "subtype": "message_changed",
            "channel": event["channel"],
            "channel_type": "channel",
            "ts": new_ts(),
            "message": {**event, "text": text, "edited": {"user": event["user"]}},
        }
        self.slack.event(changed)

    def bot_posts(self, text: str, *, after: Msg | None = None) -> Msg:
        extra = {"thread_ts": after.raw["thread"]} if after is not None else {}
        event = message(text, CHANNEL, "channel", "U0OTHERBOT", bot_id="B0OTHER", **extra)
        event["subtype"] = "bot_message"
        mark = len(self.api.calls)
        self.slack.event(event)
        thread = extra.get("thread_ts") or event["ts"]
        return Msg(event["ts"], text, {"channel": CHANNEL, "thread": thread, "mark": mark})

    # -- what the bot did --------------------------------------------------------------------
    def _posts(self, question: Msg) -> list[Msg]:
        raw = question.raw
        out = []
        for call in self.api.calls[raw["mark"] :]:
            body = call["body"]
            if call["method"] != "chat.postMessage" or call.get("status") != 200:
                continue
            if not (call.get("result") or {}).get("ok"):
                continue
            if body.get("channel") == raw["channel"] and body.get("thread_ts") == raw["thread"]:
                ts = call["result"]["ts"]
                out.append(Msg(ts, body.get("text", ""), {**raw, "body": body, "mark": 0}))
        return out

    def replies(self, question: Msg, n: int = 1, timeout: float = 30.0) -> list[Msg]:
        if n == 0:
            return self._posts(question)
        return wait_until(lambda: (p := self._posts(question)) and len(p) >= n and p, timeout)

    def silent(self, question: Msg, wait_s: float = 2.0) -> None:
        time.sleep(wait_s)
        assert self._posts(question) == []

    def edits(self, answer: Msg, n: int = 1, timeout: float = 30.0) -> list[str]:
        def found() -> list[str]:
            calls = self.api.calls_to("chat.update", lambda b: b.get("ts") == answer.id)
            return [c["body"]["text"] for c in calls]

        return wait_until(lambda: len(texts := found()) >= n and texts, timeout)

    # -- people clicking ---------------------------------------------------------------------
    def _click(self, answer: Msg, action_id: str, value: str | None = None) -> int:
        mark = len(self.api.calls)
        iid = _interaction_id(answer)
        payload = block_actions(
            action_id,
            value or str(iid),
            channel=answer.raw["channel"],
            message_ts=answer.id,
            thread_ts=answer.raw["thread"],
            user=USERS["alice"],
            response_url=self.api.response_url + "r1",
        )
        assert self.slack.interaction(payload).status_code == 200
        return mark

    def _shown_after(self, mark: int, methods: tuple[str, ...]) -> dict[str, Any]:
        def first() -> dict[str, Any] | None:
            return next((c for c in self.api.calls[mark:] if c["method"] in methods), None)

        return wait_until(first, timeout=15)["body"]

    def vote(self, answer: Msg, up: bool) -> str:
        mark = self._click(answer, UP if up else DOWN)
        return str(self._shown_after(mark, ("chat.postEphemeral",))["text"])

    def react(self, answer: Msg, emoji: str, user: str = "bob") -> None:
        event = reaction(
            EMOJI.get(emoji, emoji), answer.raw["channel"], answer.id, BOT_USER, user=USERS[user]
        )
        self.slack.event(event)

    def choose_reason(self, answer: Msg, reason: str) -> str:
        mark = self._click(answer, REASON_PREFIX + reason)
        return str(self._shown_after(mark, ("response", "chat.postEphemeral"))["text"])

    def comment(self, answer: Msg, reason: str, text: str) -> str:
        mark = self._click(answer, COMMENT, f"{_interaction_id(answer)}:{reason}")
        view = self._shown_after(mark, ("views.open",))["view"]
        mark = len(self.api.calls)
        assert self.slack.interaction(view_submission(view, text)).status_code == 200
        return str(self._shown_after(mark, ("chat.postEphemeral",))["text"])

    def talk_to_human(self, answer: Msg) -> str:
        mark = self._click(answer, HUMAN)
        return str(self._shown_after(mark, ("chat.postMessage", "chat.postEphemeral"))["text"])

    def refuse_next_post(self) -> None:
        self.api.fail("chat.postMessage", "invalid_blocks")


def _mention(text: str, channel: str, user: str, thread: str | None) -> dict[str, Any]:
    return mention(text, channel=channel, user=user, thread=thread)


def _interaction_id(answer: Msg) -> int:
    blocks = answer.raw["body"].get("blocks") or []
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == UP:
                return int(element["value"])
    raise AssertionError("the message has no vote buttons")


@contextmanager
def open_driver(
    desk: SupportDesk, channels: ChannelDirectory, policy: FollowUpPolicy
) -> Iterator[SlackDriver]:
    with FakeSlackAPI() as api:
        pool = ThreadPoolExecutor(2, thread_name_prefix="contract-answer")
        client = web_client(TOKEN, api.base_url)
        app = build_slack_app(
            desk, channels, client=client, signing_secret=SECRET, executor=pool, policy=policy
        )
        server = serve_http(app, "127.0.0.1", 0, signing_secret=SECRET)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            yield SlackDriver(
                api, SlackSender(f"http://127.0.0.1:{server.server_port}/slack/events")
            )
        finally:
            server.shutdown()
            server.server_close()
            pool.shutdown(wait=True)
