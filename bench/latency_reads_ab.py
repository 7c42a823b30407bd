"""Same-run A/B of the answer-latency read changes (issue 19): today's engine against the same
engine reading as it did before them, and the bare embed + vector search baseline.

"before" is today's code with the previous implementations swapped in, copied from fd8a85c:
`ChunkIndex.text_search` and `PassageStore.vectors` returning `to_list()` rows (a Python float
per vector component) on a second `ChunkIndex` of the same folder, and `stem` unmemoised. The
three paths take turns going first per question; every question's answer text and sources must
be the same from both engines (counted in `identical_answers`).

    python bench/latency_reads_ab.py   # after bench/answer_latency.py has built its index
"""

from __future__ import annotations

import json
import os
import statistics as st
import time
from typing import Any

import numpy as np
from _common import embedder, pct
from _corpus import DATA
from answer_latency import WARMUP, questions

import askdesk.retrieval.text_units as text_units
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.types import Question
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.passages import VERSION, key
from askdesk.retrieval.search import Searcher


def before_reads(index: ChunkIndex) -> None:
    """Give this index object the `to_list` reads of fd8a85c."""
    store = index.passages

    def text_search(text: str, limit: int, where: str | None = None) -> list[dict[str, Any]]:
        q = index.table.search(text, query_type="fts").limit(limit)
        if where:
            q = q.where(where, prefilter=True)
        return q.select([*index._text_columns(), "vector", "_score"]).to_list()

    def vectors(chunk_hashes: Any) -> dict[str, np.ndarray]:
        wanted = sorted({key(h) for h in chunk_hashes})
        table = store._open()
        if table is None or not wanted:
            return {}
        part = ", ".join("'" + h.replace("'", "''") + "'" for h in wanted)
        rows = (
            table.search()
            .where(f"chunk_hash IN ({part})")
            .select(["chunk_hash", "block", "vector"])
            .limit(None)
            .to_list()
        )
        grouped: dict[str, list[tuple[int, Any]]] = {}
        cut = len(VERSION) + 1
        for r in rows:
            grouped.setdefault(r["chunk_hash"][cut:], []).append((int(r["block"]), r["vector"]))
        return {
            h: np.asarray([v for _, v in sorted(b, key=lambda b: b[0])], dtype=np.float32)
            for h, b in grouped.items()
        }

    index.text_search = text_search  # type: ignore[method-assign]
    store.vectors = vectors  # type: ignore[method-assign]


def main() -> None:
    emb = embedder(Embedder)
    folder = DATA / "latency" / "index.lancedb"
    today, before = ChunkIndex(folder), ChunkIndex(folder)
    before_reads(before)
    engines = {
        "today": AnswerEngine(Searcher(today, emb), ExtractiveComposer()),
        "before": AnswerEngine(Searcher(before, emb), ExtractiveComposer()),
    }
    memo, plain = text_units.stem, text_units.stem.__wrapped__  # type: ignore[attr-defined]

    def run(path: str, q: str) -> tuple[float, Any]:
        text_units.stem = plain if path == "before" else memo  # type: ignore[assignment]
        t = time.perf_counter()
        if path == "bare":
            today.vector_search(emb.encode_query(q), 10)
            return (time.perf_counter() - t) * 1000, None
        a = engines[path].answer(Question(q, platform="bench"))
        return (time.perf_counter() - t) * 1000, a

    qs = questions()
    paths = ["today", "before", "bare"]
    for q in qs[:WARMUP]:
        for p in paths:
            run(p, q)
    wall: dict[str, list[float]] = {p: [] for p in paths}
    parts: dict[str, dict[str, list[float]]] = {"today": {}, "before": {}}
    same = 0
    load0, start = os.getloadavg()[0], time.strftime("%H:%M", time.gmtime())
    for i, q in enumerate(qs):
        got = {}
        for p in paths[i % 3 :] + paths[: i % 3]:
            ms, a = run(p, q)
            wall[p].append(ms)
            if a is not None:
                got[p] = (a.text, [(s.path, s.heading) for s in a.sources], a.unanswered)
                for k, v in a.timings_ms.items():
                    parts[p].setdefault(k, []).append(v)
        same += got["today"] == got["before"]
    text_units.stem = memo  # type: ignore[assignment]
    p50 = {p: st.median(v) for p, v in wall.items()}
    print(
        json.dumps(
            {
                "utc": f"{start}-{time.strftime('%H:%M', time.gmtime())}",
                "load1": [round(load0, 1), round(os.getloadavg()[0], 1)],
                "questions": len(qs),
                "identical_answers": same,
                **{p: pct(v) for p, v in wall.items()},
                "today_over_bare_p50": round(p50["today"] / p50["bare"], 3),
                "before_over_bare_p50": round(p50["before"] / p50["bare"], 3),
                "today_over_before_p50": round(p50["today"] / p50["before"], 3),
                "breakdown_p50": {
                    p: {k: round(st.median(v), 2) for k, v in b.items()} for p, b in parts.items()
                },
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
