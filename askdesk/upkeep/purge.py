"""The retention job: interactions and votes older than `retention_days` are deleted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from askdesk.upkeep.outcome import skipped

if TYPE_CHECKING:
    from askdesk.wiring import App

#: Who the privacy audit log names for purges the schedule (not a person) started.
SCHEDULE_ACTOR = "upkeep"


def purge_job(app: App, *, actor: str = SCHEDULE_ACTOR) -> dict[str, Any]:
    """Apply the retention setting once; a clear no-op while retention is unset."""
    days = app.settings.retention_days
    if days is None:
        return skipped("retention_days is not set; nothing is deleted")
    deleted = dict(app.store.privacy.purge_older_than(days, actor=actor))
    return {
        "status": "ok",
        "retention_days": days,
        "deleted": deleted,
        "message": f"deleted {deleted.get('interaction', 0)} interaction(s) and "
        f"{deleted.get('vote', 0)} vote(s) older than {days} days",
    }
