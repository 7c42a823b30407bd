"""Evaluation runs, curated style examples, the privacy audit log and background jobs.

- `eval_run` / `eval_result`: each `askdesk eval` with its aggregate metrics (JSON, so a new
  metric needs no migration) and one row per golden question, for trends and worst questions.
- `curated_example`: answers approved in the dashboard as style training examples.
- `privacy_action`: purge / forget / export with row counts, never the personal data.
- `interaction.draft`: the grounded draft behind a styled answer (for curated examples).
- `job_run`: reindex / retrain jobs started from the dashboard or a schedule, with progress.

Written by hand and frozen, like 0001: its own column types, no model imports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "eval_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("golden_path", sa.String(1024), nullable=False),
        sa.Column("golden_hash", sa.String(64), nullable=False),
        sa.Column("questions", sa.Integer(), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("index_version", sa.String(128), nullable=True),
        sa.Column("style_model_version", sa.String(128), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("label", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_eval_run"),
    )
    op.create_index("ix_eval_run_created_at", "eval_run", ["created_at"])
    op.create_table(
        "eval_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("eval_run_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("hit_rank", sa.Integer(), nullable=True),
        sa.Column("answer_f1", sa.Float(), nullable=True),
        sa.Column("groundedness", sa.Float(), nullable=True),
        sa.Column("tone_score", sa.Float(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("unanswered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["eval_run_id"],
            ["eval_run.id"],
            name="fk_eval_result_eval_run_id_eval_run",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_eval_result"),
    )
    op.create_index("ix_eval_result_eval_run_id", "eval_result", ["eval_run_id"])
    op.create_table(
        "curated_example",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("interaction_id", sa.Integer(), nullable=True),
        sa.Column("input", sa.Text(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("curated_by", sa.String(128), nullable=True),
        sa.Column("used_in", sa.String(128), nullable=True),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interaction.id"],
            name="fk_curated_example_interaction_id_interaction",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_curated_example"),
        sa.UniqueConstraint("interaction_id", name="uq_curated_example_interaction_id"),
    )
    op.create_index("ix_curated_example_created_at", "curated_example", ["created_at"])
    op.create_table(
        "privacy_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("detail", sa.String(256), nullable=True),
        sa.Column("actor", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_privacy_action"),
    )
    op.create_index("ix_privacy_action_created_at", "privacy_action", ["created_at"])
    op.create_table(
        "job_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_by", sa.String(128), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_job_run"),
    )
    op.create_index("ix_job_run_started_at", "job_run", ["started_at"])
    with op.batch_alter_table("interaction") as batch:
        batch.add_column(sa.Column("draft", sa.Text(), nullable=True))
    # the dashboard's time series and the retention purge both scan interactions by date
    # within a platform/channel, and votes by interaction: the existing indexes serve them


def downgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.drop_column("draft")
    for table in ("job_run", "privacy_action", "curated_example"):
        op.drop_index(
            f"ix_{table}_{'started_at' if table == 'job_run' else 'created_at'}", table_name=table
        )
        op.drop_table(table)
    op.drop_index("ix_eval_result_eval_run_id", table_name="eval_result")
    op.drop_table("eval_result")
    op.drop_index("ix_eval_run_created_at", table_name="eval_run")
    op.drop_table("eval_run")
