"""Fleet coordination: what several askdesk processes on one database agree on, and how.

The one module with PostgreSQL lock SQL (`tests/test_fleet_module.py` fails if such SQL
appears anywhere else):

- delivery claims: a unique row per Slack event / Discord message (`Fleet.claim`), taken by
  one INSERT … ON CONFLICT DO NOTHING, so exactly one process answers it;
- named fleet locks: session advisory locks (`advisory_lock`, `lock_holder`), taken without
  waiting and dropped by PostgreSQL when the holder's connection ends, so a process killed
  outright never leaves a stale lock (index runs, scheduled jobs);
- the schema migration lock (`migration_lock`), a transaction advisory lock;
- the work journal (`WorkJournal`): questions held under a claim until answered, each
  process's liveness an advisory lock on its own name, and the takeover of a dead owner's
  questions;
- fleet-wide settings (`Fleet.instance_setting`), set once by whoever comes first.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, null, select, text, update

from askdesk.feedback.models import DeliveryClaim, InstanceSetting, utcnow
from askdesk.feedback.sql import Database

log = logging.getLogger(__name__)

CLAIM_TTL_S = 24 * 3600.0
"""How long a delivery claim lasts: Slack retries for minutes, a day is far beyond that."""

SWEEP_EVERY = 200
"""Every so many claims, also delete all expired ones (not on each: that is a scan)."""

#: The first half of every askdesk lock key ("askd"); the second half names the lock.
_NAMESPACE = 0x61736B64
#: The key of the migration lock (one bigint): the same constant every askdesk release used.
_MIGRATION_KEY = _NAMESPACE


class EveryNth:
    """A thread-safe "is this the n-th call?" counter.

    `due()` is True on every n-th call across all threads: a read-modify-write of a plain
    int shared by threads can lose increments or reset twice, so the count is taken under
    a lock."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._count = 0
        self._lock = threading.Lock()

    def due(self) -> bool:
        with self._lock:
            self._count += 1
            if self._count >= self.n:
                self._count = 0
                return True
            return False


# -- advisory locks ------------------------------------------------------------------------


def lock_key(name: str) -> tuple[int, int]:
    """The two-int advisory lock key for `name` (both positive, so pg_locks shows them)."""
    return _NAMESPACE, zlib.crc32(name.encode()) & 0x7FFFFFFF


def migration_lock(connection: Connection) -> None:
    """Hold the schema migration lock until `connection`'s transaction ends (PostgreSQL):
    processes starting at once migrate one after the other."""
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_KEY})")


def _try_lock(connection: Connection, key: tuple[int, int]) -> bool:
    taken = connection.execute(
        text("SELECT pg_try_advisory_lock(:h, :l)"), {"h": key[0], "l": key[1]}
    ).scalar()
    connection.commit()
    return bool(taken)


def _unlock(connection: Connection, key: tuple[int, int]) -> None:
    connection.execute(text("SELECT pg_advisory_unlock(:h, :l)"), {"h": key[0], "l": key[1]})
    connection.commit()


@contextmanager
def advisory_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Try to take the lock `name`; yields whether it was taken (never waits).

    The lock lives on one pooled connection kept out of the pool for the duration; closing
    it (or the process dying) releases it."""
    key = lock_key(name)
    with engine.connect() as connection:
        taken = _try_lock(connection, key)
        try:
            yield taken
        finally:
            if taken:
                _unlock(connection, key)


def lock_holder(engine: Engine, name: str) -> int | None:
    """The PostgreSQL backend pid holding lock `name` in this database, or None when nobody
    does (another database on the same server may use the same name: another fleet, a test)."""
    high, low = lock_key(name)
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = :h AND objid = :l AND objsubid = 2 "
                # advisory locks belong to one database; pg_locks shows the whole server's
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "LIMIT 1"
            ),
            {"h": high, "l": low},
        ).scalar()


def _holds_lock(connection: Connection, key: tuple[int, int]) -> bool:
    """Whether this very connection (backend) holds the advisory lock `key`."""
    held = connection.execute(
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND pid = pg_backend_pid() AND classid = :h "
            "AND objid = :l AND objsubid = 2"
        ),
        {"h": key[0], "l": key[1]},
    ).scalar()
    connection.commit()
    return bool(held)


# -- claims, held work and fleet-wide settings ---------------------------------------------


class Fleet:
    """The rows several processes must agree on: delivery claims (with the work held under
    them) and instance settings. Named locks (`lock`, `holder`) are PostgreSQL only."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._sweep = EveryNth(SWEEP_EVERY)

    @contextmanager
    def lock(self, name: str) -> Iterator[bool]:
        """`advisory_lock` on this store's database."""
        with advisory_lock(self.db.engine, name) as taken:
            yield taken

    def holder(self, name: str) -> int | None:
        """`lock_holder` on this store's database."""
        return lock_holder(self.db.engine, name)

    def claim(self, key: str, *, ttl_s: float = CLAIM_TTL_S, owner: str | None = None) -> bool:
        """Take `key` for this process: True for exactly one caller across every process on
        this database (until the claim expires), False for all others.

        One INSERT … ON CONFLICT DO NOTHING, so two processes claiming at once cannot both
        win; expired claims are deleted first, in the same transaction, so a key can be taken
        again a day later and the table stays small.
        """
        if len(key) > 255:
            raise ValueError("claim keys are at most 255 characters")
        now = utcnow()
        with self.db.transaction() as session:
            insert_for = self.db.upsert_insert(session, "claims")
            session.execute(
                delete(DeliveryClaim).where(
                    DeliveryClaim.key == key, DeliveryClaim.expires_at <= now
                )
            )
            if self._sweep.due():
                session.execute(delete(DeliveryClaim).where(DeliveryClaim.expires_at <= now))
            insert = insert_for(DeliveryClaim).values(
                key=key, claimed_at=now, expires_at=now + timedelta(seconds=ttl_s), owner=owner
            )
            # RETURNING, not rowcount: the driver reports -1 for a skipped ORM-level insert
            taken = insert.on_conflict_do_nothing(index_elements=["key"]).returning(
                DeliveryClaim.key
            )
            return session.execute(taken).first() is not None

    def release(self, key: str) -> None:
        """Drop a claim so the delivery can be taken again (the work it guarded never began)."""
        with self.db.transaction() as session:
            session.execute(delete(DeliveryClaim).where(DeliveryClaim.key == key))

    def hold(self, key: str, work: dict[str, Any], *, owner: str) -> None:
        """Attach what is needed to answer claim `key` (never a raw user id) and name its
        owner, so a survivor can answer it if `owner` dies before `finish(key)`."""
        with self.db.transaction() as session:
            session.execute(
                update(DeliveryClaim)
                .where(DeliveryClaim.key == key)
                .values(work=work, owner=owner, claimed_at=utcnow())
            )

    def finish(self, key: str) -> None:
        """The work held under `key` is done: nobody takes it over any more."""
        with self.db.transaction() as session:
            session.execute(
                update(DeliveryClaim).where(DeliveryClaim.key == key).values(work=null())
            )

    def renew_held(self, owner: str) -> int:
        """`owner` is alive: its held work is renewed (not stale for `unfinished_owners`).
        Returns how many rows it holds."""
        with self.db.transaction() as session:
            return session.execute(
                update(DeliveryClaim)
                .where(DeliveryClaim.owner == owner, DeliveryClaim.work.is_not(None))
                .values(claimed_at=utcnow())
            ).rowcount

    def unfinished_owners(self, older_than_s: float) -> list[str]:
        """Owners of held work at least `older_than_s` old (alive or not: the caller checks)."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        with self.db.transaction() as session:
            rows = session.scalars(
                select(DeliveryClaim.owner)
                .where(
                    DeliveryClaim.work.is_not(None),
                    DeliveryClaim.owner.is_not(None),
                    DeliveryClaim.claimed_at <= cutoff,
                )
                .distinct()
            )
            return [str(owner) for owner in rows]

    def take_over(self, dead: str, owner: str) -> list[tuple[str, dict[str, Any]]]:
        """Move `dead`'s unfinished work to `owner` and return it. One UPDATE … WHERE
        owner = dead RETURNING: of several survivors racing, exactly one gets each row."""
        with self.db.transaction() as session:
            rows = session.execute(
                update(DeliveryClaim)
                .where(DeliveryClaim.owner == dead, DeliveryClaim.work.is_not(None))
                .values(owner=owner, claimed_at=utcnow())
                .returning(DeliveryClaim.key, DeliveryClaim.work)
            ).all()
            return [(str(key), dict(work)) for key, work in rows]

    def instance_setting(self, name: str, proposed: str) -> str:
        """The fleet-wide value of `name`: `proposed` if nobody set it yet, else the value
        already stored (which is never replaced). Safe when processes race to set it."""
        with self.db.transaction() as session:
            insert = self.db.upsert_insert(session, "instance settings")(InstanceSetting).values(
                name=name, value=proposed, created_at=utcnow()
            )
            session.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
            return session.scalars(
                select(InstanceSetting.value).where(InstanceSetting.name == name)
            ).one()


# -- the work journal ----------------------------------------------------------------------


def instance_name() -> str:
    """Who holds a claim, for a person reading the table (host:pid)."""
    return f"{os.uname().nodename[:100]}:{os.getpid()}"


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
        self, fleet: Fleet, *, stale_after_s: float = 3.0, heartbeat_s: float = 1.0
    ) -> None:
        self.fleet = fleet
        self.owner = f"{instance_name()}:{secrets.token_hex(4)}"
        self.stale_after_s = stale_after_s
        self.heartbeat_s = heartbeat_s
        self.retaken = 0  # how many times the owner lock had to be taken again
        self._closed = threading.Event()
        self._key = lock_key(f"owner:{self.owner}")
        self._guard = threading.Lock()  # the heartbeat and the takeover loop share _connection
        self._connection: Any = None
        self._takeovers_from = 0.0  # time.monotonic() before which nothing is taken over
        self._held_once = False
        if not self._owner_lock(strict=True):  # a database error at start is reported as such
            raise RuntimeError("could not take this process's owner lock")
        threading.Thread(target=self._heartbeat, name="askdesk-journal", daemon=True).start()

    def hold(self, key: str, work: dict[str, Any]) -> None:
        self.fleet.hold(key, work, owner=self.owner)

    def finish(self, key: str) -> None:
        self.fleet.finish(key)

    def orphans(self) -> list[tuple[str, dict[str, Any]]]:
        """Take over the held questions of every dead owner (lock free, questions stale)."""
        if not self._beat():
            return []  # unsure of our own lock: no judging others
        if time.monotonic() < self._takeovers_from:
            return []
        taken: list[tuple[str, dict[str, Any]]] = []
        for dead in self.fleet.unfinished_owners(self.stale_after_s):
            if dead != self.owner and self.fleet.holder(f"owner:{dead}") is None:
                taken += self.fleet.take_over(dead, self.owner)
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
            _unlock(connection, self._key)
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
            self.fleet.renew_held(self.owner)
        except Exception as exc:
            log.warning("work journal heartbeat failed", extra={"error": type(exc).__name__})
        return True

    def _owner_lock(self, strict: bool = False) -> bool:
        with self._guard:
            if self._closed.is_set():
                return False
            if self._connection is not None:
                try:
                    if _holds_lock(self._connection, self._key):
                        return True
                except Exception:  # the connection died with the server
                    pass
                self._drop_connection()
            connection = self._lock_connection(strict)
            if connection is None:
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

    def _lock_connection(self, strict: bool) -> Connection | None:
        """A fresh connection holding the owner lock, or None (a warning says why); with
        `strict`, a database error is raised instead."""
        try:
            connection = self.fleet.db.engine.connect()
        except Exception as exc:
            if strict:
                raise
            log.warning("owner lock unavailable", extra={"error": type(exc).__name__})
            return None
        try:
            taken = _try_lock(connection, self._key)
        except Exception as exc:
            connection.invalidate()
            connection.close()
            if strict:
                raise
            log.warning("owner lock unavailable", extra={"error": type(exc).__name__})
            return None
        if not taken:  # nobody else uses our random name: a database in a strange state
            connection.close()
            return None
        return connection

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.invalidate()
            connection.close()
        except Exception:
            pass
