"""The Dash app: a filter bar, the tabs, and one error line instead of a trace.

Every panel module contributes its layout and callbacks; this module only assembles them,
installs the Host/Origin guard and basic auth on the Flask server and routes
`?tab=...&ids=...` links (the recommendation's evidence links) to the right tab.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import dash
from dash import Dash, Input, Output, dcc, html, set_props

from askdesk.dashboard.auth import install_basic_auth
from askdesk.dashboard.guard import install_request_guard
from askdesk.dashboard.panels import (
    accuracy,
    freshness,
    gaps,
    history,
    overview,
    playground,
    recommendation,
    tone,
)
from askdesk.dashboard.panels.common import simulated_note
from askdesk.dashboard.services import Services

log = logging.getLogger(__name__)

TABS: tuple[tuple[str, str, Any], ...] = (
    ("overview", "Overview", overview),
    ("accuracy", "Factual accuracy", accuracy),
    ("tone", "Tone", tone),
    ("gaps", "Gaps", gaps),
    ("freshness", "Index freshness", freshness),
    ("history", "Query history", history),
    ("playground", "Playground", playground),
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 1.5em 2em; color: #222; }
.topbar { display: flex; gap: 1em; align-items: center; flex-wrap: wrap; margin: .8em 0; }
.topbar .Select, .topbar .dash-dropdown { min-width: 14em; }
#error-banner { background: #fde8e8; color: #8a1c1c; padding: .5em 1em; border-radius: 4px; }
.simulated-banner {
  background: #fff6d6; color: #5c4400; padding: .5em 1em; border-radius: 4px; margin: .3em 0;
}
.row { display: flex; gap: .6em; align-items: center; flex-wrap: wrap; margin: .5em 0; }
.stats { display: flex; gap: 1.5em; flex-wrap: wrap; margin: 1em 0; }
.stat-value { font-size: 1.6em; font-weight: 600; }
.stat-label, .muted { color: #666; font-size: .9em; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1em; }
.verdict { font-size: 2.2em; font-weight: 700; letter-spacing: .05em; }
.verdict-REINDEX, .verdict-BOTH { color: #b3261e; }
.verdict-RETRAIN { color: #a15c00; }
.verdict-HEALTHY { color: #1e7b34; }
.recommendation { border: 1px solid #ddd; border-radius: 6px; padding: 1em; margin: 1em 0; }
table.rules { border-collapse: collapse; width: 100%; }
table.rules td, table.rules th {
  border-bottom: 1px solid #eee; padding: .3em .5em; text-align: left;
}
tr.fired td { background: #fff4f2; }
"""


def _error_line(exc: Exception) -> None:
    """Any callback failure becomes one line in the banner (the trace goes to the log)."""
    log.error("dashboard callback failed", exc_info=exc)
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    message = f"Something went wrong: {type(exc).__name__}{': ' + text if text else ''}"
    set_props("error-banner", {"children": message, "hidden": False})


def _layout(services: Services) -> html.Div:
    today = services.now().date()
    return html.Div(
        [
            dcc.Location(id="url", refresh=False),
            html.Div(
                [
                    html.H2("askdesk", style={"margin": "0 1em 0 0"}),
                    dcc.DatePickerRange(
                        id="f-dates",
                        start_date=(today - timedelta(days=29)).isoformat(),
                        end_date=today.isoformat(),
                        display_format="YYYY-MM-DD",
                    ),
                    dcc.Dropdown(id="f-platforms", multi=True, placeholder="All platforms"),
                    dcc.Dropdown(id="f-channels", multi=True, placeholder="All channels"),
                ],
                className="topbar",
            ),
            html.Div(id="error-banner", hidden=True),
            html.Div(id="simulated-banner", className="simulated-banner", hidden=True),
            dcc.Tabs(
                id="tabs",
                value="overview",
                children=[
                    dcc.Tab(label=label, value=value, children=module.layout(services))
                    for value, label, module in TABS
                ],
            ),
        ]
    )


def create_app(services: Services) -> Dash:
    app = Dash(
        "askdesk-dashboard",
        title="askdesk dashboard",
        update_title=None,
        suppress_callback_exceptions=True,
        serve_locally=True,
        on_error=_error_line,
    )
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + STYLE + "</style>")
    # other sites are turned away before auth: a rebound name or a cross-site POST gets no
    # login prompt and runs no callback
    install_request_guard(app.server, services.allowed_hosts)
    install_basic_auth(app.server, services.auth)

    def layout() -> html.Div:
        # a function, so the default date range ends today on every page load, not on the
        # day the server started
        return _layout(services)

    app.layout = layout

    @app.callback(
        Output("f-platforms", "options"),
        Output("f-channels", "options"),
        Input("url", "pathname"),
    )
    def filter_options(_: str | None) -> tuple[list[str], list[str]]:
        options = services.analytics.filter_options()
        return list(options.get("platforms", [])), list(options.get("channels", []))

    @app.callback(
        Output("simulated-banner", "children"),
        Output("simulated-banner", "hidden"),
        Input("url", "pathname"),
    )
    def simulated_banner(_: str | None) -> tuple[str, bool]:
        note = simulated_note(services.analytics.simulated_span())
        return note, not note

    @app.callback(
        Output("tabs", "value"),
        Output("hist-ids", "data"),
        Input("url", "search"),
    )
    def route(search: str | None) -> tuple[Any, Any]:
        query = parse_qs((search or "").lstrip("?"))
        tab = query.get("tab", [None])[0]
        ids = [int(i) for i in ",".join(query.get("ids", [])).split(",") if i.strip().isdigit()]
        if tab not in {value for value, _, _ in TABS}:
            return dash.no_update, dash.no_update
        return tab, ids or None

    recommendation.register(app, services)
    for _, _, module in TABS:
        module.register(app, services)
    return app
