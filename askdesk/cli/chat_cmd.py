"""`askdesk chat NAME`: run any registered chat surface, built-in or installed, by name.

`askdesk chat slack|discord|http` run the built-ins (the same as `askdesk slack`, `askdesk
discord`, `askdesk serve`, whose options are given here as `--option key=value`); any other
name is a surface installed through the `askdesk.surfaces` entry points (ARCHITECTURE.md,
"Adding a chat surface"). SIGTERM or Ctrl-C asks the surface to stop.
"""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from askdesk.cli.context import State, UserError
from askdesk.registry import SURFACES, known
from askdesk.surfaces import SurfaceHost, runner


def register(app: typer.Typer) -> None:
    app.command("chat")(chat_command)


def parse_options(pairs: list[str]) -> dict[str, str]:
    """`key=value` pairs; anything else is one line naming it."""
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--option {pair!r} is not key=value", "e.g. --option port=0")
        options[key.strip()] = value
    return options


def chat_command(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help="The surface: slack, discord, http, or installed.")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="A setting of the surface, key=value (repeatable)."),
    ] = None,
    list_only: Annotated[
        bool, typer.Option("--list", help="List the surfaces this install can run, and exit.")
    ] = False,
) -> None:
    """Run a chat surface: answer its questions with sources, record votes, escalate."""
    if list_only:
        typer.echo("\n".join(known(SURFACES)))
        return
    if not name or not name.strip():
        raise UserError("name the chat surface to run", "askdesk chat --list shows them")
    serve = runner(name.strip().lower())  # an unknown name is one line before anything loads
    state: State = ctx.obj
    app = state.app()
    host = SurfaceHost(
        app,
        name.strip().lower(),
        parse_options(option or []),
        announce=lambda line: typer.echo(line, err=True),
    )
    previous = signal.signal(signal.SIGTERM, lambda *_: host.stopping.set())
    try:
        serve(host)
    except KeyboardInterrupt:
        pass
    finally:
        host.stopping.set()
        signal.signal(signal.SIGTERM, previous)
