"""The recommendation panel: REINDEX / RETRAIN / BOTH / HEALTHY, the rules behind it, and the
buttons that start the remedy.

Each rule links to the interactions it counted (the history tab filtered to those ids), so the
verdict can be checked rather than trusted. Jobs run in the background; an interval polls the
job journal for their progress.
"""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update

from askdesk.dashboard.auth import current_user
from askdesk.dashboard.decision import Recommendation, RuleResult, decide
from askdesk.dashboard.labels import VOTE_DOWN
from askdesk.dashboard.panels.common import clicked, when
from askdesk.dashboard.services import Services

VERDICT_TEXT = {"NOT_ENOUGH_DATA": "NOT ENOUGH DATA"}
RULE_TITLES = {
    "docs_changed": "Docs changed since the last index",
    "facts_downvotes": f"{VOTE_DOWN}: wrong facts / not in docs",
    "unanswered_rate": "Unanswered rate",
    "unanswered_rise": "Unanswered rate rise",
    "eval_hit_rate": "Eval hit rate drop",
    "eval_answer_f1": "Eval answer F1 drop",
    "tone_mean": "Mean tone score",
    "tone_downvotes": f"{VOTE_DOWN}: tone / format",
    "new_examples": "New approved examples",
}
SHARES = {"facts_downvotes", "unanswered_rate", "unanswered_rise", "tone_downvotes"}
JOB_KINDS = ("reindex", "retrain")


def layout(services: Services) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Div(id="rec-verdict", className="verdict"),
                    html.Button("Reindex now", id="job-reindex", n_clicks=0),
                    html.Button("Retrain now", id="job-retrain", n_clicks=0),
                    html.Span(id="job-message"),
                ],
                className="row",
            ),
            html.P(id="rec-summary"),
            html.Div(id="job-status", className="muted"),
            html.Details([html.Summary("Rules"), html.Div(id="rec-rules")], open=True),
            dcc.Interval(id="jobs-poll", interval=1500),
            dcc.Store(id="jobs-done"),
            dcc.Interval(id="rec-poll", interval=60_000),
        ],
        className="recommendation",
    )


def recommend(services: Services) -> Recommendation:
    """The verdict for the recent window, with the docs-on-disk comparison filled in."""
    docs_changed = None
    if services.freshness is not None:
        docs_changed = services.freshness().get("docs_changed")
    history = services.analytics.history(services.now(), services.window_days, docs_changed)
    return decide(history, services.thresholds)


def _shown(rule: RuleResult, value: float | None) -> str:
    if value is None:
        return "—"
    if rule.name in SHARES:
        return f"{value:.1%}"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}"


def _evidence(rule: RuleResult) -> Any:
    if not rule.evidence:
        return ""
    ids = ",".join(str(i) for i in rule.evidence[:200])
    return dcc.Link(
        f"{len(rule.evidence)} interaction(s)",
        href=f"?tab=history&ids={ids}",
        id={"type": "rule-evidence", "rule": rule.name},
    )


def _rules_table(rec: Recommendation) -> html.Table:
    head = html.Tr(
        [html.Th(h) for h in ("Rule", "Lever", "Value", "Threshold", "Fired", "Why", "Evidence")]
    )
    rows = [
        html.Tr(
            [
                html.Td(RULE_TITLES.get(r.name, r.name)),
                html.Td(r.lever),
                html.Td(_shown(r, r.value)),
                html.Td(_shown(r, r.threshold)),
                html.Td(("yes" if r.fired else "no") if r.enough_data else "n/a"),
                html.Td(r.explanation),
                html.Td(_evidence(r)),
            ],
            className="fired" if r.fired else "",
            id={"type": "rule-row", "rule": r.name},
        )
        for r in rec.rules
    ]
    return html.Table([html.Thead(head), html.Tbody(rows)], className="rules")


def _job_line(kind: str, job: dict[str, Any] | None, ours: bool) -> str:
    if job is None:
        return f"{kind}: never run from here"
    who = f"started by {job['started_by']} at {when(job['started_at'])}"
    if job["status"] == "running":
        where = "" if ours else "; not in this process: elsewhere, or cut short by a restart"
        return f"{kind}: running {job['progress']:.0%} — {job.get('message') or ''} ({who}{where})"
    return f"{kind}: {job['status']} — {job.get('message') or ''} ({who})"


def register(app: Dash, services: Services) -> None:
    @app.callback(
        Output("rec-verdict", "children"),
        Output("rec-verdict", "className"),
        Output("rec-summary", "children"),
        Output("rec-rules", "children"),
        Input("rec-poll", "n_intervals"),
        Input("jobs-done", "data"),
    )
    def show(_: int | None, __: str | None) -> tuple[Any, ...]:
        rec = recommend(services)
        label = VERDICT_TEXT.get(rec.verdict, rec.verdict)
        return label, f"verdict verdict-{rec.verdict}", rec.summary, _rules_table(rec)

    @app.callback(
        Output("job-message", "children"),
        Input("job-reindex", "n_clicks"),
        Input("job-retrain", "n_clicks"),
        prevent_initial_call=True,
    )
    def start(reindex: int | None, retrain: int | None) -> str:
        # only a real click starts a job: no default kind for a request that clicked nothing
        button = clicked({"job-reindex": reindex, "job-retrain": retrain})
        kind = button.removeprefix("job-")
        return services.jobs.start(kind, current_user()).message

    @app.callback(
        Output("job-status", "children"),
        Output("jobs-done", "data"),
        Input("jobs-poll", "n_intervals"),
        State("jobs-done", "data"),
    )
    def poll(_: int | None, seen: str | None) -> tuple[Any, Any]:
        jobs = {kind: services.jobs.latest(kind) for kind in JOB_KINDS}
        lines = [
            html.Div(
                _job_line(kind, job, job is not None and services.jobs.owns(job["id"])),
                id=f"job-{kind}-line",
            )
            for kind, job in jobs.items()
        ]
        # a job that ends changes this key, which refreshes the verdict
        finished = ";".join(
            f"{kind}:{job['id']}:{job['status']}" for kind, job in jobs.items() if job
        )
        return lines, no_update if finished == seen else finished
