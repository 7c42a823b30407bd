"""Interactions and votes: what was asked, what was answered, and what people thought of it.

Every method is one short transaction on the shared `Database`; rows come back as plain
dicts. Style examples, index runs, privacy requests and fleet coordination have their own
repositories (see `askdesk.feedback.store`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exc, func, select, update

from askdesk.feedback.models import VOTE_REASONS, VOTE_VALUES, Interaction, Vote, utcnow
from askdesk.feedback.records import InteractionRecord, StyleOutcome
from askdesk.feedback.sql import Database, as_dict, keep_if_same


def check_vote(value: int, reason: str | None) -> None:
    """Raise ValueError unless (value, reason) is a vote the store keeps."""
    if isinstance(value, bool) or value not in VOTE_VALUES:
        raise ValueError(f"vote value must be +1 or -1, got {value!r}")
    if reason is not None and reason not in VOTE_REASONS:
        allowed = ", ".join(VOTE_REASONS)
        raise ValueError(f"vote reason must be one of {allowed} or None, got {reason!r}")
    if reason is not None and value != -1:
        # a reason says what was wrong: a 👍 with "wrong facts" would count as a facts 👎
        raise ValueError(f"a vote reason is only for a 👎 (down) vote, got {reason!r} with 👍")


def interaction_row(record: InteractionRecord) -> Interaction:
    """The row for `record`: long notes cut to their columns, a draft equal to the answer
    not kept twice."""
    return Interaction(
        created_at=record.created_at or utcnow(),
        platform=record.platform,
        channel=record.channel,
        thread=record.thread,
        asker_hash=record.asker_hash,
        question=record.question,
        answer=record.answer,
        sources=[dict(source) for source in record.sources],
        confidence=float(record.confidence),
        unanswered=record.unanswered,
        latency_ms=float(record.latency_ms),
        timings=dict(record.timings or {}),
        versions=dict(record.versions or {}),
        style_model_version=record.style_model_version,
        style_used=record.style_used,
        style_note=None if record.style_note is None else record.style_note[:256],
        tone_score=None if record.tone_score is None else float(record.tone_score),
        escalated=record.escalated,
        error=record.error,
        draft=record.draft if record.draft != record.answer else None,
        composer=None if record.composer is None else record.composer[:128],
        composer_note=None if record.composer_note is None else record.composer_note[:256],
        shown=record.shown,
        simulated=record.simulated,
        hedged=record.hedged,
    )


class Interactions:
    """Interactions and the votes cast on them (the `Recorder` port of `askdesk.core.ports`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, record: InteractionRecord) -> int:
        """Store one answered (or failed) question; returns its id."""
        row = interaction_row(record)
        with self.db.transaction() as session:
            session.add(row)
            session.flush()
            return row.id

    def get(self, interaction_id: int) -> dict[str, Any] | None:
        with self.db.transaction() as session:
            row = session.get(Interaction, interaction_id)
            return None if row is None else as_dict(row)

    def recent(self, limit: int = 50, platform: str | None = None) -> list[dict[str, Any]]:
        """Newest first."""
        query = select(Interaction).order_by(Interaction.created_at.desc(), Interaction.id.desc())
        if platform is not None:
            query = query.where(Interaction.platform == platform)
        with self.db.transaction() as session:
            return [as_dict(row) for row in session.scalars(query.limit(limit))]

    def record_style(self, interaction_id: int, outcome: StyleOutcome) -> None:
        """The rewrite's outcome for an answer recorded with its draft first (style edited in
        later): with `outcome.styled`, the answer becomes the styled text and the draft is
        kept beside it; without, the draft stands and the note says why. `shown` is left to
        `mark_shown`."""
        with self.db.transaction() as session:
            row = session.get(Interaction, interaction_id, with_for_update=True)
            if row is None:
                raise ValueError(f"no interaction {interaction_id}")
            row.style_note = None if outcome.note is None else outcome.note[:256]
            if outcome.styled:
                row.draft = row.draft or row.answer
                row.answer = outcome.styled
                row.style_used = True
                row.style_model_version = outcome.style_model_version
            if outcome.tone_score is not None:
                row.tone_score = float(outcome.tone_score)
            if outcome.style_ms is not None:
                row.timings = {**(row.timings or {}), "style_ms": round(outcome.style_ms, 2)}

    def mark_shown(self, interaction_id: int, shown: str) -> None:
        """What the answer's chat message shows from now on ("draft" or "styled"); votes cast
        afterwards record it."""
        statement = update(Interaction).where(Interaction.id == interaction_id).values(shown=shown)
        with self.db.transaction() as session:
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
        with self.db.transaction() as session:
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
        with self.db.transaction() as session:
            if session.execute(statement).rowcount == 0:
                raise ValueError(f"no interaction {interaction_id}")

    def by_answer_ref(self, platform: str, answer_ref: str) -> dict[str, Any] | None:
        """The interaction whose answer is the chat message `answer_ref`, or None."""
        query = (
            select(Interaction)
            .where(Interaction.platform == platform, Interaction.answer_ref == answer_ref)
            .order_by(Interaction.id.desc())
            .limit(1)
        )
        with self.db.transaction() as session:
            row = session.scalars(query).first()
            return None if row is None else as_dict(row)

    def in_thread(
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
        with self.db.transaction() as session:
            return [as_dict(row) for row in reversed(list(session.scalars(query)))]

    def last_in_channel(self, platform: str, channel: str) -> dict[str, Any] | None:
        """The channel's latest interaction (a DM's last answer: does a new message continue
        its conversation?), or None."""
        query = (
            select(Interaction)
            .where(Interaction.platform == platform, Interaction.channel == channel)
            .order_by(Interaction.id.desc())
            .limit(1)
        )
        with self.db.transaction() as session:
            row = session.scalars(query).first()
            return None if row is None else as_dict(row)

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
        statement; PostgreSQL: the interaction row, locked by `with_for_update`), so the vote
        written last also carries the latest time. Stamped before waiting for the lock, an
        earlier click could be written last with the older time.
        """
        check_vote(value, reason)
        with self.db.transaction() as session:
            insert_for = self.db.upsert_insert(session, "votes")
            exists = session.execute(
                select(Interaction.id, Interaction.shown)
                .where(Interaction.id == interaction_id)
                .with_for_update()
            ).first()
            if exists is None:
                raise ValueError(f"no interaction {interaction_id}")
            shown = exists.shown  # what the voter saw: read under the same lock mark_shown takes
            now = utcnow()  # after the lock: see the docstring
            insert = insert_for(Vote).values(
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
                    "reason": keep_if_same(Vote.reason, insert.excluded.reason, same),
                    "comment": keep_if_same(Vote.comment, insert.excluded.comment, same),
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
            return as_dict(vote)

    def votes_for(self, interaction_id: int) -> list[dict[str, Any]]:
        """Oldest first."""
        query = (
            select(Vote)
            .where(Vote.interaction_id == interaction_id)
            .order_by(Vote.created_at, Vote.id)
        )
        with self.db.transaction() as session:
            return [as_dict(row) for row in session.scalars(query)]

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
        with self.db.transaction() as session:
            for interaction, vote in session.execute(query):
                if interaction.id in out:
                    continue
                row = as_dict(interaction)
                row.update(comment=vote.comment.strip(), reason=vote.reason)
                out[interaction.id] = row
                if len(out) >= limit:
                    break
        return list(out.values())
