"""Schema upgrades, run by the store itself so a deployment never needs an alembic.ini.

Every bot process calls ``upgrade`` at start-up, so it must be idempotent and safe when several
processes start at once: the whole upgrade runs in one transaction that first takes a write
lock (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL); latecomers wait, then find the
schema at head and do nothing.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Arbitrary constant shared by every askdesk process: the key of the PostgreSQL advisory lock.
_PG_LOCK_KEY = 0x61736B64  # "askd"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (head by default); a no-op when already there."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
        command.upgrade(alembic_config(connection), revision)
