"""`askdesk discord`: run the Discord bot (mentions, DMs, replies, /ask; votes; escalation).

The token's presence is checked before anything loads, Discord checks it next (a second),
and only then does the model load; every way starting can fail is one `error:` line.
"""

from __future__ import annotations

from typing import Annotated

import typer

from askdesk.cli.context import State, UserError


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
    app = state.app()
    secret = app.settings.discord_bot_token
    token = secret.get_secret_value().strip() if secret is not None else ""
    from bots.discord.run import NO_TOKEN, StartupError, run

    if not token:
        raise UserError(NO_TOKEN)
    from askdesk.upkeep import Scheduler, start_upkeep

    app.store.ping()  # an unreachable database is one line now
    desk = app.desk()
    upkeep: list[Scheduler | None] = []
    claim = None
    if app.shared_database:
        from askdesk.fleet import instance_name

        owner = instance_name()

        def claim(key: str) -> bool:
            return app.store.claim(key, owner=owner)

    from askdesk.health import Readiness, serve_probes

    readiness = Readiness(app.store.ping)
    probes = None
    if health_port is not None:
        try:
            probes = serve_probes(health_host, health_port, readiness)
        except OSError as exc:
            raise UserError(
                f"cannot listen on {health_host}:{health_port}: {exc.strerror}"
            ) from exc

    def warm_up() -> None:
        """After Discord accepted the token: load the model, then start the schedule
        (reindex / retention, if the settings ask for them)."""
        desk.engine.warm_up()
        readiness.mark_ready()
        upkeep.append(start_upkeep(app))

    try:
        run(
            token,
            desk,
            app.channels(),
            warm_up=warm_up,
            announce=lambda line: typer.echo(line, err=True),
            claim=claim,
        )
    except StartupError as exc:
        raise UserError(str(exc)) from None
    finally:
        if probes is not None:
            probes.shutdown()
        for scheduler in upkeep:
            if scheduler is not None:
                scheduler.stop()
