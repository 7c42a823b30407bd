"""Retrieval quality on the Debian FAQ sets: vector vs full-text vs hybrid, and a fusion sweep.

Indexes sqlite3-doc (.html) and git-doc (.txt) into two LanceDB folders under bench/_data
(incremental: a rerun with unchanged corpora embeds nothing), then ranks *documents* for each
FAQ question with `Searcher.search(question, k)` (doc ids deduplicated in rank order, top 10)
and scores them with askdesk.core.evaluation's hit_rank/ndcg. Every configuration is scored twice:
on the FAQ questions as written (they appear verbatim on the FAQ page) and on hand-written
paraphrases (bench/faq_paraphrases.jsonl, same reference pages). The sweep is the briefed grid
(vector_weight 1, text_weight 0.25–1, candidates, rrf_k, doc_weight) plus text_weight 1.5–5.
Query vectors are memoised across configurations; this changes speed only, not rankings.
Finally runs `askdesk.core.evaluation.evaluate` on the whole engine (default fusion, and
`--fusion`).

    python bench/retrieval_quality.py [--json] [--build-only] [--ks 50,10] [--fusion k=v,...]
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from _common import THREADS, Embedder, MemoEmbedder, embedder, emit, log, parser, progress_printer
from _corpus import DATA, KBS, kb_corpus

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.evaluation import GoldenItem, evaluate, hit_rank, ndcg
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import FusionConfig, Searcher

TEXT_WEIGHTS = (0.25, 0.5, 0.75, 1.0)
CANDIDATES = (20, 40, 100)
RRF_KS = (10, 60)
DOC_WEIGHTS = (0.0, 0.1, 0.3)
EXTRA_TEXT_WEIGHTS = (1.5, 2.0, 3.0, 5.0)  # beyond the briefed grid: text weighted above vector
METRICS = ("hit@1", "hit@5", "mrr", "ndcg@10")
PARAPHRASES = Path(__file__).resolve().parent / "faq_paraphrases.jsonl"


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


def golden(path: Path, paraphrased: bool = False) -> list[GoldenItem]:
    """The FAQ pairs as written, or with the hand-written paraphrases in PARAPHRASES."""
    alt: dict[str, str] = {}
    if paraphrased:
        for line in PARAPHRASES.read_text(encoding="utf-8").splitlines():
            if line.strip():
                obj = json.loads(line)
                alt[obj["id"]] = obj["question"]
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            obj = json.loads(line)
            q = alt[obj["id"]] if paraphrased else obj["question"]
            items.append(GoldenItem(q, obj["answer"], (obj["file"],), n))
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


def configs(extended: bool = True) -> dict[str, FusionConfig]:
    out = {
        "vector-only": FusionConfig(mode="vector"),
        "fts-only": FusionConfig(mode="fts"),
        "hybrid-default": FusionConfig(),
    }
    weights = TEXT_WEIGHTS + (EXTRA_TEXT_WEIGHTS if extended else ())
    for tw, cand, rrf, dw in itertools.product(weights, CANDIDATES, RRF_KS, DOC_WEIGHTS):
        out[f"tw={tw} c={cand} k={rrf} dw={dw}"] = FusionConfig(
            vector_weight=1.0, text_weight=tw, candidates=cand, rrf_k=rrf, doc_weight=dw
        )
    return out


def in_brief_grid(label: str) -> bool:
    return label in configs(extended=False)


def objective(m: dict[str, float]) -> float:
    return (m["mrr"] + m["ndcg@10"]) / 2


def sweep(
    indexes: dict[str, ChunkIndex],
    emb: Embedder,
    sets: dict[str, list[GoldenItem]],
    k: int,
    label: str,
) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = {}
    cfgs = configs()
    t0 = time.perf_counter()
    for i, (name_cfg, cfg) in enumerate(cfgs.items(), 1):
        row: dict[str, Any] = {"config": asdict(cfg), "in_brief_grid": in_brief_grid(name_cfg)}
        for name, index in indexes.items():
            row[name] = score(Searcher(index, emb, cfg), sets[name], k)
        row["macro"] = {m: sum(row[n][m] for n in indexes) / len(indexes) for m in METRICS}
        row["objective"] = objective(row["macro"])
        table[name_cfg] = row
        if i % 24 == 0 or i == len(cfgs):
            log(f"{label} k={k}: {i}/{len(cfgs)} configs ({time.perf_counter() - t0:.0f}s)")
    best_single = max(("vector-only", "fts-only"), key=lambda c: table[c]["objective"])
    hybrids = [c for c in table if c not in ("vector-only", "fts-only")]
    default = asdict(FusionConfig())

    def changes(c: str) -> int:
        return sum(1 for f, v in table[c]["config"].items() if default[f] != v)

    ranked = sorted(
        hybrids,
        key=lambda c: (
            -round(table[c]["objective"], 6),
            -table[c]["macro"]["hit@1"],
            -table[c]["macro"]["hit@5"],
            changes(c),
        ),
    )
    brief = [c for c in ranked if table[c]["in_brief_grid"]]
    floor = table[best_single]["objective"] - 1e-9
    return {
        "questions": label,
        "k": k,
        "table": table,
        "best_single_mode": best_single,
        "best_hybrid_brief_grid": brief[0],
        "best_hybrid_any": ranked[0],
        "hybrid_ranking": ranked,
        "brief_best_minus_best_single": table[brief[0]]["objective"]
        - table[best_single]["objective"],
        "any_best_minus_best_single": table[ranked[0]]["objective"]
        - table[best_single]["objective"],
        "brief_best_minus_vector_only": table[brief[0]]["objective"]
        - table["vector-only"]["objective"],
        "hybrids_at_least_best_single": [c for c in ranked if table[c]["objective"] >= floor],
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


def text_report(f: dict[str, Any], top: int) -> str:
    lines = [f"threads={f['threads']}"]
    for name, info in f["indexes"].items():
        lines.append(f"{name}: {info['documents']} docs, {info['chunks']} chunks")
    for sw in f["sweeps"]:
        t = sw["table"]
        lines.append(f"\n== {sw['questions']} questions, search(q, {sw['k']}) → top-10 docs ==")
        for label in ("vector-only", "fts-only", "hybrid-default"):
            for name in f["indexes"]:
                lines.append(f"{label:16} {name:8} {fmt(t[label][name])}")
            lines.append(f"{label:16} {'macro':8} {fmt(t[label]['macro'])}")
        lines.append(f"hybrid sweep, best {top} of {len(sw['hybrid_ranking'])} (macro; * = extra):")
        for label in sw["hybrid_ranking"][:top]:
            row = t[label]
            mark = " " if row["in_brief_grid"] else "*"
            per = "  ".join(f"{n} {objective(row[n]):.3f}" for n in f["indexes"])
            lines.append(
                f" {mark}{label:28} {fmt(row['macro'])}  obj {row['objective']:.4f}  {per}"
            )
        single = sw["best_single_mode"]
        lines.append(
            f"best single mode {single} obj {t[single]['objective']:.4f}; best hybrid (brief grid) "
            f"{sw['best_hybrid_brief_grid']} Δ {sw['brief_best_minus_best_single']:+.4f}; "
            f"best hybrid (any) {sw['best_hybrid_any']} Δ {sw['any_best_minus_best_single']:+.4f}"
            f"; {len(sw['hybrids_at_least_best_single'])} hybrids ≥ best single"
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
    p.add_argument("--top", type=int, default=15, help="hybrid configs shown per table")
    p.add_argument(
        "--fusion",
        default="",
        help="extra FusionConfig for the engine evaluation, e.g. text_weight=2,rrf_k=10",
    )
    args = p.parse_args()
    emb = embedder(MemoEmbedder)
    indexes: dict[str, ChunkIndex] = {}
    figures: dict[str, Any] = {"threads": THREADS, "indexes": {}}
    for name in KBS:
        indexes[name], figures["indexes"][name] = build(name, emb)
    if args.build_only:
        emit(figures, args.json, lambda: json.dumps(figures["indexes"], indent=2))
        return
    question_sets = {
        "verbatim": {name: golden(KBS[name].faq_set) for name in KBS},
        "paraphrased": {name: golden(KBS[name].faq_set, paraphrased=True) for name in KBS},
    }
    figures["questions"] = {name: len(items) for name, items in question_sets["verbatim"].items()}
    figures["sweeps"] = [
        sweep(indexes, emb, sets, int(k), label)
        for label, sets in question_sets.items()
        for k in args.ks.split(",")
    ]
    engine_cfgs = {"default": FusionConfig()}
    if args.fusion:
        fields = {k: v for k, v in (kv.split("=") for kv in args.fusion.split(","))}
        typed = {k: type(getattr(FusionConfig(), k))(v) for k, v in fields.items()}
        engine_cfgs["candidate"] = FusionConfig(**typed)
    figures["engine"] = {}
    for label, cfg in engine_cfgs.items():
        for qs_label, sets in question_sets.items():
            log(f"engine evaluate, {qs_label} questions, {label} fusion {cfg}")
            figures["engine"][f"{label}/{qs_label}"] = {
                n: {"fusion": asdict(cfg), **engine_eval(indexes[n], emb, sets[n], cfg)}
                for n in KBS
            }
    emit(figures, args.json, lambda: text_report(figures, args.top))


if __name__ == "__main__":
    main()
