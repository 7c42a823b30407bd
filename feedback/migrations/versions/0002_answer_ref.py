"""Link an interaction to the chat message that carried its answer, and find threads fast.

Reactions and button clicks arrive naming the bot's message (Slack ts, Discord message id),
and follow-ups name their thread: both must find the interaction without a scan.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.add_column(sa.Column("answer_ref", sa.String(128), nullable=True))
    op.create_index("ix_interaction_answer_ref", "interaction", ["platform", "answer_ref"])
    op.create_index("ix_interaction_thread", "interaction", ["platform", "channel", "thread"])


def downgrade() -> None:
    op.drop_index("ix_interaction_thread", table_name="interaction")
    op.drop_index("ix_interaction_answer_ref", table_name="interaction")
    with op.batch_alter_table("interaction") as batch:
        batch.drop_column("answer_ref")
