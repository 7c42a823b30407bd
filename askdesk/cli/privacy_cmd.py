"""`askdesk privacy`: retention purge, "forget me", data export and the audit log.

People are named the way chat names them (platform + user id) and hashed here with the same
salted hash the desk stores, so the raw id never reaches the database or the logs; the audit
log keeps what was done and how many rows, never whose.
"""

from __future__ import annotations

import getpass
import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from askdesk.cli.context import State, UserError
from askdesk.feedback.hashing import hash_user

log = logging.getLogger(__name__)

privacy_app = typer.Typer(
    help="Retention and personal data: purge old answers, forget or export one person.",
    no_args_is_help=True,
)

PLATFORM_HELP = "Where the person chats: slack, discord, cli, ..."
USER_HELP = "Their user id on that platform (e.g. U024BE7LH); hashed before lookup."


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")


def _actor() -> str:
    """Who ran the command, for the audit log (the operator, not the person concerned)."""
    try:
        return f"cli:{getpass.getuser()}"[:128]
    except Exception:  # no login name in some containers
        return "cli"


def _asker_hash(state: State, platform: str, user_id: str) -> str:
    if not platform.strip() or not user_id.strip():
        raise UserError("give the platform and the user id", "e.g. slack U024BE7LH")
    return hash_user(state.app().salt(), platform.strip().lower(), user_id.strip())


def _counts(rows: dict[str, int]) -> str:
    return ", ".join(
        f"{n} {name.replace('_', ' ')}{'' if n == 1 else 's'}" for name, n in rows.items()
    )


@privacy_app.command("purge")
def purge(
    ctx: typer.Context,
    days: Annotated[
        int | None,
        typer.Option("--days", min=1, help="Delete older than this (default: retention_days)."),
    ] = None,
) -> None:
    """Delete interactions (and their votes) older than N days."""
    state: State = ctx.obj
    app = state.app()
    days = days if days is not None else app.settings.retention_days
    if days is None:
        raise UserError(
            "purge older than how many days?",
            "give --days N, or set retention_days or ASKDESK_RETENTION_DAYS",
        )
    rows = app.store.privacy.purge_older_than(days, actor=_actor())
    log.info("privacy purge", extra={"action": "purge", "days": days, "rows": rows})
    typer.echo(f"Purged {_counts(rows)} older than {days} days.")


@privacy_app.command("forget")
def forget(
    ctx: typer.Context,
    platform: Annotated[str, typer.Argument(help=PLATFORM_HELP)],
    user_id: Annotated[str, typer.Argument(help=USER_HELP)],
) -> None:
    """Delete everything one person asked, the votes on it, and every vote they cast."""
    state: State = ctx.obj
    asker = _asker_hash(state, platform, user_id)
    rows = state.app().store.privacy.forget_asker(asker, actor=_actor())
    log.info("privacy forget", extra={"action": "forget", "rows": rows})
    typer.echo(f"Forgot {_counts(rows)}.")


@privacy_app.command("export")
def export(
    ctx: typer.Context,
    platform: Annotated[str, typer.Argument(help=PLATFORM_HELP)],
    user_id: Annotated[str, typer.Argument(help=USER_HELP)],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON here (default: stdout).")
    ] = None,
) -> None:
    """Everything stored about one person (their questions and votes) as JSON."""
    state: State = ctx.obj
    asker = _asker_hash(state, platform, user_id)
    data = state.app().store.privacy.export_asker(asker, actor=_actor())
    rows = {"interaction": len(data["interactions"]), "vote": len(data["votes"])}
    log.info("privacy export", extra={"action": "export", "rows": rows})
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        typer.echo(f"Exported {_counts(rows)}.", err=True)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"Exported {_counts(rows)} to {out}.")


@privacy_app.command("log")
def audit_log(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The audit log of purges, forgets and exports: when, what, how many rows, by whom."""
    state: State = ctx.obj
    actions = state.app().store.privacy.actions(limit=limit)
    if as_json:
        for a in actions:
            a["created_at"] = a["created_at"].isoformat()
        typer.echo(json.dumps(actions, ensure_ascii=False, indent=2))
        return
    if not actions:
        typer.echo("No privacy actions yet.")
        return
    for a in actions:
        when = a["created_at"].strftime("%Y-%m-%d %H:%M")
        detail = f" ({a['detail']})" if a["detail"] else ""
        actor = f"  by {a['actor']}" if a["actor"] else ""
        typer.echo(f"{when}  {a['action']:<7} {_counts(a['rows'])}{detail}{actor}")
