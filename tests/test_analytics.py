"""Dashboard aggregations on a real SQLite store filled through the store's own API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from askdesk.dashboard.decision import Thresholds, decide
from askdesk.feedback.analytics import Analytics, Filters
from askdesk.feedback.models import CuratedExample, EvalResult, EvalRun
from askdesk.feedback.records import InteractionRecord
from askdesk.feedback.store import FeedbackStore

DAY1 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)


def src(*paths: str) -> list[dict[str, object]]:
    return [
        {"n": i + 1, "path": p, "title": p, "heading": "", "score": 0.5}
        for i, p in enumerate(paths)
    ]


PG_URL = os.environ.get("ASKDESK_TEST_PG_URL")


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(not PG_URL, reason="ASKDESK_TEST_PG_URL not set"),
        ),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FeedbackStore]:
    """The same figures on both backends: the day, JSON and percentile SQL differ by dialect."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'feedback.db'}"
    else:
        assert PG_URL
        url = PG_URL
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    with FeedbackStore(url) as s:
        yield s


@pytest.fixture
def filled(store: FeedbackStore) -> dict[str, int]:
    """Two days, two platforms, three channels, votes of every kind (one simulated)."""
    ids: dict[str, int] = {}

    def add(name: str, **kw: object) -> None:
        kw.setdefault("platform", "slack")
        kw.setdefault("question", f"question {name}?")
        kw.setdefault("answer", f"answer {name}")
        ids[name] = store.interactions.record(InteractionRecord(**kw))  # type: ignore[arg-type]

    add(
        "a",
        created_at=DAY1,
        channel="#help",
        latency_ms=10,
        tone_score=0.9,
        sources=src("keys.md", "plans.md"),
    )
    add(
        "b",
        created_at=DAY1 + timedelta(hours=1),
        channel="#help",
        latency_ms=20,
        tone_score=0.5,
        sources=src("keys.md"),
    )
    add(
        "c",
        created_at=DAY1 + timedelta(hours=2),
        channel="#billing",
        latency_ms=30,
        unanswered=True,
        question="How do I pay 50% less?",
    )
    add(
        "d",
        created_at=DAY1 + timedelta(hours=3),
        channel="#billing",
        latency_ms=40,
        escalated=True,
        sources=src("plans.md"),
    )
    add(
        "e",
        created_at=DAY2,
        channel="general",
        platform="discord",
        latency_ms=100,
        tone_score=0.7,
        sources=src("keys.md"),
    )

    store.interactions.record_vote(ids["a"], "u1", 1)
    store.interactions.record_vote(ids["a"], "u2", -1, "tone_format", "too stiff")
    store.interactions.record_vote(ids["b"], "u1", -1, "wrong_facts", "key expired sooner")
    store.interactions.record_vote(ids["b"], "u2", -1, "not_in_docs")
    store.interactions.record_vote(ids["d"], "u1", -1)  # no reason: counts as "other"
    store.interactions.record_vote(ids["e"], "demo-1", 1, source="demo")
    return ids


def test_daily_counts_votes_by_reason_per_day(store: FeedbackStore, filled: dict[str, int]) -> None:
    days = Analytics(store.engine).daily(Filters())
    assert [d["day"] for d in days] == ["2026-11-01", "2026-11-02"]
    first, second = days
    assert first["answers"] == 4 and first["unanswered"] == 1 and first["escalated"] == 1
    assert (first["up"], first["down"]) == (1, 4)
    assert first["down_wrong_facts"] == 1 and first["down_not_in_docs"] == 1
    assert first["down_tone_format"] == 1 and first["down_other"] == 1
    assert first["tone_mean"] == pytest.approx(0.7)
    # nearest rank over 10, 20, 30, 40: p50 is the 2nd, p95 the 4th
    assert (first["latency_p50_ms"], first["latency_p95_ms"]) == (20, 40)
    assert second["answers"] == 1 and second["up"] == 1 and second["demo_votes"] == 1
    assert second["down"] == 0 and second["latency_p95_ms"] == 100


def test_totals_rates_and_demo_votes(store: FeedbackStore, filled: dict[str, int]) -> None:
    t = Analytics(store.engine).totals(Filters())
    assert t["answers"] == 5 and t["votes"] == 6 and t["demo_votes"] == 1
    assert t["up_rate"] == pytest.approx(2 / 6, abs=1e-4)
    assert t["down_rate"] == pytest.approx(4 / 6, abs=1e-4)
    assert t["unanswered_rate"] == pytest.approx(0.2)
    assert t["tone_mean"] == pytest.approx(0.7)
    assert t["latency_p50_ms"] == 30


def test_filters_narrow_by_platform_channel_and_inclusive_dates(
    store: FeedbackStore, filled: dict[str, int]
) -> None:
    a = Analytics(store.engine)
    assert a.totals(Filters(platforms=("discord",)))["answers"] == 1
    assert a.totals(Filters(channels=("#billing", "general")))["answers"] == 3
    # DAY2 is 23:30 UTC: an inclusive end date must still include it
    only_day2 = Filters(start=date(2026, 11, 2), end=date(2026, 11, 2))
    assert [d["day"] for d in a.daily(only_day2)] == ["2026-11-02"]
    assert a.totals(Filters(end=date(2026, 11, 1)))["answers"] == 4
    empty = a.totals(Filters(start=date(2027, 1, 1)))
    assert empty["answers"] == 0 and empty["unanswered_rate"] is None
    assert empty["tone_mean"] is None and a.daily(Filters(start=date(2027, 1, 1))) == []


def test_tone_by_channel_and_filter_options(store: FeedbackStore, filled: dict[str, int]) -> None:
    a = Analytics(store.engine)
    rows = a.tone_by_channel(Filters())
    assert rows == [
        {"day": "2026-11-01", "channel": "#help", "tone_mean": 0.7, "n": 2},
        {"day": "2026-11-02", "channel": "general", "tone_mean": 0.7, "n": 1},
    ]
    assert a.filter_options() == {
        "platforms": ["discord", "slack"],
        "channels": ["#billing", "#help", "general"],
    }


def test_sources_counts_citing_answers_and_downvoted_ones(
    store: FeedbackStore, filled: dict[str, int]
) -> None:
    a = Analytics(store.engine)
    assert a.sources(Filters()) == [
        {"path": "keys.md", "cited": 3, "down": 2},
        {"path": "plans.md", "cited": 2, "down": 2},
    ]
    assert a.sources(Filters(platforms=("discord",)), limit=1) == [
        {"path": "keys.md", "cited": 1, "down": 0}
    ]


def test_interactions_page_search_and_vote_aggregates(
    store: FeedbackStore, filled: dict[str, int]
) -> None:
    a = Analytics(store.engine)
    rows, total = a.interactions(Filters(), limit=2)
    assert total == 5 and [r["id"] for r in rows] == [filled["e"], filled["d"]]
    rows, total = a.interactions(Filters(), limit=2, offset=4)
    assert total == 5 and [r["id"] for r in rows] == [filled["a"]]
    a_row = rows[0]
    assert (a_row["up"], a_row["down"]) == (1, 1)
    assert a_row["reasons"] == {"tone_format": 1} and a_row["comments"] == ["too stiff"]
    assert a_row["sources"] == ["keys.md", "plans.md"]
    assert a_row["created_at"].startswith("2026-11-01T09:00")

    rows, total = a.interactions(Filters(), search="ANSWER B")
    assert total == 1 and rows[0]["reasons"] == {"wrong_facts": 1, "not_in_docs": 1}
    # % is literal, not a wildcard
    rows, total = a.interactions(Filters(), search="50%")
    assert total == 1 and rows[0]["id"] == filled["c"]
    assert a.interactions(Filters(), search="5%s")[1] == 0
    rows, total = a.interactions(Filters(platforms=("slack",)), ids=[filled["a"], filled["e"]])
    assert total == 1 and [r["id"] for r in rows] == [filled["a"]]


def test_gap_candidates_are_unanswered_or_not_in_docs(
    store: FeedbackStore, filled: dict[str, int]
) -> None:
    gaps = Analytics(store.engine).gap_candidates(Filters())
    assert [(g["id"], g["kind"]) for g in gaps] == [
        (filled["c"], "unanswered"),
        (filled["b"], "not_in_docs"),
    ]


def add_eval_run(
    store: FeedbackStore, when: datetime, metrics: dict[str, float], golden: str = "h"
) -> int:
    with Session(store.engine) as session, session.begin():
        run = EvalRun(
            created_at=when,
            golden_path="g.jsonl",
            golden_hash=golden,
            questions=3,
            k=5,
            metrics=metrics,
        )
        session.add(run)
        session.flush()
        return run.id


def test_eval_trend_and_worst_questions(store: FeedbackStore) -> None:
    a = Analytics(store.engine)
    assert a.eval_trend() == []
    first = add_eval_run(store, DAY1, {"hit@5": 0.9, "answer_f1": 0.6})
    second = add_eval_run(store, DAY2, {"hit@5": 0.8, "answer_f1": 0.5})
    trend = a.eval_trend()
    assert [t["id"] for t in trend] == [first, second]
    assert trend[1]["hit@5"] == 0.8 and trend[1]["created_at"].startswith("2026-11-02")
    with Session(store.engine) as session, session.begin():
        for pos, (f1, rank) in enumerate([(0.9, 1), (0.1, 1), (None, None), (0.1, None)]):
            session.add(
                EvalResult(
                    eval_run_id=second,
                    position=pos,
                    question=f"q{pos}",
                    answer="a",
                    hit_rank=rank,
                    answer_f1=f1,
                )
            )
    worst = a.worst_eval_questions(second, limit=3)
    assert [w["question"] for w in worst] == ["q3", "q1", "q0"]
    assert a.worst_eval_questions(first) == []


def test_history_feeds_the_rules(store: FeedbackStore) -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    ids = []
    for i in range(30):  # this week: 30 answers, 6 of them 👎 for facts, 3 unanswered
        ids.append(
            store.interactions.record(
                InteractionRecord(
                    platform="slack",
                    question=f"q{i}",
                    answer="a",
                    tone_score=0.9,
                    unanswered=i < 3,
                    style_used=True,
                    created_at=now - timedelta(hours=i + 1),
                )
            )
        )
    for iid in ids[10:16]:
        store.interactions.record_vote(iid, "u1", -1, "wrong_facts")
        store.interactions.record_vote(iid, "u2", -1, "not_in_docs")  # same answer: counted once
    store.interactions.record_vote(ids[20], "demo", -1, "tone_format", source="demo")
    store.interactions.record_vote(ids[21], "u3", -1, "tone_format")
    for i in range(25):  # last week: none unanswered
        store.interactions.record(
            InteractionRecord(
                platform="slack",
                question="old",
                answer="a",
                created_at=now - timedelta(days=7, hours=i + 1),
            )
        )
    store.interactions.record(
        InteractionRecord(platform="slack", question="future", answer="a", created_at=now)
    )
    add_eval_run(store, DAY1, {"hit@5": 0.9})
    add_eval_run(store, DAY1 + timedelta(hours=1), {"hit@5": 0.2}, golden="other questions")
    add_eval_run(store, DAY2, {"hit@5": 0.7})
    with Session(store.engine) as session, session.begin():
        session.add(CuratedExample(interaction_id=ids[0], input="d", output="o", origin="edited"))
        session.add(CuratedExample(input="d2", output="o2", origin="edited", used_in="v1"))

    h = Analytics(store.engine).history(now, window_days=7, docs_changed=2)
    assert (h.answers, h.unanswered, h.prev_answers, h.prev_unanswered) == (30, 3, 25, 0)
    assert h.facts_down == 6 and sorted(h.facts_down_ids) == sorted(ids[10:16])
    assert h.tone_down == 2 and h.tone_down_ids == [ids[21], ids[20]] and h.demo_votes == 1
    assert sorted(h.unanswered_ids) == sorted(ids[:3])
    assert h.tone_mean == pytest.approx(0.9) and h.tone_n == 30
    assert h.eval_latest == {"hit@5": 0.7} and h.eval_previous == {"hit@5": 0.9}
    assert h.new_examples == 1 and h.new_example_ids == [ids[0]] and h.docs_changed == 2

    rec = decide(h, Thresholds())
    fired = {r.name for r in rec.fired()}
    assert rec.verdict == "BOTH"
    assert fired == {
        "docs_changed",
        "facts_downvotes",
        "unanswered_rise",
        "eval_hit_rate",
        "tone_downvotes",
    }


def _answers(store: FeedbackStore, now: datetime, n: int, tone: float, **style: object) -> list:
    return [
        store.interactions.record(
            InteractionRecord(
                platform="slack",
                question=f"q{i}",
                answer="a",
                tone_score=tone,
                created_at=now - timedelta(hours=i + 1),
                **style,
            )
        )
        for i in range(n)
    ]


def test_tone_rule_with_style_off_is_na_not_retrain(store: FeedbackStore) -> None:
    """The demo's history: 42 plain drafts scored ~0.03 by the tone scorer, none styled."""
    now = datetime(2026, 11, 20, tzinfo=UTC)
    _answers(store, now, 42, 0.033)
    h = Analytics(store.engine).history(now, window_days=7)
    assert (h.answers, h.style_wanted, h.tone_n, h.tone_mean) == (42, 0, 0, None)
    rec = decide(h, Thresholds())
    tone = next(r for r in rec.rules if r.name == "tone_mean")
    assert not tone.fired and tone.explanation.startswith("n/a: style is off")
    assert rec.verdict == "HEALTHY"


def test_tone_rule_reads_only_the_styled_answers(store: FeedbackStore) -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    _answers(store, now, 39, 0.02)  # plain: style not wanted
    styled = _answers(store, now, 25, 0.9, style_used=True, style_note="rewritten")
    kept = _answers(store, now, 5, 0.1, style_note="timeout")  # wanted, fell back
    h = Analytics(store.engine).history(now, window_days=7)
    assert (h.style_wanted, h.style_fallbacks, h.tone_n) == (30, 5, 30)
    assert h.tone_mean == pytest.approx((25 * 0.9 + 5 * 0.1) / 30, abs=1e-3)
    assert sorted(h.style_fallback_ids) == sorted(kept)
    assert set(h.low_tone_ids) <= set(styled + kept)
    tone = next(r for r in decide(h, Thresholds()).rules if r.name == "tone_mean")
    assert tone.fired and "5 of 30 styled answers (16.7%) kept the plain draft" in tone.explanation
    assert set(kept) <= set(tone.evidence)
