"""The contract driver for a third-party chat surface: `askdesk-linechat` (tests/plugins/),
JSON lines over TCP on 127.0.0.1, run through its own `serve(host)` entry point exactly as
`askdesk chat linechat` runs it. The people are a real socket client; the surface only
translates, so passing these scenarios shows a plugin gets the whole delivery core. linechat
has no DMs and no emoji reactions: those scenarios are skipped."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from askdesk.bots.common import ChannelDirectory
from askdesk.bots.delivery import Delivery, FollowUpPolicy
from askdesk.bots.surface import SurfaceError
from askdesk.core.desk import SupportDesk
from tests.contract.driver import Msg

PACKAGE = Path(__file__).resolve().parents[1] / "plugins" / "askdesk-linechat"
if str(PACKAGE) not in sys.path:
    sys.path.insert(0, str(PACKAGE))

import askdesk_linechat  # noqa: E402  (the plugin, as its own distribution would be)

PLATFORM = askdesk_linechat.PLATFORM
ESCALATE_TO = ("carol",)
REPLIES = ("post", "text")


class ContractHost:
    """A `SurfaceHost` over the contract's desk (no App: the scenarios build the desk)."""

    def __init__(self, desk: SupportDesk, channels: ChannelDirectory, policy: FollowUpPolicy):
        self.desk, self.channels, self.policy = desk, channels, policy
        self.options = {"port": "0"}
        self.stopping = threading.Event()
        self.listening = threading.Event()
        self.port = 0
        self.surface: Any = None

    def option(self, key: str, default: str | None = None) -> str | None:
        return self.options.get(key, default)

    def int_option(self, key: str, default: int | None = None) -> int | None:
        raw = self.options.get(key)
        return int(raw) if raw else default

    def delivery(self, surface: Any, *, executor: Executor | None = None) -> Delivery:
        self.surface = surface
        return Delivery(self.desk, self.channels, surface, executor=executor, policy=self.policy)

    def warm_up(self) -> None:
        pass

    def ready(self, line: str) -> None:
        self.port = int(line.rsplit(":", 1)[1])
        self.listening.set()


class LineDriver:
    platform = PLATFORM
    lacks: frozenset[str] = frozenset({"direct", "reaction"})

    def __init__(self, host: ContractHost) -> None:
        self.host = host
        self.sock = socket.create_connection(("127.0.0.1", host.port), timeout=60)
        self.file = self.sock.makefile("rwb")
        self.events: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for line in self.file:
                with self.changed:
                    self.events.append(json.loads(line))
                    self.changed.notify_all()
        except (OSError, ValueError):  # the driver closed the connection: the test is over
            return

    def _send(self, **event: Any) -> int:
        with self.changed:
            mark = len(self.events)
        self.file.write((json.dumps(event) + "\n").encode())
        self.file.flush()
        return mark

    def _wait(self, found, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                got = found(self.events)
                if got is not None:
                    return got
                left = deadline - time.monotonic()
                assert left > 0, f"timed out; events so far: {self.events[-5:]}"
                self.changed.wait(left)

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
        if direct:
            pytest.skip("linechat has no direct messages")
        mid = uuid.uuid4().hex[:12]
        thread = after.raw["conversation"] if after is not None else None
        event = {"type": "message", "id": mid, "user": user, "channel": "help", "text": text,
                 "mention": mention, "thread": thread, "to_other": to_other}  # fmt: skip
        mark = self._send(**event)
        return Msg(mid, text, raw={"conversation": thread or mid, "mark": mark, "event": event})

    def redeliver(self, question: Msg) -> None:
        self._send(**question.raw["event"])

    def edit(self, question: Msg, text: str) -> None:
        event = {**question.raw["event"], "id": f"{question.id}-edit", "text": text}
        self._send(**event, edited=True)

    def bot_posts(self, text: str, *, after: Msg | None = None) -> Msg:
        mid = uuid.uuid4().hex[:12]
        thread = after.raw["conversation"] if after is not None else None
        event = {"type": "message", "id": mid, "user": "B0T", "channel": "help", "text": text,
                 "mention": False, "thread": thread, "from_bot": True}  # fmt: skip
        mark = self._send(**event)
        return Msg(mid, text, raw={"conversation": thread or mid, "mark": mark, "event": event})

    # -- what the bot did --------------------------------------------------------------------
    def _replies(self, question: Msg) -> list[Msg]:
        return [
            Msg(e["id"], e["text"], raw=e)
            for e in self.events[question.raw["mark"] :]
            if e["type"] in REPLIES and e.get("thread") == question.raw["conversation"]
        ]

    def replies(self, question: Msg, n: int = 1, timeout: float = 30.0) -> list[Msg]:
        return self._wait(lambda _: (r if len(r := self._replies(question)) >= n else None),
                          timeout)  # fmt: skip

    def silent(self, question: Msg, wait_s: float = 2.0) -> None:
        time.sleep(wait_s)
        with self.changed:
            assert self._replies(question) == []

    def edits(self, answer: Msg, n: int = 1, timeout: float = 30.0) -> list[str]:
        def found(events: list[dict[str, Any]]) -> list[str] | None:
            texts = [e["text"] for e in events if e["type"] == "edit" and e["id"] == answer.id]
            return texts if len(texts) >= n else None

        return self._wait(found, timeout)

    # -- people clicking ---------------------------------------------------------------------
    def _click(self, kind: str, answer: Msg, replies=("notice",), **extra: Any) -> dict:
        mark = self._send(type=kind, user="alice", channel="help", answer=answer.raw["answer_id"],
                          thread=answer.raw.get("thread"), **extra)  # fmt: skip
        return self._wait(
            lambda events: next((e for e in events[mark:] if e["type"] in replies), None)
        )

    def vote(self, answer: Msg, up: bool) -> str:
        return self._click("vote", answer, value="up" if up else "down")["text"]

    def react(self, answer: Msg, emoji: str, user: str = "bob") -> None:
        pytest.skip("linechat has no reactions")

    def choose_reason(self, answer: Msg, reason: str) -> str:
        return self._click("reason", answer, reason=reason)["text"]

    def comment(self, answer: Msg, reason: str, text: str) -> str:
        return self._click("comment", answer, reason=reason, text=text)["text"]

    def talk_to_human(self, answer: Msg) -> str:
        return self._click("human", answer, replies=("notice", "text"))["text"]

    def refuse_next_post(self) -> None:
        surface = self.host.surface
        real = surface.post

        def refuse_once(*args: Any, **kw: Any) -> str:
            surface.post = real
            raise SurfaceError("linechat: refused (test)")

        surface.post = refuse_once


@contextmanager
def open_driver(
    desk: SupportDesk, channels: ChannelDirectory, policy: FollowUpPolicy
) -> Iterator[LineDriver]:
    host = ContractHost(desk, channels, policy)
    serving = threading.Thread(target=askdesk_linechat.serve, args=(host,), daemon=True)
    serving.start()
    assert host.listening.wait(30), "linechat did not start"
    driver = LineDriver(host)
    try:
        yield driver
    finally:
        driver.sock.close()
        host.stopping.set()
        serving.join(30)
