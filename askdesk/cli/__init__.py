"""The `askdesk` command line: a Typer app whose commands live one per module, loaded lazily.

The root group knows each command's name, module and one-line help from `COMMANDS` and imports
the module only when that command runs (click's lazy-group pattern, on Typer's group class), so
`askdesk --help` and a cold `askdesk ask` import nothing of the other commands, and each command
module imports what it needs at its top. Known failures become one `error:` line and exit code 2,
never a trace.
"""

from __future__ import annotations

import importlib
import sys
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.exceptions import UsageError  # typer vendors click: only importable there
from typer._click.utils import make_default_short_help
from typer.core import TyperGroup

from askdesk.cli.context import State, fail_cleanly

#: command name → (module under askdesk.cli, the one-line help `askdesk --help` shows).
#: The help must be the command's own (its docstring's first sentence): tests/test_cli_lazy.py
#: loads every command and compares.
COMMANDS: dict[str, tuple[str, str]] = {
    "index": (
        "index_cmd",
        "Index your docs: the first run reads everything, later runs only what changed.",
    ),
    "sources": ("index_cmd", "List the configured sources: last sync, documents, errors."),
    "ask": ("ask_cmd", "Ask a question; the answer quotes the docs and cites them as [1], [2]…"),
    "search": (
        "search_cmd",
        "Show the top chunks with their fused score, cosine similarity and per-retriever ranks.",
    ),
    "eval": (
        "eval_cmd",
        "Score hit@k, MRR, nDCG@10, answer F1, useful@0.5, groundedness, tone, the share of "
        "unanswerable questions declined, and latency; store the run and optionally compare it "
        "with the previous one.",
    ),
    "status": (
        "status_cmd",
        "Index size, the last index run, and documents added/changed/removed on disk since.",
    ),
    "vote": ("vote_cmd", "Vote on an answer; voting again replaces your earlier vote."),
    "demo": (
        "demo_cmd",
        "Index the sample docs, answer questions, store an eval run, then open the dashboard.",
    ),
    "slack": (
        "slack_cmd",
        "Answer @mentions, DMs and /ask in Slack; record 👍/👎 and escalate to humans.",
    ),
    "discord": (
        "discord_cmd",
        "Answer @mentions, DMs, replies and /ask in Discord; record 👍/👎 and escalate to humans.",
    ),
    "serve": (
        "serve_cmd",
        "Serve the HTTP API (POST /v1/ask, votes, OpenAPI at /v1/openapi.json) and the chat "
        'widget a docs site includes: <script src="http://HOST:PORT/v1/chat.js" data-key="…">.',
    ),
    "chat": (
        "chat_cmd",
        "Run a chat surface: answer its questions with sources, record votes, escalate.",
    ),
    "dashboard": (
        "dashboard_cmd",
        "Charts, the reindex/retrain recommendation, query history and a playground, in a browser.",
    ),
    "style": (
        "style_cmd",
        "The style model: brand voice on top of grounded answers, facts guarded.",
    ),
    "privacy": (
        "privacy_cmd",
        "Retention and personal data: purge old answers, forget or export one person.",
    ),
    "config": ("config_cmd", "The configuration: askdesk.toml, ASKDESK_* variables and .env."),
}

RICH_MARKUP = None  # plain help text, for the root and every command loaded under it


def load_command(name: str) -> Any:
    """The click command (or sub-group) `name`, built from its module's `register(app)`."""
    module = importlib.import_module(f"askdesk.cli.{COMMANDS[name][0]}")
    holder = typer.Typer(rich_markup_mode=RICH_MARKUP, add_completion=False)
    module.register(holder)
    return typer.main.get_group(holder).commands[name]


class LazyCommands(TyperGroup):
    """Typer's group, with the commands of `COMMANDS` imported on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(n for n in self.commands if n not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list from the table: `--help` imports no command module."""
        limit = formatter.width - 6 - max(len(n) for n in COMMANDS)
        rows = [(n, make_default_short_help(h, limit)) for n, (_, h) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """As Typer's, with "did you mean" drawn from the table (Typer's own suggestion step
        sees only the commands loaded so far)."""
        try:
            return self._click_resolve_command(ctx, args)
        except UsageError as exc:
            matches = get_close_matches(args[0], list(COMMANDS)) if args else []
            if matches:
                suggestions = ", ".join(f"{m!r}" for m in matches)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
            raise


app = typer.Typer(
    name="askdesk",
    cls=LazyCommands,
    help="Answer questions from your docs, with sources. Index a folder, then ask.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=RICH_MARKUP,
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


def main() -> None:
    with fail_cleanly():
        # not standalone: click's own "Error: …" usage lines come to fail_cleanly, which
        # prints them in askdesk's one style
        code = app(prog_name="askdesk", standalone_mode=False)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
