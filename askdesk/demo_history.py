"""The demo's simulated weeks: a history written straight into the store, marked simulated.

A fresh demo has one day of data, so every dashboard trend would be a single dot. This module
writes the weeks before today as a short story the dashboard can tell, every row flagged
`simulated` (the dashboard shades and labels that span, and the next demo run replaces it):

1. the docs are indexed (a simulated index run) and style version ``<previous>`` answers;
2. the product changes but the index does not: 👎 "wrong facts" climb and the eval runs'
   hit rate and answer F1 drop;
3. a reindex (an index run with changed, added and removed documents) brings them back;
4. the style model is replaced by the active version: tone rises, "tone / format" 👎 and
   style fallbacks fall.

Nothing here asks the engine: each simulated answer is a copy of a real answer the demo got
from the real engine today (question, answer, sources), re-dated into the past, with a
made-up vote, tone score and latency drawn from a seeded generator, so the same demo writes
the same history. Eval runs start from today's real eval metrics; index runs from today's real
index run. Hundreds of rows go in one transaction: about 2 s (327 answers, 283 votes) on a
2-core machine running three other jobs, against the demo's minute and a half.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from askdesk.feedback.records import IndexRunRecord
from askdesk.feedback.store import FeedbackStore

DAYS = 28
"""How many days before today the history covers (the dashboard's default range is 30)."""

DRIFT_START = -20
"""The day (relative to today) the product changed and the index went stale."""
REINDEX_DAY = -12
"""The day the reindex fixed it."""
STYLE_CHANGE_DAY = -7
"""The day the active style version replaced the previous one."""
EVAL_DAYS = (-27, -23, -19, -15, -11, -7, -3)
SEED = 22

SIMULATED_VOTE_SOURCE = "demo"
"""`Vote.source` of the history's votes: the same label as the demo's other made-up votes."""

#: eval metrics that a stale index pulls down (share metrics, higher is better)
DRIFTING_METRICS = ("mrr", "answer_f1", "useful@0.5")


@dataclass(frozen=True)
class Story:
    """What the history shows, in dates the demo prints and the tests check."""

    start: datetime
    end: datetime
    drift_start: datetime
    reindex_at: datetime
    style_change_at: datetime | None
    previous_style: str | None
    style: str | None
    answers: int = 0
    votes: int = 0
    eval_runs: int = 0
    index_runs: int = 0
    replaced: dict[str, int] = field(default_factory=dict)


def _day(now: datetime, offset: int) -> datetime:
    """Midnight UTC `offset` days from today."""
    today = now.astimezone(UTC).date()
    return datetime.combine(today + timedelta(days=offset), time(), tzinfo=UTC)


def _drift(offset: int) -> float:
    """0 while the index matches the docs, rising to 1 until the reindex, then 0 again."""
    if DRIFT_START <= offset < REINDEX_DAY:
        return (offset - DRIFT_START + 1) / (REINDEX_DAY - DRIFT_START)
    return 0.0


def _styled_after(offset: int, has_style: bool) -> bool:
    return has_style and offset >= STYLE_CHANGE_DAY


def _hash(kind: str, n: int) -> str:
    """A stable pseudonymous id for a made-up asker or voter (no real user behind it)."""
    return hashlib.sha256(f"askdesk-demo-simulated:{kind}:{n}".encode()).hexdigest()[:32]


def previous_version_name(active: str) -> str:
    """The made-up version the active one replaced: sample-v1 → sample-v0."""
    stem, dash, number = active.rpartition("-v")
    if dash and number.isdigit() and int(number) > 0:
        return f"{stem}-v{int(number) - 1}"
    return f"{active}-previous"


def _interactions(
    rng: random.Random,
    now: datetime,
    samples: Sequence[Mapping[str, Any]],
    previous_style: str | None,
    style: str | None,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for offset in range(-DAYS, 0):
        day = _day(now, offset)
        weekend = day.weekday() >= 5
        volume = round((10 + 0.3 * (offset + DAYS)) * (0.45 if weekend else 1.0))
        volume = max(2, volume + rng.randint(-2, 2))
        drift = _drift(offset)
        styled = _styled_after(offset, style is not None)
        version = style if styled else previous_style
        for _ in range(volume):
            sample = rng.choice(samples)
            at = day + timedelta(seconds=rng.randint(8 * 3600, 19 * 3600))
            unanswered = bool(sample.get("unanswered"))
            tone_base = 0.83 if styled else 0.63
            tone = min(1.0, max(0.0, rng.gauss(tone_base, 0.06)))
            row: dict[str, Any] = {
                "created_at": at,
                "platform": sample["platform"],
                "channel": sample.get("channel"),
                "asker_hash": _hash("asker", rng.randint(0, 40)),
                "question": sample["question"],
                "answer": sample["answer"],
                "sources": sample.get("sources") or [],
                "confidence": float(sample.get("confidence") or 0.0),
                "unanswered": unanswered,
                "latency_ms": round(
                    float(sample.get("latency_ms") or 50.0) * rng.uniform(0.7, 1.6), 1
                ),
                "composer": sample.get("composer"),
                "tone_score": None if unanswered else round(tone, 4),
                "versions": {**(sample.get("versions") or {}), "simulated": True},
                "escalated": unanswered and rng.random() < 0.3,
            }
            if version and not unanswered:
                fallback = rng.random() < (0.07 if styled else 0.22)
                row["style_model_version"] = None if fallback else version
                row["style_used"] = not fallback
                row["style_note"] = (
                    rng.choice(("timeout", "guard: a number changed")) if fallback else None
                )
                row["versions"]["style_model"] = version
            row["votes"] = _votes(rng, at, unanswered, drift, styled)
            rows.append(row)
    return rows


def _votes(
    rng: random.Random, at: datetime, unanswered: bool, drift: float, styled: bool
) -> list[dict[str, Any]]:
    """Zero to two made-up votes on one answer, their reasons following the story."""
    out = []
    for voter in rng.sample(range(30), k=rng.choice((0, 0, 1, 1, 1, 2))):
        r = rng.random()
        wrong = 0.06 + 0.34 * drift
        tone = 0.03 if styled else 0.13
        if unanswered:
            value, reason = (-1, "not_in_docs") if r < 0.85 else (1, None)
        elif r < wrong:
            value, reason = -1, "wrong_facts"
        elif r < wrong + tone:
            value, reason = -1, "tone_format"
        elif r < wrong + tone + 0.03:
            value, reason = -1, "other"
        else:
            value, reason = 1, None
        stamp = at + timedelta(minutes=rng.randint(1, 180))
        out.append(
            {
                "voter_hash": _hash("voter", voter),
                "value": value,
                "reason": reason,
                "source": SIMULATED_VOTE_SOURCE,
                "created_at": stamp,
            }
        )
    return out


def _eval_runs(
    rng: random.Random,
    now: datetime,
    real: Mapping[str, Any],
    previous_style: str | None,
    style: str | None,
) -> list[dict[str, Any]]:
    metrics = dict(real.get("metrics") or {})
    runs = []
    for offset in EVAL_DAYS:
        drift = _drift(offset)
        shifted: dict[str, Any] = {}
        for key, value in metrics.items():
            drifts = key.startswith(("hit@", "hit_at")) or key in DRIFTING_METRICS
            if drifts and isinstance(value, int | float) and not isinstance(value, bool):
                moved = value * (1 - 0.3 * drift) + rng.uniform(-0.015, 0.015)
                shifted[key] = round(min(1.0, max(0.0, moved)), 4)
            else:
                shifted[key] = value
        runs.append(
            {
                "created_at": _day(now, offset) + timedelta(hours=6),
                "golden_path": real.get("golden_path") or "golden.jsonl",
                "golden_hash": real.get("golden_hash") or "",
                "questions": int(real.get("questions") or 0),
                "k": int(real.get("k") or 5),
                "index_version": None,
                "style_model_version": style
                if _styled_after(offset, style is not None)
                else previous_style,
                "metrics": shifted,
                "duration_s": float(real.get("duration_s") or 0.0),
                "label": "simulated",
                "backend": real.get("backend"),
                "model": real.get("model"),
                "simulated": True,
            }
        )
    return runs


def _index_runs(now: datetime, real: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The first index, routine syncs (a small change, then nothing), no run while the product
    changes (the stale weeks), the reindex, then a small docs fix: the freshness tab's history
    before today's real run."""
    docs = int(real.get("docs_added") or 0) + int(real.get("docs_unchanged") or 0) or 30
    chunks = int(real.get("chunks_added") or 0) + int(real.get("chunks_unchanged") or 0) or 200
    plan = (
        (
            -DAYS,
            {"docs_added": docs - 2, "chunks_added": chunks - 14, "chunks_embedded": chunks - 14},
        ),
        (
            -25,
            {
                "docs_changed": 2,
                "docs_unchanged": docs - 4,
                "chunks_added": 9,
                "chunks_removed": 8,
                "chunks_unchanged": chunks - 23,
                "chunks_embedded": 9,
            },
        ),
        (-21, {"docs_unchanged": docs - 2, "chunks_unchanged": chunks - 14}),
        (
            REINDEX_DAY,
            {
                "docs_added": 3,
                "docs_changed": 6,
                "docs_removed": 1,
                "docs_unchanged": docs - 10,
                "chunks_added": 52,
                "chunks_removed": 38,
                "chunks_unchanged": chunks - 52,
                "chunks_embedded": 52,
            },
        ),
        (
            -4,
            {
                "docs_changed": 1,
                "docs_unchanged": docs - 1,
                "chunks_added": 4,
                "chunks_removed": 3,
                "chunks_unchanged": chunks - 4,
                "chunks_embedded": 4,
            },
        ),
    )
    runs = []
    for offset, counts in plan:
        duration = 4.0 + 0.05 * counts.get("chunks_embedded", 0)
        finished = _day(now, offset) + timedelta(hours=5, seconds=duration)
        runs.append(
            {
                "docs_root": str(real.get("docs_root") or ""),
                "status": "ok",
                "embed_model": str(real.get("embed_model") or ""),
                "finished_at": finished,
                "duration_s": round(duration, 1),
                "source": real.get("source"),
                "simulated": True,
                **counts,
            }
        )
    return runs


def write_history(
    store: FeedbackStore,
    *,
    now: datetime,
    samples: Sequence[Mapping[str, Any]],
    eval_run: Mapping[str, Any],
    index_run: Mapping[str, Any],
    style: str | None,
    train_run: Mapping[str, Any] | None = None,
) -> Story:
    """Replace the store's simulated rows with a fresh history ending yesterday.

    `samples` are real interactions (the demo's answers from today), `eval_run` and
    `index_run` today's real runs, `style` the active style version (None: no style story)
    and `train_run` its real training run, which the previous version's made-up run copies.
    """
    if not samples:
        raise ValueError("the simulated history copies real answers: ask some questions first")
    replaced = store.simulated.delete()
    rng = random.Random(SEED)
    previous = previous_version_name(style) if style else None
    if previous:
        base = dict(train_run or {})
        store.styles.record_train_run(
            {
                "version": previous,
                "mode": base.get("mode", "lora"),
                "base_model": base.get("base_model", ""),
                "train_examples": max(1, int(base.get("train_examples") or 60) * 2 // 3),
                "eval_examples": int(base.get("eval_examples") or 8),
                "steps": int(base.get("steps") or 100),
                "duration_s": float(base.get("duration_s") or 60.0),
                "note": "simulated by askdesk demo: no model files behind it",
                "simulated": True,
            },
            "",
            created_at=_day(now, -DAYS - 2) + timedelta(hours=15),
        )
    index_runs = _index_runs(now, index_run)
    for run in index_runs:
        store.index_runs.record(IndexRunRecord(**run))
    evals = _eval_runs(rng, now, eval_run, previous, style)
    for run in evals:
        store.styles.record_eval_run(run, [])
    rows = _interactions(rng, now, samples, previous, style)
    store.simulated.record_interactions(rows)
    return Story(
        start=min(r["created_at"] for r in rows),
        end=max(r["created_at"] for r in rows),
        drift_start=_day(now, DRIFT_START),
        reindex_at=_day(now, REINDEX_DAY),
        style_change_at=_day(now, STYLE_CHANGE_DAY) if style else None,
        previous_style=previous,
        style=style,
        answers=len(rows),
        votes=sum(len(r["votes"]) for r in rows),
        eval_runs=len(evals),
        index_runs=len(index_runs),
        replaced={k: v for k, v in replaced.items() if v},
    )
