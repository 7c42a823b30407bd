"""The `askdesk` command line: a Typer app whose commands live one per module.

Heavy imports (torch, LanceDB, SQLAlchemy) happen inside the commands, so `askdesk --help`
answers instantly. Known failures become one `error:` line and exit code 2, never a trace.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from askdesk.cli import (
    ask_cmd,
    chat_cmd,
    config_cmd,
    dashboard_cmd,
    demo_cmd,
    discord_cmd,
    eval_cmd,
    index_cmd,
    privacy_cmd,
    search_cmd,
    serve_cmd,
    slack_cmd,
    status_cmd,
    style_cmd,
    vote_cmd,
)
from askdesk.cli.context import State, fail_cleanly

app = typer.Typer(
    name="askdesk",
    help="Answer questions from your docs, with sources. Index a folder, then ask.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Where the index and database live (ASKDESK_DATA_DIR)."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log info to stderr too.")
    ] = False,
) -> None:
    ctx.obj = State(data_dir=data_dir, verbose=verbose)


for module in (
    index_cmd,
    ask_cmd,
    search_cmd,
    eval_cmd,
    status_cmd,
    vote_cmd,
    demo_cmd,
    slack_cmd,
    discord_cmd,
    serve_cmd,
    chat_cmd,
    style_cmd,
    dashboard_cmd,
    privacy_cmd,
    config_cmd,
):
    module.register(app)


def main() -> None:
    with fail_cleanly():
        # not standalone: click's own "Error: …" usage lines come to fail_cleanly, which
        # prints them in askdesk's one style
        code = app(prog_name="askdesk", standalone_mode=False)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
