"""Slack request bodies as Slack sends them, and the v0 request signature, for the Slack tests.

Shapes follow Slack's Events API, interactivity (`payload=` form field) and slash-command
(form fields) documentation; only fields the bot reads, plus the ones Bolt needs to route.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T000TEST"
BOT_USER = "UBOT"
_ids = itertools.count(1)
_ts = itertools.count(1)


def new_ts() -> str:
    return f"{1_700_000_000 + next(_ts)}.000100"


def sign(
    raw: str | bytes, content_type: str, ts: int | None = None, secret: str = SECRET
) -> dict:
    """Slack's v0 scheme: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    stamp = str(int(time.time()) if ts is None else ts)
    data = raw if isinstance(raw, bytes) else raw.encode()
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + data, hashlib.sha256).hexdigest()
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": stamp,
        "x-slack-signature": f"v0={digest}",
    }


def event_body(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "api_app_id": "A000",
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):06d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
        "event": event,
    }


def mention(text: str, channel: str = "C111", user: str = "U123", thread: str | None = None):
    ts = new_ts()
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }
    if thread:
        event["thread_ts"] = thread
    return event


def message(
    text: str,
    channel: str = "D111",
    channel_type: str = "im",
    user: str = "U123",
    **extra: Any,
) -> dict[str, Any]:
    ts = new_ts()
    event = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "channel_type": channel_type,
        "event_ts": ts,
    }
    return {**event, **extra}


def reaction(name: str, channel: str, ts: str, item_user: str, user: str = "U999") -> dict:
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": name,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "item_user": item_user,
        "event_ts": new_ts(),
    }


def block_actions(
    action_id: str,
    value: str,
    *,
    channel: str = "C111",
    message_ts: str = "",
    thread_ts: str | None = None,
    user: str = "U123",
    response_url: str = "",
    ephemeral: bool = False,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "test"},
        "user": {"id": user, "username": "alice", "team_id": TEAM},
        "api_app_id": "A000",
        "token": "legacy-verification-token",
        "trigger_id": f"trigger.{next(_ids)}",
        "channel": {"id": channel, "name": "support"},
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        },
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    if ephemeral:
        payload["container"]["thread_ts"] = thread_ts
    else:
        payload["message"] = {
            "type": "message",
            "ts": message_ts,
            "thread_ts": thread_ts,
            "user": BOT_USER,
            "text": "answer",
        }
    return payload


def view_submission(view: dict[str, Any], comment: str | None, user: str = "U123") -> dict:
    submitted = {
        **view,
        "id": "V1",
        "state": {
            "values": {"comment": {"comment": {"type": "plain_text_input", "value": comment}}}
        },
    }
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "test"},
        "user": {"id": user, "username": "alice", "team_id": TEAM},
        "api_app_id": "A000",
        "token": "legacy-verification-token",
        "trigger_id": f"trigger.{next(_ids)}",
        "view": submitted,
    }


def slash(text: str, channel: str = "C111", user: str = "U123", response_url: str = "") -> dict:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "channel_id": channel,
        "channel_name": "support",
        "user_id": user,
        "user_name": "alice",
        "command": "/ask",
        "text": text,
        "api_app_id": "A000",
        "response_url": response_url,
        "trigger_id": f"trigger.{next(_ids)}",
    }


@dataclass
class Reply:
    status_code: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class SlackSender:
    """Sends signed requests to the bot's /slack/events over real HTTP, as Slack does."""

    def __init__(self, url: str) -> None:
        self.url = url

    def raw(self, raw: str | bytes, headers: dict[str, str]) -> Reply:
        data = raw if isinstance(raw, bytes) else raw.encode()
        request = urllib.request.Request(self.url, data, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return Reply(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read().decode())

    def event(
        self,
        event: dict[str, Any],
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        raw = json.dumps(event_body(event, event_id))
        return self.raw(raw, {**sign(raw, "application/json"), **(headers or {})})

    def interaction(self, payload: dict[str, Any]) -> Reply:
        raw = urlencode({"payload": json.dumps(payload)})
        return self.raw(raw, sign(raw, "application/x-www-form-urlencoded"))

    def command(self, fields: dict[str, Any]) -> Reply:
        raw = urlencode(fields)
        return self.raw(raw, sign(raw, "application/x-www-form-urlencoded"))
