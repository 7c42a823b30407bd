"""`askdesk discord`: run the Discord bot (mentions, DMs, replies, /ask; votes; escalation).

The token's presence is checked before anything loads, Discord checks it next (a second),
and only then does the model load; every way starting can fail is one `error:` line.
"""

from __future__ import annotations

import typer

from askdesk.cli.context import State, UserError


def register(app: typer.Typer) -> None:
    app.command("discord")(discord_command)


def discord_command(ctx: typer.Context) -> None:
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

    desk = app.desk()
    upkeep: list[Scheduler | None] = []

    def warm_up() -> None:
        """After Discord accepted the token: load the model, then start the schedule
        (reindex / retention, if the settings ask for them)."""
        desk.engine.warm_up()
        upkeep.append(start_upkeep(app))

    try:
        run(
            token,
            desk,
            app.channels(),
            warm_up=warm_up,
            announce=lambda line: typer.echo(line, err=True),
        )
    except StartupError as exc:
        raise UserError(str(exc)) from None
    finally:
        for scheduler in upkeep:
            if scheduler is not None:
                scheduler.stop()
