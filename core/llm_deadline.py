"""Wall-clock deadlines and a size cap for the LLM client's sockets.

An HTTP client's timeouts are per operation: a read timeout of 5 s is reset by every byte, so
a server that dribbles its JSON body one byte a second, or keeps a stream open with SSE
comments (`: keep-alive`), holds an answer for as long as it likes. The composer needs the
opposite: an absolute time by which the reply is in, whatever arrives meanwhile.

`BoundedTransport` is the `openai` client's HTTP transport with every socket operation bounded
by the `Budget` of the call running in this thread (a context variable: bots answer in worker
threads that share one client). Each read may wait only until the budget's current limit —
the first-token time until the composer says content arrived, then the call's deadline — and
every byte received counts against the budget's cap. When a limit or the cap is hit the read
fails like a timeout or a broken connection, and the budget keeps the reason (`Budget.failed`)
so the composer records "timeout (first token)", "timeout" or "reply too large" rather than
whatever the client library makes of a closed stream.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore2
import httpx2

FIRST_TOKEN_TIMEOUT = "timeout (first token)"
TIMEOUT = "timeout"
TOO_LARGE = "reply too large"


@dataclass
class Budget:
    """What one answer may spend on the model: until `deadline` (time.monotonic) in all,
    until `first_token_by` for the reply to start, `max_bytes` received."""

    deadline: float
    max_bytes: int
    first_token_by: float | None = None  # None once content arrived (or not asked for)
    connect_by: float | None = None  # a connection must be up by then
    received: int = 0
    failed: str | None = None  # why a read was cut: FIRST_TOKEN_TIMEOUT, TIMEOUT, TOO_LARGE

    def limit(self) -> tuple[float, str]:
        """The time the current wait must end by, and what passing it is called."""
        if self.first_token_by is not None and self.first_token_by < self.deadline:
            return self.first_token_by, FIRST_TOKEN_TIMEOUT
        return self.deadline, TIMEOUT

    def started(self) -> None:
        """Content arrived: from now on only the whole call's deadline applies."""
        self.first_token_by = None

    def left(self) -> float:
        return self.deadline - time.monotonic()


_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "askdesk_llm_budget", default=None
)


@contextmanager
def spending(budget: Budget) -> Iterator[Budget]:
    """Bound every socket operation of this thread's LLM requests by `budget`."""
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def _bounded(timeout: float | None, budget: Budget, connecting: bool = False) -> tuple[float, str]:
    """The timeout to give one socket operation: the smaller of the library's own and the
    time left before the budget's current limit."""
    by, reason = budget.limit()
    if connecting and budget.connect_by is not None and budget.connect_by < by:
        by, reason = budget.connect_by, f"{TIMEOUT} (connect)"
    left = by - time.monotonic()
    if left <= 0:
        budget.failed = reason
        raise httpcore2.ReadTimeout(reason)
    return (left if timeout is None else min(timeout, left)), reason


class _BoundedStream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        budget = _CURRENT.get()
        if budget is None:
            return self._inner.read(max_bytes, timeout)
        bounded, reason = _bounded(timeout, budget)
        try:
            data = self._inner.read(max_bytes, bounded)
        except httpcore2.ReadTimeout:
            if bounded != timeout:  # our limit, not the library's own read timeout
                budget.failed = reason
            raise
        budget.received += len(data)
        if budget.received > budget.max_bytes:
            budget.failed = TOO_LARGE
            raise httpcore2.ReadError(TOO_LARGE)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        budget = _CURRENT.get()
        if budget is None:
            self._inner.write(buffer, timeout)
            return
        bounded, reason = _bounded(timeout, budget)
        try:
            self._inner.write(buffer, bounded)
        except httpcore2.WriteTimeout:
            if bounded != timeout:
                budget.failed = reason
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        budget = _CURRENT.get()
        if budget is not None:
            timeout, _ = _bounded(timeout, budget)
        return _BoundedStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _BoundedBackend(httpcore2.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore2.NetworkStream:
        budget = _CURRENT.get()
        if budget is None:
            return _BoundedStream(
                self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
            )
        bounded, reason = _bounded(timeout, budget, connecting=True)
        try:
            stream = self._inner.connect_tcp(host, port, bounded, local_address, socket_options)
        except httpcore2.ConnectTimeout:
            if bounded != timeout:
                budget.failed = reason
            raise
        return _BoundedStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore2.NetworkStream:
        budget = _CURRENT.get()
        if budget is not None:
            timeout, _ = _bounded(timeout, budget, connecting=True)
        return _BoundedStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class BoundedTransport(httpx2.HTTPTransport):
    """httpx's own transport (connection pool, TLS, exception mapping) on sockets that obey
    the current `Budget`. Requests made outside `spending(...)` are not bounded beyond the
    client's own timeouts (`askdesk status`'s ping)."""

    def __init__(self) -> None:
        super().__init__()
        # the pool httpx built, again with our network backend: HTTPTransport takes no
        # backend argument, and its request/exception mapping is what we want to keep
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_BoundedBackend(),
        )
