"""Initial schema: interactions, votes and index runs.

Written by hand and frozen: it spells out its own column types instead of importing the models,
so later model changes cannot rewrite history.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "interaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(128), nullable=True),
        sa.Column("thread", sa.String(128), nullable=True),
        sa.Column("asker_hash", sa.String(64), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("unanswered", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("style_model_version", sa.String(128), nullable=True),
        sa.Column("style_used", sa.Boolean(), nullable=False),
        sa.Column("tone_score", sa.Float(), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_interaction"),
    )
    op.create_index("ix_interaction_created_at", "interaction", ["created_at"])
    op.create_index("ix_interaction_unanswered", "interaction", ["unanswered"])
    op.create_index("ix_interaction_platform_channel", "interaction", ["platform", "channel"])

    op.create_table(
        "vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=False),
        sa.Column("voter_hash", sa.String(64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_vote"),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interaction.id"],
            name="fk_vote_interaction_id_interaction",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "interaction_id", "voter_hash", name="uq_vote_interaction_id_voter_hash"
        ),
        sa.CheckConstraint("value IN (1, -1)", name="ck_vote_value"),
    )

    op.create_table(
        "index_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("docs_root", sa.String(1024), nullable=False),
        sa.Column("docs_added", sa.Integer(), nullable=False),
        sa.Column("docs_changed", sa.Integer(), nullable=False),
        sa.Column("docs_removed", sa.Integer(), nullable=False),
        sa.Column("docs_unchanged", sa.Integer(), nullable=False),
        sa.Column("chunks_added", sa.Integer(), nullable=False),
        sa.Column("chunks_removed", sa.Integer(), nullable=False),
        sa.Column("chunks_unchanged", sa.Integer(), nullable=False),
        sa.Column("chunks_embedded", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.JSON(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("table_version", sa.Integer(), nullable=True),
        sa.Column("embed_model", sa.String(256), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_index_run"),
    )
    op.create_index("ix_index_run_finished_at", "index_run", ["finished_at"])


def downgrade() -> None:
    op.drop_table("index_run")
    op.drop_table("vote")
    op.drop_index("ix_interaction_platform_channel", table_name="interaction")
    op.drop_index("ix_interaction_unanswered", table_name="interaction")
    op.drop_index("ix_interaction_created_at", table_name="interaction")
    op.drop_table("interaction")
