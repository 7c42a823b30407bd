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
from askdesk.cli.render import IndexProgress, print_index_report, print_json
from askdesk.core.freshness import sources_overview
from askdesk.retrieval.sources import FolderSource
from askdesk.sourcing import describe, documents_elsewhere, is_remote, one_off
from askdesk.upkeep import UpkeepError, index_folder, index_source, reindex_job, sync_configured

if TYPE_CHECKING:
    from askdesk.retrieval.ingest import IndexReport
    from askdesk.wiring import App


DEFAULT_WATCH_MINUTES = 5.0


def register(app: typer.Typer) -> None:
    app.command("index")(index)
    app.command("sources")(sources)


def index(
    ctx: typer.Context,
    docs: Annotated[
        str | None,
        typer.Argument(
            metavar="[SOURCE]",
            help="A docs folder, an http(s):// site, a git+ URL, or a configured source's "
            "name (default: every [[sources]] entry, else the last folder).",
        ),
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
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Let a folder, site or repository given here replace a desk that holds "
            "documents from elsewhere (else: asked on a terminal, refused otherwise).",
        ),
    ] = False,
) -> None:
    """Index your docs: the first run reads everything, later runs only what changed."""
    state: State = ctx.obj
    if every is not None and not watch:
        raise UserError("--every goes with --watch", "add --watch")
    if watch and rebuild:
        raise UserError("--rebuild re-embeds everything", "run it once, without --watch")
    app = state.app()
    configured = {s.name for s in app.settings.sources}
    if (docs is None and configured) or (docs is not None and docs in configured):
        _sync_configured(app, docs, rebuild=rebuild, as_json=as_json, watch=watch, every=every)
        return

    if docs is not None and is_remote(docs):
        if watch:
            raise UserError(
                "--watch takes a folder or the configured sources", "not a site or repository"
            )
        source = one_off(app.settings, docs)
        confirm_replacing(app, source, docs, replace=replace)
        _one_off(app, source, rebuild=rebuild, as_json=as_json)
        return
    folder = app.docs_dir(Path(docs) if docs is not None else None)
    if folder is None:
        raise UserError("which folder?", "e.g. askdesk index askdesk/sample/docs, or set docs_dir")

    source = FolderSource(folder)
    source.check()  # a folder that isn't there is "not found", before any talk of replacing
    confirm_replacing(app, source, str(folder), replace=replace)
    if watch:
        minutes = every or app.settings.reindex_every_minutes or DEFAULT_WATCH_MINUTES
        typer.echo(f"reindexing {folder} every {minutes:g} min; Ctrl-C stops", err=True)
        watch_folder(app, folder, minutes * 60, as_json=as_json)
        return
    report = run_index(app, folder, rebuild=rebuild, show_progress=not as_json)

    if as_json:
        print_json(report.as_dict())
    else:
        print_index_report(report)


def confirm_replacing(app: App, source: Any, given: str, *, replace: bool) -> None:
    """A source given on the command line becomes the whole desk: documents from elsewhere
    (another folder or site indexed this way, configured sources) would go. Say how many
    and from where; go ahead only with --replace or a yes on a terminal."""
    elsewhere = documents_elsewhere(app, source)
    if not elsewhere or replace:
        return
    what = f"indexing {given} as the whole desk would remove {describe(elsewhere)}"
    if sys.stdin.isatty():
        typer.echo(f"{what}.", err=True)
        if typer.confirm("Replace them?", default=False, err=True):
            return
        typer.echo("not replaced; the index was not changed", err=True)
        raise typer.Exit(1)
    raise UserError(
        what,
        "add --replace to go ahead; to keep both, list each under [[sources]] in askdesk.toml",
    )


def _one_off(app: App, source: Any, *, rebuild: bool, as_json: bool) -> None:
    """A site or repository given on the command line, synced as the whole desk."""
    with IndexProgress(sys.stderr.isatty(), quiet=as_json) as progress:
        try:
            report = index_source(app, source, rebuild=rebuild, progress=progress)
        except Exception as exc:
            if isinstance(exc, (UserError, KeyboardInterrupt)):
                raise
            text = str(exc).strip().splitlines()
            said = text[0] if text else type(exc).__name__
            if source.location not in said:
                said = f"{source.location}: {said}"
            raise UserError(said, "the index was not changed") from exc
    if as_json:
        print_json(report.as_dict())
    else:
        print_index_report(report)


def _sync_configured(
    app: App,
    only: str | None,
    *,
    rebuild: bool,
    as_json: bool,
    watch: bool,
    every: float | None,
) -> None:
    """`askdesk index` with `[[sources]]` configured: every source (or the one named)."""
    if watch:
        minutes = every or app.settings.reindex_every_minutes or DEFAULT_WATCH_MINUTES
        typer.echo(f"syncing the configured sources every {minutes:g} min; Ctrl-C stops", err=True)
        watch_folder(app, None, minutes * 60, as_json=as_json)
        return
    with IndexProgress(sys.stderr.isatty(), quiet=as_json) as progress:
        try:
            result = sync_configured(app, only=only, rebuild=rebuild, ingest_progress=progress)
        except UpkeepError as exc:
            raise UserError(str(exc)) from exc
    if as_json:
        print_json(result)
    else:
        for line in result.get("message", "").split("; "):
            typer.echo(line)
    if result.get("status") == "skipped":
        raise UserError(str(result.get("reason")))
    if result.get("status") != "ok":
        raise typer.Exit(1)


def sources(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the configured sources: last sync, documents, errors."""
    state: State = ctx.obj
    app = state.app()

    unique: dict[str, Any] = {}
    for conf in app.settings.sources:
        unique.setdefault(conf.name, conf)  # the first entry wins, as in a sync
    rows = sources_overview(
        [(s.name, s.kind, where_of(s)) for s in unique.values()],
        app.index,
        lambda name: app.store.index_runs.last_finished(source=name),
    )
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no [[sources]] in the config; `askdesk index SOURCE` indexes one folder/site")
        return
    for r in rows:
        last = r["last_sync_at"] or "never"
        line = (
            f"{r['name']} ({r['kind']}) {r['location']}: {r['documents']} documents, "
            f"last sync {last} {r['last_status'] or ''}".rstrip()
        )
        if r.get("revision"):
            line += f" at {r['revision'][:12]}"
        if r.get("skipped"):
            line += f", {r['skipped']} skipped"
        if r.get("error"):
            line += f"; error: {r['error']}"
        typer.echo(line)
    names = [s.name for s in app.settings.sources]
    for name in sorted({n for n in names if names.count(n) > 1}):
        typer.echo(f"warning: source name {name!r} is used twice; the second is skipped")


def where_of(conf: Any) -> str:
    """Where a configured source is, as it may be shown (no credentials)."""
    return str(conf.where)


def watch_folder(
    app: App,
    folder: Path | None,
    every_s: float,
    *,
    as_json: bool = False,
    echo: Callable[[str], None] = typer.echo,
    stop: threading.Event | None = None,
) -> int:
    """Run the shared reindex job every `every_s` seconds until Ctrl-C (or `stop` is set;
    `folder` None: the configured sources),
    echoing one line per run; a failed run is reported and the loop goes on, as the
    schedule in the bots does. Returns the number of runs."""
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
    if "sources" in result:
        return f"{status}: {result.get('message', '')}"
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
    with IndexProgress(sys.stderr.isatty(), quiet=not show_progress) as progress:
        return index_folder(app, folder, rebuild=rebuild, progress=progress)
