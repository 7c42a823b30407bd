"""Index freshness: what changed in the docs folder since the last index run, and how big the
index is — the "docs changed" reindex rule, shown in full."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, html, no_update

from dashboard.panels.common import stat, when
from dashboard.services import Services

KINDS = ("added", "changed", "removed")


def layout(services: Services) -> html.Div:
    return html.Div([html.Div(id="fresh-body")], className="panel")


def _paths(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


def _count(value: Any) -> str:
    return "—" if value is None else str(value)


def render(info: dict[str, Any]) -> list[Any]:
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
        return render(services.freshness())
