"""`askdesk demo`: the whole loop on the bundled sample docs, with no tokens and no setup."""

from __future__ import annotations

import getpass
import os
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from askdesk.cli.context import State

DEMO_QUESTIONS = (
    "How do I rotate my API key?",
    "My webhook endpoint was down for an hour. Will I lose events?",
    "Can I pay with bitcoin?",
)


def sample_dir() -> Path:
    return Path(str(resources.files("askdesk") / "sample"))


def _command() -> str:
    """How to call askdesk from here: `make demo` runs it from .venv, which may not be on PATH."""
    if shutil.which("askdesk"):
        return "askdesk"
    launched = Path(sys.argv[0])
    return os.path.relpath(launched) if launched.name == "askdesk" else "askdesk"


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    ctx: typer.Context,
    interactive: Annotated[
        bool, typer.Option(help="Ask your own questions after the samples (needs a terminal).")
    ] = True,
) -> None:
    """Index the bundled sample docs, answer a few questions, then take yours."""
    state: State = ctx.obj
    if state.data_dir is None:
        from askdesk.settings import Settings

        state.data_dir = Settings().data_dir / "demo"  # never mixes with your own index
    app = state.app()
    from askdesk.cli.index_cmd import run_index
    from askdesk.cli.render import console, print_answer, print_index_report
    from core.types import Question

    docs = sample_dir() / "docs"
    console.rule("askdesk demo")
    console.print(
        f"Indexing the sample docs of “Tidewire”, a made-up product ({docs}).\n"
        f"Index and database go to {app.settings.data_dir}/ (first run loads the model).\n"
    )
    print_index_report(run_index(app, docs))
    engine = app.engine()
    engine.warm_up()
    user = getpass.getuser()
    for q in DEMO_QUESTIONS:
        console.rule(f"[bold]Q: {q}[/bold]", align="left")
        print_answer(engine.answer(Question(q, platform="cli", channel="demo", asker_id=user)))
    if not (interactive and sys.stdin.isatty()):
        console.print(
            f"\nTry your own: {_command()} --data-dir "
            f'{app.settings.data_dir} ask "how do I invite a teammate?"'
        )
        return
    console.print("\nYour turn — ask about Tidewire (empty line or Ctrl-D to quit).")
    while True:
        try:
            text = input("\n? ")
        except EOFError:
            break
        if not text.strip() or text.strip().lower() in {"q", "quit", "exit"}:
            break
        print_answer(engine.answer(Question(text, platform="cli", channel="demo", asker_id=user)))
