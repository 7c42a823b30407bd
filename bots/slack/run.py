"""Running the bot: Socket Mode (an outbound WebSocket, no public URL) or HTTP mode.

HTTP mode serves one URL, `/slack/events`, for events, interactivity and the slash command.
Slack signs each request; `askdesk.bots.slack.guard` checks the size, the signature and the 5-minute
window on the raw bytes before Bolt's WSGI adapter reads or parses anything. It runs on a
threading `wsgiref` server, so the tests run exactly this code on port 0; behind a production
WSGI server, mount `wsgi_app(app, signing_secret=...)` instead. `GET /healthz` answers 200
for load balancers.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler

from askdesk.bots.slack.guard import MAX_REQUEST_BYTES, SignedRequestsOnly

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow client never holds up shutdown
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops connections in a burst of events, and the
    # sender's SYN retry then costs a whole second of Slack's 3.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that stalls past the timeout or hangs up is one line, not a traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            log.info("connection dropped", extra={"error": type(exc).__name__})
            return
        super().handle_error(request, client_address)


class _LoggingHandler(WSGIRequestHandler):
    timeout = 30  # a client that stalls mid-request frees its thread after this (seconds)

    def log_message(self, format: str, *args: Any) -> None:  # access log at debug, not stderr
        log.debug("http %s", format % args)


def wsgi_app(
    app: App,
    path: str = EVENTS_PATH,
    *,
    signing_secret: str,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> WSGIApplication:
    """Bolt's WSGI handler behind the guard; `signing_secret` must be the one `app` has."""
    slack = SignedRequestsOnly(
        SlackRequestHandler(app, path), signing_secret, path=path, max_bytes=max_bytes
    )

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            start_response("200 OK", [("content-type", "text/plain")])
            return [b"ok"]
        return slack(environ, start_response)

    return application


def serve_http(
    app: App,
    host: str = "0.0.0.0",
    port: int = 3000,
    path: str = EVENTS_PATH,
    *,
    signing_secret: str,
    max_bytes: int = MAX_REQUEST_BYTES,
    wrap: Callable[[WSGIApplication], WSGIApplication] | None = None,
) -> WSGIServer:
    """Bind the HTTP-mode server (port 0 picks a free one); call `serve_forever` on it.
    `wrap` puts a WSGI middleware in front (e.g. the health probes)."""
    application = wsgi_app(app, path, signing_secret=signing_secret, max_bytes=max_bytes)
    return make_server(
        host,
        port,
        wrap(application) if wrap is not None else application,
        server_class=_ThreadingWSGIServer,
        handler_class=_LoggingHandler,
    )


def run_http(server: WSGIServer) -> None:
    """Serve a bound `serve_http` server until interrupted."""
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()


class WaitingExecutor(ThreadPoolExecutor):
    """The answer pool of a process still starting: work is accepted (the event is acked at
    once) and each task first waits for `ready` (the model loaded), so acks never wait for
    the model and answers never race its loading."""

    def __init__(self, workers: int, ready: Callable[[float | None], bool]) -> None:
        super().__init__(workers, thread_name_prefix="askdesk-answer")
        self._ready = ready

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def when_ready() -> Any:
            self._ready(None)
            return fn(*args, **kwargs)

        return super().submit(when_ready)


class _FirstConnectError(logging.Filter):
    """The SDK logs a failed first connect and raises; the caller reports the raise once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to retrieve WSS URL")


def connect_socket_mode(app: App, app_token: str) -> SocketModeHandler:
    """Open the Socket Mode connection (`apps.connections.open` with the xapp- token) and
    return the handler, which keeps receiving (and reconnecting) on its own threads until
    `close()`. A rejected token raises `SlackApiError`."""
    socket_log = logging.getLogger("askdesk.bots.slack.socket_mode")
    handler = SocketModeHandler(app, app_token=app_token, logger=socket_log)
    quiet = _FirstConnectError()
    socket_log.addFilter(quiet)
    try:
        handler.connect()
    finally:
        socket_log.removeFilter(quiet)
    return handler


