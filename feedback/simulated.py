"""The demo's made-up history: simulated interactions, votes and runs, written in one go
and removed without touching a real row (`simulated` is set on every such row)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, update

from askdesk.feedback.interactions import check_vote
from askdesk.feedback.models import (
    CuratedExample,
    EvalResult,
    EvalRun,
    IndexRun,
    Interaction,
    TrainRun,
    Vote,
)
from askdesk.feedback.sql import Database, columns


class SimulatedHistory:
    """Writes and deletes the rows marked simulated."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record_interactions(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store made-up interactions (Interaction columns, each with its `votes`: voter_hash,
        value, reason, source, created_at) in one transaction, every one marked simulated.

        For the demo's weeks of history: hundreds of rows written at once, dated in the past,
        without asking the engine anything. Returns how many interactions were stored."""
        with self.db.transaction() as session:
            for given in rows:
                values = dict(given)
                votes = values.pop("votes", ())
                values.pop("simulated", None)
                row = Interaction(**columns(Interaction, values, "interaction"), simulated=True)
                session.add(row)
                session.flush()
                for vote in votes:
                    check_vote(int(vote["value"]), vote.get("reason"))
                    stamp = vote.get("created_at") or row.created_at
                    session.add(
                        Vote(
                            interaction_id=row.id,
                            voter_hash=str(vote["voter_hash"]),
                            value=int(vote["value"]),
                            reason=vote.get("reason"),
                            comment=vote.get("comment"),
                            source=str(vote.get("source") or "demo"),
                            created_at=stamp,
                            updated_at=stamp,
                        )
                    )
            return len(rows)

    def delete(self) -> dict[str, int]:
        """Remove every simulated row (the demo's made-up history) and the votes on simulated
        interactions; real rows are untouched. Returns how many rows of each table went."""
        fake = select(Interaction.id).where(Interaction.simulated.is_(True))
        fake_runs = select(EvalRun.id).where(EvalRun.simulated.is_(True))
        with self.db.transaction() as session:
            out = {"vote": session.execute(delete(Vote).where(Vote.interaction_id.in_(fake)))}
            session.execute(
                update(CuratedExample)
                .where(CuratedExample.interaction_id.in_(fake))
                .values(interaction_id=None)
            )
            session.execute(delete(EvalResult).where(EvalResult.eval_run_id.in_(fake_runs)))
            for name, model in (
                ("interaction", Interaction),
                ("index_run", IndexRun),
                ("train_run", TrainRun),
                ("eval_run", EvalRun),
            ):
                out[name] = session.execute(delete(model).where(model.simulated.is_(True)))
            return {name: result.rowcount for name, result in out.items()}
