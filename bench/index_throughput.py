"""Full-index throughput of the Ingester against raw SentenceTransformer.encode, same texts.

Corpus: git-doc's asciidoc .txt pages plus the 33 sample docs (≥ 300 documents). The raw
baseline encodes exactly the chunk embedding texts the ingester embeds (`Chunk.embedding_text`
of `chunk_document(load_document(...))`, one per distinct content hash) in one
`model.encode(texts, batch_size=32, normalize_embeddings=True)` call. Runs alternate
raw/index/index/raw/... so both orders are measured; each index run starts from an empty table.

    python bench/index_throughput.py [--json] [--rounds 2]
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from _common import THREADS, embedder, emit, log, parser, progress_printer
from _corpus import DATA, mixed_corpus
from _instrument import TimedEmbedder, TimedIndex, timed_run

from askdesk.retrieval.chunking import chunk_document
from askdesk.retrieval.folder_scan import scan_folder
from askdesk.retrieval.loaders import load_document

GOAL = 0.9


def embedding_texts(root: Path) -> tuple[int, list[str], float]:
    """(documents, distinct embedding texts in ingest order, seconds spent loading+chunking)."""
    t = time.perf_counter()
    files, _ = scan_folder(root)
    texts: dict[str, str] = {}
    for f in files:
        for c in chunk_document(load_document(f.path, root)):
            texts.setdefault(c.content_hash, c.embedding_text)
    return len(files), list(texts.values()), time.perf_counter() - t


def raw_encode(emb: TimedEmbedder, texts: list[str]) -> tuple[float, float]:
    """(wall s, process CPU s) of one model.encode over all texts."""
    log(f"raw encode: {len(texts)} texts in one model.encode call (several minutes)")
    t, c = time.perf_counter(), time.process_time()
    emb.model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    dt, dc = time.perf_counter() - t, time.process_time() - c
    log(f"raw encode: {dt:.1f}s wall ({dc:.0f}s CPU), {len(texts) / dt:.2f} chunks/s")
    return dt, dc


def full_index(emb: TimedEmbedder, root: Path, n: int) -> tuple[float, float, dict[str, Any]]:
    """(wall s, process CPU s, details) of one ingester run into an empty table."""
    folder = DATA / "throughput" / "index.lancedb"
    shutil.rmtree(folder, ignore_errors=True)
    log(f"index: full ingest of {root} into an empty table")
    c = time.process_time()
    report, parts = timed_run(TimedIndex(folder), emb, root, progress_printer("index", 30.0))
    dc = time.process_time() - c
    if report.chunks_embedded != n:
        log(f"warning: ingester embedded {report.chunks_embedded} texts, raw baseline has {n}")
    dt = report.duration_s
    log(f"index: {dt:.1f}s wall ({dc:.0f}s CPU), {report.chunks_added / dt:.2f} chunks/s")
    shutil.rmtree(folder, ignore_errors=True)
    return dt, dc, {"report": report.as_dict(), "breakdown_s": parts}


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--rounds", type=int, default=2, help="raw/index pairs (order alternates)")
    args = p.parse_args()
    root = mixed_corpus()
    emb = embedder(TimedEmbedder)
    docs, texts, prep_s = embedding_texts(root)
    words = sum(len(t.split()) for t in texts)
    log(f"{docs} documents → {len(texts)} distinct chunk texts ({words} words), {prep_s:.1f}s")

    runs: list[dict[str, Any]] = []
    for r in range(args.rounds):
        order = ("raw", "index") if r % 2 == 0 else ("index", "raw")
        pair: dict[str, Any] = {"round": r + 1, "order": "/".join(order)}
        for kind in order:
            if kind == "raw":
                pair["raw_s"], pair["raw_cpu_s"] = raw_encode(emb, texts)
            else:
                pair["index_s"], pair["index_cpu_s"], pair["index"] = full_index(
                    emb, root, len(texts)
                )
        pair["ratio"] = pair["raw_s"] / pair["index_s"]
        pair["cpu_ratio"] = pair["raw_cpu_s"] / pair["index_cpu_s"]
        runs.append(pair)

    n = len(texts)
    raw_mean = statistics.mean(r["raw_s"] for r in runs)
    index_mean = statistics.mean(r["index_s"] for r in runs)
    ratio = raw_mean / index_mean
    cpu_ratio = statistics.mean(r["raw_cpu_s"] for r in runs) / statistics.mean(
        r["index_cpu_s"] for r in runs
    )
    by_order: dict[str, float] = {}
    for label in ("raw/index", "index/raw"):
        rs = [r["ratio"] for r in runs if r["order"] == label]
        if rs:
            by_order[label] = round(statistics.mean(rs), 3)
    figures: dict[str, Any] = {
        "threads": THREADS,
        "documents": docs,
        "chunks": n,
        "words": words,
        "load_chunk_s": round(prep_s, 2),
        "raw_chunks_per_s": round(n / raw_mean, 3),
        "index_chunks_per_s": round(n / index_mean, 3),
        "ratio_index_to_raw": round(ratio, 3),
        "ratio_by_order": by_order,
        "ratio_median_of_rounds": round(statistics.median(r["ratio"] for r in runs), 3),
        "cpu_time_ratio": round(cpu_ratio, 3),
        "ratio_min": round(min(r["ratio"] for r in runs), 3),
        "ratio_max": round(max(r["ratio"] for r in runs), 3),
        "goal": GOAL,
        "goal_met": ratio >= GOAL,
        "runs": [
            {
                **r,
                "raw_s": round(r["raw_s"], 2),
                "index_s": round(r["index_s"], 2),
                "ratio": round(r["ratio"], 3),
            }
            for r in runs
        ],
    }

    def text() -> str:
        lines = [
            f"{docs} documents, {n} chunks ({words} words), threads={THREADS}",
            f"raw encode   {figures['raw_chunks_per_s']:.2f} chunks/s (mean {raw_mean:.1f}s)",
            f"full index   {figures['index_chunks_per_s']:.2f} chunks/s (mean {index_mean:.1f}s)",
            f"ratio index/raw {ratio:.3f} (goal ≥ {GOAL}: {'met' if ratio >= GOAL else 'missed'})"
            f"; by order {by_order}; range {figures['ratio_min']}–{figures['ratio_max']}",
            f"process CPU-time ratio (raw CPU s / index CPU s) {cpu_ratio:.3f}",
        ]
        for r in figures["runs"]:
            lines.append(
                f"  round {r['round']} ({r['order']}): raw {r['raw_s']}s ({r['raw_cpu_s']} CPU) "
                f"index {r['index_s']}s ({r['index_cpu_s']} CPU) ratio {r['ratio']} cpu "
                f"{r['cpu_ratio']}  breakdown {r['index']['breakdown_s']}"
            )
        return "\n".join(lines)

    emit(figures, args.json, text)


if __name__ == "__main__":
    main()
