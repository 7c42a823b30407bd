"""The accuracy tab with two answer backends (real SQLite file, the analytics the panel reads):
the latest eval run of each backend side by side, and recorded answers by composer with the
fallbacks counted by reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from askdesk.dashboard.panels.accuracy import backend_rows
from askdesk.feedback.analytics import Analytics, Filters, fallback_reason
from askdesk.feedback.records import InteractionRecord
from askdesk.feedback.store import FeedbackStore

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)




def _answer(store: FeedbackStore, composer: str | None, note: str | None, **kw) -> int:
    return store.interactions.record(InteractionRecord(
        platform="slack",
        question="q",
        answer="a",
        composer=composer,
        composer_note=note,
        created_at=T0,
        **kw,
    ))


def test_answers_are_counted_by_composer_and_fallback_reason(store):
    for _ in range(3):
        _answer(store, "llm:qwen", None)
    _answer(store, "llm:qwen", "check dropped 1 of 4 sentences")
    _answer(store, "llm:qwen", "model: not in the docs", unanswered=True)
    _answer(store, "extractive-2", "fallback: timeout")
    _answer(store, "extractive-2", "fallback: timeout")
    _answer(store, "extractive-2", "fallback: server error (503)")
    _answer(store, "extractive-2", "fallback: check kept 0 of 2 claims")
    _answer(store, "extractive-2", None)
    _answer(store, None, None)  # recorded before composers were: not counted
    rows = Analytics(store.engine).composers(Filters())
    assert rows == [
        {"composer": "llm:qwen", "outcome": "answered", "answers": 3},
        {"composer": "extractive-2", "outcome": "fallback: timeout", "answers": 2},
        {"composer": "extractive-2", "outcome": "answered", "answers": 1},
        {"composer": "extractive-2", "outcome": "fallback: check", "answers": 1},
        {"composer": "extractive-2", "outcome": "fallback: server error", "answers": 1},
        {"composer": "llm:qwen", "outcome": "answered, check dropped sentences", "answers": 1},
        {"composer": "llm:qwen", "outcome": "declined by the model", "answers": 1},
    ]
    later = Filters(start=(T0 + timedelta(days=1)).date())
    assert Analytics(store.engine).composers(later) == []


def test_the_latest_run_of_each_backend_side_by_side(store):
    def run(days: int, backend: str | None, model: str | None, metrics: dict) -> None:
        store.styles.record_eval_run(
            {
                "created_at": T0 + timedelta(days=days),
                "golden_path": "golden.jsonl",
                "golden_hash": "g1",
                "questions": 10,
                "k": 5,
                "metrics": metrics,
                "backend": backend,
                "model": model,
            },
            [],
        )

    run(0, None, None, {"hit@5": 0.7, "groundedness": 1.0})  # before backends were stored
    run(1, "extractive", None, {"hit@5": 0.8, "groundedness": 1.0})
    run(
        2,
        "llm",
        "qwen",
        {
            "hit@5": 0.8,
            "groundedness": 0.97,
            "groundedness_before_check": 0.81,
            "check_removed": 0.12,
            "fallbacks": {"timeout": 1, "check": 2},
        },
    )
    rows = backend_rows(Analytics(store.engine).eval_trend())
    assert [r["backend"] for r in rows] == ["extractive", "llm qwen"]
    ext, llm = rows
    assert ext["run"].startswith("#2") and ext["hit@5"] == 0.8 and ext["fallback_rate"] is None
    assert llm["groundedness_before_check"] == 0.81 and llm["groundedness"] == 0.97
    assert llm["check_removed"] == 0.12 and llm["fallback_rate"] == 0.3


def test_fallback_reasons_lose_their_numbers():
    assert fallback_reason("fallback: server error (502)") == "server error"
    assert fallback_reason("fallback: rate limited (429)") == "rate limited"
    assert fallback_reason("fallback: check kept 1 of 4 claims (2 cite ...)") == "check"
    assert fallback_reason("fallback: unreachable") == "unreachable"
