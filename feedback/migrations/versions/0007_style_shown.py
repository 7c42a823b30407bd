"""Which text a chat answer showed: `interaction.shown` and `vote.shown`.

With `style_delivery = "edit"` the bot posts the grounded draft at once and edits the same
message into the styled answer when the rewrite passes the guard. A vote can land before or
after that edit, so judging the voice needs to know what the voter was looking at: the
interaction says what its message shows now ("draft" or "styled"), and each vote copies that
value when it is cast (and again when the voter changes it). Rows written before this
revision, and answers that were never meant to be styled, have neither.

Written by hand and frozen, like 0001: its own column types, no model imports.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.add_column(sa.Column("shown", sa.String(16), nullable=True))
    with op.batch_alter_table("vote") as batch:
        batch.add_column(sa.Column("shown", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vote") as batch:
        batch.drop_column("shown")
    with op.batch_alter_table("interaction") as batch:
        batch.drop_column("shown")
