"""Hedged answers: a `hedged` flag on interactions.

An answer in the decision's hedged zone (askdesk.core.answerability.HEDGE_BIAS_SHIFT) is given with
a lead line saying the docs may not cover the question. No existing column can say so honestly:
`unanswered` means declined, `confidence` is the top search cosine, not the decision, and
`composer_note` says why a generator fell back. The dashboard's gap view counts hedged
questions beside the unanswered ones. Rows written before this revision were not hedged
(false): the zone did not exist.

Written by hand and frozen, like 0001: its own column types, no model imports.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.add_column(
            sa.Column("hedged", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.drop_column("hedged")
