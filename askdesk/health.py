"""`/healthz` and `/readyz` for every long-running process (Slack HTTP bot, Discord bot,
dashboard), as a WSGI wrapper so a load balancer's probe never meets auth or Slack signing.

- `GET /healthz`: 200 while the process runs (liveness: restart it when this fails).
- `GET /readyz`: 200 once the index is opened and the models are loaded (`mark_ready`) and
  while the database answers; 503 with the reason otherwise (send it no traffic yet).
  The database check is cached for a second, so a busy prober costs one query a second.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

PROBE_CACHE_S = 1.0


class Readiness:
    """Whether this process should get traffic; `check()` says why not."""

    def __init__(self, database_ok: Callable[[], None] | None = None) -> None:
        self._ready = threading.Event()
        self._database_ok = database_ok  # raises when the database cannot be reached
        self._lock = threading.Lock()
        self._cached: tuple[float, str | None] = (0.0, None)

    def mark_ready(self) -> None:
        self._ready.set()

    @property
    def started(self) -> bool:
        return self._ready.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def check(self) -> tuple[bool, str]:
        if not self._ready.is_set():
            return False, "starting: opening the index and loading the models"
        problem = self._database_problem()
        if problem is not None:
            return False, problem
        return True, "ready"

    def _database_problem(self) -> str | None:
        if self._database_ok is None:
            return None
        with self._lock:
            at, problem = self._cached
            if time.monotonic() - at < PROBE_CACHE_S:
                return problem
            try:
                self._database_ok()
                problem = None
            except Exception as exc:
                problem = f"database unreachable ({type(exc).__name__})"
            self._cached = (time.monotonic(), problem)
            return problem


def probe(path: str, readiness: Readiness) -> tuple[int, dict[str, Any]] | None:
    """The answer to a health probe at `path`, or None when `path` is not one."""
    if path == "/healthz":
        return 200, {"status": "ok"}
    if path == "/readyz":
        ok, why = readiness.check()
        return (200 if ok else 503), {"status": "ready" if ok else "not ready", "reason": why}
    return None


def with_health(inner: WSGIApplication, readiness: Readiness) -> WSGIApplication:
    """`inner` with GET /healthz and /readyz answered in front of it."""

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            answer = probe(str(environ.get("PATH_INFO", "")), readiness)
            if answer is not None:
                status, body = answer
                data = json.dumps(body).encode()
                reason = "OK" if status == 200 else "Service Unavailable"
                start_response(
                    f"{status} {reason}",
                    [("content-type", "application/json"), ("content-length", str(len(data)))],
                )
                return [data]
        return inner(environ, start_response)

    return application


class _ProbeHandler(BaseHTTPRequestHandler):
    readiness: Readiness

    def do_GET(self) -> None:
        answer = probe(self.path.split("?")[0], self.readiness)
        status, body = answer if answer is not None else (404, {"status": "not found"})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("probe %s", format % args)


def serve_probes(host: str, port: int, readiness: Readiness) -> ThreadingHTTPServer:
    """A probe-only HTTP server (for the Discord bot, which serves no HTTP of its own),
    already serving on a daemon thread; `shutdown()` stops it."""
    handler = type("ProbeHandler", (_ProbeHandler,), {"readiness": readiness})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="askdesk-probes", daemon=True).start()
    return server


