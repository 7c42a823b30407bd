"""Retrieval quality on the Debian FAQ sets: vector vs full-text vs hybrid, and a fusion sweep.

Indexes sqlite3-doc (.html) and git-doc (.txt) into two LanceDB folders under bench/_data
(incremental: a rerun with unchanged corpora embeds nothing), then ranks *documents* for each
FAQ question with `Searcher.search(question, k)` (doc ids deduplicated in rank order, top 10)
and scores them with core.evaluation's hit_rank/ndcg. Query vectors are memoised across
configurations (the sweep would otherwise re-embed each question 75 times); this changes
speed only, not rankings. Finally runs `core.evaluation.evaluate` on the whole engine.

    python bench/retrieval_quality.py [--json] [--build-only] [--ks 50,10]
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from _common import THREADS, Embedder, embedder, emit, log, parser, progress_printer
from _corpus import DATA, KBS, kb_corpus

from core.compose import ExtractiveComposer
from core.engine import AnswerEngine
from core.evaluation import GoldenItem, evaluate, hit_rank, ndcg
from retrieval.index import ChunkIndex
from retrieval.ingest import Ingester
from retrieval.search import FusionConfig, Searcher

TEXT_WEIGHTS = (0.25, 0.5, 0.75, 1.0)
CANDIDATES = (20, 40, 100)
RRF_KS = (10, 60)
DOC_WEIGHTS = (0.0, 0.1, 0.3)
METRICS = ("hit@1", "hit@5", "mrr", "ndcg@10")


class MemoEmbedder(Embedder):
    """Caches query vectors by text; chunk encoding (`encode`) is untouched."""

    def __init__(self, *, threads: int | None = None) -> None:
        super().__init__(threads=threads)
        self._memo: dict[str, np.ndarray] = {}

    def encode_query(self, text: str) -> np.ndarray:
        vec = self._memo.get(text)
        if vec is None:
            vec = super().encode_query(text)
            self._memo[text] = vec
        return vec


def build(name: str, emb: Embedder) -> tuple[ChunkIndex, dict[str, Any]]:
    kb = KBS[name]
    corpus = kb_corpus(name)
    index = ChunkIndex(DATA / "quality" / f"{name}.lancedb")
    log(f"{name}: indexing {corpus} (incremental) into {index.uri}")
    report = Ingester(index, emb).run(corpus, progress=progress_printer(name, 30.0))
    states = index.doc_states()
    if kb.faq_page not in states:
        raise SystemExit(f"{kb.faq_page} is not in the {name} index")
    info = {
        "documents": len(states),
        "chunks": index.count(),
        "faq_page_indexed": kb.faq_page,
        "run": report.as_dict(),
    }
    info["run"].pop("skipped", None)
    info["skipped"] = len(report.skipped)
    log(f"{name}: {info['documents']} docs, {info['chunks']} chunks, run {report.duration_s:.0f}s")
    return index, info


def golden(path: Path) -> list[GoldenItem]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            obj = json.loads(line)
            items.append(GoldenItem(obj["question"], obj["answer"], (obj["file"],), n))
    return items


def ranked_docs(searcher: Searcher, question: str, k: int) -> list[str]:
    docs: list[str] = []
    for hit in searcher.search(question, k).hits:
        if hit.doc_id not in docs:
            docs.append(hit.doc_id)
    return docs[:10]


def score(searcher: Searcher, items: list[GoldenItem], k: int) -> dict[str, float]:
    ranks, gains = [], []
    for item in items:
        docs = ranked_docs(searcher, item.question, k)
        ranks.append(hit_rank(docs, item.sources))
        gains.append(ndcg(docs, item.sources, 10))
    n = len(items)
    return {
        "hit@1": sum(1 for r in ranks if r == 1) / n,
        "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr": sum(1.0 / r for r in ranks if r) / n,
        "ndcg@10": sum(gains) / n,
    }


def configs() -> dict[str, FusionConfig]:
    out = {
        "vector-only": FusionConfig(mode="vector"),
        "fts-only": FusionConfig(mode="fts"),
        "hybrid-default": FusionConfig(),
    }
    for tw, cand, rrf, dw in itertools.product(TEXT_WEIGHTS, CANDIDATES, RRF_KS, DOC_WEIGHTS):
        out[f"tw={tw} c={cand} k={rrf} dw={dw}"] = FusionConfig(
            vector_weight=1.0, text_weight=tw, candidates=cand, rrf_k=rrf, doc_weight=dw
        )
    return out


def objective(m: dict[str, float]) -> float:
    return (m["mrr"] + m["ndcg@10"]) / 2


def sweep(
    indexes: dict[str, ChunkIndex], emb: Embedder, sets: dict[str, list[GoldenItem]], k: int
) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = {}
    cfgs = configs()
    t0 = time.perf_counter()
    for i, (label, cfg) in enumerate(cfgs.items(), 1):
        row: dict[str, Any] = {"config": asdict(cfg)}
        for name, index in indexes.items():
            row[name] = score(Searcher(index, emb, cfg), sets[name], k)
        row["macro"] = {m: sum(row[n][m] for n in indexes) / len(indexes) for m in METRICS}
        row["objective"] = objective(row["macro"])
        table[label] = row
        if i % 12 == 0 or i == len(cfgs):
            log(f"k={k}: {i}/{len(cfgs)} configs scored ({time.perf_counter() - t0:.0f}s)")
    best_single = max(("vector-only", "fts-only"), key=lambda c: table[c]["objective"])
    hybrids = [c for c in table if c not in ("vector-only", "fts-only")]
    default = asdict(FusionConfig())

    def changes(label: str) -> int:
        return sum(1 for f, v in table[label]["config"].items() if default[f] != v)

    ranked = sorted(
        hybrids,
        key=lambda c: (
            -round(table[c]["objective"], 6),
            -table[c]["macro"]["hit@1"],
            -table[c]["macro"]["hit@5"],
            changes(c),
        ),
    )
    best = ranked[0]
    return {
        "k": k,
        "table": table,
        "best_single_mode": best_single,
        "best_hybrid": best,
        "hybrid_ranking": ranked,
        "best_hybrid_minus_best_single": table[best]["objective"] - table[best_single]["objective"],
        "hybrids_at_least_best_single": sum(
            1 for c in hybrids if table[c]["objective"] >= table[best_single]["objective"] - 1e-9
        ),
    }


def engine_eval(
    index: ChunkIndex, emb: Embedder, items: list[GoldenItem], cfg: FusionConfig
) -> dict[str, Any]:
    engine = AnswerEngine(Searcher(index, emb, cfg), ExtractiveComposer())
    summary = evaluate(engine, items).summary
    keep = ("questions", "hit@1", "hit@5", "mrr", "ndcg@10", "answer_f1", "answer_recall")
    return {k: summary[k] for k in (*keep, "unanswered_rate")}


def fmt(m: dict[str, float]) -> str:
    return "  ".join(f"{k} {m[k]:.3f}" for k in METRICS)


def text_report(f: dict[str, Any]) -> str:
    lines = [f"threads={f['threads']}"]
    for name, info in f["indexes"].items():
        lines.append(f"{name}: {info['documents']} docs, {info['chunks']} chunks")
    for sw in f["sweeps"]:
        t = sw["table"]
        lines.append(f"\n== search(question, {sw['k']}) → top-10 documents ==")
        for label in ("vector-only", "fts-only", "hybrid-default"):
            for name in f["indexes"]:
                lines.append(f"{label:16} {name:8} {fmt(t[label][name])}")
            lines.append(f"{label:16} {'macro':8} {fmt(t[label]['macro'])}")
        lines.append("hybrid sweep, best first (macro):")
        for label in sw["hybrid_ranking"]:
            row = t[label]
            per = "  ".join(f"{n} {objective(row[n]):.3f}" for n in f["indexes"])
            lines.append(f"  {label:28} {fmt(row['macro'])}  obj {row['objective']:.4f}  {per}")
        lines.append(
            f"best single mode {sw['best_single_mode']} obj "
            f"{t[sw['best_single_mode']]['objective']:.4f}; best hybrid {sw['best_hybrid']} "
            f"obj {t[sw['best_hybrid']]['objective']:.4f} "
            f"(Δ {sw['best_hybrid_minus_best_single']:+.4f}); "
            f"{sw['hybrids_at_least_best_single']} hybrids ≥ best single"
        )
    lines.append("\n== engine evaluate ==")
    for label, per in f["engine"].items():
        for name, s in per.items():
            lines.append(f"{label} {name}: " + "  ".join(f"{k} {v}" for k, v in s.items()))
    return "\n".join(lines)


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--build-only", action="store_true", help="only build/update the indexes")
    p.add_argument("--ks", default="50,10", help="chunk depths passed to search(), comma list")
    args = p.parse_args()
    emb = embedder(MemoEmbedder)
    indexes: dict[str, ChunkIndex] = {}
    figures: dict[str, Any] = {"threads": THREADS, "indexes": {}}
    for name in KBS:
        indexes[name], figures["indexes"][name] = build(name, emb)
    if args.build_only:
        emit(figures, args.json, lambda: json.dumps(figures["indexes"], indent=2))
        return
    sets = {name: golden(KBS[name].faq_set) for name in KBS}
    figures["questions"] = {name: len(items) for name, items in sets.items()}
    figures["sweeps"] = [sweep(indexes, emb, sets, int(k)) for k in args.ks.split(",")]
    recommended = figures["sweeps"][0]["best_hybrid"]
    rec_cfg = configs()[recommended]
    figures["engine"] = {}
    for label, cfg in (("default", FusionConfig()), ("recommended", rec_cfg)):
        if label == "recommended" and cfg == FusionConfig():
            break
        log(f"engine evaluate with the {label} fusion {cfg}")
        figures["engine"][label] = {n: engine_eval(indexes[n], emb, sets[n], cfg) for n in KBS}
    figures["recommended"] = asdict(rec_cfg)
    emit(figures, args.json, lambda: text_report(figures))


if __name__ == "__main__":
    main()
