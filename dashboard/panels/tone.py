"""Tone: how close recent answers sound to the team's voice, per channel, against the target,
and which style model produced them — the retrain side of the verdict.

Per style version (the fine-tuning checklist's "monitor for style consistency and bias"):
the share of answers rewritten, kept as draft by reason, the mean tone and the sentiment shift
of its rewrites; a version that falls back more often or sounds less like the team than the
one before it is flagged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dash import Dash, Input, Output, html

from askdesk.dashboard.panels.common import (
    FILTER_INPUTS,
    day_axis,
    empty_figure,
    event_marks,
    figure,
    graph,
    mark_simulated,
    to_filters,
    when,
)
from askdesk.dashboard.services import Services
from askdesk.styling.tone.sentiment import sentiment_shifts

#: How many of a version's newest rewrites the sentiment check reads (VADER, ~1 ms each).
SHIFT_SAMPLE = 500
KEPT_SHOWN = ("guard", "timeout", "loop", "error")
_EPSILON = 1e-9


def layout(services: Services) -> html.Div:
    return html.Div(
        [
            html.Div(id="tone-model", className="stats"),
            graph("tone-trend"),
            html.H4("Style versions"),
            html.Div(id="tone-versions"),
        ],
        className="panel",
    )


def version_report(
    rows: list[dict[str, Any]], shifts: Callable[[list[str], list[str]], list[int]] | None = None
) -> list[dict[str, Any]]:
    """`Analytics.style_by_version` rows with the sentiment shift count of each version's
    rewrites and a `worse` note when its fallback rate is higher or its mean tone lower than
    the previous version's (oldest first, so "previous" is the one it replaced)."""
    if shifts is None:
        shifts = sentiment_shifts
    out: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for row in rows:
        pairs = row.get("pairs", [])[:SHIFT_SAMPLE]
        flagged = shifts([d for d, _ in pairs], [a for _, a in pairs]) if pairs else []
        worse = []
        if previous is not None:
            if _worse(row["fallback_rate"], previous["fallback_rate"], higher_is_worse=True):
                worse.append(
                    f"falls back more than {previous['version']} "
                    f"({row['fallback_rate']:.0%} vs {previous['fallback_rate']:.0%})"
                )
            if _worse(row["tone_mean"], previous["tone_mean"], higher_is_worse=False):
                worse.append(
                    f"lower tone than {previous['version']} "
                    f"({row['tone_mean']:.2f} vs {previous['tone_mean']:.2f})"
                )
        out.append(
            {
                **{k: v for k, v in row.items() if k != "pairs"},
                "shift_checked": len(pairs),
                "shift_flagged": len(flagged),
                "worse": worse,
            }
        )
        previous = row
    return out


def _worse(now: float | None, before: float | None, *, higher_is_worse: bool) -> bool:
    if now is None or before is None:
        return False
    return (now - before if higher_is_worse else before - now) > _EPSILON


def versions_table(report: list[dict[str, Any]]) -> Any:
    if not report:
        return html.P(
            "No answer asked for the brand voice in this range (style is off, or no style "
            "model is set up).",
            className="muted",
        )
    head = html.Tr(
        [
            html.Th(h)
            for h in (
                "Version",
                "Answers",
                "Rewritten",
                *(f"Kept: {k}" for k in KEPT_SHOWN),
                "Mean tone",
                "Sentiment moved",
                "Compared with the previous version",
            )
        ]
    )
    rows = [
        html.Tr(
            [
                html.Td(r["version"]),
                html.Td(str(r["answers"])),
                html.Td(_share(r["rewritten_share"])),
                *(html.Td(str(r["kept"].get(k, 0))) for k in KEPT_SHOWN),
                html.Td("—" if r["tone_mean"] is None else f"{r['tone_mean']:.2f}"),
                html.Td(f"{r['shift_flagged']} of {r['shift_checked']}"),
                html.Td("; ".join(r["worse"]) or "—"),
            ],
            className="fired" if r["worse"] else "",
            id={"type": "style-version", "version": r["version"]},
        )
        for r in report
    ]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="rules")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def version_changes(report: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(first answer, label) of every style version after the first one seen: where the
    tone trend should be read against a new voice."""
    return [(r["first_seen"], f"style {r['version']}") for r in report[1:] if r.get("first_seen")]


def tone_figure(
    rows: list[dict[str, Any]],
    target: float,
    changes: list[tuple[str, str]] | None = None,
    span: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Mean tone per day and channel of the answers in the brand voice (the ones the tone_mean
    rule reads) against the target; new style versions marked, simulated days shaded."""
    if not rows:
        return empty_figure(
            "Tone score",
            "No scored answers in the brand voice for these filters (style is off, or no "
            "style model or tone scorer is set up).",
        )
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
    fig = figure(
        data,
        "Tone of answers in the brand voice, by channel",
        xaxis=day_axis(days),
        yaxis={"range": [0, 1.05]},
        **event_marks(changes or []),
    )
    return mark_simulated(fig, span)


def _model_in_use(services: Services) -> dict[str, Any] | None:
    """The TrainRun of the active version (after a rollback it is not the latest run)."""
    active = services.style_version()
    if active:
        runs = services.store.styles.train_runs(limit=1000)
        return next((r for r in runs if r["version"] == active), None)
    return services.store.styles.last_train_run()


def last_evaluation(version: str, runs: list[dict[str, Any]]) -> str:
    """One line on the newest eval run whose answers were written in `version`'s voice
    (`Analytics.eval_trend` rows, oldest first), or how to get one."""
    run = next((r for r in reversed(runs) if r.get("style_model_version") == version), None)
    if run is None:
        return (
            f"Last evaluation: no eval run has measured answers in {version}'s voice yet "
            "(`askdesk eval` with style on)."
        )
    figures = [
        f"{label} {run[key]:.2f}"
        for key, label in (("hit@5", "hit@5"), ("answer_f1", "answer F1"), ("tone", "tone"))
        if isinstance(run.get(key), int | float)
    ]
    made_up = " (simulated)" if run.get("simulated") else ""
    return f"Last evaluation: eval run #{run['id']}{made_up}, {when(run['created_at'])}" + (
        f": {', '.join(figures)}" if figures else ""
    )


def _model(run: dict[str, Any] | None, evaluation: str = "") -> list[html.Div]:
    if run is None:
        return [html.Div("No style model trained yet: answers use the grounded draft as is.")]
    held_out = run.get("eval_loss")
    loss = "" if held_out is None else f", held-out loss {held_out:.3f}"
    return [
        html.Div(
            f"Active style version {run['version']}",
            id="tone-model-version",
            className="stat-value",
        ),
        html.Div(
            f"trained {when(run['created_at'])} on {run['train_examples']} examples "
            f"({run['eval_examples']} held out{loss}), {run['mode']} from {run['base_model']}",
            className="stat-label",
        ),
        html.Div(evaluation, id="tone-model-eval", className="stat-label"),
    ]


def register(app: Dash, services: Services) -> None:
    @app.callback(
        Output("tone-trend", "figure"),
        Output("tone-model", "children"),
        Output("tone-versions", "children"),
        *(Input(c, p) for c, p in FILTER_INPUTS),
    )
    def update(start: Any, end: Any, platforms: Any, channels: Any) -> tuple[Any, Any, Any]:
        filters = to_filters(start, end, platforms, channels)
        rows = services.analytics.tone_by_channel(filters, voiced_only=True)
        report = version_report(services.analytics.style_by_version(filters))
        versions = versions_table(report)
        run = _model_in_use(services)
        active = services.style_version()
        if run is None and active:
            model = [html.Div(f"Style model {active}: no training run recorded for it.")]
        else:
            evaluation = (
                last_evaluation(run["version"], services.analytics.eval_trend()) if run else ""
            )
            model = _model(run, evaluation)
        span = services.analytics.simulated_span()
        figure_ = tone_figure(rows, services.tone_target, version_changes(report), span)
        return figure_, model, versions
