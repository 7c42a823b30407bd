"""`askdesk ask`: one question, a grounded answer with numbered sources."""

from __future__ import annotations

import getpass
import os
import sys
from typing import Annotated

import typer

from askdesk.cli.context import State
from askdesk.cli.render import print_answer, print_json
from askdesk.core.types import Question, decode_text


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)


def ask(
    ctx: typer.Context,
    question: Annotated[
        list[str] | None, typer.Argument(help="The question ('-' reads stdin).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable answer.")] = False,
    path: Annotated[
        list[str] | None, typer.Option("--path", help="Only search documents under this prefix.")
    ] = None,
    record: Annotated[bool, typer.Option(help="Store the interaction (platform cli).")] = True,
    style: Annotated[
        bool | None,
        typer.Option(
            "--style/--no-style",
            help="Rewrite in the brand voice (default: the style_enabled setting).",
        ),
    ] = None,
) -> None:
    """Ask a question; the answer quotes the docs and cites them as [1], [2]…"""
    text = " ".join(_argument_text(word) for word in question or [])
    if text.strip() == "-":
        text = decode_text(sys.stdin.buffer.read())
    state: State = ctx.obj
    engine = state.app().engine(record=record)
    if text.strip():
        engine.warm_up()
    answer = engine.answer(
        Question(
            text,
            platform="cli",
            asker_id=getpass.getuser(),
            path_prefixes=tuple(path or ()),
            style=style,
        )
    )

    if as_json:
        print_json(answer.as_dict())
    else:
        print_answer(answer)


def _argument_text(word: str) -> str:
    """Bytes that are not UTF-8 reach argv as surrogate escapes; take the bytes back and
    decode them with U+FFFD for what is invalid, as stdin is. (Question cleans the rest.)"""
    try:
        return decode_text(os.fsencode(word))
    except UnicodeError:  # a surrogate that is no escaped byte: Question replaces it
        return word
