"""Factual accuracy: eval runs as trends, the latest run's worst questions, and which sources
are cited most and draw the most 👎 — where a reindex or a docs fix would pay off.

Besides retrieval and answer F1 the trend charts useful@0.5 (does the answer hold the facts)
and the share of unanswerable golden questions declined, once any run has them; a run scored
before a metric existed shows a gap there, never a zero.

With a generating answer backend (`answer_backend = "llm"`) two tables tell the backends apart:
the latest eval run of each backend side by side (groundedness before and after the claim
check, what the check removed, how often answers fell back), and the recorded answers by
composer and outcome (fallbacks by reason: timeout, rate limited, server error, check, ...)."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dash_table, html

from askdesk.core.evaluation import USEFUL, useful_at_05
from askdesk.dashboard.decision import HIT_RATE_KEYS
from askdesk.dashboard.labels import VOTE_DOWN
from askdesk.dashboard.panels.common import (
    FILTER_INPUTS,
    empty_figure,
    event_marks,
    figure,
    graph,
    mark_simulated,
    plot_time,
    time_axis,
    to_filters,
)
from askdesk.dashboard.services import Services

METRICS = (("mrr", "MRR"), ("answer_f1", "answer F1"), ("groundedness", "groundedness"))
# charted only once some run has them (runs from before these measures lack them)
LATER_METRICS = (
    (USEFUL, USEFUL, "solid"),
    ("declined_rate_unanswerable", "declined (unanswerable)", "dash"),
)


# side by side for the latest run of each answer backend (extractive, llm:<model>)
BACKEND_METRICS = (
    ("run", "Run"),
    ("hit@5", "hit@5"),
    (USEFUL, USEFUL),
    ("answer_f1", "answer F1"),
    ("groundedness", "groundedness"),
    ("groundedness_before_check", "grounded before check"),
    ("check_removed", "removed by check"),
    ("fallback_rate", "fallbacks"),
    ("unanswered_rate", "unanswered"),
    ("latency_p50_ms", "p50 ms"),
)


def backend_rows(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The latest run of each backend (and model), so two backends compare at a glance; runs
    stored before backends were recorded count as extractive."""
    latest: dict[str, dict[str, Any]] = {}
    for run in runs:  # oldest first: a later run replaces an earlier one
        name = run.get("backend") or "extractive"
        if run.get("model"):
            name += f" {run['model']}"
        latest[name] = run
    rows = []
    for name, run in latest.items():
        fallbacks = sum((run.get("fallbacks") or {}).values())
        row: dict[str, Any] = {"backend": name, "run": f"#{run['id']} {run['created_at'][:16]}"}
        for key, _ in BACKEND_METRICS[1:]:
            row[key] = _cell(run.get(key))
        if (run.get("backend") or "extractive") == "llm" and run.get("questions"):
            row["fallback_rate"] = round(fallbacks / run["questions"], 3)
        rows.append(row)
    return rows


def _table(component_id: str, columns: list[tuple[str, str]]) -> dash_table.DataTable:
    return dash_table.DataTable(
        id=component_id,
        columns=[{"id": key, "name": name} for key, name in columns],
        data=[],
        page_size=10,
        style_cell={"textAlign": "left", "whiteSpace": "normal", "maxWidth": "40em"},
        style_table={"overflowX": "auto"},
    )


def layout(services: Services) -> html.Div:
    return html.Div(
        [
            graph("acc-trend"),
            html.H4(id="acc-worst-title"),
            _table(
                "acc-worst",
                [
                    ("question", "Question"),
                    ("answer", "Answer"),
                    ("sources", "Sources"),
                    ("hit_rank", "Hit rank"),
                    ("answer_f1", "Answer F1"),
                    ("useful", "Useful"),
                    ("groundedness", "Grounded"),
                ],
            ),
            html.H4("Answer backends: the latest eval run of each"),
            _table("acc-backends", [("backend", "Backend"), *BACKEND_METRICS]),
            html.H4("Answers by composer: generated, declined, or fallen back (and why)"),
            _table(
                "acc-composers",
                [("composer", "Composer"), ("outcome", "Outcome"), ("answers", "Answers")],
            ),
            html.H4(f"Sources: most cited, and their {VOTE_DOWN} votes"),
            _table(
                "acc-sources",
                [
                    ("path", "Document"),
                    ("cited", "Answers citing it"),
                    ("down", f"of them {VOTE_DOWN}"),
                ],
            ),
        ],
        className="panel",
    )


def _hit_key(runs: list[dict[str, Any]]) -> str | None:
    return next((k for k in HIT_RATE_KEYS if any(k in r for r in runs)), None)


def reindex_times(index_runs: list[dict[str, Any]]) -> list[str]:
    """When an index run changed the index (documents added, changed or removed), after the
    first one: the moments an eval trend should be read against."""
    done = sorted(
        (r for r in index_runs if r.get("status") == "ok" and r.get("finished_at")),
        key=lambda r: r["finished_at"],
    )
    return [
        plot_time(r["finished_at"])
        for r in done[1:]
        if r.get("docs_added") or r.get("docs_changed") or r.get("docs_removed")
    ]


def trend_figure(
    runs: list[dict[str, Any]],
    reindexes: list[str] | None = None,
    span: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The eval runs over time (dates on the axis), reindexes marked, simulated runs shaded."""
    if not runs:
        return empty_figure("Eval trend", "No eval runs yet: run `askdesk eval golden.jsonl`.")
    x = [plot_time(r["created_at"]) for r in runs]
    shown = [r.get("label") or f"run {r['id']}" for r in runs]
    hit = _hit_key(runs)
    series = [(key, label, "solid") for key, label in ([(hit, hit)] if hit else []) + list(METRICS)]
    series += [m for m in LATER_METRICS if any(r.get(m[0]) is not None for r in runs)]
    fig = figure(
        [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": label,
                "x": x,
                "y": [r.get(key) for r in runs],  # None: a gap in the line, not a zero
                "connectgaps": False,
                "line": {"dash": dash},
                "text": shown,
            }
            for key, label, dash in series
        ],
        "Eval runs",
        xaxis=time_axis(x),
        yaxis={"range": [0, 1.05]},
        **event_marks([(t, "reindex") for t in reindexes or ()]),
    )
    return mark_simulated(fig, span)


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v.get("path", v)) if isinstance(v, dict) else str(v) for v in value)
    if isinstance(value, float):
        return round(value, 3)
    return value


def worst_rows(worst: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The worst-questions table's cells; "Useful" is judged here from the stored reference
    and answer (the per-question row keeps no such column), blank without a reference."""
    rows = []
    for row in worst:
        cells = {k: _cell(v) for k, v in row.items()}
        useful = None
        if row.get("reference"):
            given = "" if row.get("unanswered") else str(row.get("answer") or "")
            useful = useful_at_05(given, row["reference"])
        cells["useful"] = "" if useful is None else ("yes" if useful else "no")
        rows.append(cells)
    return rows


def register(app: Dash, services: Services) -> None:
    @app.callback(
        Output("acc-trend", "figure"),
        Output("acc-worst-title", "children"),
        Output("acc-worst", "data"),
        Input("tabs", "value"),
    )
    def evals(_: str | None) -> tuple[Any, str, list[dict[str, Any]]]:
        runs = services.analytics.eval_trend()
        if not runs:
            return trend_figure(runs), "Worst questions: no eval run yet", []
        latest = runs[-1]
        worst = services.analytics.worst_eval_questions(latest["id"])
        rows = worst_rows(worst)
        title = f"Worst questions of the latest run (#{latest['id']}, {latest['created_at'][:16]})"
        marks = reindex_times(services.store.index_runs.recent(limit=200))
        span = services.analytics.simulated_span()
        return trend_figure(runs, marks, span), title, rows

    @app.callback(Output("acc-backends", "data"), Input("tabs", "value"))
    def backends(_: str | None) -> list[dict[str, Any]]:
        return backend_rows(services.analytics.eval_trend())

    @app.callback(Output("acc-composers", "data"), *(Input(c, p) for c, p in FILTER_INPUTS))
    def composers(start: Any, end: Any, platforms: Any, channels: Any) -> list[dict[str, Any]]:
        return services.analytics.composers(to_filters(start, end, platforms, channels))

    @app.callback(Output("acc-sources", "data"), *(Input(c, p) for c, p in FILTER_INPUTS))
    def sources(start: Any, end: Any, platforms: Any, channels: Any) -> list[dict[str, Any]]:
        return services.analytics.sources(to_filters(start, end, platforms, channels))
