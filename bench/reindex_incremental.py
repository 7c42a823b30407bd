"""Incremental re-index after editing 1% of the documents, against the full index time.

Corpus: git-doc .txt pages plus the sample docs (325 documents), copied fresh into
bench/_data/reindex/docs. Steps: full index → no-change rerun (×2) → edit 3 documents (a
paragraph appended to two, one sentence reworded in the middle of a third) → rerun.

    python bench/reindex_incremental.py [--json]
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from _common import THREADS, embedder, emit, log, parser, progress_printer
from _corpus import DATA, mixed_corpus
from _instrument import TimedEmbedder, TimedIndex, timed_run

GOAL = 0.05
APPEND_TO = ("git/git-commit.txt", "sample/faq.md")
EDIT_MIDDLE = "git/git-rebase.txt"
PARAGRAPH = (
    "\n\nNote added for the re-index benchmark: if this step fails half-way, run the same "
    "command again; it resumes where it stopped and leaves the repository unchanged.\n"
)
_PROSE = re.compile(r"^[A-Za-z][^\t]*\bthe\b.*[.,;]$")


def edit_middle(path: Path) -> str:
    """Reword one prose line near the middle of the file ("the" → "this"); return the line."""
    lines = path.read_text(encoding="utf-8").split("\n")
    mid = len(lines) // 2
    for i in sorted(range(len(lines)), key=lambda i: abs(i - mid)):
        line = lines[i]
        if len(line.split()) >= 8 and _PROSE.match(line):
            lines[i] = re.sub(r"\bthe\b", "this", line, count=1)
            path.write_text("\n".join(lines), encoding="utf-8")
            return f"line {i + 1}/{len(lines)}: {lines[i].strip()[:80]}"
    raise RuntimeError(f"no prose line to edit in {path}")


def modify(root: Path) -> list[str]:
    done = []
    for rel in APPEND_TO:
        with (root / rel).open("a", encoding="utf-8") as f:
            f.write(PARAGRAPH)
        done.append(f"{rel}: appended a paragraph")
    done.append(f"{EDIT_MIDDLE}: {edit_middle(root / EDIT_MIDDLE)}")
    return done


def summary(report: dict[str, Any], parts: dict[str, float]) -> dict[str, Any]:
    keys = ("docs_added", "docs_changed", "docs_unchanged", "chunks_added", "chunks_removed")
    return {
        "duration_s": report["duration_s"],
        "chunks_embedded": report["chunks_embedded"],
        **{k: report[k] for k in keys},
        "breakdown_s": parts,
    }


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    work = DATA / "reindex"
    shutil.rmtree(work, ignore_errors=True)
    root = mixed_corpus(work / "docs")
    emb = embedder(TimedEmbedder)
    index = TimedIndex(work / "index.lancedb")
    docs = sum(1 for p in root.rglob("*") if p.is_file())

    log(f"full index of {docs} documents (several minutes)")
    rep, parts = timed_run(index, emb, root, progress_printer("full", 30.0))
    full = summary(rep.as_dict(), parts)
    chunks = rep.chunks_added
    log(f"full: {rep.duration_s:.1f}s, {chunks} chunks")

    noop = []
    for i in range(2):
        rep, parts = timed_run(index, emb, root)
        noop.append(summary(rep.as_dict(), parts))
        log(f"no-change rerun {i + 1}: {rep.duration_s:.2f}s")

    edits = modify(root)
    log("modified: " + "; ".join(edits))
    rep, parts = timed_run(index, emb, root, progress_printer("reindex", 30.0))
    re_run = summary(rep.as_dict(), parts)
    log(f"reindex: {rep.duration_s:.2f}s, {rep.chunks_embedded} chunks embedded")

    ratio = re_run["duration_s"] / full["duration_s"]
    noop_ratio = min(n["duration_s"] for n in noop) / full["duration_s"]
    figures: dict[str, Any] = {
        "threads": THREADS,
        "documents": docs,
        "chunks": chunks,
        "modified_documents": len(edits),
        "modified_fraction": round(len(edits) / docs, 4),
        "edits": edits,
        "full": full,
        "no_change": noop,
        "reindex": re_run,
        "ratio_reindex_to_full": round(ratio, 4),
        "ratio_no_change_to_full": round(noop_ratio, 4),
        "goal": GOAL,
        "goal_met": ratio <= GOAL,
    }

    def text() -> str:
        lines = [
            f"{docs} documents, {chunks} chunks, threads={THREADS}",
            f"full index      {full['duration_s']:.2f}s  breakdown {full['breakdown_s']}",
        ]
        for i, n in enumerate(noop, 1):
            lines.append(f"no-change run {i} {n['duration_s']:.2f}s  breakdown {n['breakdown_s']}")
        lines += [
            f"edits: {'; '.join(edits)}",
            f"reindex         {re_run['duration_s']:.2f}s, {re_run['chunks_embedded']} chunks "
            f"embedded, {re_run['docs_changed']} docs changed, +{re_run['chunks_added']}/"
            f"-{re_run['chunks_removed']} chunks  breakdown {re_run['breakdown_s']}",
            f"ratio reindex/full {ratio:.4f} (goal ≤ {GOAL}: "
            f"{'met' if ratio <= GOAL else 'missed'}); no-change/full {noop_ratio:.4f}",
        ]
        return "\n".join(lines)

    emit(figures, args.json, text)


if __name__ == "__main__":
    main()
