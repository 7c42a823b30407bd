"""What the panels share: the filter bar's ids, turning its values into Filters, and small
figure and card helpers so every tab looks alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from dash import ctx, dcc, html
from dash.exceptions import PreventUpdate

from feedback.analytics import Filters

FILTER_INPUTS = (
    ("f-dates", "start_date"),
    ("f-dates", "end_date"),
    ("f-platforms", "value"),
    ("f-channels", "value"),
)


def _day(value: str | None) -> date | None:
    if not value:
        return None
    return date.fromisoformat(value[:10])


def to_filters(
    start: str | None,
    end: str | None,
    platforms: Sequence[str] | None,
    channels: Sequence[str] | None,
) -> Filters:
    """The filter bar's values as analytics Filters (both days included)."""
    return Filters(
        start=_day(start),
        end=_day(end),
        platforms=tuple(platforms or ()),
        channels=tuple(channels or ()),
    )


def clicked(clicks: Mapping[str, Any]) -> str:
    """The button (of these ids → their n_clicks) that really fired this callback.

    Dash runs a callback for whatever request names it, and a request with nothing changed
    (`changedPropIds: []`) or a forged one leaves `ctx.triggered_id` empty: a callback that
    picked a default then would act with nobody clicking. So a state-changing callback acts
    only when the triggered id is one of its buttons and that button's n_clicks is above 0;
    anything else raises PreventUpdate (no output, no side effect).
    """
    button = ctx.triggered_id
    if not isinstance(button, str) or button not in clicks:
        raise PreventUpdate
    count = clicks[button]
    if isinstance(count, bool) or not isinstance(count, int) or count <= 0:
        raise PreventUpdate
    return button


DAY_MS = 86_400_000


def day_axis(days: Sequence[str]) -> dict[str, Any]:
    """Whole days on the x axis (Plotly would show hours for a one-day range), at most ~10
    labels."""
    span = 1
    if len(days) > 1:
        span = (date.fromisoformat(max(days)[:10]) - date.fromisoformat(min(days)[:10])).days + 1
    return {"type": "date", "tickformat": "%b %d", "dtick": DAY_MS * max(1, -(-span // 10))}


def figure(data: list[dict[str, Any]], title: str, **layout: Any) -> dict[str, Any]:
    """A plain Plotly figure dict (no plotly import needed to build it); counts and shares
    start at zero unless the caller says otherwise."""
    yaxis = {"rangemode": "tozero", **layout.pop("yaxis", {})}
    return {
        "data": data,
        "layout": {
            "title": {"text": title},
            "margin": {"l": 50, "r": 20, "t": 50, "b": 40},
            "height": 300,
            "legend": {"orientation": "h"},
            "yaxis": yaxis,
            **layout,
        },
    }


def empty_figure(title: str, message: str = "No data for these filters yet.") -> dict[str, Any]:
    return figure(
        [],
        title,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False, "xref": "paper", "yref": "paper"}],
    )


def graph(component_id: str) -> dcc.Graph:
    return dcc.Graph(id=component_id, config={"displaylogo": False}, className="chart")


def stat(label: str, value: str, component_id: str | None = None) -> html.Div:
    kwargs = {"id": component_id} if component_id else {}
    return html.Div(
        [
            html.Div(value, className="stat-value", **kwargs),
            html.Div(label, className="stat-label"),
        ],
        className="stat",
    )


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def when(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "—" if value is None else str(value)
