"""Overview: volume, votes, unanswered, escalations and latency per day, under the verdict.

Every chart follows the filter bar. Simulated demo votes are counted like the rest but said so
in the header, so nobody mistakes a demo for real users' opinion.
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, html

from askdesk.dashboard.labels import VOTE_DOWN, VOTE_UP
from askdesk.dashboard.panels import recommendation
from askdesk.dashboard.panels.common import (
    FILTER_INPUTS,
    day_axis,
    empty_figure,
    figure,
    graph,
    mark_simulated,
    pct,
    stat,
    to_filters,
)
from askdesk.dashboard.services import Services
from askdesk.feedback.reasons import Reason

REASONS = tuple((f"down_{r.value}", r.short) for r in Reason)
UP_TITLE = f"{VOTE_UP} rate (share of votes)"
DOWN_TITLE = f"{VOTE_DOWN} rate by reason (share of answers)"
CHARTS = ("ov-answers", "ov-votes", "ov-reasons", "ov-unanswered", "ov-latency")


def layout(services: Services) -> html.Div:
    return html.Div(
        [
            recommendation.layout(services),
            html.Div(id="ov-stats", className="stats"),
            html.P(id="ov-demo", className="muted"),
            html.Div([graph(c) for c in CHARTS], className="charts"),
        ],
        className="panel",
    )


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _figures(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not rows:
        return [empty_figure(t) for t in ("Answers", UP_TITLE, DOWN_TITLE, "Unanswered", "Latency")]
    days = [r["day"] for r in rows]
    votes = [r["up"] + r["down"] for r in rows]
    answers = figure(
        [
            {"type": "bar", "name": "answers", "x": days, "y": [r["answers"] for r in rows]},
            {"type": "bar", "name": "escalations", "x": days, "y": [r["escalated"] for r in rows]},
        ],
        "Answers and escalations per day",
        xaxis=day_axis(days),
    )
    up = figure(
        [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{VOTE_UP} share of votes",
                "x": days,
                "y": [_rate(r["up"], v) for r, v in zip(rows, votes, strict=True)],
            }
        ],
        UP_TITLE,
        xaxis=day_axis(days),
        yaxis={"tickformat": ".0%", "range": [0, 1.05]},
    )
    reasons = figure(
        [
            {
                "type": "bar",
                "name": f"{VOTE_DOWN}: {label}",
                "x": days,
                "y": [_rate(r[key], r["answers"]) for r in rows],
            }
            for key, label in REASONS
        ],
        DOWN_TITLE,
        barmode="stack",
        xaxis=day_axis(days),
        yaxis={"tickformat": ".0%"},
    )
    unanswered = figure(
        [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "unanswered",
                "x": days,
                "y": [_rate(r["unanswered"], r["answers"]) for r in rows],
            }
        ],
        "Unanswered rate",
        xaxis=day_axis(days),
        yaxis={"tickformat": ".0%"},
    )
    latency = figure(
        [
            {"type": "scatter", "mode": "lines+markers", "name": name, "x": days, "y": ys}
            for name, ys in (
                ("p50", [r["latency_p50_ms"] for r in rows]),
                ("p95", [r["latency_p95_ms"] for r in rows]),
            )
        ],
        "Latency (ms)",
        xaxis=day_axis(days),
    )
    return [answers, up, reasons, unanswered, latency]


def _stats(t: dict[str, Any]) -> list[html.Div]:
    p50, p95 = t.get("latency_p50_ms"), t.get("latency_p95_ms")
    latency = "—" if p50 is None else f"{p50:.0f} / {p95:.0f} ms"
    return [
        stat("answers", str(t["answers"]), "ov-total-answers"),
        stat(f"{VOTE_UP} rate (of votes)", pct(t["up_rate"])),
        stat(f"{VOTE_DOWN} rate (of votes)", pct(t["down_rate"])),
        stat("unanswered", pct(t["unanswered_rate"])),
        stat("escalations", str(t["escalated"])),
        stat("latency p50 / p95", latency),
    ]


def register(app: Dash, services: Services) -> None:
    @app.callback(
        Output("ov-stats", "children"),
        Output("ov-demo", "children"),
        *(Output(c, "figure") for c in CHARTS),
        *(Input(cid, prop) for cid, prop in FILTER_INPUTS),
    )
    def update(start: str | None, end: str | None, platforms: Any, channels: Any) -> tuple:
        f = to_filters(start, end, platforms, channels)
        totals = services.analytics.totals(f)
        demo = totals.get("demo_votes") or 0
        note = f"Votes: includes {demo} simulated demo votes." if demo else ""
        span = services.analytics.simulated_span()
        figures = [mark_simulated(fig, span) for fig in _figures(services.analytics.daily(f))]
        return (_stats(totals), note, *figures)
