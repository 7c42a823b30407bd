"""Fleet-wide named locks on PostgreSQL (session advisory locks).

Several processes on several machines share one PostgreSQL; a file lock in one data dir
cannot keep them from reindexing at once. A session advisory lock can: it is held by one
connection, taken without waiting (`pg_try_advisory_lock`), and PostgreSQL drops it by
itself when the holder's connection ends, so a process killed outright never leaves a
stale lock behind.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

#: The first half of every askdesk lock key ("askd"); the second half names the lock.
_NAMESPACE = 0x61736B64


def lock_key(name: str) -> tuple[int, int]:
    """The two-int advisory lock key for `name` (both positive, so pg_locks shows them)."""
    return _NAMESPACE, zlib.crc32(name.encode()) & 0x7FFFFFFF


@contextmanager
def advisory_lock(engine: Engine, name: str) -> Iterator[bool]:
    """Try to take the lock `name`; yields whether it was taken (never waits).

    The lock lives on one pooled connection kept out of the pool for the duration; closing
    it (or the process dying) releases it."""
    high, low = lock_key(name)
    with engine.connect() as connection:
        taken = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:h, :l)"), {"h": high, "l": low}
            ).scalar()
        )
        connection.commit()
        try:
            yield taken
        finally:
            if taken:
                connection.execute(text("SELECT pg_advisory_unlock(:h, :l)"), {"h": high, "l": low})
                connection.commit()


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
