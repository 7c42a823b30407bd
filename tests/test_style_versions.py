"""The Tone tab per style version (issue 12, part 5): rewritten share, drafts kept by reason,
mean tone and sentiment shift per version, and a version worse than the one before flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from askdesk.dashboard.panels.tone import version_report, versions_table
from askdesk.feedback.analytics import Analytics, Filters
from askdesk.feedback.records import InteractionRecord
from askdesk.feedback.store import FeedbackStore
from askdesk.feedback.style_notes import kept_group

NOW = datetime(2026, 11, 20, tzinfo=UTC)
CAUTION = "Deleting a workspace cannot be undone. All of its data is lost."
CHEERFUL = "Hey there! 👋\nGreat news: deleting a workspace is super easy and fun! Love it!"


def _add(store: FeedbackStore, hours: int, version: str | None, **kw: object) -> int:
    fields = {
        "platform": "slack",
        "question": "q",
        "answer": kw.pop("answer", "a"),
        "created_at": NOW - timedelta(hours=hours),
        "versions": {"style_model": version},
        **kw,
    }
    return store.interactions.record(InteractionRecord(**fields))  # type: ignore[arg-type]


def _history(store: FeedbackStore) -> None:
    for i in range(8):  # v1, a week ago: 8 rewritten, 1 guard, 1 timeout
        _add(
            store,
            200 + i,
            "v1",
            style_used=True,
            style_model_version="v1",
            style_note="rewritten",
            tone_score=0.9,
            draft="d",
            answer="Hey there! 👋\nd",
        )
    _add(store, 190, "v1", style_note="guard: missing <F1>", tone_score=0.1)
    _add(store, 191, "v1", style_note="timeout", tone_score=0.1)
    for i in range(5):  # v2, this week: worse on both counts
        _add(
            store,
            10 + i,
            "v2",
            style_used=True,
            style_model_version="v2",
            style_note="rewritten",
            tone_score=0.7,
            draft=CAUTION,
            answer=CHEERFUL,
        )
    _add(store, 20, "v2", style_note="guard: new number 7", tone_score=0.1)
    _add(store, 21, "v2", style_note="placeholders: too many facts", tone_score=0.1)
    _add(store, 22, "v2", style_note="repetition", tone_score=0.1)
    _add(store, 23, "v2", style_note="model error: RuntimeError: boom", tone_score=0.1)
    _add(store, 1, "v2", style_note="pending", tone_score=0.1)  # its edit is on its way
    for i in range(30):  # plain answers: style was not wanted, not counted anywhere
        _add(store, 30 + i, None, tone_score=0.02)


def test_style_by_version_counts_each_versions_answers_by_outcome(tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'a.db'}")
    _history(store)
    rows = Analytics(store.engine).style_by_version(Filters())
    assert [r["version"] for r in rows] == ["v1", "v2"]  # oldest first
    v1, v2 = rows
    assert (v1["answers"], v1["rewritten"], v1["rewritten_share"]) == (10, 8, 0.8)
    assert v1["kept"] == {
        "guard": 1,
        "timeout": 1,
        "loop": 0,
        "error": 0,
        "passed": 0,
        "other": 0,
        "pending": 0,
    }
    assert v1["fallback_rate"] == 0.2 and v1["tone_mean"] == round((8 * 0.9 + 0.2) / 10, 4)
    assert v2["answers"] == 10 and v2["kept"]["pending"] == 1
    assert (v2["kept"]["guard"], v2["kept"]["loop"], v2["kept"]["error"]) == (2, 1, 1)
    assert v2["fallback_rate"] == round(4 / 9, 4)  # the pending one is not judged yet
    assert len(v2["pairs"]) == 5 and v2["pairs"][0] == (CAUTION, CHEERFUL)


def test_a_version_worse_than_the_previous_is_flagged_with_its_sentiment_shifts(tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'a.db'}")
    _history(store)
    report = version_report(Analytics(store.engine).style_by_version(Filters()))
    v1, v2 = report
    assert v1["worse"] == [] and v1["shift_flagged"] == 0 and v1["shift_checked"] == 8
    assert v2["shift_flagged"] == 5 and v2["shift_checked"] == 5  # a warning made cheerful
    assert v2["worse"] == [
        "falls back more than v1 (44% vs 20%)",
        "lower tone than v1 (0.40 vs 0.74)",
    ]
    table = str(versions_table(report))
    assert "falls back more than v1" in table and "fired" in table and "5 of 5" in table


def test_no_styled_answers_says_so(tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'a.db'}")
    _add(store, 1, None, tone_score=0.02)
    assert Analytics(store.engine).style_by_version(Filters()) == []
    assert "No answer asked for the brand voice" in str(versions_table([]))


def test_kept_reasons_group_the_rewriters_notes():
    assert kept_group("guard: missing <F2>") == kept_group("placeholders: x") == "guard"
    assert kept_group("repetition") == "loop" and kept_group("timeout") == "timeout"
    assert kept_group("style model failed: OSError") == "error"
    assert kept_group(None) == kept_group("odd") == "other"
