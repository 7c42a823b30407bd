"""The feedback store: one database, split into repositories by what they keep.

`FeedbackStore(url)` is the one object the rest of askdesk is handed. It opens the database
lazily (engine built and schema migrated to head on first use, so constructing one for
`askdesk --help` costs nothing) and holds one repository per kind of row, all over the same
engine:

- `interactions`: questions, answers and the votes on them (`askdesk.feedback.interactions`);
- `index_runs`: ingestion passes (`askdesk.feedback.index_runs`);
- `styles`: style training runs, curated examples, evaluation runs (`askdesk.feedback.styles`);
- `fleet`: claims, named locks, fleet-wide settings (`askdesk.feedback.fleet`, the only module with
  PostgreSQL lock SQL);
- `jobs`: the background job journal (`askdesk.feedback.jobs`);
- `privacy`: retention, erasure and export requests (`askdesk.feedback.privacy`);
- `simulated`: the demo's made-up history (`askdesk.feedback.simulated`).

Callers get plain dicts back, never ORM objects, so nothing outside this package depends on
SQLAlchemy sessions being open. Each repository method is one short transaction.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Engine, func, select

from askdesk.feedback.db import make_engine, user_facing_errors
from askdesk.feedback.fleet import Fleet
from askdesk.feedback.index_runs import IndexRuns
from askdesk.feedback.interactions import Interactions
from askdesk.feedback.jobs import JobJournal
from askdesk.feedback.migrate import is_at_head, upgrade
from askdesk.feedback.models import IndexRun, Interaction, Vote
from askdesk.feedback.privacy import Privacy
from askdesk.feedback.simulated import SimulatedHistory
from askdesk.feedback.sql import Database
from askdesk.feedback.styles import Styles


def open_migrated(url: str) -> Engine:
    """An engine on `url` whose schema is at head (migrated now when it was not)."""
    engine = make_engine(url)
    try:
        with user_facing_errors(url, opening=True):
            if not is_at_head(engine):  # Alembic is imported only when this is False
                upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


class FeedbackStore:
    """One SQL database given by its URL and its repositories. Safe to share between
    threads, and between processes pointed at the same database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.db = Database(url, open_migrated)
        self.interactions = Interactions(self.db)
        self.index_runs = IndexRuns(self.db)
        self.styles = Styles(self.db)
        self.fleet = Fleet(self.db)
        self.jobs = JobJournal(self.db)
        self.privacy = Privacy(self.db)
        self.simulated = SimulatedHistory(self.db)

    @property
    def engine(self) -> Engine:
        return self.db.engine

    def ping(self) -> None:
        """Raise when the database cannot be reached now (a readiness probe's check)."""
        with self.db.transaction() as session:
            session.execute(select(1))

    def counts(self) -> dict[str, int]:
        """How many interactions, votes and index runs are stored (an overview)."""
        with self.db.transaction() as session:
            return {
                name: session.scalar(select(func.count()).select_from(model)) or 0
                for name, model in (
                    ("interactions", Interaction),
                    ("votes", Vote),
                    ("index_runs", IndexRun),
                )
            }

    def close(self) -> None:
        """Release pooled connections; the store reopens itself if used again."""
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
