"""Schema upgrades, run by the store itself so a deployment never needs an alembic.ini.

Every bot process calls ``upgrade`` at start-up, so it must be idempotent and safe when several
processes start at once: the whole upgrade runs in one transaction that first takes a write
lock (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL); latecomers wait, then find the
schema at head and do nothing.

Most opens find the schema at head already. ``is_at_head`` says so with one plain query
against the head read from the revision files themselves, so a command that only records an
answer (`askdesk ask`) never imports Alembic and Mako (~8 MB and ~0.15 s of a cold start,
BENCHMARKS.md, issue 23): Alembic is imported only when a migration is actually pending.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, exc

from askdesk.feedback.fleet import migration_lock

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"

def alembic_config(connection: Connection | None = None) -> Config:
    # lean: Alembic (and Mako) load only where a migration runs or is inspected (issue 23)
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    # lean: Alembic loads only when a migration is pending (issue 23)
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty database."""
    # lean: Alembic loads only when a migration is pending (issue 23)
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@cache
def scripted_head() -> str | None:
    """The head revision as the files in `versions/` declare it (`revision` and
    `down_revision` literals), without Alembic; None when that is not one clear answer
    (a file it cannot read, two heads): the caller then asks Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(VERSIONS_DIR.glob("*.py")):
        if path.name == "__init__.py":
            continue
        try:
            found = _revision_literals(ast.parse(path.read_text(encoding="utf-8")))
        except (OSError, SyntaxError, ValueError):
            return None
        if "revision" not in found or "down_revision" not in found:
            return None
        rev, down = found["revision"], found["down_revision"]
        if not isinstance(rev, str) or rev in revisions:
            return None
        revisions.add(rev)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list):  # a merge revision
            parents.update(str(d) for d in down)
        elif down is not None:
            return None
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _revision_literals(tree: ast.Module) -> dict[str, object]:
    out: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, value = node.target.id, node.value
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name)):
            name, value = node.targets[0].id, node.value
        else:
            continue
        if name in ("revision", "down_revision") and value is not None:
            out[name] = ast.literal_eval(value)  # ValueError when not a literal
    return out


def is_at_head(engine: Engine) -> bool:
    """True when the database's one recorded revision is the scripted head: nothing to
    migrate. False (then `upgrade` decides, under its lock) when the head is unclear, the
    version table is missing or holds anything else."""
    head = scripted_head()
    if head is None:
        return False
    # a database that can't be reached fails here, as upgrade would: one error, one wait
    with engine.connect() as connection:
        try:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        except exc.DBAPIError:  # no version table yet: an empty database
            return False
    return [r[0] for r in rows] == [head]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (head by default); a no-op when already there."""
    # lean: Alembic loads only when a migration is pending (issue 23)
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            migration_lock(connection)
        command.upgrade(alembic_config(connection), revision)
