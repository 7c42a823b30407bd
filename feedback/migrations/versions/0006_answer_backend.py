"""Which composer wrote each answer, and which backend each eval run measured.

- `interaction.composer`: "extractive-2" or "llm:<model>" (the one whose text was sent);
- `interaction.composer_note`: why a generated answer fell back to the extractive one
  ("fallback: timeout", "fallback: rate limited (429)", ...) or what the claim check dropped;
  the dashboard counts fallbacks by reason;
- `eval_run.backend` / `eval_run.model`: the answer backend ("extractive", "llm") and model an
  `askdesk eval` ran with, so runs of two backends can be told apart and compared.

All nullable: rows written before this revision say nothing about it.

Written by hand and frozen, like 0001: its own column types, no model imports.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.add_column(sa.Column("composer", sa.String(128), nullable=True))
        batch.add_column(sa.Column("composer_note", sa.String(256), nullable=True))
    with op.batch_alter_table("eval_run") as batch:
        batch.add_column(sa.Column("backend", sa.String(32), nullable=True))
        batch.add_column(sa.Column("model", sa.String(256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("eval_run") as batch:
        batch.drop_column("model")
        batch.drop_column("backend")
    with op.batch_alter_table("interaction") as batch:
        batch.drop_column("composer_note")
        batch.drop_column("composer")
