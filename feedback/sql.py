"""The database every repository of the feedback store shares, and the helpers they all use.

`Database` holds the URL, the lazily opened engine and the short transaction each repository
method runs in. Opening (building the engine and migrating the schema) is given by the
caller (`askdesk.feedback.store` passes "migrate to head"), so this module imports nothing above
`feedback.db` and every repository module can import it without a cycle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, case, func, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from askdesk.feedback.db import StoreError, user_facing_errors
from askdesk.feedback.models import Base

UPSERT_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
"""INSERT … ON CONFLICT builders of the two supported backends."""


class Database:
    """One SQL database given by its URL, opened on first use and safe to share between
    threads: the engine every repository of one store runs its transactions on."""

    def __init__(self, url: str, open_engine: Callable[[str], Engine]) -> None:
        self.url = url
        self._open_engine = open_engine
        self._engine: Engine | None = None
        self._open_lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._open_lock:
                if self._engine is None:
                    self._engine = self._open_engine(self.url)
        return self._engine

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One short transaction; on SQLite it holds the write lock (BEGIN IMMEDIATE), which
        is what lets several bot processes share one file without "database is locked"."""
        engine = self.engine
        with (
            user_facing_errors(self.url),
            Session(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def upsert_insert(self, session: Session, what: str) -> Any:
        """The dialect's INSERT … ON CONFLICT builder; `what` names the caller's need in the
        error raised for any other backend."""
        dialect = session.get_bind().dialect.name
        if dialect not in UPSERT_INSERTS:
            raise StoreError(f"{what} need SQLite or PostgreSQL, not {dialect}")
        return UPSERT_INSERTS[dialect]

    def close(self) -> None:
        """Release pooled connections; the database reopens itself if used again."""
        with self._open_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None


def as_dict(row: Base) -> dict[str, Any]:
    """A row as a plain dict: callers never hold ORM objects (or open sessions)."""
    return {attr.key: getattr(row, attr.key) for attr in inspect(type(row)).column_attrs}


def json_ready(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def columns(model: type[Base], given: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The given keys as model columns; an unknown key is a caller's typo, not data to drop."""
    allowed = {attr.key for attr in inspect(model).column_attrs} - {"id", "eval_run_id"}
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ValueError(f"unknown {what} field(s): {', '.join(unknown)}")
    return dict(given)


def keep_if_same(old: Any, new: Any, same: Any) -> Any:
    """In an upsert: the new value, or the old one when the new is NULL and `same` holds."""
    return case((same, func.coalesce(new, old)), else_=new)
