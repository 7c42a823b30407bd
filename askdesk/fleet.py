"""Which fleet coordination a process uses: per data dir on SQLite, shared on PostgreSQL.

The coordination itself (claims, advisory locks, the work journal; every line of PostgreSQL
lock SQL) is `askdesk.feedback.fleet`; this module picks it or the per-data-dir fallback from the
settings. With SQLite (the zero-config default) everything stays per data dir: the file lock,
the salt file, each process's own memory of Slack deliveries. With a database server
(`database_url` = PostgreSQL) the fleet's state moves into it:

- deliveries are claimed with a unique row (`askdesk.feedback.fleet.Fleet.claim`), so exactly one
  process answers a Slack event or a Discord message, whichever receives it;
- index runs and scheduled jobs take a PostgreSQL advisory lock instead of a file lock;
- the asker salt is one row, created once, so user hashes agree on every machine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from askdesk.bots.claims import SeenKeys, SharedKeys
from askdesk.feedback.fleet import WorkJournal, instance_name
from askdesk.locking import Busy, exclusive, live_holder

if TYPE_CHECKING:
    from askdesk.wiring import App

log = logging.getLogger(__name__)


def delivery_keys(app: App) -> SeenKeys:
    """Slack's "have we taken this delivery?" set: fleet-wide on a shared database."""
    if not app.shared_database:
        return SeenKeys()
    owner = instance_name()
    store = app.store

    def claim(key: str) -> bool:
        return store.fleet.claim(key, owner=owner)

    return SharedKeys(claim, store.fleet.release)


@contextmanager
def fleet_lock(app: App, name: str, what: str) -> Iterator[None]:
    """Hold lock `name` across the fleet or raise `Busy` naming `what`: a PostgreSQL advisory
    lock on a shared database, else the file lock DATA_DIR/<name>.lock."""
    if not app.shared_database:
        with exclusive(app.settings.data_dir / f"{name}.lock", what):
            yield
        return
    with app.store.fleet.lock(name) as taken:
        if not taken:
            raise Busy(f"another {what} is running in the fleet; try again when it ends")
        yield


def lock_held(app: App, name: str) -> bool:
    """Whether some live process holds lock `name` (read-only: never takes it)."""
    if not app.shared_database:
        return live_holder(app.settings.data_dir / f"{name}.lock") is not None
    return app.store.fleet.holder(name) is not None


def work_journal(app: App) -> WorkJournal | None:
    """A journal on a shared database; None with SQLite (one process, nothing to take over)."""
    return WorkJournal(app.store.fleet) if app.shared_database else None
