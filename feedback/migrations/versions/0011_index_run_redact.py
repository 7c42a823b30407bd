"""Credentials out of the run history: `index_run.docs_root` and `.error` without `user:pass@`.

Before this version a website or repository configured as `https://user:PASSWORD@host/...`
was recorded with the password in the run's `docs_root` (and in some errors). The sources
no longer keep credentials in their URLs; this removes the ones already stored. There is
nothing to put back on downgrade.

Written by hand and frozen, like 0001: its own SQL, no model imports.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USERINFO = re.compile(r"(?<=://)[^/@?#\s]*@")


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, docs_root, error FROM index_run"
            " WHERE docs_root LIKE '%@%' OR error LIKE '%@%'"
        )
    ).fetchall()
    for row_id, docs_root, error in rows:
        clean_root = _USERINFO.sub("", docs_root) if docs_root else docs_root
        clean_error = _USERINFO.sub("", error) if error else error
        if (clean_root, clean_error) != (docs_root, error):
            bind.execute(
                sa.text("UPDATE index_run SET docs_root = :root, error = :error WHERE id = :id"),
                {"root": clean_root, "error": clean_error, "id": row_id},
            )


def downgrade() -> None:
    return None
