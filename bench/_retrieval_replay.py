"""Offline replay of page ranking levers on the FAQ page sets (bench/faq_retrieval.py's indexes).

Dumps, once per set, every question's cosine to every chunk and to every stored passage of
every chunk, and LanceDB's BM25 to depth 1,000; page rankings under a lever are then computed
in numpy. Used to choose what to ship; the shipped setting is re-measured by faq_retrieval.py.

    python bench/_retrieval_replay.py dump /tmp/replay.pkl    (after faq_retrieval.py)
    python bench/_retrieval_replay.py levers /tmp/replay.pkl  (the rows of BENCHMARKS.md)
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import _pickles
import numpy as np
from _common import DiskCacheEmbedder, embedder, log
from _faq_sets import DEV_FAQS
from faq_retrieval import FAQ_DATA, SHORT, dev_set, sample_set

from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.search import fts_query


def dump(out: Path) -> None:
    emb = embedder(DiskCacheEmbedder)
    sources = {SHORT[n]: dev_set(n) for n in DEV_FAQS}
    sources["sample"] = sample_set()
    data = {}
    for label, (_, items) in sources.items():
        index = ChunkIndex(FAQ_DATA / f"{label}.lancedb")
        t = index._scan(
            None,
            ["chunk_id", "doc_id", "content_hash", "vector", "title", "heading", "text", "ordinal"],
        )
        cols = {c: t.column(c).to_pylist() for c in t.column_names if c != "vector"}
        cvec = np.asarray(t.column("vector").to_pylist(), dtype=np.float32)
        pv = index.passages.vectors(cols["content_hash"])
        qs = [q for q, _ in items]
        qvec = emb.encode(qs)
        bm25 = []
        for q in qs:
            words = fts_query(q)
            rows = index.text_search(words, 1000) if words else []
            bm25.append({r["chunk_id"]: float(r["_score"]) for r in rows})
        data[label] = dict(
            cols=cols, cvec=cvec, pv=pv, qvec=qvec, bm25=bm25, refs=[r for _, r in items], qs=qs
        )
        log(f"{label}: dumped")
    with out.open("wb") as f:
        pickle.dump(data, f)


def rank_pages(
    d: dict,
    qi: int,
    *,
    pw: float = 0.0,
    tw: float | str = 0.2,
    agg: str = "",
    beta: float = 0.0,
    cand: int = 40,
    k: int = 10,
) -> int | None:
    """The reference page's rank for question `qi` under one lever, as Searcher.search(q, k)
    would rank it: candidates = top `cand` of each retriever; score = cosine + pw × best
    passage + tw × relative BM25 (tw "vec"/"fts": that retriever alone); `agg` "second" or
    "mean" adds beta × the page's best other / mean candidate score."""
    cols = d["cols"]
    n = len(cols["chunk_id"])
    docs = np.array(cols["doc_id"])
    q = d["qvec"][qi]
    cs = d["cvec"] @ q
    ps = np.array(
        [
            float((d["pv"][h] @ q).max()) if h in d["pv"] else c
            for h, c in zip(cols["content_hash"], cs, strict=True)
        ]
    )
    bm = np.array([d["bm25"][qi].get(c, 0.0) for c in cols["chunk_id"]])
    vorder = set(np.argsort(-cs)[:cand].tolist())
    torder = {i for i in np.argsort(-bm)[:cand].tolist() if bm[i] > 0}
    cset = vorder | torder
    best = max((bm[i] for i in cset), default=0.0)
    rel = bm / best if best > 0 else bm * 0
    if tw == "vec":
        score, keep = cs + pw * ps, vorder
    elif tw == "fts":
        score, keep = bm.copy(), torder
    else:
        score, keep = cs + pw * ps + float(tw) * rel, cset
    mask = np.zeros(n, dtype=bool)
    mask[list(keep)] = True
    score = np.where(mask, score, -1e9)
    if agg and beta:
        bonus = np.zeros(n)
        for doc in set(docs[mask]):
            m = (docs == doc) & mask
            s = np.sort(score[m])[::-1]
            bonus[m] = beta * ((s[1] if len(s) > 1 else 0.0) if agg == "second" else s.mean())
        score = score + bonus
    seen: list[str] = []
    for i in np.argsort(-score, kind="stable")[:k]:
        if score[i] > -1e8 and docs[i] not in seen:
            seen.append(docs[i])
    return next((j + 1 for j, p in enumerate(seen) if p in d["refs"][qi]), None)


LEVERS: dict[str, dict] = {
    "vector only": {"tw": "vec"},
    "full text only": {"tw": "fts"},
    "chunks only (before)": {},
    "+ 0.1 x best other chunk": {"agg": "second", "beta": 0.1},
    "+ 0.2 x page mean": {"agg": "mean", "beta": 0.2},
    "+ 0.75 x best passage": {"pw": 0.75},
    "+ 1.0 x best passage (shipped)": {"pw": 1.0},
    "+ 1.5 x best passage": {"pw": 1.5},
    "+ 1.0 x best passage, + 0.1 x page mean": {"pw": 1.0, "agg": "mean", "beta": 0.1},
}


def levers(path: Path) -> None:
    with path.open("rb") as f:
        data = _pickles.load(f)
    for name, kw in LEVERS.items():
        cells = []
        for label, d in data.items():
            ranks = [rank_pages(d, qi, **kw) for qi in range(len(d["qs"]))]
            n = len(ranks)
            h1 = sum(r == 1 for r in ranks) / n
            h5 = sum(r is not None and r <= 5 for r in ranks) / n
            mrr = sum(1 / r for r in ranks if r) / n
            cells.append(f"{label} {h1:.3f}/{h5:.3f}/{mrr:.3f}")
        print(f"{name:<42}" + "  ".join(cells), flush=True)


if __name__ == "__main__":
    {"dump": dump, "levers": levers}[sys.argv[1]](Path(sys.argv[2]))
