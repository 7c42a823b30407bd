"""`askdesk slack`: run the Slack bot — Socket Mode by default, HTTP mode with `--http`.

Credentials are checked in order, before the model loads: their shape first (one line naming
the variable and the prefix it needs), then `auth.test`, so a revoked token is also one line;
then the database (unreachable: one line, exit 2).

HTTP mode serves from the moment the port is bound: events are acked at once (Slack retries
after 3 s) and their answers wait until the model is loaded; `/readyz` says 503 until then.
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Annotated

import typer

from askdesk.cli.context import State, UserError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from pydantic import SecretStr
    from slack_sdk import WebClient


def register(app: typer.Typer) -> None:
    app.command("slack")(slack)


def slack(
    ctx: typer.Context,
    http: Annotated[
        bool,
        typer.Option("--http", help="HTTP mode: serve /slack/events (needs SLACK_SIGNING_SECRET)."),
    ] = False,
    port: Annotated[int, typer.Option(help="HTTP mode: port to listen on.")] = 3000,
    host: Annotated[str, typer.Option(help="HTTP mode: address to bind.")] = "0.0.0.0",
    workers: Annotated[int, typer.Option(min=1, help="Questions answered in parallel.")] = 4,
) -> None:
    """Answer @mentions, DMs and /ask in Slack; record 👍/👎 and escalate to humans.

    Socket Mode needs SLACK_BOT_TOKEN (xoxb-) and SLACK_APP_TOKEN (xapp-); HTTP mode needs
    SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET.
    """
    state: State = ctx.obj
    app = state.app()
    s = app.settings
    from bots.slack import config

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    try:
        bot_token = config.check_bot_token(secret(s.slack_bot_token))
        signing_secret = (
            config.check_signing_secret(secret(s.slack_signing_secret)) if http else None
        )
        app_token = None if http else config.check_app_token(secret(s.slack_app_token))
    except config.SlackConfigError as exc:
        raise UserError(str(exc)) from exc

    client = config.web_client(bot_token, s.slack_api_url)
    who = _auth_test(client)
    app.store.ping()  # an unreachable database is one line now, not an apology per question
    from askdesk.fleet import delivery_keys, work_journal
    from askdesk.health import Readiness, with_health
    from bots.slack.app import build_slack_app
    from bots.slack.run import (
        WaitingExecutor,
        connect_socket_mode,
        run_http,
        run_socket_mode,
        serve_http,
    )

    readiness = Readiness(app.store.ping)
    desk = app.desk()
    pool = WaitingExecutor(workers, readiness.wait)
    bolt = build_slack_app(
        desk,
        app.channels(),
        client=client,
        signing_secret=signing_secret,
        executor=pool,
        seen=delivery_keys(app),
        journal=work_journal(app),
    )
    # Connect (or bind) before loading the model, so a bad app token or a busy port is
    # reported at once; the model then loads before the first answer is due.
    if http:
        try:
            server = serve_http(
                bolt,
                host,
                port,
                signing_secret=signing_secret or "",
                max_bytes=s.slack_max_request_bytes,
                wrap=lambda inner: with_health(inner, readiness),
            )
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        where = f"HTTP mode, http://{host}:{server.server_port}/slack/events"
        serving = threading.Thread(target=run_http, args=(server,), name="askdesk-http")
        serving.daemon = True
        serving.start()  # ack from now on; answers wait for the model (readiness)
    else:
        from slack_sdk.errors import SlackApiError

        try:
            handler = connect_socket_mode(bolt, app_token or "")
        except SlackApiError as exc:
            error = exc.response.get("error")
            raise UserError(f"Slack rejected SLACK_APP_TOKEN ({error})") from exc
        where = "Socket Mode"
    desk.engine.warm_up()
    readiness.mark_ready()
    from askdesk.upkeep import start_upkeep

    upkeep = start_upkeep(app)  # scheduled reindex / retention, if the settings ask for them
    typer.echo(f"askdesk is answering in Slack as @{who} ({where}); Ctrl-C stops it.", err=True)
    try:
        if http:
            # SIGTERM (a restart, a scale-down) stops like Ctrl-C: no new deliveries, then
            # the questions already acked are answered before the process exits
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            try:
                _wait_forever(serving)
            except KeyboardInterrupt:
                server.shutdown()
                _drain(pool, DRAIN_S)
        else:
            run_socket_mode(handler)
    finally:
        if upkeep is not None:
            upkeep.stop()


DRAIN_S = 30.0
"""How long a stopping HTTP-mode bot waits for the answers it already acked."""


def _wait_forever(serving: threading.Thread) -> None:
    """Block (Ctrl-C interrupts) while the HTTP server thread runs."""
    while serving.is_alive():
        serving.join(0.5)


def _drain(pool: Executor, within_s: float) -> None:
    """Finish the queued answers, for at most `within_s` seconds (then say how it ended)."""
    done = threading.Thread(target=pool.shutdown, kwargs={"wait": True}, daemon=True)
    done.start()
    done.join(within_s)
    log.info("stopped", extra={"answers_drained": not done.is_alive()})


def _auth_test(client: WebClient) -> str:
    """The bot's name, or one line on why Slack (or the network) said no."""
    from slack_sdk.errors import SlackApiError

    from askdesk.logs import redact
    from bots.slack import config

    web_log = logging.getLogger(config.WEB_LOG)
    web_log.disabled = True  # the SDK logs each failed attempt; the outcome is reported below
    try:
        result = client.auth_test()
    except SlackApiError as exc:
        raise UserError(f"Slack rejected SLACK_BOT_TOKEN ({exc.response.get('error')})") from exc
    except OSError as exc:
        url = redact(client.base_url)
        raise UserError(f"could not reach the Slack API at {url}: {exc}") from exc
    finally:
        web_log.disabled = False
    return str(result.get("user") or "bot")
