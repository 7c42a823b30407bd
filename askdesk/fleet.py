"""What several askdesk processes on one shared database agree on, and how.

With SQLite (the zero-config default) everything stays per data dir: the file lock, the
salt file, each process's own memory of Slack deliveries. With a database server
(`database_url` = PostgreSQL) the fleet's state moves into it:

- deliveries are claimed with a unique row (`FeedbackStore.claim`), so exactly one process
  answers a Slack event or a Discord message, whichever receives it;
- index runs and scheduled jobs take a PostgreSQL advisory lock instead of a file lock;
- the asker salt is one row, created once, so user hashes agree on every machine.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askdesk.locking import Busy, exclusive, live_holder

if TYPE_CHECKING:
    from askdesk.wiring import App
    from bots.claims import SeenKeys
    from feedback.store import FeedbackStore

log = logging.getLogger(__name__)

SALT_SETTING = "asker_salt"


def shared_salt(store: FeedbackStore, salt_file: Path) -> str:
    """The fleet's asker salt. The first process to ask proposes DATA_DIR/salt when it has
    one (hashes already stored keep matching), else a fresh secret; the stored value is never
    replaced, and a salt file that disagrees with it is left as it is (and reported)."""
    existing = salt_file.read_text().strip() if salt_file.is_file() else ""
    value = store.instance_setting(SALT_SETTING, existing or secrets.token_hex(32))
    if existing and existing != value:
        log.warning(
            "DATA_DIR/salt differs from the database's asker salt; the database's is used",
            extra={"salt_file": str(salt_file)},
        )
    return value


def instance_name() -> str:
    """Who holds a claim, for a person reading the table (host:pid)."""
    return f"{os.uname().nodename[:100]}:{os.getpid()}"


def delivery_keys(app: App) -> SeenKeys:
    """Slack's "have we taken this delivery?" set: fleet-wide on a shared database."""
    from bots.claims import SeenKeys, SharedKeys

    if not app.shared_database:
        return SeenKeys()
    owner = instance_name()
    store = app.store

    def claim(key: str) -> bool:
        return store.claim(key, owner=owner)

    return SharedKeys(claim, store.release)


@contextmanager
def fleet_lock(app: App, name: str, what: str) -> Iterator[None]:
    """Hold lock `name` across the fleet or raise `Busy` naming `what`: a PostgreSQL advisory
    lock on a shared database, else the file lock DATA_DIR/<name>.lock."""
    if not app.shared_database:
        with exclusive(app.settings.data_dir / f"{name}.lock", what):
            yield
        return
    from feedback.locks import advisory_lock

    with advisory_lock(app.store.engine, name) as taken:
        if not taken:
            raise Busy(f"another {what} is running in the fleet; try again when it ends")
        yield


def lock_held(app: App, name: str) -> bool:
    """Whether some live process holds lock `name` (read-only: never takes it)."""
    if not app.shared_database:
        return live_holder(app.settings.data_dir / f"{name}.lock") is not None
    from feedback.locks import lock_holder

    return lock_holder(app.store.engine, name) is not None


class WorkJournal:
    """The questions this process is answering, kept in the shared database until answered.

    The process holds a session advisory lock on its own name (`owner:<host:pid:random>`) on
    one dedicated connection for its whole life; PostgreSQL frees it when the process dies,
    even by kill -9. Every few seconds each process looks for held questions whose owner's
    lock is free and takes them over with one UPDATE … WHERE owner = dead, so exactly one
    survivor answers each. (A database restart also frees the lock; a question may then be
    answered twice, never lost.)"""

    def __init__(self, store: FeedbackStore, *, stale_after_s: float = 3.0) -> None:
        from sqlalchemy import text

        from feedback.locks import lock_key

        key: tuple[int, int]
        self.store = store
        self.owner = f"{instance_name()}:{secrets.token_hex(4)}"
        self.stale_after_s = stale_after_s
        self._closed = threading.Event()
        self._key = {"h": (key := lock_key(f"owner:{self.owner}"))[0], "l": key[1]}
        self._connection = store.engine.connect()
        self._connection.execute(text("SELECT pg_advisory_lock(:h, :l)"), self._key)
        self._connection.commit()

    def hold(self, key: str, work: dict[str, Any]) -> None:
        self.store.hold(key, work, owner=self.owner)

    def finish(self, key: str) -> None:
        self.store.finish(key)

    def orphans(self) -> list[tuple[str, dict[str, Any]]]:
        """Take over the held questions of every dead owner (their lock is free)."""
        from feedback.locks import lock_holder

        taken: list[tuple[str, dict[str, Any]]] = []
        for dead in self.store.unfinished_owners(self.stale_after_s):
            if dead != self.owner and lock_holder(self.store.engine, f"owner:{dead}") is None:
                taken += self.store.take_over(dead, self.owner)
        return taken

    def wait(self, seconds: float) -> bool:
        return self._closed.wait(seconds)

    def close(self) -> None:
        """Stop looking for orphans and let go of the owner lock."""
        from sqlalchemy import text

        self._closed.set()
        try:  # the connection goes back to the pool: the lock must not go with it
            self._connection.execute(text("SELECT pg_advisory_unlock(:h, :l)"), self._key)
            self._connection.commit()
        finally:
            self._connection.close()


def work_journal(app: App) -> WorkJournal | None:
    """A journal on a shared database; None with SQLite (one process, nothing to take over)."""
    return WorkJournal(app.store) if app.shared_database else None
