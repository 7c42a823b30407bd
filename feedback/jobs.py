"""The job journal: background jobs (reindex, retrain, ...) as JobRun rows.

Progress and outcome live in the database rather than in the process that runs the job, so a
dashboard restarted mid-job, or a second dashboard process, still shows who started what and
how it ended. Each row records the host and pid running it; a process that stops mid-job
(Ctrl-C, crash, kill) leaves its row "running", and the next process to start marks it
"interrupted" (`interrupt_abandoned`) — but only when that process is known to be gone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from askdesk.feedback.models import JOB_KINDS, JOB_STATUSES, JobRun, utcnow
from askdesk.feedback.sql import Database, as_dict

log = logging.getLogger(__name__)

#: A "running" row whose process cannot be checked (another host, or written before rows
#: recorded their owner) is taken as abandoned only after this long: no reindex or retrain
#: runs for a day, and a live job that is wrongly marked still writes its outcome at the end.
UNCHECKABLE_AFTER = timedelta(hours=24)
#: Roughly when this process started (this module loads before it can start any job): a row
#: with our pid but an older start was written by an earlier process that had the same pid
#: (a restarted container's pid 1, say).
PROCESS_STARTED = utcnow()


def this_host() -> str:
    return socket.gethostname()[:255]


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (signal 0 checks, sends nothing)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OSError:
        return False
    return True


def abandoned(row: Mapping[str, Any], now: datetime, host: str, pid: int) -> bool:
    """Whether a "running" row's process is gone (see the module docstring for the rules)."""
    row_host, row_pid = row.get("host"), row.get("pid")
    if row_host is None or row_pid is None or row_host != host:
        return now - row["started_at"] > UNCHECKABLE_AFTER
    if row_pid == pid:
        return row["started_at"] < PROCESS_STARTED
    return not pid_alive(int(row_pid))


class JobJournal:
    """Reads and writes JobRun rows through the store's short transactions."""

    def __init__(self, db: Database) -> None:
        self.db = db

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
            host=this_host(),
            pid=os.getpid(),
        )
        with self.db.transaction() as session:
            session.add(row)
            session.flush()
            return row.id

    def progress(self, job_id: int, fraction: float, message: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        statement = (
            update(JobRun).where(JobRun.id == job_id).values(progress=fraction, message=message)
        )
        with self.db.transaction() as session:
            session.execute(statement)

    def finish(
        self,
        job_id: int,
        status: str,
        message: str,
        result: Mapping[str, Any] | None = None,
    ) -> None:
        if status not in JOB_STATUSES or status == "running":
            finished = ", ".join(repr(s) for s in JOB_STATUSES if s != "running")
            raise ValueError(f"a finished job is one of {finished}, got {status!r}")
        values: dict[str, Any] = {
            "status": status,
            "message": message,
            "finished_at": utcnow(),
            # reports carry datetimes and paths: keep what JSON can hold, as text
            "result": json.loads(json.dumps(dict(result or {}), default=str)),
        }
        if status == "ok":
            values["progress"] = 1.0
        with self.db.transaction() as session:
            session.execute(update(JobRun).where(JobRun.id == job_id).values(**values))

    def get(self, job_id: int) -> dict[str, Any] | None:
        with self.db.transaction() as session:
            row = session.get(JobRun, job_id)
            return None if row is None else as_dict(row)

    def latest(self, kind: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
        """Newest first."""
        query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc())
        if kind is not None:
            query = query.where(JobRun.kind == kind)
        with self.db.transaction() as session:
            return [as_dict(row) for row in session.scalars(query.limit(limit))]

    def interrupt_abandoned(self, now: datetime | None = None) -> list[int]:
        """Mark "running" rows whose process is gone as "interrupted"; their ids.

        Called when a dashboard or an upkeep schedule starts. A row a live process runs (on
        this host, by its pid) is left alone, so several processes can share the database.
        """
        now = now or utcnow()
        host, pid = this_host(), os.getpid()
        with self.db.transaction() as session:
            running = [
                as_dict(row)
                for row in session.scalars(select(JobRun).where(JobRun.status == "running"))
            ]
            gone = [row for row in running if abandoned(row, now, host, pid)]
            for row in gone:
                owner = f" (pid {row['pid']} on {row['host']})" if row.get("pid") else ""
                session.execute(
                    update(JobRun)
                    .where(JobRun.id == row["id"], JobRun.status == "running")
                    .values(
                        status="interrupted",
                        finished_at=now,
                        message=f"the process running it stopped{owner}",
                    )
                )
        for row in gone:
            log.warning(
                "%s job #%s was left running by a stopped process: marked interrupted",
                row["kind"],
                row["id"],
                extra={"job_id": row["id"], "kind": row["kind"], "pid": row.get("pid")},
            )
        return [row["id"] for row in gone]
