"""The job journal: background jobs (reindex, retrain, ...) as JobRun rows.

Progress and outcome live in the database rather than in the process that runs the job, so a
dashboard restarted mid-job, or a second dashboard process, still shows who started what and
how it ended.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from feedback.models import JOB_KINDS, JOB_STATUSES, JobRun, utcnow
from feedback.store import FeedbackStore, _as_dict


class JobJournal:
    """Reads and writes JobRun rows through the store's short transactions."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store

    def start(self, kind: str, started_by: str, message: str = "starting") -> int:
        if kind not in JOB_KINDS:
            raise ValueError(f"job kind must be one of {', '.join(JOB_KINDS)}, got {kind!r}")
        row = JobRun(
            kind=kind,
            started_by=started_by[:128],
            started_at=utcnow(),
            status="running",
            progress=0.0,
            message=message,
        )
        with self.store._transaction() as session:
            session.add(row)
            session.flush()
            return row.id

    def progress(self, job_id: int, fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        statement = (
            update(JobRun).where(JobRun.id == job_id).values(progress=fraction, message=message)
        )
        with self.store._transaction() as session:
            session.execute(statement)

    def finish(
        self,
        job_id: int,
        status: str,
        message: str,
        result: Mapping[str, Any] | None = None,
    ) -> None:
        if status not in JOB_STATUSES or status == "running":
            raise ValueError(f"a finished job is 'ok' or 'failed', got {status!r}")
        values: dict[str, Any] = {
            "status": status,
            "message": message,
            "finished_at": utcnow(),
            # reports carry datetimes and paths: keep what JSON can hold, as text
            "result": json.loads(json.dumps(dict(result or {}), default=str)),
        }
        if status == "ok":
            values["progress"] = 1.0
        with self.store._transaction() as session:
            session.execute(update(JobRun).where(JobRun.id == job_id).values(**values))

    def get(self, job_id: int) -> dict[str, Any] | None:
        with self.store._transaction() as session:
            row = session.get(JobRun, job_id)
            return None if row is None else _as_dict(row)

    def latest(self, kind: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """Newest first."""
        query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc())
        if kind is not None:
            query = query.where(JobRun.kind == kind)
        with self.store._transaction() as session:
            return [_as_dict(row) for row in session.scalars(query.limit(limit))]
