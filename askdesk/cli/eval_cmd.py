"""`askdesk eval`: retrieval and answer quality on a golden set."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from askdesk.cli.context import State

_SHOWN = (
    "hit@1",
    "hit@3",
    "hit@5",
    "mrr",
    "ndcg@10",
    "answer_f1",
    "answer_recall",
    "unanswered_rate",
    "unanswered_rate_answerable",
    "declined_rate_unanswerable",
)


def register(app: typer.Typer) -> None:
    app.command("eval")(evaluate)


def evaluate(
    ctx: typer.Context,
    golden: Annotated[Path, typer.Argument(help='JSONL: {"question", "answer"?, "sources"?}')],
    as_json: Annotated[bool, typer.Option("--json", help="Summary and per-question rows.")] = False,
) -> None:
    """Score hit@1/3/5, MRR, nDCG@10, answer F1, unanswered rate and latency."""
    from askdesk.cli.render import IndexProgress, console, print_json
    from core.evaluation import evaluate as run
    from core.evaluation import load_golden

    items = load_golden(golden)
    state: State = ctx.obj
    engine = state.app().engine(record=False)
    with IndexProgress(sys.stderr.isatty(), quiet=as_json) as progress:
        report = run(engine, items, progress=lambda done, total: progress("eval", done, total))
    if as_json:
        print_json(report.as_dict())
        return
    s = report.summary
    console.print(f"[bold]{s['questions']} questions[/bold] from {golden}")
    for key in _SHOWN:
        value = s.get(key)
        console.print(f"  {key:<28} {'n/a' if value is None else f'{value:.3f}'}")
    console.print(
        f"  {'latency p50 / p95':<28} {s['latency_p50_ms']:.0f} / {s['latency_p95_ms']:.0f} ms"
    )
    misses = [q for q in report.questions if q["expected"] and q["hit_rank"] is None]
    if misses:
        console.print(f"\n[bold]Expected page not in the top 10[/bold] ({len(misses)}):")
        for q in misses[:10]:
            got = q["retrieved"][0] if q["retrieved"] else "nothing"
            console.print(f"  • {q['question']}  → got {got}", markup=False)
