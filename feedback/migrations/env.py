"""Alembic environment for the feedback store.

The store always hands in an open connection (``config.attributes["connection"]``) that is
already inside a transaction holding the write lock, so concurrent starters serialise on it and
the whole upgrade commits or rolls back as one; there is no offline/--sql mode.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from askdesk.feedback.models import Base

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "feedback migrations run through askdesk.feedback.migrate, with a connection"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
