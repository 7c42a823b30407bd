"""A throwaway PostgreSQL database per test, for the fleet tests (several processes, one DB).

Each test gets its own database created from ASKDESK_TEST_PG_URL (the role may create
databases), so these tests never collide with other PostgreSQL tests using that database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("ASKDESK_TEST_PG_URL")
needs_pg = pytest.mark.skipif(not PG_URL, reason="ASKDESK_TEST_PG_URL not set (no PostgreSQL)")


def fresh_database() -> Iterator[str]:
    """Yield the URL of a new, empty database; drop it afterwards."""
    assert PG_URL
    name = f"askdesk_fleet_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
