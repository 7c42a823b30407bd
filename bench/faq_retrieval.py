"""Whole-page FAQ retrieval: hybrid (the default config) vs vector-only vs full-text-only.

For each dev FAQ set (construction, sqlite3, git; built by `_faq_sets.build`: answers grouped
into titled pages, no question text anywhere) and for the packaged sample golden set, the pages
are indexed with the real `Ingester` into a LanceDB folder under `bench/_data/faq/`
(incremental: a rerun embeds nothing), every question is asked with
`Searcher.search(question, k)`, the hits' doc ids are de-duplicated in rank order, and the rank
of the reference page gives hit@1, hit@5 and MRR (`askdesk.core.evaluation.hit_rank`; a sample
question counts as a hit when any of its `sources` is found). The three modes run side by side in
one run, on the same index and the same query vectors (memoised: speed only, not rankings).

    python bench/faq_retrieval.py [--json] [--k 10] [--fusion text_weight=0.5,doc_weight=0.1]

`--fusion` adds one more hybrid row (fields of `FusionConfig`, over the defaults) to compare a
candidate setting against the default. The Python, Django and Debian FAQs are never used.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from _common import THREADS, DiskCacheEmbedder, Embedder, embedder, emit, log, parser
from _corpus import DATA, SAMPLE_DOCS, SAMPLE_GOLDEN
from _faq_sets import DEV_FAQS, build

from askdesk.core.evaluation import hit_rank
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import FusionConfig, Searcher

METRICS = ("hit@1", "hit@5", "mrr")
FAQ_DATA = DATA / "faq"
SHORT = {
    "construction_faq_en": "construction",
    "sqlite3_faq": "sqlite3",
    "git_faq": "git",
    "perlfaq": "perl",
    "zsh_faq": "zsh",
}


Question = tuple[str, tuple[str, ...]]  # (question, reference doc ids)


def dev_set(name: str) -> tuple[Path, list[Question]]:
    faq = build(name)
    folder = faq.write(FAQ_DATA / "pages" / SHORT[name])
    return folder, [(i.question, (i.doc_id,)) for i in faq.items]


def sample_set() -> tuple[Path, list[Question]]:
    items = []
    for line in SAMPLE_GOLDEN.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            if obj.get("sources"):  # out-of-scope questions have no page to find
                items.append((obj["question"], tuple(obj["sources"])))
    return SAMPLE_DOCS, items


def index_for(label: str, folder: Path, emb: Embedder) -> ChunkIndex:
    index = ChunkIndex(FAQ_DATA / f"{label}.lancedb")
    report = Ingester(index, emb).run(folder)
    log(
        f"{label}: {len(index.doc_states())} pages, {index.count()} chunks "
        f"({report.chunks_embedded} embedded now)"
    )
    return index


def score(searcher: Searcher, items: list[Question], k: int) -> dict[str, float]:
    ranks = []
    for question, refs in items:
        docs: list[str] = []
        for hit in searcher.search(question, k).hits:
            if hit.doc_id not in docs:
                docs.append(hit.doc_id)
        ranks.append(hit_rank(docs, refs))
    n = len(items)
    return {
        "hit@1": sum(1 for r in ranks if r == 1) / n,
        "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr": sum(1.0 / r for r in ranks if r) / n,
    }


def parse_fusion(text: str) -> FusionConfig:
    """`k=v,...` over the defaults, each value cast to the field's type."""
    types = {f.name: type(getattr(FusionConfig(), f.name)) for f in fields(FusionConfig)}
    pairs = [kv.split("=", 1) for kv in text.split(",") if kv.strip()]
    return replace(FusionConfig(), **{k.strip(): types[k.strip()](v) for k, v in pairs})


def configs(extra: str) -> dict[str, FusionConfig]:
    out = {
        "hybrid (default)": FusionConfig(),
        "vector only": FusionConfig(mode="vector"),
        "full text only": FusionConfig(mode="fts"),
        "hybrid, chunks only (passage_weight 0)": FusionConfig(passage_weight=0.0),
    }
    if extra:
        out[f"hybrid {extra}"] = parse_fusion(extra)
    return out


def text_report(f: dict[str, Any]) -> str:
    sets = list(f["sets"])
    head = "| config | " + " | ".join(f"{s} hit@1 / hit@5 / MRR" for s in sets) + " |"
    lines = [
        f"threads={f['threads']}, search(q, {f['k']}) → pages; default {f['default']}",
        "  ".join(
            f"{s}: {info['questions']} q, {info['pages']} pages, {info['chunks']} chunks"
            for s, info in f["sets"].items()
        ),
        "",
        head,
        "|---" * (len(sets) + 1) + "|",
    ]
    for label, row in f["table"].items():
        cells = [" / ".join(f"{row[s][m]:.3f}" for m in METRICS) for s in sets]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    modes = ("hybrid (default)", "vector only", "full text only")
    hybrid, vec, fts = (f["table"][c] for c in modes)
    behind = [
        f"{s} {m}" for s in sets for m in METRICS if hybrid[s][m] < max(vec[s][m], fts[s][m]) - 1e-9
    ]
    lines.append("")
    lines.append(
        "default hybrid ≥ both single modes on every set and metric"
        if not behind
        else "default hybrid below a single mode on: " + ", ".join(behind)
    )
    return "\n".join(lines)


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--k", type=int, default=10, help="chunks per search (the engine asks for 10)")
    p.add_argument("--fusion", default="", help="one more hybrid row, e.g. text_weight=0.5")
    args = p.parse_args()
    emb = embedder(DiskCacheEmbedder)
    sources = {SHORT[n]: dev_set(n) for n in DEV_FAQS}
    sources["sample"] = sample_set()
    figures: dict[str, Any] = {
        "threads": THREADS,
        "k": args.k,
        "default": asdict(FusionConfig()),
        "sets": {},
        "table": {},
    }
    indexes = {}
    for label, (folder, items) in sources.items():
        indexes[label] = index_for(label, folder, emb)
        figures["sets"][label] = {
            "questions": len(items),
            "pages": len(indexes[label].doc_states()),
            "chunks": indexes[label].count(),
        }
    for name, cfg in configs(args.fusion).items():
        figures["table"][name] = {
            label: score(Searcher(indexes[label], emb, cfg), items, args.k)
            for label, (_, items) in sources.items()
        }
        log(f"scored {name}")
    emit(figures, args.json, lambda: text_report(figures))


if __name__ == "__main__":
    main()
