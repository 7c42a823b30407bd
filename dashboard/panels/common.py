"""What the panels share: the filter bar's ids, turning its values into Filters, and small
figure and card helpers so every tab looks alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from dash import ctx, dcc, html
from dash.exceptions import PreventUpdate

from askdesk.feedback.analytics import Filters

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
MAX_TICKS = 8
TICK0 = "2000-01-03"  # a Monday at midnight: week ticks fall on Mondays, day ticks on days


def plot_time(value: Any) -> str:
    """A stored time (datetime or ISO text, any offset) as a UTC 'YYYY-MM-DD HH:MM:SS' string,
    the one date form Plotly reads the same everywhere (it has no time zones)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat() + " 00:00:00"
    raise TypeError(f"not a time: {value!r}")


def time_axis(times: Sequence[Any], hover: str = "%Y-%m-%d %H:%M UTC") -> dict[str, Any]:
    """An x axis whose ticks are calendar days ("Dec 07"), never hours or milliseconds.

    Plotly zooms a short range down to milliseconds (two eval runs a moment apart read
    "23:42:17.9665 … 23:42:17.968"), so the range is padded to whole days around the points
    and ticks step by whole days (or weeks), at most about `MAX_TICKS` of them; the exact
    time is in the hover text."""
    parsed = sorted(datetime.fromisoformat(plot_time(t)) for t in times)
    if not parsed:
        return {"type": "date", "tickformat": "%b %d", "hoverformat": hover}
    first = datetime.combine(parsed[0].date(), datetime.min.time()) - timedelta(hours=12)
    last = datetime.combine(parsed[-1].date(), datetime.min.time()) + timedelta(hours=36)
    span = max(1, (last - first).days)
    step = -(-span // MAX_TICKS)
    if step > 3:
        step = 7 * -(-step // 7)  # weekly ticks, on Mondays
    return {
        "type": "date",
        "tickformat": "%b %d",
        "hoverformat": hover,
        "tick0": TICK0,
        "dtick": DAY_MS * step,
        "range": [plot_time(first), plot_time(last)],
    }


def day_axis(days: Sequence[str]) -> dict[str, Any]:
    """Whole days on the x axis (Plotly would show hours for a one-day range)."""
    return time_axis(days, hover="%Y-%m-%d")


def simulated_marks(span: Mapping[str, Any] | None) -> dict[str, Any]:
    """Layout shapes and a label that shade the simulated days (`Analytics.simulated_span`) in
    a time chart, so made-up history is never mistaken for real use; {} when all is real."""
    if not span:
        return {}
    start = datetime.fromisoformat(plot_time(span["start"])).date()
    end = datetime.fromisoformat(plot_time(span["end"])).date() + timedelta(days=1)
    return {
        "shapes": [
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": plot_time(start),
                "x1": plot_time(end),
                "y0": 0,
                "y1": 1,
                "fillcolor": "#9e9e9e",
                "opacity": 0.12,
                "line": {"width": 0},
                "layer": "below",
            }
        ],
        "annotations": [
            {
                "text": "simulated (demo)",
                "xref": "x",
                "yref": "paper",
                "x": plot_time(start),
                "y": 1,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 11, "color": "#666"},
            }
        ],
    }


def mark_simulated(fig: dict[str, Any], span: Mapping[str, Any] | None) -> dict[str, Any]:
    """`fig` with the simulated span shaded (only a figure with data: an empty one stays as
    it is); its own shapes and annotations are kept."""
    marks = simulated_marks(span)
    if not marks or not fig.get("data"):
        return fig
    layout = fig["layout"]
    shown = (layout.get("xaxis") or {}).get("range")
    if shown:  # Plotly hides a label placed outside the axis: keep it at the visible edge
        (rect,), (label,) = marks["shapes"], marks["annotations"]
        if rect["x1"] <= shown[0] or rect["x0"] >= shown[1]:
            return fig  # the simulated days are not in this chart's range
        label["x"] = max(label["x"], shown[0])
    for key in ("shapes", "annotations"):
        layout[key] = [*layout.get(key, []), *marks[key]]
    return fig


def event_marks(events: Sequence[tuple[Any, str]]) -> dict[str, Any]:
    """Dotted vertical lines with a short label (a reindex, a new style version) for a time
    chart's layout; {} without events."""
    if not events:
        return {}
    shapes, labels = [], []
    for when_, text in events:
        x = plot_time(when_)
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": x,
                "x1": x,
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dot", "width": 1, "color": "#555"},
            }
        )
        labels.append(
            {
                "text": text,
                "xref": "x",
                "yref": "paper",
                "x": x,
                "y": 0.02,
                "xanchor": "left",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 10, "color": "#555"},
            }
        )
    return {"shapes": shapes, "annotations": labels}


def simulated_note(span: Mapping[str, Any] | None) -> str:
    """The banner over every tab while the store holds simulated history."""
    if not span:
        return ""
    first = plot_time(span["start"])[:10]
    last = plot_time(span["end"])[:10]
    return (
        f"Simulated data: {first} to {last} is made-up demo history ({span['answers']} answers, "
        f"{span['votes']} votes, {span['eval_runs']} eval runs, {span['index_runs']} index "
        "runs), written by `askdesk demo` so the charts have trends to show, and shaded grey "
        "in every chart. Everything after it is real."
    )


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
