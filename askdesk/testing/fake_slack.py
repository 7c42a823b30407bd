"""Local stand-ins for Slack: the Web API (threaded HTTP) and a Socket Mode WebSocket (aiohttp).

`FakeSlackAPI` answers `https://slack.com/api/<method>` on 127.0.0.1:0 and records every call
(method, auth header, parsed body, arrival time), so tests assert on exactly what the bot
sent. `POST /response/<id>` stands in for a `response_url`. It can be told to answer the next
calls with `429 Retry-After` or with an API error. Also imported by bench/slack_http_load.py.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from aiohttp import web

BOT_USER = "UBOT"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict[str, Any]:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
        query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        if self.headers.get("content-type", "").startswith("application/json"):
            body = json.loads(raw or "{}")
        else:
            body = {k: v[0] for k, v in parse_qs(raw).items()}
        for key in ("blocks", "view"):  # form-encoded calls carry these as JSON strings
            if isinstance(body.get(key), str):
                body[key] = json.loads(body[key])
        return {**query, **body}

    def do_POST(self) -> None:
        path = urlparse(self.path).path
        body = self._body()
        fake = self.server.fake
        if path.startswith("/response/"):
            fake._record("response", "", body, path)
            return self._reply(200, b"ok")
        method = path.rsplit("/", 1)[-1]
        auth = self.headers.get("authorization", "")
        call = fake._record(method, auth, body, path)
        status, payload, headers = fake._answer(method, auth, body)
        call["result"] = payload
        call["status"] = status
        for listener in fake.listeners:
            listener(call)
        self._reply(status, payload, headers)

    do_GET = do_POST


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlackAPI


class FakeSlackAPI:
    def __init__(self, bot_user: str = BOT_USER) -> None:
        self.bot_user = bot_user
        self.ws_url = "ws://127.0.0.1:1/link"
        self.calls: list[dict[str, Any]] = []
        self.listeners: list[Callable[[dict[str, Any]], None]] = []  # told of each answered call
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._rate_limited: list[tuple[str | None, int]] = []
        self._failures: dict[str, list[str]] = {}
        self.retry_after = 1
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/api/"
        self.response_url = f"http://127.0.0.1:{self.server.server_port}/response/"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    # -- steering ----------------------------------------------------------------------------
    def rate_limit(self, n: int = 1, method: str | None = None, retry_after: int = 1) -> None:
        """Answer the next `n` calls (to `method`, or any) with 429 and Retry-After."""
        with self._lock:
            self._rate_limited.append((method, n))
            self.retry_after = retry_after

    def fail(self, method: str, error: str, n: int = 1) -> None:
        """Answer the next `n` calls to `method` with {"ok": false, "error": error}."""
        with self._lock:
            self._failures.setdefault(method, []).extend([error] * n)

    # -- inspection --------------------------------------------------------------------------
    def calls_to(self, method: str, where: Callable[[dict], bool] | None = None) -> list[dict]:
        with self._lock:
            calls = [c for c in self.calls if c["method"] == method]
        return [c for c in calls if where is None or where(c["body"])]

    def wait_for(
        self,
        method: str,
        n: int = 1,
        timeout: float = 15.0,
        where: Callable[[dict], bool] | None = None,
    ) -> list[dict]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = self.calls_to(method, where)
            if len(found) >= n:
                return found
            time.sleep(0.01)
        raise AssertionError(f"expected {n} {method} calls, got {self.calls_to(method)}")

    def posts_in(self, thread: str) -> list[dict]:
        """Successful chat.postMessage bodies in one thread, each with its "ts" added."""
        calls = self.calls_to("chat.postMessage", lambda b: b.get("thread_ts") == thread)
        done = [c for c in calls if c.get("status") == 200 and "result" in c]
        return [{**c["body"], "ts": c["result"]["ts"]} for c in done]

    # -- the API -----------------------------------------------------------------------------
    def _record(self, method: str, auth: str, body: dict, path: str) -> dict[str, Any]:
        call = {
            "method": method,
            "auth": auth,
            "body": body,
            "path": path,
            "t": time.perf_counter(),
        }
        with self._lock:
            self.calls.append(call)
        return call

    def _answer(self, method: str, auth: str, body: dict) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            for i, (only, n) in enumerate(self._rate_limited):
                if only in (None, method):
                    if n <= 1:
                        del self._rate_limited[i]
                    else:
                        self._rate_limited[i] = (only, n - 1)
                    headers = {"Retry-After": str(self.retry_after)}
                    return 429, {"ok": False, "error": "ratelimited"}, headers
            queued = self._failures.get(method)
            if queued:
                return 200, {"ok": False, "error": queued.pop(0)}, {}
        if not auth.startswith(("Bearer xoxb-", "Bearer xapp-")):
            return 200, {"ok": False, "error": "not_authed"}, {}
        if "invalid" in auth:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        return 200, self._result(method, body), {}

    def _result(self, method: str, body: dict) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://test.slack.com/",
                "team": "Test",
                "user": "askdesk",
                "team_id": "T000TEST",
                "user_id": self.bot_user,
                "bot_id": "BBOT",
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": self.ws_url}
        if method == "chat.postMessage":
            ts = f"{1_800_000_000 + next(self._ts)}.000100"
            message = {"text": body.get("text"), "ts": ts, "user": self.bot_user}
            if body.get("thread_ts"):
                message["thread_ts"] = body["thread_ts"]
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{1_800_000_000 + next(self._ts)}.000200"}
        if method == "chat.update":
            return {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V1", **(body.get("view") or {})}}
        if method == "conversations.replies":
            return {"ok": True, "messages": [], "has_more": False}
        return {"ok": True}

    def __enter__(self) -> FakeSlackAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeSocketMode:
    """Slack's Socket Mode end: says `hello`, pushes envelopes, records the client's acks."""

    def __init__(self) -> None:
        self.acks: list[dict[str, Any]] = []
        self._outbox: asyncio.Queue[dict] | None = None
        self._ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.port = 0

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        sender = asyncio.ensure_future(self._send_all(ws))
        try:
            async for msg in ws:
                if msg.type == web.WSMsgType.TEXT:
                    self.acks.append(json.loads(msg.data))
        finally:
            sender.cancel()
        return ws

    async def _send_all(self, ws: web.WebSocketResponse) -> None:
        assert self._outbox is not None
        while True:
            await ws.send_str(json.dumps(await self._outbox.get()))

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._outbox = asyncio.Queue()
        app = web.Application()
        app.router.add_get("/link", self._link)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self.loop.run_forever()

    def start(self) -> str:
        threading.Thread(target=self._run, daemon=True).start()
        assert self._ready.wait(10)
        return f"ws://127.0.0.1:{self.port}/link"

    def push(self, envelope: dict[str, Any]) -> None:
        self.loop.call_soon_threadsafe(self._outbox.put_nowait, envelope)  # type: ignore[union-attr]

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for ack in list(self.acks):
                if ack.get("envelope_id") == envelope_id:
                    return ack
            time.sleep(0.01)
        raise AssertionError(f"no ack for {envelope_id}; got {self.acks}")

    def stop(self) -> None:
        async def close() -> None:
            await self.runner.cleanup()

        future = asyncio.run_coroutine_threadsafe(close(), self.loop)
        try:
            future.result(5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
