"""Style model training runs, and why a style rewrite was or was not used.

`train_run` holds one row per `askdesk style train` (version, data hash, steps, losses,
duration, the full report as JSON): the retrain rule counts examples added since the last
run, and the dashboard shows which version answered. `interaction.style_note` keeps the
rewriter's note ("rewritten", "timeout", "guard: missing '24h'", ...) in its own column
rather than in `error` (an answer that fell back to its draft is not a failed answer) or in
the timings JSON (so fallbacks can be counted by reason in SQL).

Written by hand and frozen, like 0001: its own column types, no model imports.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "train_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("base_model", sa.String(1024), nullable=False),
        sa.Column("data_hash", sa.String(64), nullable=False),
        sa.Column("train_examples", sa.Integer(), nullable=False),
        sa.Column("eval_examples", sa.Integer(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("train_loss", sa.Float(), nullable=True),
        sa.Column("eval_loss", sa.Float(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("folder", sa.String(1024), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_train_run"),
        sa.UniqueConstraint("version", name="uq_train_run_version"),
    )
    op.create_index("ix_train_run_created_at", "train_run", ["created_at"])
    with op.batch_alter_table("interaction") as batch:
        batch.add_column(sa.Column("style_note", sa.String(256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.drop_column("style_note")
    op.drop_index("ix_train_run_created_at", table_name="train_run")
    op.drop_table("train_run")
