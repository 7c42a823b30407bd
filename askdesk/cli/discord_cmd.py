"""`askdesk discord`: run the Discord bot (mentions, DMs, replies, /ask; votes; escalation).

The token's presence is checked before anything loads, Discord checks it next (a second),
and only then does the model load; every way starting can fail is one `error:` line.
Starting and stopping (probes, warm-up, draining on SIGTERM) are the adapter's own:
`askdesk.bots.discord.run.run`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from askdesk.bots.discord.run import NO_TOKEN, StartupError, run
from askdesk.cli.context import State, UserError
from askdesk.fleet import delivery_keys
from askdesk.health import Readiness, serve_probes
from askdesk.upkeep import start_upkeep

if TYPE_CHECKING:
    from askdesk.surfaces import SurfaceHost
    from askdesk.wiring import App


def register(app: typer.Typer) -> None:
    app.command("discord")(discord_command)


def discord_command(
    ctx: typer.Context,
    health_port: Annotated[
        int | None,
        typer.Option(help="Serve /healthz and /readyz on this port (for an orchestrator)."),
    ] = None,
    health_host: Annotated[str, typer.Option(help="Address for the probes.")] = "0.0.0.0",
) -> None:
    """Answer @mentions, DMs, replies and /ask in Discord; record 👍/👎 and escalate to humans.

    Needs DISCORD_BOT_TOKEN and the Message Content intent (see the README's Discord section).
    Per-channel settings come from [channels."<channel id>"] in askdesk.toml.
    """
    state: State = ctx.obj
    run_discord(state.app(), health_port, health_host)


def serve_surface(host: SurfaceHost) -> None:
    """The built-in `discord` chat surface: `askdesk chat discord [-o health_port=N]`."""
    port = host.int_option("health_port")
    run_discord(host.app, port, host.option("health_host") or "0.0.0.0")


def run_discord(app: App, health_port: int | None, health_host: str) -> None:
    """Check the token, connect, warm up, answer until stopped (`askdesk.bots.discord.run.run`)."""
    secret = app.settings.discord_bot_token
    token = secret.get_secret_value().strip() if secret is not None else ""

    if not token:
        raise UserError(NO_TOKEN)

    app.store.ping()  # an unreachable database is one line now
    desk = app.desk()
    claims = delivery_keys(app)  # fleet-wide on a shared database (one process answers)
    readiness = Readiness(app.store.ping)
    probes = None
    if health_port is not None:
        port = health_port

        def probes() -> Any:
            try:
                return serve_probes(health_host, port, readiness)
            except OSError as exc:
                raise UserError(f"cannot listen on {health_host}:{port}: {exc.strerror}") from exc

    try:
        run(
            token,
            desk,
            app.channels(),
            warm_up=desk.engine.warm_up,
            announce=lambda line: typer.echo(line, err=True),
            claims=claims,
            policy=app.follow_up_policy(),
            readiness=readiness,
            probes=probes,
            after_ready=lambda: start_upkeep(app),  # scheduled reindex / retention, if set
        )
    except StartupError as exc:
        raise UserError(str(exc)) from None
