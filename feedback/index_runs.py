"""Index runs: every ingestion pass, started, finished, failed or cut short.

A run is written as "running" before it touches the index (`start`), so a process killed
outright still leaves a trace that the next run, holding the index lock, closes as
interrupted (`close_abandoned`).
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from askdesk.feedback.models import INDEX_RUN_STATUSES, IndexRun, utcnow
from askdesk.feedback.records import IndexRunRecord
from askdesk.feedback.sql import Database, as_dict

ABANDONED_RUN = "the run ended before it finished (process killed or machine stopped)"
"""The error an interrupted-by-death index run shows; the index keeps what it had committed."""


def check_status(status: str) -> None:
    """Raise ValueError unless `status` is a finished run's status."""
    finished = [s for s in INDEX_RUN_STATUSES if s != "running"]
    if status not in finished:
        raise ValueError(f"index run status must be one of {', '.join(finished)}, got {status!r}")


def _values(record: IndexRunRecord) -> dict[str, Any]:
    values = dataclasses.asdict(record)
    values["skipped"] = [dict(item) for item in record.skipped]
    values["duration_s"] = float(record.duration_s)
    return values


class IndexRuns:
    """The IndexRun rows of one store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, record: IndexRunRecord) -> int:
        """Store a finished ingestion pass in one go; returns its id."""
        check_status(record.status)
        values = _values(record)
        values["finished_at"] = record.finished_at or utcnow()
        values["started_at"] = record.started_at or values["finished_at"] - timedelta(
            seconds=record.duration_s
        )
        row = IndexRun(**values)
        with self.db.transaction() as session:
            session.add(row)
            session.flush()
            return row.id

    def start(self, *, docs_root: str, embed_model: str, source: str | None = None) -> int:
        """Record a run as "running" before it writes anything, so a run killed outright
        still leaves a trace (see `finish`, `close_abandoned`)."""
        row = IndexRun(
            started_at=utcnow(),
            finished_at=None,
            status="running",
            docs_root=docs_root,
            source=source,
            embed_model=embed_model,
            skipped=[],
        )
        with self.db.transaction() as session:
            session.add(row)
            session.flush()
            return row.id

    def finish(self, run_id: int, record: IndexRunRecord) -> None:
        """Complete a row from `start` with the run's report; `finished_at` defaults to now
        and the row keeps its own start."""
        check_status(record.status)
        values = _values(record)
        values["finished_at"] = record.finished_at or utcnow()
        values.pop("started_at")
        with self.db.transaction() as session:
            found = session.execute(
                update(IndexRun).where(IndexRun.id == run_id).values(**values)
            ).rowcount
        if not found:
            raise ValueError(f"no index run {run_id}")

    def close_abandoned(self, docs_root: str | None = None) -> int:
        """Mark rows still "running" as interrupted; call it only while holding the index
        lock, when no run of this data folder can be running. Returns how many it closed."""
        query = update(IndexRun).where(IndexRun.status == "running")
        if docs_root is not None:
            query = query.where(IndexRun.docs_root == docs_root)
        with self.db.transaction() as session:
            return session.execute(query.values(status="interrupted", error=ABANDONED_RUN)).rowcount

    def last_finished(
        self, docs_root: str | None = None, status: str | None = None, source: str | None = None
    ) -> dict[str, Any] | None:
        """The most recently finished run, optionally for one docs root, status and/or
        source name."""
        query = (
            select(IndexRun)
            .where(IndexRun.finished_at.is_not(None))
            .order_by(IndexRun.finished_at.desc(), IndexRun.id.desc())
            .limit(1)
        )
        if docs_root is not None:
            query = query.where(IndexRun.docs_root == docs_root)
        if status is not None:
            query = query.where(IndexRun.status == status)
        if source is not None:
            query = query.where(IndexRun.source == source)
        with self.db.transaction() as session:
            row = session.scalars(query).first()
            return None if row is None else as_dict(row)

    def latest(self) -> dict[str, Any] | None:
        """The most recently started run, finished or not ("running")."""
        rows = self.recent(limit=1)
        return rows[0] if rows else None

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first."""
        query = (
            select(IndexRun).order_by(IndexRun.started_at.desc(), IndexRun.id.desc()).limit(limit)
        )
        with self.db.transaction() as session:
            return [as_dict(row) for row in session.scalars(query)]
