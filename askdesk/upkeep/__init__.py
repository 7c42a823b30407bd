"""Upkeep: the jobs that keep a running askdesk current without anyone typing a command.

The same functions back `askdesk index`, `askdesk style train`, the dashboard's job buttons
and the schedule in long-running bots, so a reindex started from any of them behaves (and is
recorded) the same way. Each job returns a plain dict a dashboard or a log line can show.
"""

from __future__ import annotations

from askdesk.upkeep.errors import UpkeepError
from askdesk.upkeep.progress import JobProgress
from askdesk.upkeep.purge import purge_job
from askdesk.upkeep.reindex import (
    index_folder,
    index_source,
    index_sources,
    reindex_job,
    sync_configured,
)
from askdesk.upkeep.retrain import retrain_job
from askdesk.upkeep.scheduler import Scheduler, interrupt_abandoned_jobs, start_upkeep

__all__ = [
    "JobProgress",
    "Scheduler",
    "UpkeepError",
    "index_folder",
    "index_source",
    "index_sources",
    "interrupt_abandoned_jobs",
    "purge_job",
    "reindex_job",
    "retrain_job",
    "start_upkeep",
    "sync_configured",
]
