"""Playground: ask the real desk from the browser and vote on the answer like a chat user.

The question goes through the same `SupportDesk.ask` as Slack and Discord (platform "web",
asker = the dashboard user, hashed on storage), so what the team tries here is recorded and
judged like any other interaction.
"""

from __future__ import annotations

import re
from typing import Any

from dash import Dash, Input, Output, State, dcc, html, no_update

from askdesk.core.types import Question
from askdesk.dashboard.auth import current_user
from askdesk.dashboard.panels.common import clicked
from askdesk.dashboard.services import Services
from askdesk.feedback.reasons import Reason


def layout(services: Services) -> html.Div:
    return html.Div(
        [
            html.H3("Ask like a user would"),
            dcc.Textarea(
                id="pg-question",
                placeholder="How do I rotate my API key?",
                style={"width": "100%", "height": "4em"},
            ),
            html.Button("Ask", id="pg-ask", n_clicks=0),
            dcc.Loading(html.Div(id="pg-answer", className="answer")),
            dcc.Store(id="pg-interaction"),
            html.Div(
                [
                    html.Button("👍 Helpful", id="pg-up", n_clicks=0),
                    html.Button("👎 Not helpful", id="pg-down", n_clicks=0),
                    dcc.Dropdown(
                        id="pg-reason",
                        options=[{"label": r.label, "value": r.value} for r in Reason],
                        placeholder="Why 👎? (optional)",
                        style={"minWidth": "16em"},
                    ),
                    html.Span(id="pg-vote-status"),
                ],
                className="row",
            ),
        ],
        className="panel",
    )


def _render(answer: Any) -> list[Any]:
    parts: list[Any] = []
    if answer.notice:
        parts.append(html.P(answer.notice, className="notice"))
    # "[1]" is a citation, not a Markdown reference link
    text = re.sub(r"\[(\d+)\]", r"\\[\1\\]", answer.text)
    parts.append(dcc.Markdown(text, id="pg-answer-text"))
    if answer.sources:
        parts.append(html.H4("Sources"))
        parts.append(
            html.Ol(
                [
                    html.Li(html.A(s.label, href=s.url, target="_blank") if s.url else s.label)
                    for s in answer.sources
                ],
                id="pg-sources",
            )
        )
    ref = answer.interaction_id
    meta = f"confidence {answer.confidence:.2f}"
    if ref is not None:
        meta += f" · interaction #{ref}"
    if answer.unanswered:
        meta += " · unanswered"
    parts.append(html.P(meta, id="pg-meta", className="muted"))
    return parts


def register(app: Dash, services: Services) -> None:
    @app.callback(
        Output("pg-answer", "children"),
        Output("pg-interaction", "data"),
        Output("pg-vote-status", "children", allow_duplicate=True),
        Input("pg-ask", "n_clicks"),
        State("pg-question", "value"),
        prevent_initial_call=True,
    )
    def ask(n_clicks: int | None, text: str | None) -> tuple[Any, Any, str]:
        clicked({"pg-ask": n_clicks})  # each answer is recorded: only for a real click
        if not (text or "").strip():
            return html.P("Type a question first."), None, ""
        if services.desk is None:
            return html.P("No answer engine: index your docs first."), None, ""
        question = Question(text.strip(), platform="web", asker_id=current_user())
        answer = services.desk.ask(question)
        return _render(answer), answer.interaction_id, ""

    @app.callback(
        Output("pg-vote-status", "children"),
        Input("pg-up", "n_clicks"),
        Input("pg-down", "n_clicks"),
        State("pg-reason", "value"),
        State("pg-interaction", "data"),
        prevent_initial_call=True,
    )
    def vote(up: int, down: int, reason: str | None, interaction_id: int | None) -> Any:
        button = clicked({"pg-up": up, "pg-down": down})  # no default verdict without a click
        if interaction_id is None or services.desk is None:
            return "Ask a question first." if interaction_id is None else no_update
        value = 1 if button == "pg-up" else -1
        stored = services.desk.vote(
            int(interaction_id),
            "web",
            current_user(),
            value,
            reason=reason if value == -1 else None,
            source="dashboard",
        )
        verdict = "👍" if stored["value"] == 1 else "👎"
        why = f" ({Reason(stored['reason']).label})" if stored.get("reason") else ""
        return f"Recorded {verdict}{why} on interaction #{interaction_id}."
