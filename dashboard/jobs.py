"""Background jobs started from the dashboard: one thread per job, one job per kind at a time.

A reindex or a retrain takes minutes, far longer than an HTTP request may; the job runs in a
daemon thread and reports progress into the job journal, which the page polls. A second start
of the same kind while one runs is refused, so two clicks never race on the same index.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from askdesk.feedback.jobs import JobJournal

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
JobFunction = Callable[[Progress], Mapping[str, Any]]


@dataclass(frozen=True)
class StartOutcome:
    started: bool
    job_id: int | None
    message: str


def summarize(result: Mapping[str, Any]) -> str:
    """One line for the job's row, from whatever report the job returned."""
    if result.get("message"):
        return str(result["message"])
    if result.get("status") == "skipped":
        return f"skipped: {result.get('reason') or 'nothing to do'}"
    if "docs_added" in result:
        return (
            f"{result.get('docs_added', 0)} added, {result.get('docs_changed', 0)} changed, "
            f"{result.get('docs_removed', 0)} removed; "
            f"{result.get('chunks_embedded', 0)} chunks embedded"
        )
    if result.get("version"):
        return f"style model {result['version']} trained and active"
    return str(result.get("status") or "done")


class JobRunner:
    """Runs the job functions it was given (kind → callable taking a progress callback)."""

    def __init__(self, journal: JobJournal, functions: Mapping[str, JobFunction]) -> None:
        self.journal = journal
        self.functions = dict(functions)
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._threads: dict[str, threading.Thread] = {}

    def start(
        self, kind: str, started_by: str, function: JobFunction | None = None
    ) -> StartOutcome:
        """Start the job of `kind` (or `function` under that kind: one source's sync is a
        reindex, and waits for any other reindex like one)."""
        function = function or self.functions.get(kind)
        if function is None:
            return StartOutcome(False, None, f"{kind} is not available in this process")
        with self._lock:
            if kind in self._running:
                job_id = self._running[kind]
                return StartOutcome(False, job_id, f"{kind} is already running (job #{job_id})")
            job_id = self.journal.start(kind, started_by)
            self._running[kind] = job_id
            thread = threading.Thread(
                target=self._run, args=(kind, job_id, function), name=f"job-{kind}", daemon=True
            )
            self._threads[kind] = thread
        log.info("job started", extra={"kind": kind, "job_id": job_id})
        thread.start()
        return StartOutcome(True, job_id, f"{kind} started (job #{job_id})")

    def _run(self, kind: str, job_id: int, function: JobFunction) -> None:
        def progress(fraction: float, message: str) -> None:
            try:
                self.journal.progress(job_id, fraction, message)
            except Exception:  # a progress line is not worth failing the job for
                log.warning("job progress not saved", extra={"kind": kind, "job_id": job_id})

        try:
            result = dict(function(progress) or {})
            # a job that found nothing to do (lock held, no docs folder) is not a success
            status = result["status"] if result.get("status") in ("failed", "skipped") else "ok"
            self.journal.finish(job_id, status, summarize(result), result)
            log.info("job finished", extra={"kind": kind, "job_id": job_id, "status": status})
        except Exception as exc:
            said = str(exc).strip().splitlines()
            message = f"{type(exc).__name__}: {said[0]}" if said else type(exc).__name__
            log.error("job failed", exc_info=exc, extra={"kind": kind, "job_id": job_id})
            try:
                self.journal.finish(job_id, "failed", message[:500])
            except Exception:
                log.exception("job outcome not saved")
        finally:
            with self._lock:
                self._running.pop(kind, None)

    def owns(self, job_id: int) -> bool:
        """Whether this process runs that job (a "running" row it does not own was started by
        another process, or abandoned by a restart)."""
        with self._lock:
            return job_id in self._running.values()

    def running(self, kind: str) -> bool:
        with self._lock:
            return kind in self._running

    def wait(self, kind: str, timeout: float | None = None) -> None:
        """Block until the current job of this kind ends (tests, shutdown)."""
        thread = self._threads.get(kind)
        if thread is not None:
            thread.join(timeout)

    def latest(self, kind: str) -> dict[str, Any] | None:
        rows = self.journal.latest(kind, limit=1)
        return rows[0] if rows else None
