"""Index freshness: what changed in the docs folder since the last index run, and how big the
index is — the "docs changed" reindex rule, shown in full."""

from __future__ import annotations

from typing import Any

from dash import ALL, Dash, Input, Output, ctx, html, no_update

from askdesk.dashboard.panels.common import (
    DAY_MS,
    empty_figure,
    figure,
    graph,
    mark_simulated,
    plot_time,
    stat,
    time_axis,
    when,
)
from askdesk.dashboard.services import Services

KINDS = ("added", "changed", "removed")
RUNS_CHARTED = 200
"""Most recent index runs in the freshness chart."""


def layout(services: Services) -> html.Div:
    return html.Div(
        [
            html.Div(id="fresh-body"),
            html.P(id="fresh-sync-msg", className="muted"),
            graph("fresh-runs"),
        ],
        className="panel",
    )


def runs_figure(runs: list[dict[str, Any]], span: dict[str, Any] | None = None) -> dict[str, Any]:
    """Documents each finished index run added, changed and removed, over time: the reindexes
    and docs syncs behind the index's freshness. Simulated runs are shaded."""
    done = sorted(
        (r for r in runs if r.get("finished_at") and r.get("status") != "running"),
        key=lambda r: r["finished_at"],
    )
    if not done:
        return empty_figure("Index runs", "No index run yet: run `askdesk index`.")
    x = [plot_time(r["finished_at"]) for r in done]
    data = [
        {
            "type": "bar",
            "name": f"documents {kind}",
            "x": x,
            "y": [r.get(f"docs_{kind}") or 0 for r in done],
            "width": [DAY_MS * 0.6] * len(done),
        }
        for kind in KINDS
    ]
    fig = figure(
        data,
        "Index runs: documents added, changed, removed",
        barmode="stack",
        xaxis=time_axis(x),
    )
    return mark_simulated(fig, span)


def _sources_table(rows: list[dict[str, Any]], can_sync: bool) -> html.Table:
    """One row per configured source: last sync, documents, pending changes, errors."""
    head = ["Source", "Kind", "Last sync", "Documents", "Pending", "Errors", ""]
    body = []
    for r in rows:
        status = r.get("last_status") or "never"
        errors = r.get("error") or (f"{r['skipped']} skipped" if r.get("skipped") else "")
        pending = r.get("pending")
        button = (
            html.Button(
                "Sync now",
                id={"type": "fresh-sync", "name": r["name"]},
                className="button",
                n_clicks=0,
            )
            if can_sync
            else ""
        )
        body.append(
            html.Tr(
                [
                    html.Td(html.Span(r["name"], title=str(r.get("location") or ""))),
                    html.Td(r["kind"]),
                    html.Td(f"{when(r.get('last_sync_at'))} ({status})"),
                    html.Td(str(r.get("documents", 0))),
                    html.Td("checked at sync" if pending is None else str(pending)),
                    html.Td(errors[:200]),
                    html.Td(button),
                ],
                id=f"fresh-source-{r['name']}",
            )
        )
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
        id="fresh-sources",
    )


def _paths(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def _count(value: Any) -> str:
    return "—" if value is None else str(value)


def render(info: dict[str, Any], can_sync: bool = False) -> list[Any]:
    last = info.get("last_index_at")
    parts: list[Any] = [
        html.Div(
            [
                stat(f"last indexed ({info.get('last_status') or 'never'})", when(last)),
                stat("documents indexed", _count(info.get("documents"))),
                stat("chunks indexed", _count(info.get("chunks"))),
                stat("changed on disk since", _count(info.get("docs_changed")), "fresh-changed"),
            ],
            className="stats",
        ),
        html.P(f"Docs folder: {info.get('docs_root') or 'unknown'}", className="muted"),
    ]
    if info.get("sources") is not None:
        parts.append(_sources_table(info["sources"], can_sync))
    if info.get("error"):
        parts.append(html.P(f"Could not compare with the docs: {info['error']}", id="fresh-error"))
    for kind in KINDS:
        paths = _paths(info.get(kind))
        if paths:
            parts.append(html.H4(f"{kind.capitalize()} ({len(paths)})"))
            parts.append(html.Ul([html.Li(p) for p in paths[:100]]))
    if info.get("docs_changed") == 0:
        parts.append(html.P("The index matches the documents on disk."))
    return parts


def register(app: Dash, services: Services) -> None:
    @app.callback(Output("fresh-body", "children"), Input("tabs", "value"))
    def update(tab: str | None) -> Any:
        if tab != "freshness":  # walks and hashes the docs folder: only when looked at
            return no_update
        if services.freshness is None:
            return html.P("Index freshness is not available in this process.")
        return render(services.freshness(), services.sync_source is not None)

    @app.callback(Output("fresh-runs", "figure"), Input("tabs", "value"))
    def runs_chart(tab: str | None) -> Any:
        if tab != "freshness":
            return no_update
        runs = services.store.index_runs.recent(limit=RUNS_CHARTED)
        return runs_figure(runs, services.analytics.simulated_span())

    @app.callback(
        Output("fresh-sync-msg", "children"),
        Input({"type": "fresh-sync", "name": ALL}, "n_clicks"),
        prevent_initial_call=True,
    )
    def sync_now(clicks: list[int | None]) -> Any:
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not any(clicks) or services.sync_source is None:
            return no_update
        outcome = services.sync_source(str(trigger["name"]), "dashboard")
        return f"{trigger['name']}: {getattr(outcome, 'message', outcome)}"
