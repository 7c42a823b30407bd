"""Gaps: what people ask that the docs do not answer (unanswered, answered with the hedge
line, or 👎 "not in the docs"),
grouped into clusters so the team writes one page per topic rather than reading every
question."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, dcc, html, no_update

from askdesk.dashboard.panels.common import FILTER_INPUTS, to_filters
from askdesk.dashboard.services import Services


def layout(services: Services) -> html.Div:
    return html.Div(
        [
            html.P(
                "Unanswered questions, answers given hedged ('not sure the docs cover this') and "
                "answers voted 👎 'not in the docs', grouped by topic.",
                className="muted",
            ),
            dcc.Loading(html.Div(id="gaps-clusters")),
        ],
        className="panel",
    )


def _exact_groups(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Without an encoder, identical questions (ignoring case and spacing) still group."""
    groups: dict[str, dict[str, Any]] = {}
    for item in items:
        key = " ".join(item["question"].lower().split())
        group = groups.setdefault(
            key,
            {
                "representative": item["question"],
                "count": 0,
                "interaction_ids": [],
                "examples": [],
                "hedged": 0,
            },
        )
        group["count"] += 1
        group["hedged"] += item.get("kind") == "hedged"
        group["interaction_ids"].append(item["id"])
        if len(group["examples"]) < 3:
            group["examples"].append(item["question"])
    return sorted(groups.values(), key=lambda g: -g["count"])


def clusters_table(clusters: list[dict[str, Any]]) -> Any:
    if not clusters:
        return html.P("No gaps for these filters: every question found an answer.")
    head = html.Tr(
        [html.Th(h) for h in ("Topic (representative question)", "Count", "Hedged", "Examples")]
    )
    rows = [
        html.Tr(
            [
                html.Td(
                    dcc.Link(
                        c["representative"],
                        href="?tab=history&ids=" + ",".join(str(i) for i in c["interaction_ids"]),
                    )
                ),
                html.Td(str(c["count"])),
                html.Td(str(c.get("hedged", 0))),
                html.Td(
                    html.Ul(
                        [html.Li(e) for e in c.get("examples", [])[:3] if e != c["representative"]]
                    )
                ),
            ],
            className="gap",
        )
        for c in clusters
    ]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="rules", id="gaps-table")


def register(app: Dash, services: Services) -> None:
    @app.callback(
        Output("gaps-clusters", "children"),
        Input("tabs", "value"),
        *(Input(c, p) for c, p in FILTER_INPUTS),
    )
    def update(tab: str | None, *filters: Any) -> Any:
        if tab != "gaps":  # clustering embeds every question: only when looked at
            return no_update
        items = services.analytics.gap_candidates(to_filters(*filters))
        cluster = services.cluster_questions or _exact_groups
        return clusters_table(cluster(items) if items else [])
