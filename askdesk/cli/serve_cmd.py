"""`askdesk serve`: the HTTP API and the embeddable chat widget (bots/http).

Keys come from `http_api_keys` (ASKDESK_HTTP_API_KEYS); without one nothing starts. The
server answers /v1/health with 503 until the index and models are loaded, then 200; SIGTERM
or Ctrl-C stops taking requests and lets those in flight finish."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from askdesk.bots.http.app import HttpConfig
from askdesk.bots.http.build import http_server
from askdesk.bots.http.keys import KeyConfigError, digest, parse_keys
from askdesk.cli.context import State, UserError
from askdesk.health import Readiness
from askdesk.upkeep import start_upkeep

if TYPE_CHECKING:
    from askdesk.surfaces import SurfaceHost
    from askdesk.wiring import App

NO_KEYS = "no HTTP API keys"
NO_KEYS_HINT = (
    "set ASKDESK_HTTP_API_KEYS='name=secret' (16+ characters), or "
    'http_api_keys = "name=sha256:…" in askdesk.toml; askdesk serve --hash-key SECRET'
)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def serve_command(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to bind (http_host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (http_port; 0: a free one).")] = None,
    hash_key: Annotated[
        str | None,
        typer.Option(help="Print the sha256: form of a secret for http_api_keys, and exit."),
    ] = None,
) -> None:
    """Serve the HTTP API (POST /v1/ask, votes, OpenAPI at /v1/openapi.json) and the chat
    widget a docs site includes: <script src="http://HOST:PORT/v1/chat.js" data-key="…">."""
    if hash_key is not None:
        typer.echo(f"sha256:{digest(hash_key).hex()}")
        return
    state: State = ctx.obj
    run_http(state.app(), host, port)


def serve_surface(host: SurfaceHost) -> None:
    """The built-in `http` chat surface: `askdesk chat http [-o host=ADDR] [-o port=N]`."""
    run_http(host.app, host.option("host"), host.int_option("port"))


def run_http(app: App, host: str | None, port: int | None) -> None:
    """Serve the API and the widget until SIGTERM or Ctrl-C, then finish what is in flight."""

    s = app.settings
    secret = s.http_api_keys.get_secret_value() if s.http_api_keys is not None else ""
    try:
        keys = parse_keys(secret.split(","))
    except KeyConfigError as exc:
        hint = "http_api_keys holds name=secret entries, comma-separated"
        raise UserError(str(exc), hint) from None
    if not keys:
        raise UserError(NO_KEYS, NO_KEYS_HINT)

    app.store.ping()  # an unreachable database is one line now
    desk = app.desk()
    readiness = Readiness(app.store.ping)
    config = HttpConfig(
        cors_origins=tuple(s.http_cors_origins),
        max_body_bytes=s.http_max_body_bytes,
        asks_per_minute=s.http_asks_per_minute,
    )
    server = http_server(
        desk,
        keys,
        channels=app.channels(),
        config=config,
        policy=app.follow_up_policy(),
        ready=readiness,
        host=host or s.http_host,
        port=s.http_port if port is None else port,
    )
    try:
        server.start()
    except OSError as exc:
        raise UserError(
            f"cannot listen on {server.host}:{server.port}: {exc.strerror}",
            "choose another --port, or 0 for a free one",
        ) from None
    typer.echo(
        f"askdesk API on {server.url} (keys: {', '.join(k.name for k in keys)}; "
        f"widget: {server.url}/v1/chat.js); Ctrl-C stops",
        err=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    upkeep = None
    try:
        desk.engine.warm_up()
        readiness.mark_ready()
        upkeep = start_upkeep(app)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if upkeep is not None:
            upkeep.stop()
