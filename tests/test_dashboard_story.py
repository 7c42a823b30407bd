"""The dashboard tells a story on the demo's data (issue 22, part 6), without a browser:

- the demo's simulated weeks (askdesk.demo_history) are written through the real store, every
  row flagged simulated, with a stale index, a reindex and a style version change that the
  analytics the charts read really show;
- time axes tick in calendar days, however close the points are;
- every 👍/👎 in a column, legend, title or stat label carries words too;
- the tone tab names the active style version and its last evaluation.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from askdesk.dashboard.decision import Thresholds, decide
from askdesk.dashboard.panels import accuracy, freshness, history, overview, recommendation, tone
from askdesk.dashboard.panels.common import DAY_MS, mark_simulated, simulated_note, time_axis
from askdesk.demo_history import (
    DAYS,
    DRIFT_START,
    REINDEX_DAY,
    STYLE_CHANGE_DAY,
    previous_version_name,
    write_history,
)
from askdesk.feedback.analytics import Analytics, Filters
from askdesk.feedback.records import InteractionRecord
from askdesk.feedback.store import FeedbackStore
from askdesk.testing.pg_fleet import fresh_database, needs_pg

NOW = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)

SAMPLES = [
    {
        "platform": platform,
        "channel": channel,
        "question": f"How do I do thing {i}?",
        "answer": f"Open Settings and click thing {i} [1].",
        "sources": [{"path": f"guides/thing-{i}.md"}],
        "confidence": 0.7,
        "unanswered": i == 3,
        "latency_ms": 40.0 + i,
        "composer": "extractive-2",
        "versions": {"index_version": 4},
    }
    for i, (platform, channel) in enumerate(
        [("slack", "C-support"), ("slack", "C-billing"), ("discord", "help-desk"), ("web", "pg")]
    )
]
REAL_EVAL = {
    "golden_path": "golden.jsonl",
    "golden_hash": "g1",
    "questions": 43,
    "k": 5,
    "metrics": {
        "hit_at_k": 0.86,
        "hit@5": 0.86,
        "mrr": 0.74,
        "answer_f1": 0.41,
        "groundedness": 0.97,
    },
    "label": "demo",
}
REAL_INDEX = {
    "docs_root": "/srv/docs",
    "embed_model": "all-MiniLM-L6-v2",
    "docs_added": 33,
    "chunks_added": 225,
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=needs_pg)])
def both(request, tmp_path):
    """The store on SQLite and, with ASKDESK_TEST_PG_URL, on a throwaway PostgreSQL database:
    the simulated flag, the bulk insert and the delete must work on both."""
    if request.param == "sqlite":
        with FeedbackStore(f"sqlite:///{tmp_path / 'askdesk.db'}") as s:
            yield s
        return
    databases = fresh_database()
    url = next(databases)
    try:
        with FeedbackStore(url) as s:
            yield s
    finally:
        databases.close()


def _history(store: FeedbackStore, style: str | None = "sample-v1") -> Any:
    return write_history(
        store,
        now=NOW,
        samples=SAMPLES,
        eval_run=REAL_EVAL,
        index_run=REAL_INDEX,
        style=style,
        train_run={"version": style, "mode": "lora", "base_model": "smollm2", "eval_loss": 1.2},
    )


def _day(offset: int) -> str:
    return (NOW.date() + timedelta(days=offset)).isoformat()


def test_the_demo_history_spans_weeks_every_row_flagged_simulated(both):
    store = both
    real = store.interactions.record(
        InteractionRecord(platform="slack", question="real?", answer="yes")
    )
    story = _history(store)
    assert story.start.date() == NOW.date() - timedelta(days=DAYS)
    assert story.end.date() == NOW.date() - timedelta(days=1)
    assert story.answers > 10 * DAYS // 2 and story.votes > 100

    analytics = Analytics(store.engine)
    days = analytics.daily(Filters(start=NOW.date() - timedelta(days=29), end=NOW.date()))
    assert len(days) == DAYS + 1  # every simulated day and today's real answer
    span = analytics.simulated_span()
    assert span["start"][:10] == _day(-DAYS) and span["end"][:10] == _day(-1)
    assert span["answers"] == story.answers and span["votes"] == story.votes
    assert (span["eval_runs"], span["index_runs"], span["train_runs"]) == (7, 5, 1)
    assert store.interactions.get(real)["simulated"] is False
    made_up = [r for r in store.interactions.recent(limit=2000) if r["id"] != real]
    assert made_up and all(r["simulated"] for r in made_up)
    assert all(r["simulated"] for r in store.styles.eval_runs() + store.index_runs.recent())
    assert {v["source"] for r in made_up for v in store.interactions.votes_for(r["id"])} == {"demo"}


def test_a_second_demo_replaces_the_simulated_rows_and_keeps_the_real_ones(both):
    store = both
    real = store.interactions.record(
        InteractionRecord(platform="slack", question="real?", answer="yes")
    )
    store.interactions.record_vote(real, "v", 1)
    first = _history(store)
    again = _history(store)
    assert again.replaced["interaction"] == first.answers
    assert again.replaced["vote"] == first.votes
    span = Analytics(store.engine).simulated_span()
    assert span["answers"] == first.answers and span["eval_runs"] == 7
    assert len(store.interactions.votes_for(real)) == 1
    counts = store.simulated.delete()
    assert counts["interaction"] == first.answers and counts["train_run"] == 1
    assert Analytics(store.engine).simulated_span() is None
    assert [r["id"] for r in store.interactions.recent()] == [real]


def _share(rows: list[dict[str, Any]], key: str, lo: int, hi: int) -> float:
    picked = [r for r in rows if _day(lo) <= r["day"] < _day(hi)]
    return sum(r[key] for r in picked) / sum(r["answers"] for r in picked)


def test_the_story_shows_in_what_the_charts_read(both):
    store = both
    _history(store)
    analytics = Analytics(store.engine)
    rows = analytics.daily(Filters(start=NOW.date() - timedelta(days=29), end=NOW.date()))
    before = _share(rows, "down_wrong_facts", -DAYS, DRIFT_START)
    stale = _share(rows, "down_wrong_facts", REINDEX_DAY - 4, REINDEX_DAY)
    after = _share(rows, "down_wrong_facts", REINDEX_DAY, 0)
    assert stale > 2 * before and stale > 2 * after

    plain = store.interactions.record(
        InteractionRecord(  # a plain draft today: not in the voice's trend
            platform="slack", channel="C-plain", question="q", answer="a", tone_score=0.01
        )
    )
    assert store.interactions.get(plain)["tone_score"] == 0.01
    tone_rows = analytics.tone_by_channel(Filters(), voiced_only=True)
    old = [r["tone_mean"] for r in tone_rows if r["day"] < _day(STYLE_CHANGE_DAY)]
    new = [r["tone_mean"] for r in tone_rows if r["day"] >= _day(STYLE_CHANGE_DAY)]
    assert min(new) > sum(old) / len(old)
    # the "pg" sample is unanswered: no tone to score
    assert {r["channel"] for r in tone_rows} == {"C-support", "C-billing", "help-desk"}

    versions = analytics.style_by_version(Filters())
    assert [v["version"] for v in versions] == ["sample-v0", "sample-v1"]
    assert versions[0]["first_seen"][:10] == _day(-DAYS)
    assert versions[1]["first_seen"][:10] == _day(STYLE_CHANGE_DAY)
    assert versions[1]["fallback_rate"] < versions[0]["fallback_rate"]

    runs = analytics.eval_trend()
    hit = {r["created_at"][:10]: r["hit@5"] for r in runs}
    assert hit[_day(-15)] < REAL_EVAL["metrics"]["hit@5"] - 0.1  # the stale index
    hit_at_k = {r["created_at"][:10]: r["hit_at_k"] for r in runs}  # the chart's first choice
    assert hit_at_k[_day(-15)] < REAL_EVAL["metrics"]["hit_at_k"] - 0.1
    assert abs(hit[_day(-3)] - REAL_EVAL["metrics"]["hit@5"]) < 0.03  # after the reindex
    assert all(
        r["label"] == "simulated" and r["golden_hash"] == "g1" for r in store.styles.eval_runs()
    )

    reindex = [r for r in store.index_runs.recent() if r["docs_changed"]]
    assert any(r["finished_at"].date().isoformat() == _day(REINDEX_DAY) for r in reindex)


def test_the_previous_style_version_is_named_after_the_active_one():
    assert previous_version_name("sample-v1") == "sample-v0"
    assert previous_version_name("voice-v12") == "voice-v11"
    assert previous_version_name("voice-2026-11") == "voice-2026-11-previous"


def test_without_a_style_model_the_history_has_no_version_change(store):
    story = _history(store, style=None)
    assert story.style_change_at is None and store.styles.train_runs() == []
    assert Analytics(store.engine).style_by_version(Filters()) == []


def test_the_history_needs_real_answers_to_copy(store):
    with pytest.raises(ValueError, match="copies real answers"):
        write_history(
            store, now=NOW, samples=[], eval_run=REAL_EVAL, index_run=REAL_INDEX, style=None
        )


# -- time axes ------------------------------------------------------------------------------


def _ticks_are_days(axis: dict[str, Any]) -> None:
    assert axis["type"] == "date" and axis["tickformat"] == "%b %d"
    assert axis["dtick"] % DAY_MS == 0 and axis["dtick"] >= DAY_MS
    lo, hi = (datetime.fromisoformat(x) for x in axis["range"])
    assert hi - lo >= timedelta(days=1)


def test_eval_runs_a_moment_apart_still_read_as_dates(store):
    """The eval-runs chart read "23:42:17.9665 … 23:42:17.968" for two runs 2 ms apart."""
    for ms in (966, 968):
        store.styles.record_eval_run(
            {
                "created_at": datetime(2026, 12, 6, 23, 42, 17, ms * 1000, tzinfo=UTC),
                "golden_path": "g",
                "golden_hash": "g",
                "questions": 1,
                "k": 5,
                "metrics": {"hit@5": 0.8},
            },
            [],
        )
    fig = accuracy.trend_figure(Analytics(store.engine).eval_trend())
    axis = fig["layout"]["xaxis"]
    _ticks_are_days(axis)
    assert fig["data"][0]["x"] == ["2026-12-06 23:42:17", "2026-12-06 23:42:17"]


def test_a_month_of_days_ticks_weekly_and_a_single_day_still_in_days():
    month = time_axis([_day(-d) for d in range(28)])
    _ticks_are_days(month)
    assert month["dtick"] == 7 * DAY_MS
    _ticks_are_days(time_axis(["2026-12-06"]))
    offset = time_axis(["2026-12-06T23:00:00-05:00"])  # shown in UTC: Dec 07
    assert offset["range"][0].startswith("2026-12-06 12:00")


def test_every_time_chart_on_the_demo_history_has_a_date_axis_and_the_shading(store):
    _history(store)
    analytics = Analytics(store.engine)
    span = analytics.simulated_span()
    f = Filters(start=NOW.date() - timedelta(days=29), end=NOW.date())
    figures = overview._figures(analytics.daily(f))
    figures.append(accuracy.trend_figure(analytics.eval_trend(), [], span))
    report = tone.version_report(analytics.style_by_version(f), shifts=lambda d, a: [])
    figures.append(
        tone.tone_figure(
            analytics.tone_by_channel(f, voiced_only=True), 0.8, tone.version_changes(report), span
        )
    )
    figures.append(freshness.runs_figure(store.index_runs.recent(), span))
    for fig in figures[-3:]:
        assert any(a["text"] == "simulated (demo)" for a in fig["layout"]["annotations"])
    for fig in figures:
        _ticks_are_days(fig["layout"]["xaxis"])
        assert fig["data"] and all(
            any(y is not None for y in trace["y"]) for trace in fig["data"]
        ), fig["layout"]["title"]
    tone_labels = [a["text"] for a in figures[-2]["layout"]["annotations"]]
    assert "style sample-v1" in tone_labels
    runs = figures[-1]["data"]
    assert [t["name"] for t in runs] == [
        "documents added",
        "documents changed",
        "documents removed",
    ]
    assert sum(runs[1]["y"]) == 9  # a routine sync's 2, the reindex's 6, the later fix's 1


def test_the_shading_and_banner_only_when_the_store_holds_simulated_rows():
    fig = {"data": [{"x": [1], "y": [1]}], "layout": {"annotations": [{"text": "mine"}]}}
    assert mark_simulated(dict(fig), None) == fig
    assert simulated_note(None) == ""
    span = {
        "start": "2026-11-09T08:00:00+00:00",
        "end": "2026-12-06T18:00:00+00:00",
        "answers": 400,
        "votes": 300,
        "eval_runs": 7,
        "index_runs": 4,
    }
    marked = mark_simulated(json.loads(json.dumps(fig)), span)
    assert [a["text"] for a in marked["layout"]["annotations"]] == ["mine", "simulated (demo)"]
    (rect,) = marked["layout"]["shapes"]
    assert (rect["x0"], rect["x1"]) == ("2026-11-09 00:00:00", "2026-12-07 00:00:00")
    note = simulated_note(span)
    assert note.startswith("Simulated data: 2026-11-09 to 2026-12-06")
    assert "400 answers, 300 votes" in note


# -- vote labels ----------------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    """Every string in a figure, a Dash component tree or a plain structure."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    if hasattr(value, "to_plotly_json"):
        return _strings(value.to_plotly_json())
    return []


def _unlabelled(strings: list[str]) -> list[str]:
    return [
        s
        for s in strings
        if ("👍" in s and "helpful" not in s) or ("👎" in s and "not helpful" not in s)
    ]


def test_every_thumb_in_columns_legends_and_titles_carries_words(store):
    _history(store)
    analytics = Analytics(store.engine)
    f = Filters()
    shown = _strings(overview._figures(analytics.daily(f)))
    shown += _strings(overview._figures([]))  # the empty charts' titles
    shown += _strings(overview._stats(analytics.totals(f)))
    shown += _strings(history.COLUMNS)
    shown += _strings(recommendation.RULE_TITLES)
    shown += _strings(accuracy.layout(None))
    rules = decide(analytics.history(NOW, 7, 0), Thresholds()).rules
    shown += [r.explanation for r in rules]
    assert sum("👍" in s or "👎" in s for s in shown) >= 10
    assert _unlabelled(shown) == []
    legend = [t["name"] for t in overview._figures(analytics.daily(f))[2]["data"]]
    assert legend == [
        "👎 not helpful: wrong facts",
        "👎 not helpful: not in docs",
        "👎 not helpful: tone / format",
        "👎 not helpful: other",
    ]


def test_history_rows_say_which_are_simulated(store):
    _history(store)
    real = store.interactions.record(
        InteractionRecord(platform="web", question="real?", answer="yes")
    )
    rows, _ = Analytics(store.engine).interactions(Filters(), limit=5)
    table = [history._table_row(r) for r in rows]
    assert table[0]["id"] == real and not table[0]["created_at"].endswith("(simulated)")
    assert all(r["created_at"].endswith("(simulated)") for r in table[1:])
    assert "simulated" in history.to_csv(rows).splitlines()[0].split(",")


# -- the active style version and its last evaluation (part 4) -------------------------------


def test_the_tone_tab_names_the_active_version_and_its_last_evaluation(store):
    _history(store)
    runs = Analytics(store.engine).eval_trend()
    line = tone.last_evaluation("sample-v1", runs)
    latest = [r for r in runs if r["style_model_version"] == "sample-v1"][-1]
    assert line.startswith(f"Last evaluation: eval run #{latest['id']} (simulated), ")
    assert f"hit@5 {latest['hit@5']:.2f}" in line and "answer F1" in line
    assert "no eval run has measured" in tone.last_evaluation("voice-v9", runs)
    run = {
        "version": "sample-v1",
        "created_at": datetime(2026, 11, 20, tzinfo=UTC),
        "train_examples": 120,
        "eval_examples": 12,
        "eval_loss": 1.234,
        "mode": "lora",
        "base_model": "smollm2",
    }
    shown = " ".join(_strings(tone._model(run, line)))
    assert "Active style version sample-v1" in shown and "held-out loss 1.234" in shown
    assert line in shown


def test_the_freshness_chart_without_runs_says_how_to_get_one():
    fig = freshness.runs_figure([])
    assert fig["data"] == [] and "askdesk index" in fig["layout"]["annotations"][0]["text"]


def test_a_day_axis_helper_accepts_dates_and_datetimes():
    axis = time_axis([date(2026, 12, 1), datetime(2026, 12, 3, 10, tzinfo=UTC)])
    _ticks_are_days(axis)


def test_the_simulated_label_stays_inside_the_charts_range():
    """Plotly hides an annotation outside the axis: an eval chart starting after the first
    simulated day must still say "simulated"; a chart wholly after the span gets no marks."""
    span = {"start": "2026-11-09T08:00:00+00:00", "end": "2026-12-06T18:00:00+00:00"}

    def fig(times: list[str]) -> dict[str, Any]:
        return {
            "data": [{"x": times, "y": [1] * len(times)}],
            "layout": {"xaxis": time_axis(times)},
        }

    marked = mark_simulated(fig(["2026-11-12 06:00:00", "2026-12-07 01:00:00"]), span)
    (label,) = marked["layout"]["annotations"]
    assert label["x"] == marked["layout"]["xaxis"]["range"][0] == "2026-11-11 12:00:00"
    later = mark_simulated(fig(["2026-12-08 01:00:00", "2026-12-09 01:00:00"]), span)
    assert "annotations" not in later["layout"] and "shapes" not in later["layout"]
