"""Read-only aggregations over the feedback store for the dashboard.

Every figure is computed by the database (GROUP BY, window functions, JSON table functions) so
a dashboard callback stays well under two seconds on 100k interactions; Python only merges a
handful of per-day rows. Votes are attributed to the day their interaction was asked, so a
day's 👎 share is always over that day's answers. Results are plain lists and dicts with ISO
date strings, ready for JSON and Dash.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    Subquery,
    case,
    cast,
    distinct,
    func,
    literal,
    or_,
    select,
)

from askdesk.feedback import reasons as reason_codes
from askdesk.feedback.history import History
from askdesk.feedback.models import (
    CuratedExample,
    EvalResult,
    EvalRun,
    IndexRun,
    Interaction,
    TrainRun,
    Vote,
)
from askdesk.feedback.reasons import Reason
from askdesk.feedback.style_notes import KeptGroup, kept_group

FACT_REASONS: tuple[str, ...] = tuple(r.value for r in reason_codes.FACT_REASONS)
TONE_REASONS: tuple[str, ...] = (Reason.TONE_FORMAT.value,)
DEMO_SOURCE = "demo"
"""`Vote.source` of simulated votes (the demo): counted like the rest, labelled by the UI."""
STYLE_WANTED = or_(Interaction.style_used.is_(True), Interaction.style_note.is_not(None))
"""Answers where the voice was asked for: rewritten, or kept as the draft with a reason (the
engine writes `style_note` only when it tried the style model)."""

STYLE_ROWS_MAX = 20_000
"""Most recent style-wanted answers the per-version report reads."""


EVIDENCE_MAX = 200
"""Interaction ids kept per rule as evidence (newest first); counts are never capped."""

_ID_CHUNK = 500  # stay far below SQLite's bound-parameter limit


@dataclass(frozen=True)
class Filters:
    """What the dashboard's filter bar selects; `end` is inclusive, empty tuples mean all."""

    start: date | None = None
    end: date | None = None
    platforms: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def _conditions(f: Filters) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.start is not None:
        conds.append(Interaction.created_at >= _midnight(f.start))
    if f.end is not None:
        conds.append(Interaction.created_at < _midnight(f.end + timedelta(days=1)))
    if f.platforms:
        conds.append(Interaction.platform.in_(f.platforms))
    if f.channels:
        conds.append(Interaction.channel.in_(f.channels))
    return conds


def _window(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [Interaction.created_at >= start, Interaction.created_at < end]


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


_INTERACTION_KEYS = ("answers", "unanswered", "escalated", "tone_mean", "tone_n")
_VOTE_KEYS = (
    "up",
    "down",
    *(f"down_{r.value}" for r in Reason),
    "demo_votes",
)


def fallback_reason(note: str) -> str:
    """ "fallback: check kept 0 of 3 claims" → "check"; "fallback: server error (500)" →
    "server error": why a generated answer was not used, without its numbers, for counting
    (`askdesk eval` and the dashboard count the same reasons)."""
    reason = note.removeprefix("fallback: ")
    return "check" if reason.startswith("check") else reason.split(" (")[0]


def _history_conditions(
    f: Filters, search: str, ids: Sequence[int]
) -> list[ColumnElement[bool]]:
    """The filter bar's conditions, narrowed to `ids` and to a literal text `search`."""
    conds = _conditions(f)
    if ids:
        conds.append(Interaction.id.in_(list(ids)[: EVIDENCE_MAX * 10]))
    if search:
        conds.append(
            or_(
                Interaction.question.icontains(search, autoescape=True),
                Interaction.answer.icontains(search, autoescape=True),
            )
        )
    return conds


def _vote_counts() -> Subquery:
    """Per interaction: 👍 and 👎 counts, and how many votes the demo made up."""
    return (
        select(
            Vote.interaction_id.label("iid"),
            _flag(Vote.value == 1).label("up"),
            _flag(Vote.value == -1).label("down"),
            _flag(Vote.source == DEMO_SOURCE).label("demo_votes"),
        )
        .group_by(Vote.interaction_id)
        .subquery()
    )


def _history_row(row: dict[str, Any]) -> dict[str, Any]:
    """A history query row made ready for the table: ISO time, a list of cited paths, and
    empty 👎 reasons and comments for `_attach_reasons_and_comments` to fill."""
    row["created_at"] = _iso(row["created_at"])
    row["sources"] = row["sources"].split("\n") if row["sources"] else []
    row["reasons"] = {}
    row["comments"] = []
    return row


def _attach_reasons_and_comments(
    conn: Connection, by_id: dict[int, dict[str, Any]], page: Select[Any]
) -> None:
    """Fill each row's 👎 reasons ({reason: count}) and voters' comments (oldest first)."""
    # a small page names its ids; an export re-selects the page instead of binding
    # thousands of parameters
    in_page = Vote.interaction_id.in_(
        list(by_id) if len(by_id) <= _ID_CHUNK else page.scalar_subquery()
    )
    reasons = (
        select(Vote.interaction_id, Vote.reason, func.count())
        .where(in_page, Vote.value == -1)
        .group_by(Vote.interaction_id, Vote.reason)
    )
    for iid, reason, n in conn.execute(reasons):
        key = reason or "other"
        by_id[iid]["reasons"][key] = by_id[iid]["reasons"].get(key, 0) + n
    comments = (
        select(Vote.interaction_id, Vote.comment)
        .where(in_page, Vote.comment.is_not(None))
        .order_by(Vote.id)
    )
    for iid, comment in conn.execute(comments):
        by_id[iid]["comments"].append(comment)


class Analytics:
    """The dashboard's queries over one store's engine: `Analytics(store.engine)`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._dialect = engine.dialect.name

    # -- helpers ---------------------------------------------------------------------------

    def _day(self) -> ColumnElement[str]:
        """The UTC calendar day of an interaction as 'YYYY-MM-DD', computed in the database."""
        col = Interaction.created_at
        if self._dialect == "sqlite":  # stored as UTC text 'YYYY-MM-DD HH:MM:SS...'
            return func.substr(col, 1, 10)
        if self._dialect == "postgresql":
            return func.to_char(func.timezone("UTC", col), "YYYY-MM-DD")
        return cast(func.date(col), String)

    def _aggregate(
        self, conn: Connection, conds: list[ColumnElement[bool]], by_day: bool
    ) -> dict[str | None, dict[str, Any]]:
        """Interaction, vote and latency figures keyed by day (or by None for the whole range)."""
        day = self._day().label("day") if by_day else literal(None).label("day")
        group = [day] if by_day else []
        out: dict[str | None, dict[str, Any]] = {}

        q_int = select(
            day,
            func.count().label("answers"),
            _flag(Interaction.unanswered.is_(True)).label("unanswered"),
            _flag(Interaction.escalated.is_(True)).label("escalated"),
            func.avg(Interaction.tone_score).label("tone_mean"),
            func.count(Interaction.tone_score).label("tone_n"),
        ).where(*conds)
        for row in conn.execute(q_int.group_by(*group)).mappings():
            if row["answers"] == 0:
                continue
            entry = out.setdefault(row["day"], {})
            entry.update({k: row[k] for k in _INTERACTION_KEYS})
            entry["tone_mean"] = _round(entry["tone_mean"])

        down = Vote.value == -1
        q_votes = (
            select(
                day,
                _flag(Vote.value == 1).label("up"),
                _flag(down).label("down"),
                *(
                    _flag(down & (Vote.reason == r.value)).label(f"down_{r.value}")
                    for r in Reason
                    if r is not Reason.OTHER
                ),
                _flag(down & or_(Vote.reason.is_(None), Vote.reason == Reason.OTHER)).label(
                    "down_other"
                ),
                _flag(Vote.source == DEMO_SOURCE).label("demo_votes"),
            )
            .select_from(Vote)
            .join(Interaction, Interaction.id == Vote.interaction_id)
            .where(*conds)
        )
        for row in conn.execute(q_votes.group_by(*group)).mappings():
            if row["day"] in out:
                out[row["day"]].update({k: row[k] for k in _VOTE_KEYS})

        for key, (p50, p95) in self._latency_percentiles(conn, conds, by_day).items():
            if key in out:
                out[key]["latency_p50_ms"] = p50
                out[key]["latency_p95_ms"] = p95
        return out

    def _latency_percentiles(
        self, conn: Connection, conds: list[ColumnElement[bool]], by_day: bool
    ) -> dict[str | None, tuple[float | None, float | None]]:
        """Nearest-rank p50/p95 with window functions (SQLite has no percentile aggregate)."""
        day = self._day() if by_day else literal("all")
        ranked = (
            select(
                day.label("day"),
                Interaction.latency_ms.label("lat"),
                func.row_number()
                .over(partition_by=day, order_by=Interaction.latency_ms)
                .label("rn"),
                func.count().over(partition_by=day).label("n"),
            )
            .where(*conds)
            .subquery()
        )
        q = select(
            ranked.c.day,
            func.min(case((ranked.c.rn >= ranked.c.n * 0.5, ranked.c.lat))).label("p50"),
            func.min(case((ranked.c.rn >= ranked.c.n * 0.95, ranked.c.lat))).label("p95"),
        ).group_by(ranked.c.day)
        return {
            (row.day if by_day else None): (_round(row.p50, 1), _round(row.p95, 1))
            for row in conn.execute(q)
        }

    @staticmethod
    def _blank() -> dict[str, Any]:
        base: dict[str, Any] = {k: 0 for k in _INTERACTION_KEYS + _VOTE_KEYS}
        base.update(tone_mean=None, latency_p50_ms=None, latency_p95_ms=None)
        return base

    # -- dashboard figures -----------------------------------------------------------------

    def daily(self, f: Filters) -> list[dict[str, Any]]:
        """One row per day that had answers, oldest first; days without answers are absent."""
        with self.engine.connect() as conn:
            per_day = self._aggregate(conn, _conditions(f), by_day=True)
        rows = []
        for day in sorted(k for k in per_day if k is not None):
            row = {"day": day, **self._blank()}
            row.update(per_day[day])
            rows.append(row)
        return rows

    def totals(self, f: Filters) -> dict[str, Any]:
        """The daily figures over the whole range, plus rates.

        up_rate and down_rate are shares of votes; unanswered_rate is a share of answers.
        `demo_votes` says how many of the votes were simulated.
        """
        with self.engine.connect() as conn:
            result = self._blank()
            result.update(self._aggregate(conn, _conditions(f), by_day=False).get(None, {}))
        votes = result["up"] + result["down"]
        result["votes"] = votes
        result["up_rate"] = _ratio(result["up"], votes)
        result["down_rate"] = _ratio(result["down"], votes)
        result["unanswered_rate"] = _ratio(result["unanswered"], result["answers"])
        return result

    def style_by_version(self, f: Filters, limit: int = STYLE_ROWS_MAX) -> list[dict[str, Any]]:
        """Per style model version, over the answers where the voice was wanted: how many were
        rewritten, how many kept the draft and why (guard, timeout, loop, error, other; a
        styled edit still on its way counts as pending), and the mean tone. Oldest version
        first (by its first answer), so each can be compared with the one before it.

        Each entry carries its (draft, styled answer) pairs (`pairs`, newest first) for the
        sentiment shift check, which needs the styling layer and so runs in the dashboard.
        The newest `limit` answers are read: the check is about recent behaviour."""
        q = (
            select(
                Interaction.created_at,
                Interaction.style_used,
                Interaction.style_note,
                Interaction.style_model_version,
                Interaction.versions,
                Interaction.tone_score,
                Interaction.draft,
                Interaction.answer,
            )
            .where(*_conditions(f), STYLE_WANTED)
            .order_by(Interaction.created_at.desc(), Interaction.id.desc())
            .limit(limit)
        )
        by_version: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(q):
                name = r.style_model_version or (r.versions or {}).get("style_model") or "?"
                v = by_version.setdefault(
                    name,
                    {
                        "version": name,
                        "answers": 0,
                        "rewritten": 0,
                        "kept": dict.fromkeys((g.value for g in KeptGroup), 0),
                        "tone": [],
                        "first_seen": r.created_at,
                        "pairs": [],
                    },
                )
                v["answers"] += 1
                v["first_seen"] = min(v["first_seen"], r.created_at)
                if r.tone_score is not None:
                    v["tone"].append(float(r.tone_score))
                if r.style_used:
                    v["rewritten"] += 1
                    if r.draft:
                        v["pairs"].append((r.draft, r.answer))
                else:
                    v["kept"][kept_group(r.style_note).value] += 1
        out = []
        for v in sorted(by_version.values(), key=lambda v: v["first_seen"]):
            tone = v.pop("tone")
            settled = v["answers"] - v["kept"]["pending"]
            kept = sum(n for k, n in v["kept"].items() if k != "pending")
            out.append(
                {
                    **v,
                    "first_seen": _iso(v["first_seen"]),
                    "rewritten_share": _ratio(v["rewritten"], settled),
                    "fallback_rate": _ratio(kept, settled),
                    "tone_mean": _round(sum(tone) / len(tone)) if tone else None,
                    "tone_n": len(tone),
                }
            )
        return out

    def tone_by_channel(self, f: Filters, voiced_only: bool = False) -> list[dict[str, Any]]:
        """Mean tone per day and channel (scored answers only), for the tone chart.

        `voiced_only`: only answers where the brand voice was wanted (rewritten, or kept as
        the draft with a reason), as the tone_mean rule reads them; a plain draft's tone says
        nothing about the style model and would drag the trend towards zero."""
        day = self._day().label("day")
        voiced = [STYLE_WANTED] if voiced_only else []
        q = (
            select(
                day,
                Interaction.channel,
                func.avg(Interaction.tone_score).label("tone_mean"),
                func.count(Interaction.tone_score).label("n"),
            )
            .where(*_conditions(f), Interaction.tone_score.is_not(None), *voiced)
            .group_by(day, Interaction.channel)
            .order_by(day, Interaction.channel)
        )
        with self.engine.connect() as conn:
            return [
                {
                    "day": r.day,
                    "channel": r.channel,
                    "tone_mean": _round(r.tone_mean),
                    "n": r.n,
                }
                for r in conn.execute(q)
            ]

    def sources(self, f: Filters, limit: int = 20) -> list[dict[str, Any]]:
        """Most cited document paths: answers citing each, and how many of those got a 👎."""
        if self._dialect == "sqlite":
            items = func.json_each(Interaction.sources).table_valued("value")
            path = func.json_extract(items.c.value, "$.path")
        elif self._dialect == "postgresql":
            items = func.json_array_elements(Interaction.sources).table_valued("value")
            path = items.c.value.op("->>")("path")
        else:
            raise NotImplementedError(f"sources() needs SQLite or PostgreSQL, not {self._dialect}")
        downvoted = select(Vote.interaction_id).where(Vote.value == -1)
        path_col = path.label("path")
        cited = func.count(distinct(Interaction.id))
        q = (
            select(
                path_col,
                cited.label("cited"),
                func.count(distinct(case((Interaction.id.in_(downvoted), Interaction.id)))).label(
                    "down"
                ),
            )
            .select_from(Interaction)
            .join(items, literal(True))
            .where(*_conditions(f), path.is_not(None))
            .group_by(path_col)
            .order_by(cited.desc(), path_col)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [{"path": r.path, "cited": r.cited, "down": r.down} for r in conn.execute(q)]

    def composers(self, f: Filters) -> list[dict[str, Any]]:
        """Answers by what wrote them and, for a generated answer that fell back to the
        extractive one, why: [{composer, outcome, answers}], most first. Rows from before
        composers were recorded (composer NULL) are left out."""
        q = (
            select(Interaction.composer, Interaction.composer_note, func.count().label("n"))
            .where(*_conditions(f), Interaction.composer.is_not(None))
            .group_by(Interaction.composer, Interaction.composer_note)
        )
        counts: dict[tuple[str, str], int] = {}
        with self.engine.connect() as conn:
            for composer, note, n in conn.execute(q):
                if note and note.startswith("fallback: "):
                    outcome = f"fallback: {fallback_reason(note)}"
                elif note == "model: not in the docs":
                    outcome = "declined by the model"
                elif note:
                    outcome = "answered, check dropped sentences"
                else:
                    outcome = "answered"
                counts[(composer, outcome)] = counts.get((composer, outcome), 0) + int(n)
        rows = [{"composer": c, "outcome": o, "answers": n} for (c, o), n in counts.items()]
        return sorted(rows, key=lambda r: (-r["answers"], r["composer"], r["outcome"]))

    def worst_eval_questions(self, eval_run_id: int, limit: int = 20) -> list[dict[str, Any]]:
        """The run's weakest answers: lowest answer F1 first, then retrieval misses."""
        r = EvalResult
        keys = (
            "id",
            "position",
            "question",
            "reference",
            "answer",
            "sources",
            "hit_rank",
            "answer_f1",
            "groundedness",
            "tone_score",
            "latency_ms",
            "unanswered",
        )
        q = (
            select(*(getattr(r, k) for k in keys))
            .where(r.eval_run_id == eval_run_id)
            .order_by(
                r.answer_f1.is_(None),
                r.answer_f1,
                r.hit_rank.is_not(None),
                r.hit_rank.desc(),
                r.position,
            )
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(zip(keys, row, strict=True)) for row in conn.execute(q)]

    def eval_trend(self) -> list[dict[str, Any]]:
        """Every eval run oldest first: its identity, then its metrics flattened in."""
        q = select(EvalRun).order_by(EvalRun.created_at, EvalRun.id)
        out = []
        with self.engine.connect() as conn:
            for run in conn.execute(q).mappings():
                row: dict[str, Any] = dict(run["metrics"] or {})
                row.update(
                    id=run["id"],
                    created_at=_iso(run["created_at"]),
                    label=run["label"],
                    questions=run["questions"],
                    k=run["k"],
                    index_version=run["index_version"],
                    style_model_version=run["style_model_version"],
                    duration_s=run["duration_s"],
                    backend=run["backend"] or "extractive",
                    model=run["model"],
                    simulated=bool(run["simulated"]),
                )
                out.append(row)
        return out

    def simulated_span(self) -> dict[str, Any] | None:
        """The made-up part of the store (`askdesk demo`'s history), or None when all is real:
        first and last simulated answer (ISO), how many answers, votes on them, and
        simulated index, train and eval runs. Every chart shades this span."""
        fake = Interaction.simulated.is_(True)
        with self.engine.connect() as conn:
            first, last, answers = conn.execute(
                select(
                    func.min(Interaction.created_at),
                    func.max(Interaction.created_at),
                    func.count(),
                ).where(fake)
            ).one()
            if not answers:
                return None
            votes = conn.scalar(
                select(func.count())
                .select_from(Vote)
                .join(Interaction, Interaction.id == Vote.interaction_id)
                .where(fake)
            )
            runs = {
                name: conn.scalar(
                    select(func.count()).select_from(model).where(model.simulated.is_(True))
                )
                for name, model in (
                    ("index_runs", IndexRun),
                    ("train_runs", TrainRun),
                    ("eval_runs", EvalRun),
                )
            }
        return {
            "start": _iso(first),
            "end": _iso(last),
            "answers": answers,
            "votes": votes or 0,
            **{k: v or 0 for k, v in runs.items()},
        }

    def filter_options(self) -> dict[str, list[str]]:
        with self.engine.connect() as conn:
            platforms = conn.scalars(select(Interaction.platform).distinct())
            channels = conn.scalars(
                select(Interaction.channel).distinct().where(Interaction.channel.is_not(None))
            )
            return {"platforms": sorted(platforms), "channels": sorted(channels)}

    def interactions(
        self,
        f: Filters,
        search: str = "",
        limit: int = 50,
        offset: int = 0,
        ids: Sequence[int] = (),
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of interactions newest first with their votes, and the total matching.

        `search` matches question or answer text, case-insensitively and literally (% and _
        are not wildcards). Each row carries up/down counts, 👎 reasons as {reason: count}
        and voters' comments, so the history table and its CSV export need no other query.
        `ids` narrows to those interactions (a rule's evidence, a gap cluster).
        """
        conds = _history_conditions(f, search, ids)
        i = Interaction
        newest = (i.created_at.desc(), i.id.desc())
        page = select(i.id).where(*conds).order_by(*newest).limit(limit).offset(offset)
        votes = _vote_counts()
        q = (
            select(*self._history_columns(votes))
            .outerjoin(votes, votes.c.iid == i.id)
            .where(*conds)
            .order_by(*newest)
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(i).where(*conds)) or 0
            result = conn.execute(q)
            keys = list(result.keys())
            rows = [_history_row(dict(zip(keys, values, strict=True))) for values in result]
            if rows:
                _attach_reasons_and_comments(conn, {row["id"]: row for row in rows}, page)
        return rows, total

    def _history_columns(self, votes: Subquery) -> list[ColumnElement[Any]]:
        """The history table's columns: the interaction's, its cited paths, its vote counts."""
        i = Interaction
        return [
            i.id,
            i.created_at,
            i.platform,
            i.channel,
            i.question,
            i.answer,
            i.draft,
            self._source_paths().label("sources"),
            i.confidence,
            i.unanswered,
            i.escalated,
            i.latency_ms,
            i.tone_score,
            i.style_used,
            i.simulated,
            func.coalesce(votes.c.up, 0).label("up"),
            func.coalesce(votes.c.down, 0).label("down"),
            func.coalesce(votes.c.demo_votes, 0).label("demo_votes"),
        ]

    def _source_paths(self) -> ColumnElement[str]:
        """An interaction's cited paths, newline-joined by the database: decoding 100k JSON
        lists in Python would cost more than the rest of an export."""
        if self._dialect == "postgresql":
            items = func.json_array_elements(Interaction.sources).table_valued("value")
            path = items.c.value.op("->>")("path")
            joined = func.string_agg(path, literal("\n"))
        else:
            items = func.json_each(Interaction.sources).table_valued("value")
            joined = func.group_concat(func.json_extract(items.c.value, "$.path"), "\n")
        return select(joined).select_from(items).correlate(Interaction).scalar_subquery()

    def gap_candidates(self, f: Filters, limit: int = 2000) -> list[dict[str, Any]]:
        """Questions the docs did not cover, newest first: unanswered ones, those answered
        hedged (the decision was unsure, migration 0013) and those 👎 "not in the docs" —
        the input of `askdesk.core.gaps.cluster_questions`."""
        not_in_docs = select(Vote.interaction_id).where(
            Vote.value == -1, Vote.reason == Reason.NOT_IN_DOCS.value
        )
        q = (
            select(
                Interaction.id,
                Interaction.question,
                Interaction.created_at,
                Interaction.unanswered,
                Interaction.hedged,
                Interaction.id.in_(not_in_docs).label("not_in_docs"),
            )
            .where(
                *_conditions(f),
                or_(
                    Interaction.unanswered.is_(True),
                    Interaction.hedged.is_(True),
                    Interaction.id.in_(not_in_docs),
                ),
            )
            .order_by(Interaction.created_at.desc(), Interaction.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                {
                    "id": r.id,
                    "question": r.question,
                    "created_at": _iso(r.created_at),
                    "kind": "unanswered"
                    if r.unanswered
                    else "hedged"
                    if r.hedged and not r.not_in_docs
                    else "not_in_docs",
                }
                for r in conn.execute(q)
            ]

    # -- the rules' input ------------------------------------------------------------------

    def history(self, now: datetime, window_days: int, docs_changed: int | None = None) -> History:
        """Counts over [now - window, now) and the window before, for `askdesk.dashboard.decision`.

        `docs_changed` comes from the docs folder (askdesk.core.freshness), which the database
        cannot know; None means unknown.
        """
        window = timedelta(days=window_days)
        cur = _window(now - window, now)
        prev = _window(now - 2 * window, now - window)
        with self.engine.connect() as conn:
            answers, unanswered = conn.execute(
                select(func.count(), _flag(Interaction.unanswered.is_(True))).where(*cur)
            ).one()
            # the tone rule judges the voice only where it was asked for (issue 12, part 6)
            wanted = [*cur, STYLE_WANTED]
            tone_mean, tone_n, style_wanted, style_fallbacks = conn.execute(
                select(
                    func.avg(Interaction.tone_score),
                    func.count(Interaction.tone_score),
                    func.count(),
                    _flag(Interaction.style_used.is_not(True)),
                ).where(*wanted)
            ).one()
            fallback_ids = self._ids(
                conn, select(Interaction.id).where(*wanted, Interaction.style_used.is_not(True))
            )
            prev_answers, prev_unanswered = conn.execute(
                select(func.count(), _flag(Interaction.unanswered.is_(True))).where(*prev)
            ).one()
            facts_down, facts_ids = self._downvoted(conn, cur, FACT_REASONS)
            tone_down, tone_ids = self._downvoted(conn, cur, TONE_REASONS)
            unanswered_ids = self._ids(
                conn, select(Interaction.id).where(*cur, Interaction.unanswered.is_(True))
            )
            low_tone_ids = list(
                conn.scalars(
                    select(Interaction.id)
                    .where(*wanted, Interaction.tone_score.is_not(None))
                    .order_by(Interaction.tone_score, Interaction.id.desc())
                    .limit(EVIDENCE_MAX)
                )
            )
            demo_votes = conn.scalar(
                select(func.count())
                .select_from(Vote)
                .join(Interaction, Interaction.id == Vote.interaction_id)
                .where(*cur, Vote.source == DEMO_SOURCE)
            )
            runs = self._comparable_eval_runs(conn)
            unused = CuratedExample.used_in.is_(None)
            new_examples = conn.scalar(select(func.count()).where(unused)) or 0
            example_ids = list(
                conn.scalars(
                    select(CuratedExample.interaction_id)
                    .where(unused, CuratedExample.interaction_id.is_not(None))
                    .order_by(CuratedExample.id.desc())
                    .limit(EVIDENCE_MAX)
                )
            )
        return History(
            answers=answers,
            facts_down=facts_down,
            tone_down=tone_down,
            unanswered=unanswered,
            prev_answers=prev_answers,
            prev_unanswered=prev_unanswered,
            tone_mean=_round(tone_mean),
            tone_n=tone_n,
            docs_changed=docs_changed,
            eval_latest=runs[0] if runs else None,
            eval_previous=runs[1] if len(runs) > 1 else None,
            new_examples=new_examples,
            demo_votes=demo_votes or 0,
            facts_down_ids=facts_ids,
            tone_down_ids=tone_ids,
            unanswered_ids=unanswered_ids,
            low_tone_ids=low_tone_ids,
            new_example_ids=example_ids,
            style_wanted=style_wanted or 0,
            style_fallbacks=style_fallbacks or 0,
            style_fallback_ids=fallback_ids,
        )

    @staticmethod
    def _comparable_eval_runs(conn: Connection) -> list[dict[str, Any]]:
        """The latest eval run's metrics and those of the run before it on the same golden
        set: a drop against a different set of questions says nothing about the index."""
        newest = select(EvalRun.id, EvalRun.golden_hash, EvalRun.metrics).order_by(
            EvalRun.created_at.desc(), EvalRun.id.desc()
        )
        latest = conn.execute(newest.limit(1)).first()
        if latest is None:
            return []
        previous = conn.execute(
            newest.where(EvalRun.golden_hash == latest.golden_hash, EvalRun.id != latest.id).limit(
                1
            )
        ).first()
        return [dict(r.metrics or {}) for r in (latest, previous) if r is not None]

    @staticmethod
    def _ids(conn: Connection, q: Select[tuple[int]]) -> list[int]:
        return list(conn.scalars(q.order_by(Interaction.id.desc()).limit(EVIDENCE_MAX)))

    def _downvoted(
        self, conn: Connection, cur: list[ColumnElement[bool]], reasons: tuple[str, ...]
    ) -> tuple[int, list[int]]:
        """Answers in the window with at least one 👎 for one of these reasons, and their ids."""
        voted = select(Vote.interaction_id).where(Vote.value == -1, Vote.reason.in_(reasons))
        q = select(Interaction.id).where(*cur, Interaction.id.in_(voted))
        count = conn.scalar(select(func.count()).select_from(q.subquery())) or 0
        return count, self._ids(conn, q)
