"""Dashboard queries on a large SQLite store: every Analytics method must answer in ≤ 2 s.

Builds bench/_data/dashboard/feedback.db (migrated by the store itself, then bulk-inserted):
100k interactions over 90 days on 3 platforms and 10 channels, 20k votes (10% simulated demo
votes), 12 eval runs of 50 questions, 60 curated examples. Then times each method cold (a new
engine: empty connection pool and SQLite page cache; the OS file cache stays warm) and warm
(median of 3 further calls), for the whole range and for a narrow filter.

    python bench/dashboard_load.py [--interactions 100000] [--votes 20000] [--keep] [--json]
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import emit, log, parser
from sqlalchemy import insert

from askdesk.feedback.analytics import Analytics, Filters
from askdesk.feedback.models import CuratedExample, EvalResult, EvalRun, Interaction, Vote
from askdesk.feedback.reasons import Reason
from askdesk.feedback.store import FeedbackStore

GOAL_S = 2.0
DB = Path(__file__).resolve().parent / "_data" / "dashboard" / "feedback.db"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DAYS = 90
PLATFORMS = ("slack", "discord", "web")
CHANNELS = tuple(f"#chan-{i}" for i in range(10))
PATHS = tuple(f"docs/section-{i // 10}/page-{i}.md" for i in range(60))
TOPICS = ("rotate an API key", "export my data", "change my plan", "retry webhooks", "set up SSO")
DOWNLOADS = ("interactions (export 100k)",)
REASONS = (*(r.value for r in Reason), None)


def build(db: Path, n_interactions: int, n_votes: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    store = FeedbackStore(f"sqlite:///{db}")
    engine = store.engine  # creates and migrates the schema
    t = time.perf_counter()
    start = NOW - timedelta(days=DAYS)
    span = DAYS * 86400
    with engine.begin() as conn:
        rows = []
        for i in range(n_interactions):
            topic = rng.choice(TOPICS)
            sources = [
                {"n": k + 1, "path": p, "title": p, "heading": "", "score": 0.5}
                for k, p in enumerate(rng.sample(PATHS, rng.randint(0, 3)))
            ]
            rows.append(
                {
                    "created_at": start + timedelta(seconds=rng.uniform(0, span)),
                    "platform": rng.choice(PLATFORMS),
                    "channel": rng.choice(CHANNELS),
                    "asker_hash": f"{rng.getrandbits(64):016x}",
                    "question": f"How do I {topic}? (#{i})",
                    "answer": f"To {topic}, open Settings and follow the guide [1]. " * 4,
                    "sources": sources,
                    "confidence": rng.random(),
                    "unanswered": not sources or rng.random() < 0.05,
                    "latency_ms": rng.lognormvariate(3.5, 0.6),
                    "timings": {"search_ms": 10.0, "total_ms": 40.0},
                    "versions": {"index": 3},
                    "tone_score": rng.uniform(0.4, 1.0) if rng.random() < 0.8 else None,
                    "escalated": rng.random() < 0.02,
                }
            )
            if len(rows) == 10_000:
                conn.execute(insert(Interaction), rows)
                rows = []
        if rows:
            conn.execute(insert(Interaction), rows)
        voted = rng.sample(range(1, n_interactions + 1), n_votes)
        votes = []
        for iid in voted:
            up = rng.random() < 0.6
            votes.append(
                {
                    "interaction_id": iid,
                    "voter_hash": f"{rng.getrandbits(64):016x}",
                    "value": 1 if up else -1,
                    "reason": None if up else rng.choice(REASONS),
                    "comment": None if up or rng.random() < 0.7 else "not quite right",
                    "source": "demo" if rng.random() < 0.1 else "button",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        conn.execute(insert(Vote), votes)
        for r in range(12):
            run = conn.execute(
                insert(EvalRun).returning(EvalRun.id),
                {
                    "created_at": start + timedelta(days=r * 7),
                    "golden_path": "golden.jsonl",
                    "golden_hash": "h",
                    "questions": 50,
                    "k": 5,
                    "metrics": {"hit@5": rng.uniform(0.7, 0.95), "answer_f1": rng.random()},
                },
            ).scalar_one()
            conn.execute(
                insert(EvalResult),
                [
                    {
                        "eval_run_id": run,
                        "position": q,
                        "question": f"golden {q}",
                        "answer": "a",
                        "sources": [],
                        "hit_rank": rng.choice((None, 1, 2, 5)),
                        "answer_f1": rng.random(),
                        "latency_ms": 30.0,
                        "unanswered": False,
                    }
                    for q in range(50)
                ],
            )
        conn.execute(
            insert(CuratedExample),
            [
                {"interaction_id": iid, "input": "d", "output": "o", "origin": "thumbs_up"}
                for iid in voted[:60]
            ],
        )
    store.close()
    log(f"built {n_interactions} interactions, {n_votes} votes in {time.perf_counter() - t:.1f}s")


def cases(analytics: Analytics) -> dict[str, Callable[[], Any]]:
    every = Filters()
    week = Filters(start=(NOW - timedelta(days=7)).date(), end=NOW.date())
    narrow = Filters(
        start=date(2026, 10, 1), end=date(2026, 10, 31), platforms=("slack",), channels=CHANNELS[:3]
    )
    last_run = analytics.eval_trend()[-1]["id"]
    return {
        "daily (90 days)": lambda: analytics.daily(every),
        "daily (narrow)": lambda: analytics.daily(narrow),
        "totals (90 days)": lambda: analytics.totals(every),
        "totals (7 days)": lambda: analytics.totals(week),
        "tone_by_channel": lambda: analytics.tone_by_channel(every),
        "sources (90 days)": lambda: analytics.sources(every),
        "sources (narrow)": lambda: analytics.sources(narrow),
        "worst_eval_questions": lambda: analytics.worst_eval_questions(last_run),
        "eval_trend": lambda: analytics.eval_trend(),
        "filter_options": lambda: analytics.filter_options(),
        "interactions (page 1)": lambda: analytics.interactions(every),
        "interactions (page 1000)": lambda: analytics.interactions(every, offset=50_000),
        "interactions (search)": lambda: analytics.interactions(every, search="webhooks? (#99"),
        "interactions (export 10k)": lambda: analytics.interactions(every, limit=10_000),
        "interactions (export 100k)": lambda: analytics.interactions(every, limit=100_000),
        "gap_candidates": lambda: analytics.gap_candidates(every),
        "history (7 days)": lambda: analytics.history(NOW, 7),
    }


def measure(db: Path) -> dict[str, dict[str, float]]:
    names = list(cases(Analytics(FeedbackStore(f"sqlite:///{db}").engine)))
    out: dict[str, dict[str, float]] = {}
    for name in names:
        store = FeedbackStore(f"sqlite:///{db}")
        _ = store.engine  # opening (migration check) is not part of the query
        call = cases(Analytics(store.engine))[name]
        t = time.perf_counter()
        call()
        cold = (time.perf_counter() - t) * 1000
        warm = []
        for _ in range(3):
            t = time.perf_counter()
            call()
            warm.append((time.perf_counter() - t) * 1000)
        store.close()
        out[name] = {"cold_ms": round(cold, 1), "warm_ms": round(statistics.median(warm), 1)}
        log(f"{name}: cold {cold:.0f} ms, warm {statistics.median(warm):.0f} ms")
    return out


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--interactions", type=int, default=100_000)
    p.add_argument("--votes", type=int, default=20_000)
    p.add_argument("--keep", action="store_true", help="reuse an existing bench database")
    args = p.parse_args()
    if not (args.keep and DB.exists()):
        build(DB, args.interactions, args.votes)
    figures = measure(DB)
    # the full CSV export is a download, not a chart callback: reported, not held to the goal
    worst = max(max(v.values()) for k, v in figures.items() if k not in DOWNLOADS)
    summary = {"goal_ms": GOAL_S * 1000, "worst_ms": worst, "met": worst <= GOAL_S * 1000}

    def text() -> str:
        lines = [f"{'query':<28}{'cold ms':>10}{'warm ms':>10}"]
        lines += [f"{k:<28}{v['cold_ms']:>10.1f}{v['warm_ms']:>10.1f}" for k, v in figures.items()]
        lines.append(f"worst callback {worst:.0f} ms against a goal of {GOAL_S * 1000:.0f} ms")
        return "\n".join(lines)

    emit({"queries": figures, **summary}, args.json, text)


if __name__ == "__main__":
    main()
