"""Tone: how close recent answers sound to the team's voice, per channel, against the target,
and which style model produced them — the retrain side of the verdict."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, html

from dashboard.panels.common import (
    FILTER_INPUTS,
    day_axis,
    empty_figure,
    figure,
    graph,
    to_filters,
    when,
)
from dashboard.services import Services


def layout(services: Services) -> html.Div:
    return html.Div(
        [html.Div(id="tone-model", className="stats"), graph("tone-trend")], className="panel"
    )


def tone_figure(rows: list[dict[str, Any]], target: float) -> dict[str, Any]:
    if not rows:
        return empty_figure("Tone score", "No scored answers for these filters yet.")
    channels = sorted({r["channel"] or "(none)" for r in rows})
    days = sorted({r["day"] for r in rows})
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": channel,
            "x": [r["day"] for r in rows if (r["channel"] or "(none)") == channel],
            "y": [r["tone_mean"] for r in rows if (r["channel"] or "(none)") == channel],
        }
        for channel in channels
    ]
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"target {target:.2f}",
            "x": [days[0], days[-1]],
            "y": [target, target],
            "line": {"dash": "dash", "color": "#b3261e"},
        }
    )
    return figure(data, "Tone score by channel", xaxis=day_axis(days), yaxis={"range": [0, 1.05]})


def _model_in_use(services: Services) -> dict[str, Any] | None:
    """The TrainRun of the active version (after a rollback it is not the latest run)."""
    active = services.style_version()
    if active:
        runs = services.store.train_runs(limit=1000)
        return next((r for r in runs if r["version"] == active), None)
    return services.store.last_train_run()


def _model(run: dict[str, Any] | None) -> list[html.Div]:
    if run is None:
        return [html.Div("No style model trained yet: answers use the grounded draft as is.")]
    return [
        html.Div(f"Style model {run['version']}", id="tone-model-version", className="stat-value"),
        html.Div(
            f"trained {when(run['created_at'])} on {run['train_examples']} examples "
            f"({run['eval_examples']} held out), {run['mode']} from {run['base_model']}",
            className="stat-label",
        ),
    ]


def register(app: Dash, services: Services) -> None:
    @app.callback(
        Output("tone-trend", "figure"),
        Output("tone-model", "children"),
        *(Input(c, p) for c, p in FILTER_INPUTS),
    )
    def update(start: Any, end: Any, platforms: Any, channels: Any) -> tuple[Any, Any]:
        rows = services.analytics.tone_by_channel(to_filters(start, end, platforms, channels))
        run = _model_in_use(services)
        active = services.style_version()
        if run is None and active:
            model = [html.Div(f"Style model {active}: no training run recorded for it.")]
        else:
            model = _model(run)
        return tone_figure(rows, services.tone_target), model
