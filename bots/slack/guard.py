"""The HTTP-mode door: only signed requests of a sane size ever reach Bolt.

Bolt reads the whole body, parses it, and only then checks the signature, logging every
rejected body in full. So anyone who knows the URL could fill the disk with 5 MB posts, put
arbitrary text and user ids into the log, and get a 500 and a traceback for a body that is not
JSON. This WSGI wrapper sits in front of Bolt's handler and decides from the raw bytes first:

- a declared body over `max_bytes` is refused with 413 before it is read (what was sent is
  drained for a bounded time and thrown away, so the client sees the 413, not a reset);
- a missing, stale or wrong `X-Slack-Signature` (Slack's v0 HMAC over the raw bytes) is 401;
- a signed body that is not UTF-8 is 400 (Slack never sends one).

Each refusal is one short log line: the reason and the size, never the body. Bolt still
checks the signature again itself; it only ever sees requests that pass.

Stdlib only, so the settings can take `MAX_REQUEST_BYTES` from here without importing Bolt.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1_000_000  # Slack's own payloads are a few kB; the setting's default
SIGNATURE_WINDOW_S = 300  # Slack's rule: a request older than 5 minutes is a replay
_DRAIN_BYTES = 64 * 1024 * 1024  # read and discard at most this much of a refused body…
_DRAIN_SECONDS = 10.0  # …for at most this long, then drop the connection
_CHUNK = 64 * 1024


def signature_problem(
    secret: bytes, body: bytes, timestamp: str | None, signature: str | None, now: float
) -> str | None:
    """Why this is not a request Slack signed within the window, or None if it is."""
    if not timestamp or not signature:
        return "unsigned"
    if not (timestamp.isascii() and timestamp.isdigit()):
        return "bad timestamp"
    if abs(now - int(timestamp)) > SIGNATURE_WINDOW_S:
        return "stale timestamp"
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "bad signature"
    return None


class SignedRequestsOnly:
    """WSGI middleware for `path`: size limit, then signature, then hand the bytes to `inner`."""

    def __init__(
        self,
        inner: WSGIApplication,
        signing_secret: str,
        *,
        path: str,
        max_bytes: int = MAX_REQUEST_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.inner = inner
        self.secret = signing_secret.encode()
        self.path = path
        self.max_bytes = max_bytes
        self.clock = clock

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != self.path:
            return self.inner(environ, start_response)
        size = _content_length(environ)
        if size is None:
            log.warning("refused a request", extra={"reason": "bad content-length"})
            return _reply(start_response, "400 Bad Request", "bad content-length")
        if size > self.max_bytes:
            log.warning(
                "refused a request",
                extra={"reason": "too large", "bytes": size, "limit": self.max_bytes},
            )
            _drain(environ["wsgi.input"], size)
            return _reply(start_response, "413 Content Too Large", "request too large")
        try:
            body = environ["wsgi.input"].read(size) if size else b""
        except OSError:  # the client stalled past the server's timeout, or went away
            log.warning("refused a request", extra={"reason": "body not received", "bytes": size})
            return _reply(start_response, "400 Bad Request", "body not received")
        problem = signature_problem(
            self.secret,
            body,
            environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
            environ.get("HTTP_X_SLACK_SIGNATURE"),
            self.clock(),
        )
        if problem is not None:
            log.warning("refused a request", extra={"reason": problem, "bytes": len(body)})
            return _reply(start_response, "401 Unauthorized", "invalid request")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            log.warning("refused a request", extra={"reason": "not UTF-8", "bytes": len(body)})
            return _reply(start_response, "400 Bad Request", "body is not UTF-8")
        environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        return self.inner(environ, start_response)


def _content_length(environ: WSGIEnvironment) -> int | None:
    raw = (environ.get("CONTENT_LENGTH") or "0").strip()
    if not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)


def _drain(stream: io.BufferedIOBase, size: int) -> None:
    """Read a refused body into nothing, bounded, so the client gets to read the 413: closing
    a socket with unread data makes the kernel send a reset instead."""
    left = min(size, _DRAIN_BYTES)
    deadline = time.monotonic() + _DRAIN_SECONDS
    try:
        while left > 0 and time.monotonic() < deadline:
            chunk = stream.read(min(_CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
    except OSError:  # the client went away: nothing left to answer
        pass


def _reply(start_response: StartResponse, status: str, error: str) -> list[bytes]:
    body = json.dumps({"error": error}).encode()
    headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    start_response(status, headers)
    return [body]
