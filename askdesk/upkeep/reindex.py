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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askdesk.upkeep.calibrate import calibrate_answers
from askdesk.upkeep.errors import UpkeepError
from askdesk.upkeep.outcome import skipped
from askdesk.upkeep.progress import IngestProgress, JobProgress, guarded

if TYPE_CHECKING:
    from askdesk.wiring import App
    from retrieval.ingest import IndexReport, Progress

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
    from askdesk.fleet import fleet_lock

    ingester = app.ingester()
    with fleet_lock(app, INDEX_LOCK, "index run"):
        run_id = _start_run(app, folder) if folder.is_dir() else None
        try:
            report = ingester.run(folder, rebuild=rebuild, progress=progress)
        except BaseException:
            if ingester.last_report is not None:
                record_index_run(app, ingester.last_report, run_id)
            raise
        record_index_run(app, report, run_id)
    calibrate_answers(app, report)
    return report


def run_state(app: App, run: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored run as it really is: a "running" row whose process is gone (no live holder
    of the index lock) is an interrupted run."""
    from askdesk.fleet import lock_held
    from feedback.store import ABANDONED_RUN

    if run is None or run.get("status") != "running":
        return run
    if lock_held(app, INDEX_LOCK):
        return run
    return {**run, "status": "interrupted", "error": run.get("error") or ABANDONED_RUN}


def _start_run(app: App, folder: Path) -> int | None:
    """Close rows left "running" by a killed run (we hold the lock: none is running), then
    write this run's "running" row. A store failure only warns; the run is recorded at the
    end instead."""
    root = str(folder.resolve())
    try:
        closed = app.store.close_abandoned_index_runs(root)
        if closed:
            log.warning("earlier index run was interrupted", extra={"runs": closed})
        return app.store.start_index_run(docs_root=root, embed_model=app.settings.embed_model)
    except Exception as exc:
        log.warning("could not record the index run start", extra={"error": _first_line(exc)})
        return None


def reindex_job(
    app: App, progress: JobProgress | None = None, *, docs_root: Path | None = None
) -> dict[str, Any]:
    """One incremental reindex of `docs_root` (default: the docs_dir setting, else the last
    run's folder). Returns the run report, or {"status": "skipped", "reason"} when another
    run holds the lock or no folder is known; raises UpkeepError when the run fails."""
    from askdesk.locking import Busy

    report_progress = guarded(progress)
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


def record_index_run(app: App, report: IndexReport, run_id: int | None = None) -> None:
    """Store the run (completing its "running" row when there is one); the index is updated
    either way, so a store failure only warns."""
    fields = report.as_dict()
    fields.pop("ignored", None)
    fields.pop("passages_embedded", None)
    try:
        if run_id is None:
            app.store.record_index_run(**fields)
        else:
            app.store.finish_index_run(run_id, **fields)
    except Exception as exc:
        log.warning("could not record the index run", extra={"error": _first_line(exc)})


def _record_failure(app: App, folder: Path, reason: str) -> None:
    try:
        app.store.record_index_run(
            docs_root=str(folder.resolve()),
            status="failed",
            embed_model=app.settings.embed_model,
            error=reason,
        )
    except Exception as exc:
        log.warning("could not record the index run", extra={"error": _first_line(exc)})


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
