"""Engine construction and the store's user-facing error type.

SQLite is the default backend and several bot processes write to the same file, so its engine
is tuned for concurrent writers; any other URL (PostgreSQL) gets a plain pooled engine.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

PG_CONNECT_TIMEOUT_S = 2


class StoreError(Exception):
    """A problem the user can fix (bad file, bad URL), worded as one line for the CLI."""


def sqlite_path(url: str) -> Path | None:
    """The database file behind a SQLite URL, or None for other backends and in-memory DBs."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def _json_default(value: Any) -> Any:
    # Callers pass scores straight from numpy and paths as Path objects; store them as the
    # plain JSON they stand for rather than failing the whole interaction.
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, date):
        return value.isoformat()
    if callable(getattr(value, "item", None)):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dump_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def make_engine(url: str) -> Engine:
    """Build an engine; for SQLite, one that lets threads and processes write without errors."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            # a bot claims each Slack delivery here before acking it (Slack allows 3 s): a
            # database that stopped answering must fail fast, not hang the ack
            connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
        return create_engine(
            url, pool_pre_ping=True, json_serializer=dump_json, connect_args=connect_args
        )

    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    # The default 5 s busy wait is too short when several processes write at once.
    engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=dump_json)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # pysqlite's own implicit BEGIN comes too late (just before the first write); turn it
        # off so the "begin" hook below decides when and how the transaction starts.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable enough with WAL, much faster
            cursor.execute("PRAGMA foreign_keys=ON")  # per connection, off by default
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn: Connection) -> None:
        # Take the write lock up front: a deferred transaction that reads and then writes must
        # upgrade its lock, and SQLite fails that upgrade at once with "database is locked"
        # instead of waiting out the busy timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def describe_error(url: str, error: BaseException, *, opening: bool = False) -> StoreError | None:
    """Turn the driver errors a user can act on into a one-line StoreError, else None.

    ``opening`` marks the first contact with the database, where an operational error means
    the server is unreachable; later it can mean a deadlock or a dropped connection, which
    callers should see as is.
    """
    message = str(getattr(error, "orig", None) or error)
    path = sqlite_path(url)
    if path is not None and "file is not a database" in message:
        return StoreError(
            f"{path} is not a SQLite database (corrupted or another file?) "
            "— move it aside or set ASKDESK_DATABASE_URL"
        )
    if path is not None and "unable to open database file" in message:
        return StoreError(
            f"cannot open SQLite database {path} (missing permission, or a folder?) "
            "— fix it or set ASKDESK_DATABASE_URL"
        )
    if opening and path is None and isinstance(error, exc.OperationalError):
        safe_url = make_url(url).render_as_string(hide_password=True)
        first_line = (message.strip().splitlines() or [type(error).__name__])[0]
        return StoreError(f"cannot reach database {safe_url}: {first_line}")
    return None


@contextmanager
def user_facing_errors(url: str, *, opening: bool = False) -> Iterator[None]:
    """Re-raise known driver failures as StoreError so callers need not know the backend."""
    try:
        yield
    except (exc.DBAPIError, sqlite3.DatabaseError) as error:
        friendly = describe_error(url, error, opening=opening)
        if friendly is None:
            raise
        raise friendly from error
