"""`askdesk demo`: the whole loop on the bundled sample docs, with no tokens and no setup."""

from __future__ import annotations

import getpass
import os
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from askdesk.cli.context import State
from askdesk.cli.dashboard_cmd import serve
from askdesk.cli.eval_cmd import run_and_store
from askdesk.cli.index_cmd import run_index
from askdesk.cli.render import IndexProgress, console, print_answer, print_index_report
from askdesk.core.types import Question
from askdesk.demo import (
    ensure_tone_scorer,
    install_sample_style,
    sample_dir,
    seed_history,
    seed_traffic,
)
from askdesk.wiring import App

DEMO_QUESTIONS = (
    "How do I rotate my API key?",
    "My webhook endpoint was down for an hour. Will I lose events?",
    # off the docs' topic, so declined ("Can I pay with bitcoin?" is answered: the billing PDF
    # says cryptocurrencies are not accepted)
    "What is the weather in Lisbon today?",
)


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
    dashboard: Annotated[
        bool, typer.Option(help="End by serving the dashboard (Ctrl-C stops it).")
    ] = True,
    port: Annotated[int | None, typer.Option(help="Dashboard port (default 8050).")] = None,
) -> None:
    """Index the sample docs, answer questions, store an eval run, then open the dashboard."""
    state: State = ctx.obj
    if state.data_dir is None:  # never mixes with your own index
        state.data_dir = state.settings().data_dir / "demo"
    app = state.app()
    docs = sample_dir() / "docs"
    console.rule("askdesk demo")
    console.print(
        f"1. Indexing the sample docs of “Tidewire”, a made-up product ({docs}).\n"
        f"   Index and database go to {app.settings.data_dir}/ (first run loads the model).\n"
    )
    print_index_report(run_index(app, docs))

    version = install_sample_style(app)
    note = ensure_tone_scorer(app)
    if version:
        console.print(
            f"\n2. Style model: the bundled sample version {version} is active; answers "
            "below are rewritten in the sample brand voice (facts guarded; the same "
            "answer every run)."
        )
    else:
        console.print(
            "\n2. Style model: none bundled; answers stay plain grounded drafts "
            f"(`{_command()} style train` makes one)."
        )
    if note:
        console.print(f"   Tone of every answer is scored ({note}).")

    engine = app.engine()
    engine.warm_up(style=bool(version))
    user = getpass.getuser()
    console.print("\n3. A few questions, answered from the docs with their sources:")
    for q in DEMO_QUESTIONS:
        console.rule(f"[bold]Q: {q}[/bold]", align="left")
        asked = Question(q, platform="cli", channel="demo", asker_id=user, style=bool(version))
        print_answer(engine.answer(asked))

    golden = sample_dir() / "golden.jsonl"
    console.print(f"\n4. Scoring the golden set ({golden.name}) and storing the eval run.")
    with IndexProgress(sys.stderr.isatty()) as progress:
        report, _, run_id = run_and_store(
            app, golden, "demo", progress=lambda d, t: progress("eval", d, t)
        )
    s = report.summary
    console.print(
        f"   eval run #{run_id}: hit@5 {_num(s.get('hit@5'))}, MRR {_num(s.get('mrr'))}, "
        f"groundedness {_num(s.get('groundedness'))}"
    )
    _simulate_traffic_and_history(app, golden, run_id)
    if not dashboard:
        console.print(
            f"\nOpen the dashboard: {_command()} --data-dir {app.settings.data_dir} dashboard"
        )
        return
    console.print("\n7. The dashboard: the recommendation, charts, gaps, history and a playground.")
    serve(app, port=port)


def _simulate_traffic_and_history(app: App, golden: Path, run_id: int) -> None:
    """Steps 5 and 6: chat traffic with demo votes, then weeks of simulated history, each
    labelled as such, so the dashboard has trends to show."""
    console.print(
        "\n5. Asking those questions again as Slack, Discord and web users, with simulated "
        "votes (labelled as demo data in the dashboard)."
    )
    with IndexProgress(sys.stderr.isatty()) as progress:
        traffic = seed_traffic(app.desk(), golden, progress=lambda d, t: progress("ask", d, t))
    console.print(
        f"   {traffic.asked} questions, {traffic.unanswered} not found in the docs; "
        f"demo votes 👍 helpful {traffic.up} / 👎 not helpful {traffic.down}"
    )
    story = seed_history(app.store, run_id, app.active_style_version())
    style_line = (
        f", style version {story.previous_style} replaced by {story.style} on "
        f"{_date(story.style_change_at)}"
        if story.style_change_at
        else ""
    )
    console.print(
        f"\n6. SIMULATED history for the dashboard's trends: {_date(story.start)} to "
        f"{_date(story.end)}, {story.answers} made-up answers (copies of the real ones above, "
        f"re-dated), {story.votes} made-up votes, {story.eval_runs} eval runs and "
        f"{story.index_runs} index runs: the docs drift from {_date(story.drift_start)}, "
        f"a reindex on {_date(story.reindex_at)}{style_line}.\n"
        "   Every such row is flagged simulated in the database and shaded in the dashboard; "
        "today's data above is real."
    )


def _date(value: datetime | None) -> str:
    return "?" if value is None else value.strftime("%b %d")


def _num(value: object) -> str:
    return "n/a" if value is None else f"{value:.2f}"
