"""`askdesk eval`: retrieval and answer quality on a golden set, stored for trends.

Every run becomes an EvalRun with one EvalResult per question, tagged with the index and style
model versions it measured, so the dashboard (and `--compare`) can tell what a change did.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from askdesk.cli.context import State, UserError
from askdesk.cli.render import IndexProgress, console, err_console, print_json
from askdesk.core.evaluation import (
    compare_metrics,
    golden_from_corrections,
    golden_hash,
    load_golden,
)
from askdesk.core.evaluation import evaluate as run

if TYPE_CHECKING:
    from askdesk.core.evaluation import MetricChange
    from askdesk.wiring import App

log = logging.getLogger(__name__)

_SHOWN = (
    "hit@1",
    "hit@3",
    "hit@5",
    "mrr",
    "ndcg@10",
    "answer_f1",
    "useful@0.5",
    "answer_recall",
    "groundedness",
    "tone",
    "unanswered_rate",
    "answered_rate_answerable",
)


def register(app: typer.Typer) -> None:
    app.command("eval")(evaluate)


def evaluate(
    ctx: typer.Context,
    golden: Annotated[
        Path | None,
        typer.Argument(help='JSONL: {"question", "answer"?, "sources"?, "answerable"?}'),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Summary and per-question rows.")] = False,
    label: Annotated[
        str | None, typer.Option("--label", help="A name stored with the run, e.g. 'new docs'.")
    ] = None,
    compare: Annotated[
        bool, typer.Option("--compare", help="Show each metric against the previous run.")
    ] = False,
    export_golden: Annotated[
        Path | None,
        typer.Option(
            "--export-golden",
            help="Instead of scoring: write 👎 answers whose comment gives the right answer "
            "as golden JSONL lines to FILE ('-' for stdout).",
            metavar="FILE",
        ),
    ] = None,
) -> None:
    """Score hit@k, MRR, nDCG@10, answer F1, useful@0.5, groundedness, tone, the share of
    unanswerable questions declined, and latency; store the run and optionally compare it
    with the previous one."""
    state: State = ctx.obj
    if export_golden is not None:
        if golden is not None:
            raise UserError("give a golden file to score or --export-golden FILE", "not both")
        _export_golden(state.app(), export_golden)
        return
    if golden is None:
        raise UserError("score which golden set?", "e.g. askdesk eval askdesk/sample/golden.jsonl")

    load_golden(golden)  # a missing or malformed file is one clear line before anything runs
    app = state.app()
    previous = _previous_run(app, golden_hash(golden))
    with IndexProgress(sys.stderr.isatty(), quiet=as_json) as progress:
        report, record, run_id = run_and_store(
            app, golden, label, progress=lambda done, total: progress("eval", done, total)
        )
    changes = compare_metrics(report.summary, previous["metrics"]) if previous else []

    if as_json:
        out: dict[str, Any] = {
            "eval_run_id": run_id,
            "backend": report.backend,
            "model": report.model,
            **report.as_dict(),
        }
        if compare:
            out["compare"] = {
                "previous_run_id": previous["id"] if previous else None,
                "metrics": {
                    c.metric: {"current": c.current, "previous": c.previous, "delta": c.delta}
                    for c in changes
                },
            }
        print_json(out)
        return
    s = report.summary
    console.print(f"[bold]{s['questions']} questions[/bold] from {golden}")
    for key in _SHOWN:
        value = s.get(key)
        console.print(f"  {key:<28} {'n/a' if value is None else f'{value:.3f}'}")
    if s.get("unanswerable_questions"):
        n = s["unanswerable_questions"]
        declined = round(s["declined_rate_unanswerable"] * n)
        console.print(
            f"  {'declined_rate_unanswerable':<28} {s['declined_rate_unanswerable']:.3f}"
            f"  ({declined} of {n} unanswerable questions declined)"
        )
    console.print(
        f"  {'latency p50 / p95':<28} {s['latency_p50_ms']:.0f} / {s['latency_p95_ms']:.0f} ms"
    )
    if report.backend == "llm":
        _print_check(report.model, s)
    misses = [q for q in report.questions if q["expected"] and q["hit_rank"] is None]
    if misses:
        console.print(f"\n[bold]Expected page not in the top 10[/bold] ({len(misses)}):")
        for q in misses[:10]:
            got = q["retrieved"][0] if q["retrieved"] else "nothing"
            console.print(f"  • {q['question']}  → got {got}", markup=False)
    versions = f"index v{record['index_version'] or '?'}, {record['backend']}"
    if record["model"]:
        versions += f" {record['model']}"
    if record["style_model_version"]:
        versions += f", style {record['style_model_version']}"
    console.print(f"\nStored as eval run #{run_id} ({versions}).", markup=False)
    if compare:
        _print_comparison(previous, changes)


def run_and_store(
    app: App, golden: Path, label: str | None = None, *, progress: Any = None
) -> tuple[Any, dict[str, Any], int]:
    """Score the golden set with a non-recording engine and store the EvalRun and its rows:
    (report, stored run record, run id). `askdesk demo` stores its run the same way."""
    items = load_golden(golden)
    engine = app.engine(record=False)
    report = run(engine, items, progress=progress)
    last_index = app.store.index_runs.last_finished(status="ok")
    index_version = (
        last_index["table_version"] if last_index else engine.versions().get("index_version")
    )
    record = report.run_record(golden, index_version=index_version, label=label)
    run_id = app.store.styles.record_eval_run(record, report.result_records())
    log.info(
        "eval run stored",
        extra={"eval_run_id": run_id, "questions": record["questions"], "label": label or ""},
    )
    return report, record, run_id


def _print_check(model: str | None, s: dict[str, Any]) -> None:
    """What the claim check did to the model's replies, and why answers fell back."""

    def f(v: Any) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    console.print(f"\n[bold]Answer backend: llm {model}[/bold]", highlight=False)
    console.print(
        f"  {'groundedness before check':<28} {f(s.get('groundedness_before_check'))}"
        f"  → after {f(s.get('groundedness_after_check'))}"
    )
    console.print(f"  {'claims removed by the check':<28} {f(s.get('check_removed'))}")
    fallbacks = s.get("fallbacks") or {}
    total = sum(fallbacks.values())
    console.print(f"  {'extractive fallbacks':<28} {total} of {s['questions']}")
    for reason, n in sorted(fallbacks.items(), key=lambda kv: -kv[1]):
        console.print(f"    {reason:<26} {n}", markup=False)


def _previous_run(app: App, golden_sha: str) -> dict[str, Any] | None:
    """The latest stored run on the same golden set, else the latest run at all."""
    runs = app.store.styles.eval_runs(limit=50)
    same = [r for r in runs if r["golden_hash"] == golden_sha]
    return (same or runs or [None])[0]


def _print_comparison(previous: dict[str, Any] | None, changes: list[MetricChange]) -> None:
    if previous is None:
        console.print("No earlier eval run to compare with.")
        return
    when = previous["created_at"].strftime("%Y-%m-%d %H:%M")
    name = f" '{previous['label']}'" if previous["label"] else ""
    console.print(f"\n[bold]Compared with run #{previous['id']}{name}[/bold] ({when} UTC):")
    for c in changes:
        now = "n/a" if c.current is None else _fmt(c.metric, c.current)
        was = "n/a" if c.previous is None else _fmt(c.metric, c.previous)
        if c.delta is None:
            move = ""
        elif c.delta == 0:
            move = "  = no change"
        else:
            arrow = "▲" if c.delta > 0 else "▼"
            colour = "green" if c.improved else "red"
            move = f"  [{colour}]{arrow} {_fmt(c.metric, c.delta, signed=True)}[/{colour}]"
        console.print(f"  {c.metric:<28} {now:>9}  (was {was}){move}")


def _fmt(metric: str, value: float, *, signed: bool = False) -> str:
    sign = "+" if signed else ""
    return f"{value:{sign}.0f} ms" if metric.endswith("_ms") else f"{value:{sign}.3f}"


def _export_golden(app: App, target: Path) -> None:
    lines = golden_from_corrections(app.store.interactions.downvoted_with_comment())
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if str(target) == "-":
        sys.stdout.write(text)
    else:
        target.write_text(text, encoding="utf-8")
    log.info("golden lines exported", extra={"lines": len(lines)})
    where = "stdout" if str(target) == "-" else str(target)
    err_console.print(
        f"{len(lines)} golden line(s) from 👎 comments written to {where}; review them, then "
        "append them to your golden file.",
        markup=False,
    )
