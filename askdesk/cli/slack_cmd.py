"""`askdesk slack`: run the Slack bot — Socket Mode by default, HTTP mode with `--http`.

Credentials are checked in order, before the model loads: their shape first (one line naming
the variable and the prefix it needs), then `auth.test`, so a revoked token is also one line;
then the database (unreachable: one line, exit 2).

Starting, serving and stopping (bind, warm up, drain on SIGTERM) are the adapter's own:
`askdesk.bots.slack.service.SlackService`. HTTP mode acks events from the moment the port is bound;
`/readyz` says 503 until the model is loaded.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

import typer
from slack_sdk.errors import SlackApiError

from askdesk.bots.slack import config
from askdesk.bots.slack.service import SlackService, SlackStartError
from askdesk.cli.context import State, UserError
from askdesk.fleet import delivery_keys, work_journal
from askdesk.health import Readiness, with_health
from askdesk.logs import redact
from askdesk.upkeep import start_upkeep

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from pydantic import SecretStr
    from slack_sdk import WebClient

    from askdesk.surfaces import SurfaceHost
    from askdesk.wiring import App


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
    run_slack(state.app(), http=http, port=port, host=host, workers=workers)


def serve_surface(surface: SurfaceHost) -> None:
    """The built-in `slack` chat surface: `askdesk chat slack [-o http=true -o port=3000
    -o host=0.0.0.0] [-o workers=4]` (Socket Mode without `http`)."""
    run_slack(
        surface.app,
        http=surface.flag_option("http"),
        port=surface.int_option("port", 3000) or 0,
        host=surface.option("host") or "0.0.0.0",
        workers=max(1, surface.int_option("workers", 4) or 1),
    )


def run_slack(app: App, *, http: bool, port: int, host: str, workers: int) -> None:
    """Check the credentials, connect or bind, warm up, answer until stopped."""
    s = app.settings

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

    readiness = Readiness(app.store.ping)
    desk = app.desk()
    service = SlackService(
        desk,
        app.channels(),
        client=client,
        readiness=readiness,
        signing_secret=signing_secret,
        workers=workers,
        seen=delivery_keys(app),
        journal=work_journal(app),
        policy=app.follow_up_policy(),
    )
    # Connect (or bind) before loading the model, so a bad app token or a busy port is
    # reported at once; the model then loads before the first answer is due.
    try:
        if http:
            service.bind_http(
                host,
                port,
                max_bytes=s.slack_max_request_bytes,
                wrap=lambda inner: with_health(inner, readiness),
            )
        else:
            service.connect_socket(app_token or "")
    except SlackStartError as exc:
        raise UserError(str(exc)) from exc
    service.serve(
        desk.engine.warm_up,
        after_ready=lambda: start_upkeep(app),  # scheduled reindex / retention, if set
        announce=lambda line: typer.echo(line, err=True),
        who=who,
    )


def _auth_test(client: WebClient) -> str:
    """The bot's name, or one line on why Slack (or the network) said no."""
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
