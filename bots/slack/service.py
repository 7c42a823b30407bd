"""The Slack bot's life: bind or connect, warm up, serve, and stop with its answers drained.

The CLI (`askdesk slack`) only checks credentials and wires the process (database, fleet
claims, readiness, probes, upkeep); everything about starting and stopping the adapter is
here, in this order:

1. `SlackService(...)` builds the Bolt app on the delivery core, with an answer pool that
   accepts work at once but runs it only once the process is ready (acks never wait for the
   model; answers never race its loading).
2. `bind_http(...)` / `connect_socket(...)` — a busy port or a rejected app token is a
   `SlackStartError` (one line) before the model loads.
3. `serve(warm_up, ...)` — warm up, mark ready, announce, then block; Ctrl-C or SIGTERM (a
   restart, a scale-down) stops taking deliveries and drains the questions already acked
   for at most `drain_s` seconds before returning.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from askdesk.bots.claims import SeenKeys
from askdesk.bots.common import ChannelDirectory
from askdesk.bots.delivery import FollowUpPolicy, Journal
from askdesk.bots.slack.app import build_slack_app
from askdesk.bots.slack.guard import MAX_REQUEST_BYTES
from askdesk.bots.slack.run import (
    WaitingExecutor,
    connect_socket_mode,
    run_http,
    serve_http,
)
from askdesk.core.desk import SupportDesk

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer
    from wsgiref.types import WSGIApplication

    from slack_bolt.adapter.socket_mode import SocketModeHandler

log = logging.getLogger(__name__)

DRAIN_S = 30.0
"""How long a stopping bot waits for the answers it already acked."""


class SlackStartError(Exception):
    """The bot could not start (port, app token); the message is one line for the user."""


class Readiness(Protocol):
    def wait(self, timeout: float | None = None) -> bool: ...
    def mark_ready(self) -> None: ...


class Stoppable(Protocol):
    def stop(self) -> None: ...


class SlackService:
    def __init__(
        self,
        desk: SupportDesk,
        channels: ChannelDirectory,
        *,
        client: WebClient,
        readiness: Readiness,
        signing_secret: str | None = None,
        workers: int = 4,
        seen: SeenKeys | None = None,
        journal: Journal | None = None,
        policy: FollowUpPolicy | None = None,
    ) -> None:
        self.desk = desk
        self.readiness = readiness
        self.signing_secret = signing_secret
        self.pool = WaitingExecutor(workers, readiness.wait)
        self.bolt = build_slack_app(
            desk,
            channels,
            client=client,
            signing_secret=signing_secret,
            executor=self.pool,
            seen=seen,
            journal=journal,
            policy=policy,
        )
        self._server: WSGIServer | None = None
        self._serving: threading.Thread | None = None
        self._socket: SocketModeHandler | None = None
        self.where = ""

    # -- 2. bind or connect ----------------------------------------------------------------
    def bind_http(
        self,
        host: str,
        port: int,
        *,
        max_bytes: int = MAX_REQUEST_BYTES,
        wrap: Callable[[WSGIApplication], WSGIApplication] | None = None,
    ) -> int:
        """Serve /slack/events from now on (acks at once; answers wait for readiness);
        `wrap` puts the health probes in front. Returns the bound port."""
        try:
            server = serve_http(
                self.bolt,
                host,
                port,
                signing_secret=self.signing_secret or "",
                max_bytes=max_bytes,
                wrap=wrap,
            )
        except OSError as exc:
            raise SlackStartError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        self._server = server
        self._serving = threading.Thread(target=run_http, args=(server,), name="askdesk-http")
        self._serving.daemon = True
        self._serving.start()
        self.where = f"HTTP mode, http://{host}:{server.server_port}/slack/events"
        return int(server.server_port)

    def connect_socket(self, app_token: str) -> None:
        try:
            self._socket = connect_socket_mode(self.bolt, app_token)
        except SlackApiError as exc:
            error = exc.response.get("error")
            raise SlackStartError(f"Slack rejected SLACK_APP_TOKEN ({error})") from exc
        self.where = "Socket Mode"

    # -- 3. serve until stopped ------------------------------------------------------------
    def serve(
        self,
        warm_up: Callable[[], Any],
        *,
        after_ready: Callable[[], Stoppable | None] | None = None,
        announce: Callable[[str], None] | None = None,
        who: str = "bot",
        drain_s: float = DRAIN_S,
    ) -> None:
        """Warm up, mark ready, start `after_ready` (scheduled upkeep), then block until
        Ctrl-C or SIGTERM; stop taking deliveries, drain, stop what `after_ready` started."""
        warm_up()
        self.readiness.mark_ready()
        extra = after_ready() if after_ready is not None else None
        if announce is not None:
            announce(f"askdesk is answering in Slack as @{who} ({self.where}); Ctrl-C stops it.")
        try:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, signal.default_int_handler)
            with contextlib.suppress(KeyboardInterrupt):
                self._wait()
            self.stop(drain_s)
        finally:
            if extra is not None:
                extra.stop()

    def _wait(self) -> None:
        if self._serving is not None:
            while self._serving.is_alive():
                self._serving.join(0.5)
        else:
            threading.Event().wait()

    def stop(self, drain_s: float = DRAIN_S) -> None:
        """No new deliveries, then the questions already acked are answered (bounded)."""
        if self._server is not None:
            self._server.shutdown()
        if self._socket is not None:
            self._socket.close()
        drain(self.pool, drain_s)


def drain(pool: Executor, within_s: float) -> bool:
    """Finish the queued answers, for at most `within_s` seconds (then say how it ended)."""
    done = threading.Thread(target=pool.shutdown, kwargs={"wait": True}, daemon=True)
    done.start()
    done.join(within_s)
    log.info("stopped", extra={"answers_drained": not done.is_alive()})
    return not done.is_alive()
