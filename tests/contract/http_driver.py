"""The contract driver for the HTTP API: real requests to `askdesk serve`'s server (aiohttp on
127.0.0.1:0) with the `requests` client. An ask's "replies" are the messages of its response;
a conversation is continued by sending its id; votes are the vote endpoint; the styled edit
is read back from GET /v1/answers/{id}. The API has no mentions, DMs, reactions, message
edits, other bots or people to hand off to: those scenarios are skipped."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from http_client import ApiClient

from askdesk.bots.common import ChannelDirectory
from askdesk.bots.delivery import FollowUpPolicy
from askdesk.bots.http.build import http_server
from askdesk.bots.http.keys import parse_keys
from askdesk.bots.http.run import HttpServer
from askdesk.core.desk import SupportDesk
from tests.contract.driver import Msg

PLATFORM = "http"
ESCALATE_TO = ("nobody",)
SECRET = "contract-secret-0123456789"


class HttpDriver:
    platform = PLATFORM
    lacks: frozenset[str] = frozenset({"mention", "direct", "reaction", "edit_event", "bots"})

    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.api = ApiClient(server.url, SECRET)
        self._replies: dict[str, list[Msg]] = {}
        self._bodies: dict[str, dict[str, Any]] = {}

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
        if to_other or direct:
            pytest.skip("the HTTP API has no other people to address and no DMs")
        idem = uuid.uuid4().hex
        body = {"question": text, "user": user}
        if after is not None:
            body["conversation_id"] = after.raw["conversation"]
        status, data, _ = self.api.call("POST", "/v1/ask", body, **{"Idempotency-Key": idem})
        assert status in (200, 429), (status, data)
        conversation = data.get("conversation_id") or (after.raw["conversation"] if after else None)
        question = Msg(idem, text, raw={"conversation": conversation, "body": body})
        self._bodies[idem] = data
        self._replies[idem] = [
            Msg(m["message_id"], m["text"], raw={**m, "conversation": conversation})
            for m in data.get("messages", [])
        ]
        return question

    def redeliver(self, question: Msg) -> None:
        status, data, r = self.api.call(
            "POST", "/v1/ask", question.raw["body"], **{"Idempotency-Key": question.id}
        )
        assert status == 200 and r.headers.get("Idempotent-Replayed") == "true"
        assert data == self._bodies[question.id]  # the first reply, not a second answer

    def edit(self, question: Msg, text: str) -> None:
        pytest.skip("the HTTP API has no message edits")

    def bot_posts(self, text: str, *, after: Msg | None = None) -> Msg:
        pytest.skip("the HTTP API has no other bots")

    # -- what the bot did --------------------------------------------------------------------
    def replies(self, question: Msg, n: int = 1, timeout: float = 30.0) -> list[Msg]:
        got = self._replies.get(question.id, [])
        assert len(got) >= n, f"{len(got)} replies, wanted {n}"
        return list(got)

    def silent(self, question: Msg, wait_s: float = 2.0) -> None:
        assert self._replies.get(question.id) == [], self._replies.get(question.id)

    def edits(self, answer: Msg, n: int = 1, timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, data, _ = self.api.call("GET", f"/v1/answers/{answer.raw['answer_id']}")
            assert status == 200, data
            if data.get("edited"):
                return [data["text"]]
            time.sleep(0.1)
        raise AssertionError("the answer was not edited")

    # -- people clicking ---------------------------------------------------------------------
    def _vote(self, answer: Msg, **body: Any) -> str:
        status, data, _ = self.api.vote(answer.raw["answer_id"], user="alice", **body)
        assert status == 200, data
        return str(data.get("message") or "")

    def vote(self, answer: Msg, up: bool) -> str:
        return self._vote(answer, vote="up" if up else "down")

    def react(self, answer: Msg, emoji: str, user: str = "bob") -> None:
        pytest.skip("the HTTP API has no reactions")

    def choose_reason(self, answer: Msg, reason: str) -> str:
        return self._vote(answer, vote="down", reason=reason)

    def comment(self, answer: Msg, reason: str, text: str) -> str:
        return self._vote(answer, vote="down", reason=reason, comment=text)

    def talk_to_human(self, answer: Msg) -> str:
        pytest.skip("the HTTP API hands nothing to a human (the widget's site does)")

    def refuse_next_post(self) -> None:
        self.server.api.surface.refuse_posts(1)


@contextmanager
def open_driver(
    desk: SupportDesk, channels: ChannelDirectory, policy: FollowUpPolicy
) -> Iterator[HttpDriver]:
    server = http_server(
        desk, parse_keys([f"contract={SECRET}"]), channels=channels, policy=policy
    ).start()
    try:
        yield HttpDriver(server)
    finally:
        server.stop()
