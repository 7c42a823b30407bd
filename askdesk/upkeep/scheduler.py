"""The schedule long-running processes (the Slack and Discord bots) keep: reindex every
`reindex_every_minutes`, apply retention at start and once a day.

One daemon thread waits on an Event, so stopping is immediate between runs and waits only
for a run in progress. Jobs run one at a time in that thread; a run another process holds
the lock for is skipped (the job says so) and the next tick tries again. A failing run is
logged and the schedule goes on: upkeep must never take the bot down.

On a shared database every process of the fleet keeps this schedule, but each tick runs
once for the whole fleet: a tick first claims its wall-clock slot (`schedule:reindex:<n>`,
n = time // interval) in the database, and the processes that lose the claim skip it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from askdesk.feedback.fleet import instance_name
from askdesk.upkeep.purge import purge_job
from askdesk.upkeep.reindex import reindex_job

if TYPE_CHECKING:
    from askdesk.wiring import App

log = logging.getLogger(__name__)

DAY_S = 24 * 3600.0
#: Keys of a job result worth a log field (the rest, e.g. skipped file lists, stay out).
_LOGGED = (
    "status",
    "reason",
    "docs_added",
    "docs_changed",
    "docs_removed",
    "chunks_embedded",
    "table_version",
    "deleted",
    "retention_days",
)


class Scheduler:
    """Runs reindex and purge on their intervals in a background thread until `stop()`.

    `last` holds each job's latest outcome (its result dict, or {"status": "error"}), so a
    status page or a test can see what the schedule did without reading logs."""

    def __init__(
        self,
        app: App,
        *,
        reindex_every_s: float | None = None,
        purge_every_s: float | None = None,
        reindex: Callable[[App], dict[str, Any]] = reindex_job,
        purge: Callable[[App], dict[str, Any]] = purge_job,
        claim: Callable[[str, float], bool] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.claim = claim  # (key, ttl_s) -> whether this process runs the tick
        self.clock = clock
        self.intervals = {"reindex": reindex_every_s, "purge": purge_every_s}
        self.jobs = {"reindex": reindex, "purge": purge}
        self.last: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, int] = {"reindex": 0, "purge": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="askdesk-upkeep", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        log.info(
            "upkeep schedule started",
            extra={
                "reindex_every_s": self.intervals["reindex"],
                "purge_every_s": self.intervals["purge"],
            },
        )
        return self

    def stop(self, timeout: float | None = 60.0) -> None:
        """Stop after the run in progress, if any (each run leaves the index consistent)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        now = time.monotonic()
        due: dict[str, float] = {}
        if self.intervals["purge"]:
            due["purge"] = now  # retention applies from the start, not a day later
        if self.intervals["reindex"]:
            due["reindex"] = now + self.intervals["reindex"]
        while due and not self._stop.is_set():
            name = min(due, key=due.__getitem__)
            if self._stop.wait(max(0.0, due[name] - time.monotonic())):
                break
            self.tick(name)
            every = self.intervals[name] or DAY_S
            # a run longer than the interval skips the ticks it overlapped, never queues them
            elapsed = time.monotonic() - due[name]
            due[name] += every * (math.floor(elapsed / every) + 1)
        log.info("upkeep schedule stopped")

    def tick(self, name: str) -> dict[str, Any]:
        """A scheduled run: the job, unless another process of the fleet has this tick."""
        every = self.intervals[name] or DAY_S
        if self.claim is not None:
            slot = int(self.clock() // every)
            try:
                mine = self.claim(f"schedule:{name}:{slot}", every * 2)
            except Exception as exc:  # database down: skip, the next tick tries again
                mine = False
                log.warning(
                    "schedule claim failed", extra={"job": name, "error": type(exc).__name__}
                )
            if not mine:
                result = {"status": "skipped", "reason": "another process has this tick"}
                self.last[name] = result
                log.info("upkeep job skipped", extra={"job": name, **result})
                return result
        return self.run_once(name)

    def run_once(self, name: str) -> dict[str, Any]:
        """Run one job now, log it as one structured line and keep its outcome in `last`."""
        t0 = time.perf_counter()
        try:
            result = self.jobs[name](self.app)
        except Exception as exc:
            text = str(exc).strip()
            error = text.splitlines()[0][:300] if text else type(exc).__name__
            result = {"status": "error", "error": error}
            log.error(
                "upkeep job failed",
                extra={"job": name, "error": error, "duration_s": _since(t0)},
            )
        else:
            fields = {k: result[k] for k in _LOGGED if k in result}
            log.info("upkeep job finished", extra={"job": name, "duration_s": _since(t0), **fields})
        self.last[name] = result
        self.runs[name] += 1
        return result


def interrupt_abandoned_jobs(app: App) -> list[int]:
    """Mark jobs a stopped process left "running" as interrupted (never a live process's).

    Every long-running process calls this at start; a database it cannot reach yet is
    logged, not raised (the process's own start-up reports that problem)."""
    try:
        return app.store.jobs.interrupt_abandoned()
    except Exception as exc:
        log.warning("abandoned jobs not checked", extra={"error": type(exc).__name__})
        return []


def start_upkeep(app: App) -> Scheduler | None:
    """Start the schedule the settings ask for; None when they ask for nothing.

    Either way, first mark the jobs a stopped process left "running" as interrupted."""
    interrupt_abandoned_jobs(app)
    s = app.settings
    # the schedule ticks at the shortest interval asked for; a source with its own
    # `every_minutes` is synced on the ticks where it is due (see reindex.sync_configured)
    minutes = [m for m in [s.reindex_every_minutes, *(c.every_minutes for c in s.sources)] if m]
    reindex_every_s = min(minutes) * 60 if minutes else None
    purge_every_s = DAY_S if s.retention_days else None
    if reindex_every_s is None and purge_every_s is None:
        return None
    claim = None
    if app.shared_database:
        owner = instance_name()

        def claim(key: str, ttl_s: float) -> bool:
            return app.store.fleet.claim(key, ttl_s=ttl_s, owner=owner)

    return Scheduler(
        app, reindex_every_s=reindex_every_s, purge_every_s=purge_every_s, claim=claim
    ).start()


def _since(t0: float) -> float:
    return round(time.perf_counter() - t0, 3)
