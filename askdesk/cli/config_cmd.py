"""`askdesk config check`: is the configuration valid, and what is in effect, from where."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from askdesk.cli.context import State, UserError
from askdesk.composers import known_backends, unknown_backend
from askdesk.registry import TONE_SCORERS, known, unknown
from askdesk.settings import config_file
from askdesk.settings_report import effective

config_app = typer.Typer(
    help="The configuration: askdesk.toml, ASKDESK_* variables and .env.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("check")
def check(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Validate the settings (unknown names, bad values, an unknown answer_backend or
    tone_scorer), then print each setting's effective value and where it came from; secrets
    masked."""
    state: State = ctx.obj
    settings = state.settings()  # an unknown or invalid setting is one error line, exit 2

    given = {"data_dir"} if state.data_dir is not None else set()
    rows = effective(settings, given)
    problem = (
        None
        if settings.answer_backend in known_backends()
        else unknown_backend(settings.answer_backend)
    )
    if problem is None and settings.tone_scorer not in known(TONE_SCORERS):
        problem = unknown(TONE_SCORERS, settings.tone_scorer)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "config_file": str(config_file()),
                    "valid": problem is None,
                    "settings": [r.as_dict() for r in rows],
                },
                indent=2,
                ensure_ascii=False,
                default=str,
            )
        )
    else:
        found = "" if config_file().is_file() else " (not found: defaults and environment only)"
        typer.echo(f"config file: {config_file()}{found}")
        width = max(len(r.name) for r in rows)
        for r in rows:
            value = json.dumps(r.value, ensure_ascii=False, default=str)
            typer.echo(f"{r.name:<{width}} = {value}  # {r.origin}")
    if problem is not None:
        what, _, hint = problem.partition(" (")
        raise UserError(what, hint.rstrip(")") or None)
    if not as_json:
        typer.echo("configuration ok")
