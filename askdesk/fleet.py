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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from askdesk.locking import Busy, exclusive, live_holder
from bots.claims import SeenKeys, SharedKeys
from feedback.locks import advisory_lock, lock_holder, lock_key

if TYPE_CHECKING:
    from askdesk.wiring import App
    from feedback.store import FeedbackStore

log = logging.getLogger(__name__)


def instance_name() -> str:
    """Who holds a claim, for a person reading the table (host:pid)."""
    return f"{os.uname().nodename[:100]}:{os.getpid()}"


def delivery_keys(app: App) -> SeenKeys:
    """Slack's "have we taken this delivery?" set: fleet-wide on a shared database."""
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

    with advisory_lock(app.store.engine, name) as taken:
        if not taken:
            raise Busy(f"another {what} is running in the fleet; try again when it ends")
        yield


def lock_held(app: App, name: str) -> bool:
    """Whether some live process holds lock `name` (read-only: never takes it)."""
    if not app.shared_database:
        return live_holder(app.settings.data_dir / f"{name}.lock") is not None

    return lock_holder(app.store.engine, name) is not None


class WorkJournal:
    """The questions this process is answering, kept in the shared database until answered.

    The process holds a session advisory lock on its own name (`owner:<host:pid:random>`) on
    one dedicated connection; PostgreSQL frees it when the process dies, even by kill -9.
    Every few seconds each process looks for held questions whose owner's lock is free and
    takes them over with one UPDATE … WHERE owner = dead, so exactly one survivor answers each.

    A database restart frees every lock at once, the living owners' too. So a lock that is
    free is not enough to call its owner dead:
    - a heartbeat (every `heartbeat_s`, and before every takeover check) verifies this
      process still holds its own lock, takes it again on a fresh connection when the
      database lost it, and renews the time stamp of this process's held questions;
    - a takeover needs the owner's lock free *and* its questions not renewed for
      `stale_after_s` (several heartbeats);
    - a process that could not verify its own lock takes nothing over, and after taking its
      lock again it waits `stale_after_s` before any takeover, so every living owner has had
      heartbeats enough to take its own lock again and renew its questions first.
    """

    def __init__(
        self, store: FeedbackStore, *, stale_after_s: float = 3.0, heartbeat_s: float = 1.0
    ) -> None:
        key: tuple[int, int]
        self.store = store
        self.owner = f"{instance_name()}:{secrets.token_hex(4)}"
        self.stale_after_s = stale_after_s
        self.heartbeat_s = heartbeat_s
        self.retaken = 0  # how many times the owner lock had to be taken again
        self._closed = threading.Event()
        self._key = {"h": (key := lock_key(f"owner:{self.owner}"))[0], "l": key[1]}
        self._guard = threading.Lock()  # the heartbeat and the takeover loop share _connection
        self._connection: Any = None
        self._takeovers_from = 0.0  # time.monotonic() before which nothing is taken over
        self._held_once = False
        if not self._owner_lock(strict=True):  # a database error at start is reported as such
            raise RuntimeError("could not take this process's owner lock")
        threading.Thread(target=self._heartbeat, name="askdesk-journal", daemon=True).start()

    def hold(self, key: str, work: dict[str, Any]) -> None:
        self.store.hold(key, work, owner=self.owner)

    def finish(self, key: str) -> None:
        self.store.finish(key)

    def orphans(self) -> list[tuple[str, dict[str, Any]]]:
        """Take over the held questions of every dead owner (lock free, questions stale)."""
        if not self._beat():
            return []  # unsure of our own lock: no judging others
        if time.monotonic() < self._takeovers_from:
            return []
        taken: list[tuple[str, dict[str, Any]]] = []
        for dead in self.store.unfinished_owners(self.stale_after_s):
            if dead != self.owner and lock_holder(self.store.engine, f"owner:{dead}") is None:
                taken += self.store.take_over(dead, self.owner)
        return taken

    def wait(self, seconds: float) -> bool:
        return self._closed.wait(seconds)

    def close(self) -> None:
        """Stop looking for orphans and let go of the owner lock."""
        self._closed.set()
        with self._guard:
            connection, self._connection = self._connection, None
        if connection is None:
            return
        try:  # the connection goes back to the pool: the lock must not go with it
            connection.execute(text("SELECT pg_advisory_unlock(:h, :l)"), self._key)
            connection.commit()
        except Exception:  # the database is gone: so is the lock
            connection.invalidate()
        finally:
            connection.close()

    # -- the heartbeat -----------------------------------------------------------------------
    def _heartbeat(self) -> None:
        while not self._closed.wait(self.heartbeat_s):
            self._beat()

    def _beat(self) -> bool:
        """Hold the owner lock (taking it again if the database lost it) and renew this
        process's held questions. False when the database could not confirm the lock."""
        if not self._owner_lock():
            return False
        try:
            self.store.renew_held(self.owner)
        except Exception as exc:
            log.warning("work journal heartbeat failed", extra={"error": type(exc).__name__})
        return True

    def _owner_lock(self, strict: bool = False) -> bool:
        with self._guard:
            if self._closed.is_set():
                return False
            if self._connection is not None:
                try:
                    held = self._connection.execute(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                            "AND granted AND pid = pg_backend_pid() AND classid = :h "
                            "AND objid = :l AND objsubid = 2"
                        ),
                        self._key,
                    ).scalar()
                    self._connection.commit()
                    if held:
                        return True
                except Exception:  # the connection died with the server
                    pass
                self._drop_connection()
            try:
                connection = self.store.engine.connect()
            except Exception as exc:
                if strict:
                    raise
                log.warning("owner lock unavailable", extra={"error": type(exc).__name__})
                return False
            try:
                taken = connection.execute(
                    text("SELECT pg_try_advisory_lock(:h, :l)"), self._key
                ).scalar()
                connection.commit()
            except Exception as exc:
                connection.invalidate()
                connection.close()
                if strict:
                    raise
                log.warning("owner lock unavailable", extra={"error": type(exc).__name__})
                return False
            if not taken:  # nobody else uses our random name: a database in a strange state
                connection.close()
                return False
            self._connection = connection
            if not self._held_once:
                self._held_once = True
            else:
                self.retaken += 1
                self._takeovers_from = time.monotonic() + self.stale_after_s
                log.warning(
                    "owner lock was lost (database restart?) and is taken again; takeovers "
                    "resume once every living process has renewed its own",
                    extra={"wait_s": self.stale_after_s},
                )
            return True

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.invalidate()
            connection.close()
        except Exception:
            pass


def work_journal(app: App) -> WorkJournal | None:
    """A journal on a shared database; None with SQLite (one process, nothing to take over)."""
    return WorkJournal(app.store) if app.shared_database else None
