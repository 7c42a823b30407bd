"""Which process runs a job: `job_run.host` and `job_run.pid`.

A job left "running" by a process that stopped (Ctrl-C, a crash, a kill) stays "running"
forever unless something notices; the next process to start marks such rows "interrupted".
Several processes may share one database, so it must not touch a job a live process still
runs: the recorded host and pid say whose the row is, and whether that process is alive can
be checked on that host. Rows written before this revision have neither.

Written by hand and frozen, like 0001: its own column types, no model imports.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_run") as batch:
        batch.add_column(sa.Column("host", sa.String(255), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_run") as batch:
        batch.drop_column("pid")
        batch.drop_column("host")
