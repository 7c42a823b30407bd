"""Query history: every interaction with its votes, searchable and filtered like the charts,
exported as CSV, and curated into style training examples.

Paging happens on the server (the table only ever holds one page), so it stays fast on a
store with 100k interactions. A `?tab=history&ids=...` link (a rule's evidence) narrows the
table to exactly those interactions.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from dash import Dash, Input, Output, State, ctx, dash_table, dcc, html, no_update

from askdesk.dashboard.auth import current_user
from askdesk.dashboard.labels import VOTE_DOWN, VOTE_UP
from askdesk.dashboard.panels.common import FILTER_INPUTS, clicked, to_filters
from askdesk.dashboard.services import Services
from askdesk.feedback.analytics import Filters

PAGE_SIZE = 20
EXPORT_MAX = 100_000
COLUMNS = (
    ("id", "#"),
    ("created_at", "When (UTC)"),
    ("platform", "Platform"),
    ("channel", "Channel"),
    ("question", "Question"),
    ("answer", "Answer"),
    ("up", VOTE_UP),
    ("down", VOTE_DOWN),
    ("reasons", f"{VOTE_DOWN}: reasons"),
    ("unanswered", "Unanswered"),
)
CSV_FIELDS = (
    "id",
    "created_at",
    "platform",
    "channel",
    "question",
    "answer",
    "up",
    "down",
    "reasons",
    "comments",
    "unanswered",
    "escalated",
    "confidence",
    "latency_ms",
    "tone_score",
    "sources",
    "simulated",
)


def layout(services: Services) -> html.Div:
    return html.Div(
        [
            dcc.Store(id="hist-ids"),
            html.Div(
                [
                    dcc.Input(
                        id="hist-search",
                        type="search",
                        placeholder="Search questions and answers",
                        debounce=True,
                        style={"minWidth": "24em"},
                    ),
                    html.Span(id="hist-scope", className="muted"),
                    html.Button("Show all", id="hist-clear-ids", n_clicks=0),
                    html.Button("Export CSV", id="hist-export", n_clicks=0),
                    dcc.Download(id="hist-download"),
                ],
                className="row",
            ),
            dash_table.DataTable(
                id="hist-table",
                columns=[{"id": key, "name": name} for key, name in COLUMNS],
                data=[],
                page_action="custom",
                page_current=0,
                page_size=PAGE_SIZE,
                page_count=1,
                row_selectable="single",
                selected_rows=[],
                style_cell={
                    "textAlign": "left",
                    "whiteSpace": "normal",
                    "maxWidth": "36em",
                    "verticalAlign": "top",
                },
                style_table={"overflowX": "auto"},
            ),
            html.H4("Curate the selected answer as a training example"),
            dcc.Textarea(
                id="hist-edit",
                placeholder="Select a row; edit its answer here if it needs correcting.",
                style={"width": "100%", "height": "8em"},
            ),
            html.Div(
                [html.Button("Curate", id="hist-curate", n_clicks=0), html.Span(id="hist-curated")],
                className="row",
            ),
        ],
        className="panel",
    )


def _reasons(reasons: dict[str, int]) -> str:
    return ", ".join(f"{reason} ×{n}" for reason, n in sorted(reasons.items()))


def fetch(
    services: Services,
    filters: tuple[Any, Any, Any, Any],
    search: str | None,
    ids: list[int] | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    # a rule's evidence ids name exactly the interactions to show: the filters don't apply
    f = Filters() if ids else to_filters(*filters)
    return services.analytics.interactions(f, (search or "").strip(), limit, offset, ids=ids or ())


def _table_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {key: row.get(key) for key, _ in COLUMNS}
    out["created_at"] = (row["created_at"] or "")[:16].replace("T", " ")
    if row.get("simulated"):  # the demo's made-up history, never a real user's question
        out["created_at"] += " (simulated)"
    out["reasons"] = _reasons(row.get("reasons") or {})
    out["unanswered"] = "yes" if row.get("unanswered") else ""
    out["channel"] = row.get("channel") or ""
    return out


def to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        flat = dict(row)
        flat["reasons"] = _reasons(row.get("reasons") or {})
        flat["comments"] = " | ".join(row.get("comments") or [])
        flat["sources"] = " ".join(str(s) for s in row.get("sources") or [])
        writer.writerow(flat)
    return buffer.getvalue()


def register(app: Dash, services: Services) -> None:
    filter_inputs = [Input(c, p) for c, p in FILTER_INPUTS]
    filter_states = [State(c, p) for c, p in FILTER_INPUTS]

    @app.callback(
        Output("hist-table", "data"),
        Output("hist-table", "page_count"),
        Output("hist-table", "selected_rows"),
        Output("hist-scope", "children"),
        Input("hist-table", "page_current"),
        Input("hist-search", "value"),
        Input("hist-ids", "data"),
        *filter_inputs,
    )
    def page(
        page_current: int | None,
        search: str | None,
        ids: list[int] | None,
        *filters: Any,
    ) -> tuple[Any, ...]:
        current = page_current or 0
        rows, total = fetch(
            services,
            filters,
            search,
            ids,
            PAGE_SIZE,
            current * PAGE_SIZE,  # type: ignore[arg-type]
        )
        pages = max(1, -(-total // PAGE_SIZE))
        scope = f"{total} interaction(s)"
        if ids:
            scope += f" from a rule's evidence ({len(ids)} linked)"
        return [_table_row(r) for r in rows], pages, [], scope

    @app.callback(
        Output("hist-ids", "data", allow_duplicate=True),
        Output("hist-table", "page_current"),
        Input("hist-clear-ids", "n_clicks"),
        Input("hist-search", "value"),
        *filter_inputs,
        prevent_initial_call=True,
    )
    def reset(n_clicks: int, *_: Any) -> tuple[Any, int]:
        return (None if ctx.triggered_id == "hist-clear-ids" else no_update), 0

    @app.callback(
        Output("hist-download", "data"),
        Input("hist-export", "n_clicks"),
        State("hist-search", "value"),
        State("hist-ids", "data"),
        *filter_states,
        prevent_initial_call=True,
    )
    def export(_: int, search: str | None, ids: list[int] | None, *filters: Any) -> Any:
        rows, _total = fetch(services, filters, search, ids, EXPORT_MAX, 0)  # type: ignore[arg-type]
        return dcc.send_string(to_csv(rows), "askdesk-interactions.csv", type="text/csv")

    @app.callback(
        Output("hist-edit", "value"),
        Input("hist-table", "selected_rows"),
        State("hist-table", "data"),
        prevent_initial_call=True,
    )
    def select(selected: list[int] | None, data: list[dict[str, Any]] | None) -> str:
        if not selected or not data or selected[0] >= len(data):
            return ""
        row = services.store.interactions.get(int(data[selected[0]]["id"]))
        return "" if row is None else row["answer"]

    @app.callback(
        Output("hist-curated", "children"),
        Input("hist-curate", "n_clicks"),
        State("hist-table", "selected_rows"),
        State("hist-table", "data"),
        State("hist-edit", "value"),
        prevent_initial_call=True,
    )
    def curate(n_clicks: int, selected: list[int] | None, data: Any, edited: str | None) -> str:
        clicked({"hist-curate": n_clicks})  # a training example only for a real click
        if not selected or not data or selected[0] >= len(data):
            return "Select a row first."
        interaction_id = int(data[selected[0]]["id"])
        row = services.store.interactions.get(interaction_id)
        if row is None:
            return f"Interaction #{interaction_id} no longer exists."
        text = (edited or "").strip()
        output = text if text and text != row["answer"].strip() else None
        services.store.styles.curate(interaction_id, output=output, curated_by=current_user())
        how = "edited answer" if output is not None else "answer as given"
        return f"Curated #{interaction_id} ({how}) as a training example."
