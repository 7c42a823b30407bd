"""Which source an index run synced, and at which commit: `index_run.source`, `.revision`.

A desk can hold several sources (a folder, a website, a git repository); each sync is its
own IndexRun row, named by `source` ("" or NULL: the unnamed source that owns the whole
index, as every row before this revision). `revision` is the git commit a repository was
synced at, so answers and `askdesk sources` can say which version of the docs they saw.

Written by hand and frozen, like 0001: its own column types, no model imports.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("index_run") as batch:
        batch.add_column(sa.Column("source", sa.String(128), nullable=True))
        batch.add_column(sa.Column("revision", sa.String(64), nullable=True))
        batch.create_index("ix_index_run_source", ["source"])


def downgrade() -> None:
    with op.batch_alter_table("index_run") as batch:
        batch.drop_index("ix_index_run_source")
        batch.drop_column("revision")
        batch.drop_column("source")
