"""`askdesk search`: the ranked chunks behind an answer, for debugging retrieval."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from askdesk.cli.context import State, UserError
from askdesk.cli.render import print_hits, print_json
from askdesk.retrieval.search import MODES


def register(app: typer.Typer) -> None:
    app.command("search")(search)


def search(
    ctx: typer.Context,
    query: Annotated[list[str], typer.Argument(help="What to search for.")],
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=200, help="How many chunks.")] = 10,
    mode: Annotated[
        str | None, typer.Option(help="hybrid, vector or fts (default: setting).")
    ] = None,
    path: Annotated[list[str] | None, typer.Option("--path", help="Document path prefix.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show the top chunks with their fused score, cosine similarity and per-retriever ranks."""
    if mode is not None and mode not in MODES:
        raise UserError(f"unknown --mode {mode!r}", f"--mode must be one of {', '.join(MODES)}")
    text = " ".join(query).strip()
    if not text:
        raise UserError("search for what?", 'e.g. askdesk search "api key rotation"')
    state: State = ctx.obj
    result = state.app().searcher.search(
        text,
        k,
        path_prefixes=tuple(path or ()) or None,
        mode=mode,  # type: ignore[arg-type]
    )

    if as_json:
        print_json({"hits": [asdict(h) for h in result.hits], "timings_ms": result.timings_ms})
    else:
        print_hits(result.hits)
