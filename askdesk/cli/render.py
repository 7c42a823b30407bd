"""Terminal presentation of answers, hits and reports (rich), kept apart from the commands."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markdown import Markdown
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from askdesk.core.types import Answer
    from askdesk.retrieval.ingest import IndexReport
    from askdesk.retrieval.search import SearchHit

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

_STAGES = {
    "scan": "Reading documents",
    "embed": "Embedding chunks",
    "passages": "Embedding passages",
    "write": "Updating text index",
    "eval": "Evaluating",
}


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def print_answer(answer: Answer) -> None:
    if answer.notice:
        console.print(f"[yellow]{answer.notice}[/yellow]\n")
    console.print(Markdown(answer.text))
    if answer.sources:
        title = "Closest pages" if answer.unanswered else "Sources"
        console.print(f"\n[bold]{title}[/bold]")
        for s in answer.sources:
            link = f"  {s.url}" if s.url else ""
            console.print(f"  [{s.n}] {s.label}{link}", markup=False)
    if not answer.sources and answer.interaction_id is None:
        return  # small talk or an empty question: no search happened, nothing to rate
    meta = f"confidence {answer.confidence:.2f} · {answer.timings_ms.get('total_ms', 0):.0f} ms"
    if answer.unanswered and answer.decision:  # why the docs were judged not to answer
        meta += f" · declined: {answer.decision['reason']}"
    if answer.hedged and answer.decision:  # why the answer leads with the hedge line
        meta += f" · hedged: {answer.decision['reason']}"
    if answer.composer_note:  # the configured composer fell back to another
        meta += f" · written by {answer.composer} ({answer.composer_note})"
    if answer.style_note and not answer.style_used:  # asked for the voice, kept the draft
        meta += f" · style model: kept the grounded draft ({answer.style_note})"
    if answer.interaction_id is not None:
        meta += (
            f" · #{answer.interaction_id} (rate it: askdesk vote {answer.interaction_id} up|down)"
        )
    console.print(f"\n[dim]{meta}[/dim]")


def print_hits(hits: list[SearchHit]) -> None:
    table = Table(show_lines=False)
    for col in ("#", "score", "sim", "vec", "fts", "document › heading", "text"):
        table.add_column(col, overflow="fold")
    for i, h in enumerate(hits, 1):
        where = f"{h.doc_id} › {h.heading}" if h.heading else h.doc_id
        table.add_row(
            str(i),
            f"{h.score:.4f}",
            f"{h.similarity:.3f}",
            str(h.vector_rank or "-"),
            str(h.text_rank or "-"),
            where,
            " ".join(h.text.split())[:160],
        )
    console.print(table)


def print_index_report(report: IndexReport) -> None:
    d = report.as_dict()
    status = {
        "ok": "[green]done[/green]",
        "interrupted": "[yellow]interrupted[/yellow]",
        "partial": "[yellow]partial[/yellow]",
    }.get(report.status, f"[red]{report.status}[/red]")
    console.print(
        f"Index {status} in {d['duration_s']:.1f}s: "
        f"{d['docs_added']} added, {d['docs_changed']} changed, {d['docs_removed']} removed, "
        f"{d['docs_unchanged']} unchanged documents; "
        f"chunks +{d['chunks_added']} −{d['chunks_removed']} ={d['chunks_unchanged']} "
        f"({d['chunks_embedded']} embedded, {d['passages_embedded']} passages). "
        f"Table version {d['table_version']}."
    )
    if report.status == "partial":
        console.print(f"Partial: {report.error}", markup=False)
    if report.skipped:
        console.print(f"[yellow]Skipped {len(report.skipped)} file(s):[/yellow]")
        for s in report.skipped:
            console.print(f"  {s['path']}: {s['reason']}", markup=False)


class IndexProgress:
    """A progress bar per ingest stage, fed by the ingester's progress callback.

    Without a terminal (CI logs, cron) a bar would be noise, so long stages report plain lines
    at every 10% instead; `quiet` silences both (for --json output).
    """

    def __init__(self, enabled: bool, *, quiet: bool = False) -> None:
        self.lines = not enabled and not quiet
        self._last: dict[str, int] = {}
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            disable=not enabled,
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> IndexProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.lines and total >= 50:
            step = done * 10 // total
            if step > self._last.get(stage, -1):
                self._last[stage] = step
                err_console.print(f"{_STAGES.get(stage, stage)}: {done}/{total}", highlight=False)
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(_STAGES.get(stage, stage), total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)
