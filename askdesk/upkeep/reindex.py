"""The incremental reindex every entry point shares: the CLI, the dashboard and the schedule.

Runs never overlap (a per-data-dir file lock; on a shared PostgreSQL a fleet-wide advisory
lock, see `askdesk.fleet`), every run is recorded as an IndexRun, also a
failed one, and a failed run leaves the last good index serving: the ingester writes whole
documents per atomic batch, so searches keep answering from what was there. The row is
written as "running" when the run starts, so a run killed outright (kill -9) is still seen:
`run_state` shows it as interrupted, and the next run closes it as such.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askdesk.feedback.index_runs import ABANDONED_RUN
from askdesk.feedback.records import IndexRunRecord
from askdesk.fleet import fleet_lock, lock_held
from askdesk.locking import Busy
from askdesk.retrieval.sources import FolderSource
from askdesk.retrieval.writer_lock import Tables, WriterBusy, index_writer
from askdesk.sourcing import plan
from askdesk.upkeep.calibrate import calibrate_answers
from askdesk.upkeep.errors import UpkeepError
from askdesk.upkeep.outcome import skipped
from askdesk.upkeep.progress import IngestProgress, JobProgress, guarded

if TYPE_CHECKING:
    from askdesk.retrieval.ingest import IndexReport, Progress
    from askdesk.retrieval.sources import Source
    from askdesk.wiring import App

log = logging.getLogger(__name__)

NO_FOLDER = "no docs folder yet: set docs_dir or run `askdesk index ./docs` once"


INDEX_LOCK = "index"
"""The lock's name: DATA_DIR/index.lock on SQLite, an advisory lock on PostgreSQL."""


def index_lock(app: App) -> Path:
    return app.settings.data_dir / f"{INDEX_LOCK}.lock"


def index_folder(
    app: App, folder: Path, *, rebuild: bool = False, progress: Progress | None = None
) -> IndexReport:
    """Run the ingester under the index lock and record the run, also when it fails or is
    interrupted. Raises `askdesk.locking.Busy` when another run holds the lock."""
    return index_source(app, FolderSource(folder), rebuild=rebuild, progress=progress)


def index_source(
    app: App, source: Source, *, rebuild: bool = False, progress: Progress | None = None
) -> IndexReport:
    """One source as the whole desk (`askdesk index SOURCE`): a failure raises."""
    return index_sources(app, [source], rebuild=rebuild, progress=progress, single=True)[0]


def index_sources(
    app: App,
    sources: list[Source],
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    keep_names: list[str] | None = None,
    single: bool = False,
) -> list[IndexReport]:
    """Sync sources under the index lock, one IndexRun row per source.

    With `keep_names` (every configured name), documents of sources no longer configured
    are removed. Unless `single`, a source that fails is reported and the others go on.
    """
    with fleet_lock(app, INDEX_LOCK, "index run"), location_lock(app):
        ingester = app.ingester()
        run_ids = {id(s): _start_run(app, s) for s in sources if _startable(s)}
        by_name = {s.name: s for s in sources}
        recorded: set[int] = set()

        def record(report: IndexReport) -> None:
            if id(report) in recorded:  # a failure after this report was already stored
                return
            recorded.add(id(report))
            src = by_name.get(report.source)
            record_index_run(app, report, run_ids.pop(id(src), None) if src else None)

        try:
            reports = ingester.run_many(
                sources,
                rebuild=rebuild,
                progress=progress,
                # every configured name given: documents of sources no longer there go
                drop_unowned=keep_names is not None,
                keep_names=[n for n in keep_names or () if n not in by_name],
                on_report=record,
                raise_failure=single,
            )
        except BaseException:
            if ingester.last_report is not None:
                record(ingester.last_report)
            raise
    ok = [r for r in reports if r.status == "ok"]
    changed = [r for r in ok if r.docs_added or r.docs_changed or r.docs_removed]
    if ok:
        calibrate_answers(app, (changed or ok)[0])
    return reports


@contextmanager
def location_lock(app: App) -> Iterator[None]:
    """The index location's own writer lock (askdesk.retrieval.writer_lock): other writers of the
    same LanceDB location with another data dir or database are refused too, and a run that
    died there is undone first."""
    index = app.index
    tables = Tables(index.table_versions, index.restore_versions)
    try:
        with index_writer(
            index.uri,
            tables,
            storage_options=index.storage_options,
            lease_s=app.settings.index_lock_lease_s,
        ):
            yield
    except WriterBusy as exc:
        raise Busy(str(exc)) from None


def _startable(source: Source) -> bool:
    return not isinstance(source, FolderSource) or source.root.is_dir()


def run_state(app: App, run: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored run as it really is: a "running" row whose process is gone (no live holder
    of the index lock) is an interrupted run."""
    if run is None or run.get("status") != "running":
        return run
    if lock_held(app, INDEX_LOCK):
        return run
    return {**run, "status": "interrupted", "error": run.get("error") or ABANDONED_RUN}


def _start_run(app: App, source: Source) -> int | None:
    """Close rows left "running" by a killed run (we hold the lock: none is running), then
    write this run's "running" row. A store failure only warns; the run is recorded at the
    end instead."""
    try:
        closed = app.store.index_runs.close_abandoned(source.location)
        if closed:
            log.warning("earlier index run was interrupted", extra={"runs": closed})
        return app.store.index_runs.start(
            docs_root=source.location, embed_model=app.settings.embed_model, source=source.name
        )
    except Exception as exc:
        log.warning("could not record the index run start", extra={"error": _first_line(exc)})
        return None


def reindex_job(
    app: App, progress: JobProgress | None = None, *, docs_root: Path | None = None
) -> dict[str, Any]:
    """One incremental reindex of `docs_root` (default: the docs_dir setting, else the last
    run's folder). Returns the run report, or {"status": "skipped", "reason"} when another
    run holds the lock or no folder is known; raises UpkeepError when the run fails."""
    report_progress = guarded(progress)
    if docs_root is None and app.settings.sources:
        return sync_configured(app, progress=progress, only_due=True)
    folder = app.docs_dir(docs_root)
    if folder is None:
        return skipped(NO_FOLDER)
    if not folder.is_dir():  # the ingester records nothing for a run that cannot start
        reason = f"docs folder not found: {folder}"
        _record_failure(app, folder, reason)
        raise UpkeepError(f"reindex failed ({reason}); the last good index keeps serving")
    report_progress(0.0, f"reindexing {folder}")
    ingester_progress = IngestProgress(report_progress)
    try:
        report = index_folder(app, folder, progress=ingester_progress)
    except Busy as exc:
        return skipped(str(exc))
    except Exception as exc:
        raise UpkeepError(
            f"reindex of {folder} failed ({_first_line(exc)}); the last good index keeps serving"
        ) from exc
    result = report.as_dict()
    result["message"] = (
        f"{result['docs_added']} added, {result['docs_changed']} changed, "
        f"{result['docs_removed']} removed, {result['docs_unchanged']} unchanged documents "
        f"({result['chunks_embedded']} chunks embedded)"
    )
    report_progress(1.0, "done")
    return result


def sync_configured(
    app: App,
    progress: JobProgress | None = None,
    *,
    only: str | None = None,
    rebuild: bool = False,
    ingest_progress: Progress | None = None,
    only_due: bool = False,
) -> dict[str, Any]:
    """Sync every `[[sources]]` entry (or just `only`): one report per source, a failing
    source reported while the others sync, and, on a full sync, the documents of sources
    no longer configured removed. Returns {"status", "sources": [...], "problems", ...}."""
    report_progress = guarded(progress)
    chosen = plan(app.settings, only)
    if only is not None and not chosen.sources and not chosen.problems:
        raise UpkeepError(f"no source named {only!r} in the config")
    if only_due:  # the schedule: a source with its own every_minutes waits until it is due
        not_due = _not_due(app)
        chosen.problems += [{"source": n, "reason": "not due yet"} for n in not_due]
        chosen.sources = [src for src in chosen.sources if src.name not in not_due]
    report_progress(0.0, f"syncing {len(chosen.sources)} source(s)")
    try:
        reports = index_sources(
            app,
            chosen.sources,
            rebuild=rebuild,
            progress=ingest_progress or IngestProgress(report_progress),
            keep_names=chosen.names if only is None else None,
        )
    except Busy as exc:
        return skipped(str(exc))
    for problem in chosen.problems:
        log.warning("source skipped", extra=problem)
    results = [r.as_dict() for r in reports]
    failed = [r for r in results if r["status"] != "ok"]
    waiting = [p for p in chosen.problems if p["reason"] == "not due yet"]
    chosen.problems = [p for p in chosen.problems if p not in waiting]
    report_progress(1.0, "done")
    return {
        "status": "ok" if not failed and not chosen.problems else "partial",
        "sources": results,
        "problems": chosen.problems,
        "not_due": [p["source"] for p in waiting],
        "message": "; ".join(source_line(r) for r in results)
        + "".join(f"; {p['source']}: skipped ({p['reason']})" for p in chosen.problems),
    }


def _not_due(app: App) -> set[str]:
    """Configured sources with their own `every_minutes` whose last sync is more recent."""
    now = datetime.now(UTC)
    out = set()
    for conf in app.settings.sources:
        if not conf.every_minutes:
            continue
        try:
            last = app.store.index_runs.last_finished(source=conf.name)
        except Exception:
            continue
        finished = (last or {}).get("finished_at")
        if isinstance(finished, datetime):
            finished = finished if finished.tzinfo else finished.replace(tzinfo=UTC)
            if now - finished < timedelta(minutes=conf.every_minutes):
                out.add(conf.name)
    return out


def source_line(r: dict[str, Any]) -> str:
    """One line about one source's sync, for the CLI, the watch loop and the job log."""
    name = r.get("source") or r.get("docs_root")
    if r.get("source") == "(removed)":
        gone = ", ".join(r.get("notes", {}).get("sources", []))
        return f"removed sources ({gone}): {r['docs_removed']} documents dropped"
    if r["status"] not in ("ok", "partial"):
        return f"{name}: {r['status']} ({r.get('error')}); its documents are kept"
    line = (
        f"{name}: {r['docs_added']} added, {r['docs_changed']} changed, "
        f"{r['docs_removed']} removed, {r['docs_unchanged']} unchanged "
        f"({r['chunks_embedded']} chunks embedded)"
    )
    if r.get("skipped"):
        line += f", {len(r['skipped'])} skipped"
    if r.get("revision"):
        line += f" at {str(r['revision'])[:12]}"
    if r["status"] == "partial":
        line += f", partial: {r.get('error')}"
    return line


def record_index_run(app: App, report: IndexReport, run_id: int | None = None) -> None:
    """Store the run (completing its "running" row when there is one); the index is updated
    either way, so a store failure only warns."""
    fields = report.as_dict()
    for key in ("ignored", "passages_embedded", "kind", "notes"):  # report-only figures
        fields.pop(key, None)
    try:
        if run_id is None:
            app.store.index_runs.record(IndexRunRecord(**fields))
        else:
            app.store.index_runs.finish(run_id, IndexRunRecord(**fields))
    except Exception as exc:
        log.warning("could not record the index run", extra={"error": _first_line(exc)})


def _record_failure(app: App, folder: Path, reason: str) -> None:
    try:
        app.store.index_runs.record(
            IndexRunRecord(
                docs_root=str(folder.resolve()),
                status="failed",
                embed_model=app.settings.embed_model,
                error=reason,
            )
        )
    except Exception as exc:
        log.warning("could not record the index run", extra={"error": _first_line(exc)})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
