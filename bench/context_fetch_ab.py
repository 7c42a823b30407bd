"""The answer's context fetch alone, today's against the `final` branch's (issue 19): for each
bench question the search runs once, then `Searcher.context` of its top 5 hits is timed with
today's code (one doc_id-indexed neighbours query, the candidates' passage vectors reused) and
with the previous one (per-document OR filter, every neighbour's passages read again), taking
turns going first, on the same index copy with the doc_id index built. Both must return the
same chunks in the same order with the same passage vectors (`identical`).

    python bench/context_fetch_ab.py   # after bench/answer_latency.py has built its index
"""

from __future__ import annotations

import json
import os
import shutil
import statistics as st
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import embedder, pct
from _corpus import DATA
from answer_latency import WARMUP, questions

from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex, sql_str
from askdesk.retrieval.search import Searcher, SearchHit


def previous_context(searcher: Searcher, hits: list[SearchHit]) -> list[SearchHit]:
    """`Searcher.context` and `ChunkIndex.neighbours` as on `final` (1a533ae), minus logging."""
    index = searcher.index
    out = list(hits)
    hit_vectors = searcher._pool().submit(
        index.passages.vectors,
        [h.content_hash for h in hits if h.content_hash and h.passage_vectors is None],
    )
    top_docs: list[str] = []
    for h in hits:
        if h.doc_id not in top_docs and len(top_docs) < 5:
            top_docs.append(h.doc_id)
    have = {(h.doc_id, h.ordinal) for h in hits}
    wanted = sorted(
        {
            (h.doc_id, h.ordinal + d)
            for h in hits
            if h.doc_id in top_docs
            for d in (-1, 1)
            if h.ordinal + d >= 0
        }
        - have
    )
    rows: list[dict[str, Any]] = []
    if wanted:
        by_doc: dict[str, set[int]] = {}
        for doc_id, ordinal in wanted:
            by_doc.setdefault(doc_id, set()).add(int(ordinal))
        where = " OR ".join(
            f"(doc_id = {sql_str(d)} AND ordinal IN ({', '.join(str(o) for o in sorted(os))}))"
            for d, os in by_doc.items()
        )
        rows = index._scan(where, index._text_columns()).to_pylist()
    for row in rows:
        out.append(SearchHit.from_row(row, neighbour=True))
    extra = [h.content_hash for h in out[len(hits) :] if h.content_hash]
    vectors = index.passages.vectors(extra) if extra else {}
    vectors.update(hit_vectors.result())
    for h in out:
        if h.passage_vectors is None:
            h.passage_vectors = vectors.get(h.content_hash)
    return out


def fresh(hits: list[SearchHit]) -> list[SearchHit]:
    """Copies of the search's hits, so each path attaches its own context vectors."""
    return [SearchHit(**{**h.__dict__}) for h in hits]


def same(a: list[SearchHit], b: list[SearchHit]) -> bool:
    def pv(h: SearchHit) -> Any:
        return None if h.passage_vectors is None else h.passage_vectors.tobytes()

    return [(h.chunk_id, h.neighbour, pv(h)) for h in a] == [
        (h.chunk_id, h.neighbour, pv(h)) for h in b
    ]


def main() -> None:
    emb = embedder(Embedder)
    with tempfile.TemporaryDirectory(prefix="context-ab-") as tmp:
        folder = Path(tmp) / "index.lancedb"
        shutil.copytree(DATA / "latency" / "index.lancedb", folder)
        index = ChunkIndex(folder)
        index.ensure_doc_index()
        searcher = Searcher(index, emb)
        qs = questions()
        ms: dict[str, list[float]] = {"today": [], "previous": []}
        identical = 0
        counts = {"neighbours": 0, "from_candidates": 0, "no_second_lookup": 0}
        load0, start = os.getloadavg()[0], time.strftime("%H:%M", time.gmtime())
        for i, q in enumerate(qs):
            hits = searcher.search(q, 10).hits[:5]
            got = {}
            order = ["today", "previous"] if i % 2 else ["previous", "today"]
            for path in order:
                h = fresh(hits)
                t = time.perf_counter()
                got[path] = (
                    searcher.context(h) if path == "today" else previous_context(searcher, h)
                )
                if i >= WARMUP:
                    ms[path].append((time.perf_counter() - t) * 1000)
            identical += same(got["today"], got["previous"])
            around = got["today"][len(hits) :]
            known = hits[0].candidate_passages or {} if hits else {}
            reused = [h for h in around if h.content_hash in known]
            counts["neighbours"] += len(around)
            counts["from_candidates"] += len(reused)
            counts["no_second_lookup"] += len(reused) == len(around)
    p50 = {p: st.median(v) for p, v in ms.items()}
    print(
        json.dumps(
            {
                "utc": f"{start}-{time.strftime('%H:%M', time.gmtime())}",
                "load1": [round(load0, 1), round(os.getloadavg()[0], 1)],
                "questions": len(qs),
                "timed": len(ms["today"]),
                "identical": identical,
                **counts,
                **{p: pct(v) for p, v in ms.items()},
                "saved_p50_ms": round(p50["previous"] - p50["today"], 2),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
