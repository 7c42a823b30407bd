"""`askdesk index`: bring the index in line with a docs folder, recording the run."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from askdesk.cli.context import State, UserError

if TYPE_CHECKING:
    from askdesk.wiring import App
    from retrieval.ingest import IndexReport


DEFAULT_WATCH_MINUTES = 5.0


def register(app: typer.Typer) -> None:
    app.command("index")(index)


def index(
    ctx: typer.Context,
    docs: Annotated[
        Path | None, typer.Argument(help="Docs folder (default: the last one).")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Drop the index and embed everything again.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run report as JSON.")] = False,
    watch: Annotated[
        bool, typer.Option("--watch", help="Reindex in a loop until Ctrl-C, a line per run.")
    ] = False,
    every: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="With --watch: minutes between runs (default: reindex_every_minutes, else 5).",
        ),
    ] = None,
) -> None:
    """Index a docs folder: the first run reads everything, later runs only what changed."""
    state: State = ctx.obj
    if every is not None and not watch:
        raise UserError("--every goes with --watch")
    if watch and rebuild:
        raise UserError("--rebuild re-embeds everything; run it once, without --watch")
    app = state.app()
    folder = app.docs_dir(docs)
    if folder is None:
        raise UserError("which folder? run `askdesk index ./docs` (or set ASKDESK_DOCS_DIR)")
    if watch:
        minutes = every or app.settings.reindex_every_minutes or DEFAULT_WATCH_MINUTES
        typer.echo(f"reindexing {folder} every {minutes:g} min; Ctrl-C stops", err=True)
        watch_folder(app, folder, minutes * 60, as_json=as_json)
        return
    report = run_index(app, folder, rebuild=rebuild, show_progress=not as_json)
    from askdesk.cli.render import print_index_report, print_json

    if as_json:
        print_json(report.as_dict())
    else:
        print_index_report(report)


def watch_folder(
    app: App,
    folder: Path,
    every_s: float,
    *,
    as_json: bool = False,
    echo: Callable[[str], None] = typer.echo,
    stop: threading.Event | None = None,
) -> int:
    """Run the shared reindex job every `every_s` seconds until Ctrl-C (or `stop` is set),
    echoing one line per run; a failed run is reported and the loop goes on, as the
    schedule in the bots does. Returns the number of runs."""
    from askdesk.upkeep import UpkeepError, reindex_job

    stop = stop or threading.Event()
    runs = 0
    try:
        while not stop.is_set():
            started = time.strftime("%Y-%m-%d %H:%M:%S")
            try:
                result = reindex_job(app, docs_root=folder)
            except UpkeepError as exc:
                result = {"status": "failed", "error": str(exc)}
            runs += 1
            echo(json.dumps(result, default=str) if as_json else f"{started} {_run_line(result)}")
            stop.wait(every_s)
    except KeyboardInterrupt:
        echo("stopped")
    return runs


def _run_line(result: dict[str, Any]) -> str:
    status = result.get("status")
    if status == "ok":
        return (
            f"reindexed: {result['docs_added']} added, {result['docs_changed']} changed, "
            f"{result['docs_removed']} removed, {result['docs_unchanged']} unchanged "
            f"({result['chunks_embedded']} chunks embedded, {result['duration_s']:.1f} s)"
        )
    if status == "skipped":
        return f"skipped: {result['reason']}"
    return f"failed: {result.get('error', status)}"


def run_index(
    app: App, folder: Path, *, rebuild: bool = False, show_progress: bool = True
) -> IndexReport:
    """The shared reindex (locked, always recorded) with a terminal progress bar."""
    from askdesk.cli.render import IndexProgress
    from askdesk.upkeep import index_folder

    with IndexProgress(sys.stderr.isatty(), quiet=not show_progress) as progress:
        return index_folder(app, folder, rebuild=rebuild, progress=progress)
