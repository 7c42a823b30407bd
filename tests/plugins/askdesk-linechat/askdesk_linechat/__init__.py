"""A third-party chat surface: "linechat", JSON lines over TCP (a stand-in for Teams, Matrix…).

The platform protocol, one JSON object per line on one connection per client:

  client → askdesk  {"type": "message", "id", "user", "channel", "text", "mention": bool,
                     "thread": optional, "to_other", "from_bot", "edited": optional bools}
                    {"type": "vote", "user", "answer": id, "value": "up" | "down"}
                    {"type": "reason", "user", "answer": id, "reason": code}
                    {"type": "comment", "user", "answer": id, "reason": code, "text"}
                    {"type": "human", "user", "answer": id}
  askdesk → client  {"type": "post", "id", "thread", "text", "sources": [...],
                     "answer_id", "votes": bool}
                    {"type": "edit", "id", "text"}  {"type": "react", "message", "emoji", "on"}
                    {"type": "text", "id", "text"}  {"type": "notice", "text", "choices": [...]}
                    {"type": "form", "answer", "reason"} (a comment form: answer with "comment")

This module only translates: events become `Incoming` / `Click`, answers become "post"
lines; the rules, answering, votes and the 👎 dialogue are askdesk's delivery core.
"""

from __future__ import annotations

import itertools
import json
import socketserver
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from askdesk.plugins import (
    Answer,
    Click,
    CommentDialogue,
    Delivery,
    Incoming,
    Place,
    Prompt,
    Reason,
    ReasonChoice,
    SurfaceError,
    SurfaceHost,
)

PLATFORM = "linechat"


class Wire:
    """One client connection: lines out, serialised."""

    def __init__(self, wfile: Any) -> None:
        self.wfile = wfile
        self.lock = threading.Lock()

    def send(self, event: dict[str, Any]) -> None:
        data = (json.dumps(event) + "\n").encode()
        with self.lock:
            try:
                self.wfile.write(data)
                self.wfile.flush()
            except OSError as exc:
                raise SurfaceError(f"linechat: client gone ({type(exc).__name__})") from exc


class LineSurface:
    """`ChatSurface`: what the delivery core's actions look like on the wire."""

    platform = PLATFORM

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def render(self, answer: Answer) -> Sequence[dict[str, Any]]:
        votes = answer.interaction_id is not None and not answer.error
        sources = [
            {"n": s.n, "title": s.title, "path": s.path, "url": s.url} for s in answer.sources
        ]
        piece = {"text": answer.text, "sources": sources, "answer_id": answer.interaction_id}
        return [{**piece, "votes": votes}]

    def _send(self, place: Place, event: dict[str, Any]) -> str:
        message = f"p{next(self._ids)}"
        place.handle.send({"id": message, "thread": place.thread, **event})
        return message

    def post(self, place: Place, piece: dict[str, Any], *, first: bool) -> str:
        return self._send(place, {"type": "post", **piece})

    def edit(self, place: Place, message: str, piece: dict[str, Any]) -> None:
        place.handle.send({"type": "edit", "id": message, "text": piece["text"]})

    def react(self, place: Place, message: str, emoji: str, *, on: bool) -> None:
        place.handle.send({"type": "react", "message": message, "emoji": emoji, "on": on})

    def post_text(self, place: Place, text: str, *, mentions: Sequence[str] = ()) -> str:
        return self._send(place, {"type": "text", "text": text})

    def answer_ref(self, place: Place, message: str) -> str:
        return f"{place.channel}:{message}"

    def hand_off(self, place, targets, user, question, interaction_id) -> str | None:
        if not targets:
            return None  # nobody configured: the core tells the clicker
        names = " ".join(f"@{t}" for t in targets)
        return self.post_text(place, f"{names}: {user} asks for a human (answer #{interaction_id})")


class LineResponder:
    """`Responder`: talks back to the one client that clicked."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire

    def notice(self, text: str, prompt: Prompt | None = None) -> None:
        choices = [r.value for r in Reason] if isinstance(prompt, ReasonChoice) else []
        self.wire.send({"type": "notice", "text": text, "choices": choices})

    def replace(self, text: str, prompt: Prompt | None = None) -> None:
        self.notice(text, prompt)

    def open_dialogue(self, dialogue: CommentDialogue) -> None:
        reason = str(dialogue.reason)
        self.wire.send({"type": "form", "answer": dialogue.interaction_id, "reason": reason})


def _handler(delivery: Delivery, workers: ThreadPoolExecutor) -> type:
    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            wire = Wire(self.wfile)
            for raw in self.rfile:
                try:
                    event = json.loads(raw)
                except ValueError:
                    wire.send({"type": "error", "text": "not JSON"})
                    continue
                on_event(delivery, workers, wire, event)

    return Handler


def on_event(delivery: Delivery, workers: ThreadPoolExecutor, wire: Wire, e: dict) -> None:
    """One platform event → the delivery core. Questions: accept now, answer on a worker."""
    kind = e.get("type")
    channel = str(e.get("channel", "lobby"))
    if kind == "message":
        place = Place(channel, thread=e.get("thread") or e["id"], handle=wire)
        incoming = Incoming(
            key=f"{channel}:{e['id']}",
            text=str(e.get("text", "")),
            user=str(e.get("user", "")),
            place=place,
            channel=channel,
            conversation=str(e.get("thread") or e["id"]),
            message=str(e["id"]),
            mentioned=bool(e.get("mention", True)),
            in_thread=bool(e.get("thread")),
            others_mentioned=bool(e.get("to_other")),
            from_bot=bool(e.get("from_bot")),
            edited=bool(e.get("edited")),
        )
        ask = delivery.accept(incoming)
        if ask is not None:
            workers.submit(delivery.answer, ask)
        return
    place = Place(channel, thread=e.get("thread"), handle=wire)  # where the answer is
    click = Click(str(e.get("user", "")), int(e["answer"]), place, LineResponder(wire))
    if kind == "vote":
        (delivery.up if e.get("value") == "up" else delivery.down)(click)
    elif kind == "reason":
        delivery.reason(click, str(e.get("reason", "")))
    elif kind == "comment":
        delivery.submit_comment(click, e.get("reason"), e.get("text"))
    elif kind == "human":
        delivery.escalate(click)


def serve(host: SurfaceHost) -> None:
    """The entry point: listen on 127.0.0.1 (`-o port=N`, 0: a free one) until askdesk stops."""
    workers = ThreadPoolExecutor(max_workers=host.int_option("workers", 2) or 1)
    delivery = host.delivery(LineSurface(), executor=workers)
    address = (host.option("host") or "127.0.0.1", host.int_option("port", 0) or 0)
    server = socketserver.ThreadingTCPServer(address, _handler(delivery, workers))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="linechat", daemon=True).start()
    try:
        host.warm_up()
        host.ready(f"linechat on {server.server_address[0]}:{server.server_address[1]}")
        while not host.stopping.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        workers.shutdown(wait=True)
