"""Shared state for several processes on one database: delivery claims and instance settings.

- `delivery_claim`: one row per chat delivery a process has taken (a Slack event id, a
  Discord interaction id, "this message is being answered", "this answer was escalated").
  The primary key makes the claim an insert-or-skip: whichever process inserts first answers,
  every other one sees the row and drops its copy. Rows expire (`expires_at`, a day) and are
  swept by whoever claims next.
- `instance_setting`: values every process must agree on, created once: the asker salt, so
  the same chat user hashes the same on every machine.

Written by hand and frozen, like 0001: its own column types, no model imports.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "delivery_claim",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("claimed_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_delivery_claim"),
    )
    op.create_index("ix_delivery_claim_expires_at", "delivery_claim", ["expires_at"])
    op.create_table(
        "instance_setting",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_instance_setting"),
    )


def downgrade() -> None:
    op.drop_table("instance_setting")
    op.drop_index("ix_delivery_claim_expires_at", table_name="delivery_claim")
    op.drop_table("delivery_claim")
