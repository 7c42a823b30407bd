"""`askdesk vote`: rate an answer from the terminal, like 👍/👎 in chat."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from askdesk.cli.context import State, UserError
from askdesk.feedback.hashing import hash_user
from askdesk.feedback.reasons import ALIASES, Reason, parse_reason

_VALUES = {"up": 1, "down": -1, "+1": 1, "-1": -1, "yes": 1, "no": -1}


def register(app: typer.Typer) -> None:
    app.command("vote")(vote)


def vote(
    ctx: typer.Context,
    interaction: Annotated[int, typer.Argument(help="The #id printed under an answer.")],
    value: Annotated[str, typer.Argument(help="up or down")],
    reason: Annotated[
        str | None, typer.Option(help="For down: facts, missing, tone or other.")
    ] = None,
    comment: Annotated[str | None, typer.Option(help="Free text.")] = None,
) -> None:
    """Vote on an answer; voting again replaces your earlier vote."""
    if value.lower() not in _VALUES:
        raise UserError(
            f"not a vote: {value!r}", "up or down, e.g. askdesk vote 12 down --reason facts"
        )

    chosen = parse_reason(reason)
    if reason is not None and chosen is None:
        words = ", ".join([*ALIASES, Reason.OTHER.value])
        raise UserError(f"unknown --reason {reason!r}", f"{words} (or a reason code)")
    if reason is not None and _VALUES[value.lower()] != -1:
        # a 👍 "wrong facts" would be counted as a facts 👎 by the reindex rule
        raise UserError(
            "--reason is only for a down vote",
            f"e.g. askdesk vote {interaction} down --reason {reason.lower()}",
        )
    state: State = ctx.obj
    app = state.app()

    voter = hash_user(app.salt(), "cli", getpass.getuser())
    try:
        app.store.interactions.record_vote(
            interaction,
            voter,
            _VALUES[value.lower()],
            reason=chosen.value if chosen is not None else None,
            comment=comment,
            source="cli",
        )
    except ValueError as exc:
        raise UserError(str(exc), "the number is printed under every answer") from exc
    typer.echo(f"Thanks — recorded your {value.lower()} vote on #{interaction}.")
