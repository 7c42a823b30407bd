"""Privacy requests over the stored interactions and votes: retention, erasure, export,
and the log of each such action.

Votes and curated examples are deleted or detached explicitly rather than left to the
foreign keys: SQLite enforces them only when the connection enabled them, and a database
opened by another tool may not have.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update

from askdesk.feedback.models import CuratedExample, Interaction, PrivacyAction, Vote, utcnow
from askdesk.feedback.sql import Database, as_dict, json_ready


class Privacy:
    """Purge, forget and export people's rows; every action is logged as a PrivacyAction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def purge_older_than(
        self, days: int, *, now: datetime | None = None, actor: str | None = None
    ) -> dict[str, int]:
        """Delete interactions older than `days` and every vote on them (retention).

        Curated examples of purged interactions stay, detached: they are the team's text now.
        An interaction exactly `days` old is kept.
        """
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        cutoff = (now or utcnow()) - timedelta(days=days)
        old = select(Interaction.id).where(Interaction.created_at < cutoff)
        with self.db.transaction() as session:
            votes = session.execute(delete(Vote).where(Vote.interaction_id.in_(old))).rowcount
            session.execute(
                update(CuratedExample)
                .where(CuratedExample.interaction_id.in_(old))
                .values(interaction_id=None)
            )
            interactions = session.execute(
                delete(Interaction).where(Interaction.created_at < cutoff)
            ).rowcount
            rows = {"interaction": interactions, "vote": votes}
            session.add(
                PrivacyAction(
                    action="purge", rows=rows, detail=f"older than {days} days", actor=actor
                )
            )
            return rows

    def forget_asker(self, asker_hash: str, *, actor: str | None = None) -> dict[str, int]:
        """Erase one person: what they asked (with every vote on it and any example curated
        from it) and every vote they cast on other people's answers."""
        theirs = select(Interaction.id).where(Interaction.asker_hash == asker_hash)
        with self.db.transaction() as session:
            votes = session.execute(
                delete(Vote).where(
                    or_(Vote.interaction_id.in_(theirs), Vote.voter_hash == asker_hash)
                )
            ).rowcount
            examples = session.execute(
                delete(CuratedExample).where(CuratedExample.interaction_id.in_(theirs))
            ).rowcount
            interactions = session.execute(
                delete(Interaction).where(Interaction.asker_hash == asker_hash)
            ).rowcount
            rows = {"interaction": interactions, "vote": votes, "curated_example": examples}
            session.add(PrivacyAction(action="forget", rows=rows, actor=actor))
            return rows

    def export_asker(self, asker_hash: str, *, actor: str | None = None) -> dict[str, Any]:
        """Everything stored about one person, as JSON-ready dicts (a data access request):
        the questions they asked and the votes they cast; not other people's votes."""
        asked = (
            select(Interaction)
            .where(Interaction.asker_hash == asker_hash)
            .order_by(Interaction.created_at, Interaction.id)
        )
        cast = select(Vote).where(Vote.voter_hash == asker_hash).order_by(Vote.created_at, Vote.id)
        with self.db.transaction() as session:
            interactions = [json_ready(as_dict(row)) for row in session.scalars(asked)]
            votes = [json_ready(as_dict(row)) for row in session.scalars(cast)]
            rows = {"interaction": len(interactions), "vote": len(votes)}
            session.add(PrivacyAction(action="export", rows=rows, actor=actor))
            return {"interactions": interactions, "votes": votes}

    def actions(self, limit: int = 50) -> list[dict[str, Any]]:
        """The logged privacy actions, newest first."""
        query = select(PrivacyAction).order_by(
            PrivacyAction.created_at.desc(), PrivacyAction.id.desc()
        )
        with self.db.transaction() as session:
            return [as_dict(row) for row in session.scalars(query.limit(limit))]
