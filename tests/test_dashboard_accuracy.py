"""The Factual accuracy tab's eval series from stored runs (real SQLite file, the analytics the
panel reads): useful@0.5 and the declined share per run, with gaps for runs scored before
those measures existed, and the worst-questions table's Useful column."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from askdesk.dashboard.panels.accuracy import trend_figure, worst_rows
from askdesk.feedback.analytics import Analytics
from askdesk.feedback.store import FeedbackStore

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)




def _run(store: FeedbackStore, days: int, metrics: dict, results: list | None = None) -> int:
    return store.styles.record_eval_run(
        {
            "created_at": T0 + timedelta(days=days),
            "golden_path": "golden.jsonl",
            "golden_hash": "g1",
            "questions": 2,
            "k": 5,
            "metrics": metrics,
        },
        results or [],
    )


def _traces(store: FeedbackStore) -> dict[str, list]:
    fig = trend_figure(Analytics(store.engine).eval_trend())
    return {t["name"]: t["y"] for t in json.loads(json.dumps(fig))["data"]}


def test_runs_without_the_new_measures_chart_only_the_old_series(store):
    _run(store, 0, {"hit@5": 0.8, "mrr": 0.7, "answer_f1": 0.5, "groundedness": 0.9})
    assert list(_traces(store)) == ["hit@5", "MRR", "answer F1", "groundedness"]


def test_useful_and_declined_share_per_run_with_a_gap_for_an_older_run(store):
    _run(store, 0, {"hit@5": 0.8, "mrr": 0.7, "answer_f1": 0.5, "groundedness": 0.9})
    _run(
        store,
        1,
        {
            "hit@5": 0.9,
            "mrr": 0.8,
            "answer_f1": 0.41,
            "useful@0.5": 0.62,
            "groundedness": 0.95,
            "declined_rate_unanswerable": 0.25,
        },
    )
    _run(store, 2, {"hit@5": 0.9, "answer_f1": 0.45, "useful@0.5": 0.7})
    traces = _traces(store)
    assert list(traces) == [
        "hit@5",
        "MRR",
        "answer F1",
        "groundedness",
        "useful@0.5",
        "declined (unanswerable)",
    ]
    assert traces["useful@0.5"] == [None, 0.62, 0.7]  # a gap (null) before it existed, not 0
    assert traces["declined (unanswerable)"] == [None, 0.25, None]
    assert traces["answer F1"] == [0.5, 0.41, 0.45]
    fig = trend_figure(Analytics(store.engine).eval_trend())
    assert all(t["connectgaps"] is False for t in fig["data"])


def test_the_worst_questions_say_whether_each_answer_was_useful(store):
    reference = "Rotate the API key in Settings."
    run_id = _run(
        store,
        0,
        {"answer_f1": 0.3},
        [
            {
                "position": 0,
                "question": "rotate?",
                "reference": reference,
                "answer": "Open Settings and click Rotate [1].",
                "answer_f1": 0.4,
            },
            {
                "position": 1,
                "question": "declined",
                "reference": reference,
                "answer": "I couldn't find Settings or Rotate in the docs.",
                "answer_f1": 0.0,
                "unanswered": True,
            },
            {"position": 2, "question": "no reference", "answer": "anything"},
        ],
    )
    rows = worst_rows(Analytics(store.engine).worst_eval_questions(run_id))
    useful = {r["question"]: r["useful"] for r in rows}
    assert useful == {"rotate?": "yes", "declined": "no", "no reference": ""}
