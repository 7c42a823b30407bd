"""`askdesk index`: bring the index in line with a docs folder, recording the run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from askdesk.cli.context import State, UserError

if TYPE_CHECKING:
    from askdesk.wiring import App
    from retrieval.ingest import IndexReport


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
) -> None:
    """Index a docs folder: the first run reads everything, later runs only what changed."""
    state: State = ctx.obj
    app = state.app()
    folder = app.docs_dir(docs)
    if folder is None:
        raise UserError("which folder? run `askdesk index ./docs` (or set ASKDESK_DOCS_DIR)")
    report = run_index(app, folder, rebuild=rebuild, show_progress=not as_json)
    from askdesk.cli.render import print_index_report, print_json

    if as_json:
        print_json(report.as_dict())
    else:
        print_index_report(report)


def run_index(
    app: App, folder: Path, *, rebuild: bool = False, show_progress: bool = True
) -> IndexReport:
    """Run the ingester and always record the run, also when it fails or is interrupted."""
    from askdesk.cli.render import IndexProgress
    from askdesk.locking import exclusive

    ingester = app.ingester()
    try:
        with (
            exclusive(app.settings.data_dir / "index.lock", "index run"),
            IndexProgress(sys.stderr.isatty(), quiet=not show_progress) as progress,
        ):
            report = ingester.run(folder, rebuild=rebuild, progress=progress)
    except BaseException:
        if ingester.last_report is not None:
            _record(app, ingester.last_report)
        raise
    _record(app, report)
    return report


def _record(app: App, report: IndexReport) -> None:
    import logging

    try:
        app.store.record_index_run(**_run_fields(report))
    except Exception as exc:  # the index is updated either way; say the history missed it
        logging.getLogger(__name__).warning("could not record the index run: %s", exc)


def _run_fields(report: IndexReport) -> dict[str, Any]:
    d = report.as_dict()
    d.pop("ignored", None)
    return d
