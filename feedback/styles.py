"""Style versions and evaluations: style-model training runs, the curated examples they
train on, and `askdesk eval` runs with their per-question results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exc, select, update
from sqlalchemy.orm import Session

from askdesk.feedback.models import (
    CuratedExample,
    EvalResult,
    EvalRun,
    Interaction,
    TrainRun,
    utcnow,
)
from askdesk.feedback.sql import Database, as_dict, columns


class Styles:
    """TrainRun, CuratedExample, EvalRun and EvalResult rows of one store."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- style model training runs ---------------------------------------------------------

    def record_train_run(
        self, report: Mapping[str, Any], folder: str, *, created_at: datetime | None = None
    ) -> int:
        """Store a finished `style train` run from its report.json (see askdesk.styling.training);
        `report["simulated"]` marks the demo history's made-up run."""
        row = TrainRun(
            created_at=created_at or utcnow(),
            simulated=bool(report.get("simulated", False)),
            version=str(report["version"]),
            mode=str(report.get("mode", "lora")),
            base_model=str(report.get("base_model", "")),
            data_hash=str(report.get("data_hash", "")),
            train_examples=int(report.get("train_examples", 0)),
            eval_examples=int(report.get("eval_examples", 0)),
            steps=int(report.get("steps", 0)),
            train_loss=report.get("train_loss"),
            eval_loss=report.get("eval_loss"),
            duration_s=float(report.get("duration_s", 0.0)),
            folder=folder,
            report={k: v for k, v in report.items() if k != "losses"},
        )
        with self.db.transaction() as session:
            session.add(row)
            session.flush()
            return row.id

    def train_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first."""
        query = select(TrainRun).order_by(TrainRun.created_at.desc(), TrainRun.id.desc())
        with self.db.transaction() as session:
            return [as_dict(row) for row in session.scalars(query.limit(limit))]

    def last_train_run(self) -> dict[str, Any] | None:
        runs = self.train_runs(limit=1)
        return runs[0] if runs else None

    # -- curated style examples -------------------------------------------------------------

    def curate(
        self, interaction_id: int, *, output: str | None = None, curated_by: str | None = None
    ) -> int:
        """Keep an answer as a style training example: (grounded draft → approved answer).

        With `output` the team corrected the answer ("edited"), else the answer stands as
        given ("thumbs_up"). One example per interaction: curating again updates it, and a
        changed text counts as unused again so the retrain rule sees it. Two processes
        curating the same answer at once: the loser of the unique row retries as an update.
        """
        try:
            return self._curate(interaction_id, output, curated_by)
        except exc.IntegrityError:
            return self._curate(interaction_id, output, curated_by)

    def _curate(self, interaction_id: int, output: str | None, curated_by: str | None) -> int:
        with self.db.transaction() as session:
            source = session.get(Interaction, interaction_id)
            if source is None:
                raise ValueError(f"no interaction {interaction_id}")
            text_in = source.draft or source.answer
            text_out = output if output is not None else source.answer
            if not text_out.strip():
                raise ValueError(f"interaction {interaction_id} has no answer to curate")
            example = _example_for(session, interaction_id)
            if (example.input, example.output) != (text_in, text_out):
                example.used_in = None
            example.input, example.output = text_in, text_out
            example.origin = "edited" if output is not None else "thumbs_up"
            example.curated_by = curated_by
            session.flush()
            return example.id

    def curated_examples(self, unused_only: bool = False) -> list[dict[str, Any]]:
        """Oldest first; `unused_only`: not yet consumed by a training run."""
        query = select(CuratedExample).order_by(CuratedExample.id)
        if unused_only:
            query = query.where(CuratedExample.used_in.is_(None))
        with self.db.transaction() as session:
            return [as_dict(row) for row in session.scalars(query)]

    def mark_examples_used(self, ids: Sequence[int], version: str) -> None:
        """Record which style model version trained on these examples."""
        if not ids:
            return
        statement = (
            update(CuratedExample).where(CuratedExample.id.in_(list(ids))).values(used_in=version)
        )
        with self.db.transaction() as session:
            session.execute(statement)

    # -- evaluation runs -------------------------------------------------------------------

    def record_eval_run(self, run: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> int:
        """Store one `askdesk eval` and its per-question rows together, so a run is never
        half there for the dashboard's trend and worst-questions views."""
        row = EvalRun(**columns(EvalRun, run, "eval run"))
        with self.db.transaction() as session:
            session.add(row)
            session.flush()
            session.add_all(
                EvalResult(eval_run_id=row.id, **columns(EvalResult, result, "eval result"))
                for result in results
            )
            return row.id

    def eval_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first, without their per-question results."""
        query = select(EvalRun).order_by(EvalRun.created_at.desc(), EvalRun.id.desc())
        with self.db.transaction() as session:
            return [as_dict(row) for row in session.scalars(query.limit(limit))]

    def eval_results(self, eval_run_id: int) -> list[dict[str, Any]]:
        """In golden-file order."""
        query = (
            select(EvalResult)
            .where(EvalResult.eval_run_id == eval_run_id)
            .order_by(EvalResult.position, EvalResult.id)
        )
        with self.db.transaction() as session:
            return [as_dict(row) for row in session.scalars(query)]


def _example_for(session: Session, interaction_id: int) -> CuratedExample:
    """The interaction's curated example, a new unused one when it has none yet."""
    example = session.scalars(
        select(CuratedExample).where(CuratedExample.interaction_id == interaction_id)
    ).first()
    if example is None:
        example = CuratedExample(interaction_id=interaction_id, used_in=None)
        session.add(example)
    return example
