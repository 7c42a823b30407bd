"""Claimed questions carry what is needed to answer them, until they are answered.

`delivery_claim.work` holds a claimed question (channel, thread, message ts, text) while it
is being answered and is cleared (NULL) once the answer is posted. `owner` names a process
that holds a session advisory lock on its own name for its whole life; when that lock is
free the owner is dead, and a surviving process takes its unfinished rows over and answers
them (a Slack event acked by a process killed -9 is never resent by Slack).

No user id is stored: the question is answered without an asker hash.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_claim") as batch:
        batch.add_column(sa.Column("work", sa.JSON(), nullable=True))
        batch.create_index("ix_delivery_claim_owner", ["owner"])


def downgrade() -> None:
    with op.batch_alter_table("delivery_claim") as batch:
        batch.drop_index("ix_delivery_claim_owner")
        batch.drop_column("work")
