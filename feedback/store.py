"""The feedback store: the one way the rest of askdesk reads and writes interactions and votes.

Callers get plain dicts back, never ORM objects, so nothing outside this package depends on
SQLAlchemy sessions being open. Each method is one short transaction; on SQLite that
transaction holds the write lock (BEGIN IMMEDIATE), which is what lets several bot processes
share one file without "database is locked" errors.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Engine, case, delete, exc, func, inspect, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from feedback.db import StoreError, make_engine, user_facing_errors
from feedback.migrate import is_at_head, upgrade
from feedback.models import (
    INDEX_RUN_STATUSES,
    VOTE_REASONS,
    VOTE_VALUES,
    Base,
    CuratedExample,
    DeliveryClaim,
    EvalResult,
    EvalRun,
    IndexRun,
    InstanceSetting,
    Interaction,
    PrivacyAction,
    TrainRun,
    Vote,
    utcnow,
)

_UPSERT_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def _as_dict(row: Base) -> dict[str, Any]:
    return {attr.key: getattr(row, attr.key) for attr in inspect(type(row)).column_attrs}


def _json_ready(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _columns(model: type[Base], given: Mapping[str, Any], what: str) -> dict[str, Any]:
    """The given keys as model columns; an unknown key is a caller's typo, not data to drop."""
    allowed = {attr.key for attr in inspect(model).column_attrs} - {"id", "eval_run_id"}
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise ValueError(f"unknown {what} field(s): {', '.join(unknown)}")
    return dict(given)


def _keep_if_same(old: Any, new: Any, same: Any) -> Any:
    return case((same, func.coalesce(new, old)), else_=new)


CLAIM_TTL_S = 24 * 3600.0
"""How long a delivery claim lasts: Slack retries for minutes, a day is far beyond that."""

_SWEEP_EVERY = 200
_claims_since_sweep = [0]


def _sweep_due() -> bool:
    """Every so many claims, also delete all expired ones (not on each: that is a scan)."""
    _claims_since_sweep[0] += 1
    if _claims_since_sweep[0] >= _SWEEP_EVERY:
        _claims_since_sweep[0] = 0
        return True
    return False


ABANDONED_RUN = "the run ended before it finished (process killed or machine stopped)"
"""The error an interrupted-by-death index run shows; the index keeps what it had committed."""


def _check_index_run_status(status: str) -> None:
    finished = [s for s in INDEX_RUN_STATUSES if s != "running"]
    if status not in finished:
        raise ValueError(f"index run status must be one of {', '.join(finished)}, got {status!r}")


def _check_vote(value: int, reason: str | None) -> None:
    if isinstance(value, bool) or value not in VOTE_VALUES:
        raise ValueError(f"vote value must be +1 or -1, got {value!r}")
    if reason is not None and reason not in VOTE_REASONS:
        allowed = ", ".join(VOTE_REASONS)
        raise ValueError(f"vote reason must be one of {allowed} or None, got {reason!r}")
    if reason is not None and value != -1:
        # a reason says what was wrong: a 👍 with "wrong facts" would count as a facts 👎
        raise ValueError(f"a vote reason is only for a 👎 (down) vote, got {reason!r} with 👍")


class FeedbackStore:
    """Interactions, votes and index runs in one SQL database, given by its URL.

    Opening is lazy: the engine is built and the schema migrated to head on first use, so
    constructing a store (e.g. for ``askdesk --help``) costs nothing. Safe to share between
    threads, and between processes pointed at the same database.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._open_lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._open_lock:
                if self._engine is None:
                    self._engine = self._open()
        return self._engine

    def _open(self) -> Engine:
        engine = make_engine(self.url)
        try:
            with user_facing_errors(self.url, opening=True):
                if not is_at_head(engine):  # Alembic is imported only when this is False
                    upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return engine

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        engine = self.engine
        with (
            user_facing_errors(self.url),
            Session(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def ping(self) -> None:
        """Raise when the database cannot be reached now (a readiness probe's check)."""
        with self._transaction() as session:
            session.execute(select(1))

    def close(self) -> None:
        """Release pooled connections; the store reopens itself if used again."""
        with self._open_lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- interactions ---------------------------------------------------------------------

    def record_interaction(
        self,
        *,
        platform: str,
        question: str,
        answer: str,
        channel: str | None = None,
        thread: str | None = None,
        asker_hash: str | None = None,
        sources: Sequence[Mapping[str, Any]] = (),
        confidence: float = 0.0,
        unanswered: bool = False,
        latency_ms: float = 0.0,
        timings: Mapping[str, Any] | None = None,
        versions: Mapping[str, Any] | None = None,
        style_model_version: str | None = None,
        style_used: bool = False,
        style_note: str | None = None,
        tone_score: float | None = None,
        escalated: bool = False,
        error: str | None = None,
        created_at: datetime | None = None,
        draft: str | None = None,
        composer: str | None = None,
        composer_note: str | None = None,
        shown: str | None = None,
        simulated: bool = False,
        hedged: bool = False,
    ) -> int:
        """Store one answered (or failed) question; ``asker_hash`` must already be hashed.
        `simulated` marks a made-up row (the demo's history), never a real user's question."""
        row = Interaction(
            created_at=created_at or utcnow(),
            platform=platform,
            channel=channel,
            thread=thread,
            asker_hash=asker_hash,
            question=question,
            answer=answer,
            sources=[dict(source) for source in sources],
            confidence=float(confidence),
            unanswered=unanswered,
            latency_ms=float(latency_ms),
            timings=dict(timings or {}),
            versions=dict(versions or {}),
            style_model_version=style_model_version,
            style_used=style_used,
            style_note=None if style_note is None else style_note[:256],
            tone_score=None if tone_score is None else float(tone_score),
            escalated=escalated,
            error=error,
            draft=draft if draft != answer else None,
            composer=None if composer is None else composer[:128],
            composer_note=None if composer_note is None else composer_note[:256],
            shown=shown,
            simulated=simulated,
            hedged=hedged,
        )
        with self._transaction() as session:
            session.add(row)
            session.flush()
            return row.id

    def get_interaction(self, interaction_id: int) -> dict[str, Any] | None:
        with self._transaction() as session:
            row = session.get(Interaction, interaction_id)
            return None if row is None else _as_dict(row)

    def recent_interactions(
        self, limit: int = 50, platform: str | None = None
    ) -> list[dict[str, Any]]:
        """Newest first."""
        query = select(Interaction).order_by(Interaction.created_at.desc(), Interaction.id.desc())
        if platform is not None:
            query = query.where(Interaction.platform == platform)
        with self._transaction() as session:
            return [_as_dict(row) for row in session.scalars(query.limit(limit))]

    def record_style(
        self,
        interaction_id: int,
        *,
        styled: str | None,
        note: str | None,
        style_model_version: str | None,
        tone_score: float | None,
        style_ms: float | None = None,
    ) -> None:
        """The rewrite's outcome for an answer recorded with its draft first (style edited in
        later): with `styled`, the answer becomes the styled text and the draft is kept beside
        it; without, the draft stands and `note` says why. `shown` is left to `mark_shown`."""
        with self._transaction() as session:
            row = session.get(Interaction, interaction_id, with_for_update=True)
            if row is None:
                raise ValueError(f"no interaction {interaction_id}")
            row.style_note = None if note is None else note[:256]
            if styled:
                row.draft = row.draft or row.answer
                row.answer = styled
                row.style_used = True
                row.style_model_version = style_model_version
            if tone_score is not None:
                row.tone_score = float(tone_score)
            if style_ms is not None:
                row.timings = {**(row.timings or {}), "style_ms": round(style_ms, 2)}

    def mark_shown(self, interaction_id: int, shown: str) -> None:
        """What the answer's chat message shows from now on ("draft" or "styled"); votes cast
        afterwards record it."""
        statement = update(Interaction).where(Interaction.id == interaction_id).values(shown=shown)
        with self._transaction() as session:
            if session.execute(statement).rowcount == 0:
                raise ValueError(f"no interaction {interaction_id}")

    def mark_escalated(self, interaction_id: int) -> bool:
        """Flag that a human was asked to take over; unknown ids raise ValueError.

        Returns True only for the call that flipped the flag: with several processes on one
        database, a second "Talk to a human" (another click, a retry on another process)
        sees False and must not ping the humans again."""
        statement = (
            update(Interaction)
            .where(Interaction.id == interaction_id, Interaction.escalated.is_(False))
            .values(escalated=True)
        )
        with self._transaction() as session:
            if session.execute(statement).rowcount:
                return True
            if session.get(Interaction, interaction_id) is None:
                raise ValueError(f"no interaction {interaction_id}")
            return False

    def set_answer_ref(self, interaction_id: int, answer_ref: str) -> None:
        """Remember which chat message carried the answer (for reactions on it)."""
        statement = (
            update(Interaction)
            .where(Interaction.id == interaction_id)
            .values(answer_ref=answer_ref)
        )
        with self._transaction() as session:
            if session.execute(statement).rowcount == 0:
                raise ValueError(f"no interaction {interaction_id}")

    def interaction_by_answer_ref(self, platform: str, answer_ref: str) -> dict[str, Any] | None:
        query = (
            select(Interaction)
            .where(Interaction.platform == platform, Interaction.answer_ref == answer_ref)
            .order_by(Interaction.id.desc())
            .limit(1)
        )
        with self._transaction() as session:
            row = session.scalars(query).first()
            return None if row is None else _as_dict(row)

    def thread_interactions(
        self, platform: str, channel: str | None, thread: str, limit: int = 3
    ) -> list[dict[str, Any]]:
        """The thread's latest answered questions, oldest first (context for a follow-up)."""
        query = (
            select(Interaction)
            .where(
                Interaction.platform == platform,
                Interaction.channel == channel,
                Interaction.thread == thread,
            )
            .order_by(Interaction.id.desc())
            .limit(limit)
        )
        with self._transaction() as session:
            return [_as_dict(row) for row in reversed(list(session.scalars(query)))]

    def last_interaction(self, platform: str, channel: str) -> dict[str, Any] | None:
        """The channel's latest interaction (a DM's last answer: does a new message continue
        its conversation?), or None."""
        query = (
            select(Interaction)
            .where(Interaction.platform == platform, Interaction.channel == channel)
            .order_by(Interaction.id.desc())
            .limit(1)
        )
        with self._transaction() as session:
            row = session.scalars(query).first()
            return None if row is None else _as_dict(row)

    # -- votes ----------------------------------------------------------------------------

    def record_vote(
        self,
        interaction_id: int,
        voter_hash: str,
        value: int,
        reason: str | None = None,
        comment: str | None = None,
        source: str = "button",
    ) -> dict[str, Any]:
        """Record or replace this voter's vote on the interaction and return the stored vote.

        One vote per (interaction, voter): a click on the other button, or the same click
        arriving twice from a retried webhook, updates the row instead of adding one. The
        upsert is a single statement, so concurrent duplicates cannot collide.

        `updated_at` is stamped only once this transaction holds the lock that orders votes on
        the interaction (SQLite: the write lock BEGIN IMMEDIATE takes with the first
        statement; PostgreSQL: the interaction row, locked FOR UPDATE), so the vote written
        last also carries the latest time. Stamped before waiting for the lock, an earlier
        click could be written last with the older time.
        """
        _check_vote(value, reason)
        with self._transaction() as session:
            dialect = session.get_bind().dialect.name
            if dialect not in _UPSERT_INSERTS:
                raise StoreError(f"votes need SQLite or PostgreSQL, not {dialect}")
            exists = session.execute(
                select(Interaction.id, Interaction.shown)
                .where(Interaction.id == interaction_id)
                .with_for_update()
            ).first()
            if exists is None:
                raise ValueError(f"no interaction {interaction_id}")
            shown = exists.shown  # what the voter saw: read under the same lock mark_shown takes
            now = utcnow()  # after the lock: see the docstring
            insert = _UPSERT_INSERTS[dialect](Vote).values(
                interaction_id=interaction_id,
                voter_hash=voter_hash,
                value=value,
                reason=reason,
                comment=comment,
                source=source,
                created_at=now,
                updated_at=now,
                shown=shown,
            )
            same = Vote.value == insert.excluded.value
            upsert = insert.on_conflict_do_update(
                index_elements=[Vote.interaction_id, Vote.voter_hash],
                set_={
                    "value": insert.excluded.value,
                    # the same verdict again without a reason/comment (a reaction after the
                    # 👎-and-why flow) keeps what the voter said; a changed verdict resets it
                    "reason": _keep_if_same(Vote.reason, insert.excluded.reason, same),
                    "comment": _keep_if_same(Vote.comment, insert.excluded.comment, same),
                    "source": insert.excluded.source,
                    "updated_at": insert.excluded.updated_at,
                    "shown": insert.excluded.shown,
                },
            )
            try:
                session.execute(upsert)
            except exc.IntegrityError as error:  # deleted meanwhile (PostgreSQL only)
                raise ValueError(f"no interaction {interaction_id}") from error
            vote = session.scalars(
                select(Vote).where(
                    Vote.interaction_id == interaction_id, Vote.voter_hash == voter_hash
                )
            ).one()
            return _as_dict(vote)

    def votes_for(self, interaction_id: int) -> list[dict[str, Any]]:
        """Oldest first."""
        query = (
            select(Vote)
            .where(Vote.interaction_id == interaction_id)
            .order_by(Vote.created_at, Vote.id)
        )
        with self._transaction() as session:
            return [_as_dict(row) for row in session.scalars(query)]

    # -- index runs -----------------------------------------------------------------------

    def record_index_run(
        self,
        *,
        docs_root: str,
        status: str,
        embed_model: str,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
        docs_added: int = 0,
        docs_changed: int = 0,
        docs_removed: int = 0,
        docs_unchanged: int = 0,
        chunks_added: int = 0,
        chunks_removed: int = 0,
        chunks_unchanged: int = 0,
        chunks_embedded: int = 0,
        skipped: Sequence[Mapping[str, Any]] = (),
        duration_s: float = 0.0,
        table_version: int | None = None,
        error: str | None = None,
        source: str | None = None,
        revision: str | None = None,
        simulated: bool = False,
    ) -> int:
        """Store a finished ingestion pass; times default to "just finished, took duration_s"."""
        _check_index_run_status(status)
        finished_at = finished_at or utcnow()
        started_at = started_at or finished_at - timedelta(seconds=duration_s)
        row = IndexRun(
            started_at=started_at,
            finished_at=finished_at,
            status=status,
            docs_root=docs_root,
            docs_added=docs_added,
            docs_changed=docs_changed,
            docs_removed=docs_removed,
            docs_unchanged=docs_unchanged,
            chunks_added=chunks_added,
            chunks_removed=chunks_removed,
            chunks_unchanged=chunks_unchanged,
            chunks_embedded=chunks_embedded,
            skipped=[dict(item) for item in skipped],
            duration_s=float(duration_s),
            table_version=table_version,
            embed_model=embed_model,
            error=error,
            source=source,
            revision=revision,
            simulated=simulated,
        )
        with self._transaction() as session:
            session.add(row)
            session.flush()
            return row.id

    def start_index_run(
        self,
        *,
        docs_root: str,
        embed_model: str,
        started_at: datetime | None = None,
        source: str | None = None,
    ) -> int:
        """Record a run as "running" before it writes anything, so a run killed outright
        still leaves a trace (see `finish_index_run`, `close_abandoned_index_runs`)."""
        row = IndexRun(
            started_at=started_at or utcnow(),
            finished_at=None,
            status="running",
            docs_root=docs_root,
            source=source,
            embed_model=embed_model,
            skipped=[],
        )
        with self._transaction() as session:
            session.add(row)
            session.flush()
            return row.id

    def finish_index_run(self, run_id: int, **fields: Any) -> None:
        """Complete a row from `start_index_run` with the run's report (same fields as
        `record_index_run`); `finished_at` defaults to now."""
        values = _columns(IndexRun, fields, "index run")
        _check_index_run_status(str(values.get("status")))
        values.setdefault("finished_at", utcnow())
        values.pop("started_at", None)  # the row has the real start
        if "skipped" in values:
            values["skipped"] = [dict(item) for item in values["skipped"]]
        with self._transaction() as session:
            found = session.execute(
                update(IndexRun).where(IndexRun.id == run_id).values(**values)
            ).rowcount
        if not found:
            raise ValueError(f"no index run {run_id}")

    def close_abandoned_index_runs(self, docs_root: str | None = None) -> int:
        """Mark rows still "running" as interrupted; call it only while holding the index
        lock, when no run of this data folder can be running. Returns how many it closed."""
        query = update(IndexRun).where(IndexRun.status == "running")
        if docs_root is not None:
            query = query.where(IndexRun.docs_root == docs_root)
        with self._transaction() as session:
            return session.execute(query.values(status="interrupted", error=ABANDONED_RUN)).rowcount

    def last_index_run(
        self, docs_root: str | None = None, status: str | None = None, source: str | None = None
    ) -> dict[str, Any] | None:
        """The most recently finished run, optionally for one docs root, status and/or
        source name."""
        query = (
            select(IndexRun)
            .where(IndexRun.finished_at.is_not(None))
            .order_by(IndexRun.finished_at.desc(), IndexRun.id.desc())
            .limit(1)
        )
        if docs_root is not None:
            query = query.where(IndexRun.docs_root == docs_root)
        if status is not None:
            query = query.where(IndexRun.status == status)
        if source is not None:
            query = query.where(IndexRun.source == source)
        with self._transaction() as session:
            row = session.scalars(query).first()
            return None if row is None else _as_dict(row)

    def latest_index_run(self) -> dict[str, Any] | None:
        """The most recently started run, finished or not ("running")."""
        rows = self.index_runs(limit=1)
        return rows[0] if rows else None

    def index_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first."""
        query = (
            select(IndexRun).order_by(IndexRun.started_at.desc(), IndexRun.id.desc()).limit(limit)
        )
        with self._transaction() as session:
            return [_as_dict(row) for row in session.scalars(query)]

    # -- style model training runs ---------------------------------------------------------

    def record_train_run(
        self, report: Mapping[str, Any], folder: str, *, created_at: datetime | None = None
    ) -> int:
        """Store a finished `style train` run from its report.json (see styling.training.fine_tune);
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
        with self._transaction() as session:
            session.add(row)
            session.flush()
            return row.id

    def train_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first."""
        query = select(TrainRun).order_by(TrainRun.created_at.desc(), TrainRun.id.desc())
        with self._transaction() as session:
            return [_as_dict(row) for row in session.scalars(query.limit(limit))]

    def last_train_run(self) -> dict[str, Any] | None:
        runs = self.train_runs(limit=1)
        return runs[0] if runs else None

    # -- evaluation runs -------------------------------------------------------------------

    def record_eval_run(self, run: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> int:
        """Store one `askdesk eval` and its per-question rows together, so a run is never
        half there for the dashboard's trend and worst-questions views."""
        row = EvalRun(**_columns(EvalRun, run, "eval run"))
        with self._transaction() as session:
            session.add(row)
            session.flush()
            session.add_all(
                EvalResult(eval_run_id=row.id, **_columns(EvalResult, result, "eval result"))
                for result in results
            )
            return row.id

    def eval_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first, without their per-question results."""
        query = select(EvalRun).order_by(EvalRun.created_at.desc(), EvalRun.id.desc())
        with self._transaction() as session:
            return [_as_dict(row) for row in session.scalars(query.limit(limit))]

    def eval_results(self, eval_run_id: int) -> list[dict[str, Any]]:
        """In golden-file order."""
        query = (
            select(EvalResult)
            .where(EvalResult.eval_run_id == eval_run_id)
            .order_by(EvalResult.position, EvalResult.id)
        )
        with self._transaction() as session:
            return [_as_dict(row) for row in session.scalars(query)]

    # -- simulated history ------------------------------------------------------------------

    def record_simulated_interactions(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Store made-up interactions (Interaction columns, each with its `votes`: voter_hash,
        value, reason, source, created_at) in one transaction, every one marked simulated.

        For the demo's weeks of history: hundreds of rows written at once, dated in the past,
        without asking the engine anything. Returns how many interactions were stored."""
        with self._transaction() as session:
            for given in rows:
                values = dict(given)
                votes = values.pop("votes", ())
                values.pop("simulated", None)
                row = Interaction(
                    **_columns(Interaction, values, "interaction"),
                    simulated=True,
                )
                session.add(row)
                session.flush()
                for vote in votes:
                    _check_vote(int(vote["value"]), vote.get("reason"))
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

    def delete_simulated(self) -> dict[str, int]:
        """Remove every simulated row (the demo's made-up history) and the votes on simulated
        interactions; real rows are untouched. Returns how many rows of each table went."""
        fake = select(Interaction.id).where(Interaction.simulated.is_(True))
        fake_runs = select(EvalRun.id).where(EvalRun.simulated.is_(True))
        with self._transaction() as session:
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

    # -- privacy ----------------------------------------------------------------------------
    # Votes and curated examples are deleted or detached explicitly rather than left to the
    # foreign keys: SQLite enforces them only when the connection enabled them, and a database
    # opened by another tool may not have.

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
        with self._transaction() as session:
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
        with self._transaction() as session:
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
        with self._transaction() as session:
            interactions = [_json_ready(_as_dict(row)) for row in session.scalars(asked)]
            votes = [_json_ready(_as_dict(row)) for row in session.scalars(cast)]
            rows = {"interaction": len(interactions), "vote": len(votes)}
            session.add(PrivacyAction(action="export", rows=rows, actor=actor))
            return {"interactions": interactions, "votes": votes}

    def privacy_actions(self, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first."""
        query = select(PrivacyAction).order_by(
            PrivacyAction.created_at.desc(), PrivacyAction.id.desc()
        )
        with self._transaction() as session:
            return [_as_dict(row) for row in session.scalars(query.limit(limit))]

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
        with self._transaction() as session:
            source = session.get(Interaction, interaction_id)
            if source is None:
                raise ValueError(f"no interaction {interaction_id}")
            text_in = source.draft or source.answer
            text_out = output if output is not None else source.answer
            if not text_out.strip():
                raise ValueError(f"interaction {interaction_id} has no answer to curate")
            origin = "edited" if output is not None else "thumbs_up"
            example = session.scalars(
                select(CuratedExample).where(CuratedExample.interaction_id == interaction_id)
            ).first()
            if example is None:
                example = CuratedExample(interaction_id=interaction_id, used_in=None)
                session.add(example)
            elif (example.input, example.output) != (text_in, text_out):
                example.used_in = None
            example.input, example.output = text_in, text_out
            example.origin, example.curated_by = origin, curated_by
            session.flush()
            return example.id

    def curated_examples(self, unused_only: bool = False) -> list[dict[str, Any]]:
        """Oldest first; `unused_only`: not yet consumed by a training run."""
        query = select(CuratedExample).order_by(CuratedExample.id)
        if unused_only:
            query = query.where(CuratedExample.used_in.is_(None))
        with self._transaction() as session:
            return [_as_dict(row) for row in session.scalars(query)]

    def mark_examples_used(self, ids: Sequence[int], version: str) -> None:
        """Record which style model version trained on these examples."""
        if not ids:
            return
        statement = (
            update(CuratedExample).where(CuratedExample.id.in_(list(ids))).values(used_in=version)
        )
        with self._transaction() as session:
            session.execute(statement)

    def downvoted_with_comment(self, limit: int = 500) -> list[dict[str, Any]]:
        """Interactions with a 👎 that says what was wrong, newest first, one row each with
        the latest such vote's `comment` (taken as the corrected answer) and `reason`."""
        query = (
            select(Interaction, Vote)
            .join(Vote, Vote.interaction_id == Interaction.id)
            .where(Vote.value == -1, Vote.comment.is_not(None), func.trim(Vote.comment) != "")
            .order_by(Vote.updated_at.desc(), Vote.id.desc())
        )
        out: dict[int, dict[str, Any]] = {}
        with self._transaction() as session:
            for interaction, vote in session.execute(query):
                if interaction.id in out:
                    continue
                row = _as_dict(interaction)
                row.update(comment=vote.comment.strip(), reason=vote.reason)
                out[interaction.id] = row
                if len(out) >= limit:
                    break
        return list(out.values())

    # -- fleet: state several processes must agree on ---------------------------------------

    def claim(self, key: str, *, ttl_s: float = CLAIM_TTL_S, owner: str | None = None) -> bool:
        """Take `key` for this process: True for exactly one caller across every process on
        this database (until the claim expires), False for all others.

        One INSERT … ON CONFLICT DO NOTHING, so two processes claiming at once cannot both
        win; expired claims are deleted first, in the same transaction, so a key can be taken
        again a day later and the table stays small.
        """
        if len(key) > 255:
            raise ValueError("claim keys are at most 255 characters")
        now = utcnow()
        with self._transaction() as session:
            dialect = session.get_bind().dialect.name
            if dialect not in _UPSERT_INSERTS:
                raise StoreError(f"claims need SQLite or PostgreSQL, not {dialect}")
            session.execute(
                delete(DeliveryClaim).where(
                    DeliveryClaim.key == key, DeliveryClaim.expires_at <= now
                )
            )
            if _sweep_due():
                session.execute(delete(DeliveryClaim).where(DeliveryClaim.expires_at <= now))
            insert = _UPSERT_INSERTS[dialect](DeliveryClaim).values(
                key=key, claimed_at=now, expires_at=now + timedelta(seconds=ttl_s), owner=owner
            )
            # RETURNING, not rowcount: the driver reports -1 for a skipped ORM-level insert
            taken = insert.on_conflict_do_nothing(index_elements=["key"]).returning(
                DeliveryClaim.key
            )
            return session.execute(taken).first() is not None

    def release(self, key: str) -> None:
        """Drop a claim so the delivery can be taken again (the work it guarded never began)."""
        with self._transaction() as session:
            session.execute(delete(DeliveryClaim).where(DeliveryClaim.key == key))

    def hold(self, key: str, work: dict[str, Any], *, owner: str) -> None:
        """Attach what is needed to answer claim `key` (never a raw user id) and name its
        owner, so a survivor can answer it if `owner` dies before `finish(key)`."""
        with self._transaction() as session:
            session.execute(
                update(DeliveryClaim)
                .where(DeliveryClaim.key == key)
                .values(work=work, owner=owner, claimed_at=utcnow())
            )

    def finish(self, key: str) -> None:
        """The work held under `key` is done: nobody takes it over any more."""
        with self._transaction() as session:
            session.execute(
                update(DeliveryClaim).where(DeliveryClaim.key == key).values(work=null())
            )

    def renew_held(self, owner: str) -> int:
        """`owner` is alive: its held work is renewed (not stale for `unfinished_owners`).
        Returns how many rows it holds."""
        with self._transaction() as session:
            return session.execute(
                update(DeliveryClaim)
                .where(DeliveryClaim.owner == owner, DeliveryClaim.work.is_not(None))
                .values(claimed_at=utcnow())
            ).rowcount

    def unfinished_owners(self, older_than_s: float) -> list[str]:
        """Owners of held work at least `older_than_s` old (alive or not: the caller checks)."""
        cutoff = utcnow() - timedelta(seconds=older_than_s)
        with self._transaction() as session:
            rows = session.scalars(
                select(DeliveryClaim.owner)
                .where(
                    DeliveryClaim.work.is_not(None),
                    DeliveryClaim.owner.is_not(None),
                    DeliveryClaim.claimed_at <= cutoff,
                )
                .distinct()
            )
            return [str(owner) for owner in rows]

    def take_over(self, dead: str, owner: str) -> list[tuple[str, dict[str, Any]]]:
        """Move `dead`'s unfinished work to `owner` and return it. One UPDATE … WHERE
        owner = dead RETURNING: of several survivors racing, exactly one gets each row."""
        with self._transaction() as session:
            rows = session.execute(
                update(DeliveryClaim)
                .where(DeliveryClaim.owner == dead, DeliveryClaim.work.is_not(None))
                .values(owner=owner, claimed_at=utcnow())
                .returning(DeliveryClaim.key, DeliveryClaim.work)
            ).all()
            return [(str(key), dict(work)) for key, work in rows]

    def instance_setting(self, name: str, proposed: str) -> str:
        """The fleet-wide value of `name`: `proposed` if nobody set it yet, else the value
        already stored (which is never replaced). Safe when processes race to set it."""
        with self._transaction() as session:
            dialect = session.get_bind().dialect.name
            insert = _UPSERT_INSERTS[dialect](InstanceSetting).values(
                name=name, value=proposed, created_at=utcnow()
            )
            session.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
            return session.scalars(
                select(InstanceSetting.value).where(InstanceSetting.name == name)
            ).one()

    # -- overview -------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        with self._transaction() as session:
            return {
                name: session.scalar(select(func.count()).select_from(model)) or 0
                for name, model in (
                    ("interactions", Interaction),
                    ("votes", Vote),
                    ("index_runs", IndexRun),
                )
            }
