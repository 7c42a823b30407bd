"""Simulated rows: a `simulated` flag on interactions, index, train and eval runs.

`askdesk demo` writes several weeks of made-up history (answers, votes, a reindex, a style
version change, eval runs) so a fresh dashboard has trends to show. Each such row says so in
the data, not only in the UI: the dashboard shades and labels the simulated span, and a demo
run replaces the previous run's simulated rows instead of piling them up. Votes need no column:
a simulated vote is one on a simulated interaction (and carries `source = "demo"`). Rows
written before this revision are real (false).

Written by hand and frozen, like 0001: its own column types, no model imports.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("interaction", "index_run", "train_run", "eval_run")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false())
            )
    # the dashboard asks for the simulated span on every chart: an index keeps that cheap
    # on a big store with no simulated rows at all
    op.create_index("ix_interaction_simulated", "interaction", ["simulated"])


def downgrade() -> None:
    op.drop_index("ix_interaction_simulated", table_name="interaction")
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("simulated")
