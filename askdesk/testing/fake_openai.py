"""A scripted OpenAI-compatible server on 127.0.0.1, for tests and benchmarks.

It speaks enough of the Chat Completions protocol for the real `openai` client: `POST
/v1/chat/completions` (a JSON reply, or Server-Sent Events chunks ending in `data: [DONE]`
when the request asks `stream: true`) and `GET /v1/models`. Each test scripts its replies:
a list of `Reply`s used in order (the last one repeats), so "429 then 200" or "times out" is
one line. It records every request it got (method, path, JSON body) for assertions.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from askdesk.retrieval.text_units import split_units


@dataclass
class Reply:
    """One scripted reply. `content` is the assistant's text; `status` other than 200 sends an
    OpenAI-style error body; `raw` sends these bytes as the body instead (malformed JSON);
    `delay_s` waits before answering (a timeout); `stream` None follows the request."""

    content: str = ""
    status: int = 200
    raw: bytes | None = None
    delay_s: float = 0.0
    stream: bool | None = None
    finish_reason: str = "stop"
    refusal: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # misbehaving servers (issue 20, D8): `dribble_s` sends the body one byte at a time with
    # this pause; `forever` keeps a stream open, sending every `every_s` an SSE comment
    # ("comments") or another content chunk ("chunks"), until the client hangs up
    dribble_s: float = 0.0
    chunk_pause_s: float = 0.0  # a stream: this pause before each content chunk
    forever: str | None = None
    every_s: float = 0.2


@dataclass
class Request:
    method: str
    path: str
    body: dict[str, Any] | None
    headers: dict[str, str]


class FakeOpenAI:
    """`with FakeOpenAI([Reply("... [1]")]) as server:` then `server.base_url` ("…/v1")."""

    def __init__(
        self,
        replies: list[Reply] | None = None,
        *,
        responder: Callable[[dict[str, Any]], Reply] | None = None,
        models: tuple[str, ...] = ("fake-model",),
    ) -> None:
        self.replies = list(replies or [Reply("")])
        self.responder = responder  # computes the reply from the request body instead
        self.models = models
        self.requests: list[Request] = []
        self.serve_s: list[float] = []  # each completion's scripting + delay, before sending
        self._lock = threading.Lock()
        self._served = 0
        self._stopping = threading.Event()  # ends the endless and dribbling replies
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> FakeOpenAI:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False  # a scripted delay must not hold up stop()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- state -----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None, "start the server first"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def completions(self) -> list[Request]:
        return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    def _record(self, handler: BaseHTTPRequestHandler, body: dict[str, Any] | None) -> None:
        with self._lock:
            self.requests.append(
                Request(handler.command, handler.path, body, dict(handler.headers.items()))
            )

    def _next(self, body: dict[str, Any]) -> Reply:
        if self.responder is not None:
            return self.responder(body)
        with self._lock:
            reply = self.replies[min(self._served, len(self.replies) - 1)]
            self._served += 1
        return reply


# -- reading the prompt (for scripted "models" that answer from the passages they were given) --
_PASSAGE_HEAD = re.compile(r"^\[(\d+)\] .*$", re.M)


def prompt_passages(body: dict[str, Any]) -> dict[int, str]:
    """The numbered passages in the last user message of a chat request: {n: text}."""
    content = str(body["messages"][-1]["content"])
    content = content.split("\n\nQuestion: ")[0]
    heads = list(_PASSAGE_HEAD.finditer(content))
    out: dict[int, str] = {}
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(content)
        out[int(m.group(1))] = content[m.end() : end].strip()
    return out


def prompt_question(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"]).rsplit("\n\nQuestion: ", 1)[-1]


def sentences(text: str, n: int = 2, min_words: int = 6) -> list[str]:
    """The first `n` prose sentences of a passage (what a faithful model would restate)."""
    found = [u.text for u in split_units(text) if u.kind == "sentence" and u.words >= min_words]
    return found[:n]


class _Handler(BaseHTTPRequestHandler):
    """One request to the fake server; `fake` is the FakeOpenAI whose script it plays
    (set on a per-server subclass by `FakeOpenAI.start`)."""

    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"
    dribble_s = 0.0  # this reply's pause between body bytes

    def log_message(self, *args: object) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        self.fake._record(self, None)
        if self.path.rstrip("/").endswith("/models"):
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                for m in self.fake.models
            ]
            self._json(200, {"object": "list", "data": data})
        else:
            self._json(404, {"error": {"message": "not found", "type": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        self.fake._record(self, body)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": "not found", "type": "not_found"}})
            return
        t = time.perf_counter()
        reply = self.fake._next(body or {})
        if reply.delay_s:
            time.sleep(reply.delay_s)
        with self.fake._lock:  # before replying: the client may read serve_s right after
            self.fake.serve_s.append(time.perf_counter() - t)
        # the client may have given up (a timeout test): nothing to send then
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.dribble_s = reply.dribble_s
            self._answer(reply, body or {})

    def _answer(self, reply: Reply, body: dict[str, Any]) -> None:
        if reply.forever:
            self._forever(reply, str(body.get("model") or "fake-model"))
            return
        if reply.raw is not None:
            self._send(reply.status, reply.raw, "application/json", reply.headers)
            return
        if reply.status != 200:
            err = {"message": f"scripted {reply.status}", "type": "server_error"}
            self._json(reply.status, {"error": err}, reply.headers)
            return
        stream = body.get("stream", False) if reply.stream is None else reply.stream
        model = str(body.get("model") or "fake-model")
        if stream:
            self._stream(reply, model)
        else:
            message: dict[str, Any] = {"role": "assistant", "content": reply.content}
            if reply.refusal is not None:
                message = {"role": "assistant", "content": None, "refusal": reply.refusal}
            self._json(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": message,
                            "finish_reason": reply.finish_reason,
                        }
                    ],
                    "usage": {
                        "prompt_tokens": 1,
                        "completion_tokens": 1,
                        "total_tokens": 2,
                    },
                },
                reply.headers,
            )

    def _stream(self, reply: Reply, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        words = reply.content.split(" ") if reply.content else []
        pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
        first = {"role": "assistant", "content": ""}
        for i, delta in enumerate([first, *({"content": p} for p in pieces)]):
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            }
            if reply.chunk_pause_s and i:
                self.wfile.flush()
                time.sleep(reply.chunk_pause_s)
            self._body(f"data: {json.dumps(chunk)}\n\n".encode())
            if i % 8 == 0:
                self.wfile.flush()
        last = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}],
        }
        self._body(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
        self.wfile.flush()
        self.close_connection = True

    def _forever(self, reply: Reply, model: str) -> None:
        """An SSE stream that never ends: comments, or content chunks, until the
        client hangs up or the server stops."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        n = 0
        while not self.fake._stopping.wait(reply.every_s):
            if reply.forever == "comments":
                event = b": keep-alive\n\n"
            else:
                delta = {"content": "and more " if n else "Rotate keys [1] "}
                chunk = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                }
                event = f"data: {json.dumps(chunk)}\n\n".encode()
            self.wfile.write(event)
            self.wfile.flush()
            n += 1

    def _json(
        self, status: int, obj: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json", headers or {})

    def _send(self, status: int, data: bytes, ctype: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self._body(data)

    def _body(self, data: bytes) -> None:
        pause = self.dribble_s
        if not pause:
            self.wfile.write(data)
            return
        self.wfile.flush()
        for i in range(len(data)):  # one byte at a time: every read gets something
            if self.fake._stopping.wait(pause):
                return
            self.wfile.write(data[i : i + 1])
            self.wfile.flush()
