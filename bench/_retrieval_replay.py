"""Offline replay of page ranking levers on the FAQ page sets (bench/faq_retrieval.py's indexes).

Dumps, once per set, every question's cosine to every chunk and to every stored passage of
every chunk, and LanceDB's BM25 to depth 1,000; page rankings under a lever are then computed
in numpy. Used to choose what to ship; the shipped setting is re-measured by faq_retrieval.py.

    python bench/_retrieval_replay.py   (after faq_retrieval.py has built the indexes)
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
from _common import DiskCacheEmbedder, embedder, log
from _faq_sets import DEV_FAQS
from faq_retrieval import FAQ_DATA, SHORT, dev_set, sample_set

from retrieval.index import ChunkIndex
from retrieval.search import fts_query


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


if __name__ == "__main__":
    dump(Path(sys.argv[1]))
