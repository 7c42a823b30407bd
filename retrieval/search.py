"""Hybrid search over the chunks table: vector and full-text candidates fused into one ranking.

Fusion happens here rather than inside LanceDB so the method, the weights, the candidate depth
and the document-level aggregation are ours to choose by measurement (see BENCHMARKS.md).

The default fuses *scores*, not ranks: cosine similarity plus a small weight times the BM25
score relative to the query's best full-text match. Rank fusion (RRF) throws away how far
apart candidates are, so a chunk that only shares a common word with the question but happens
to be the best full-text match gets the same boost as one that matches every rare term; on the
FAQ page sets that made equal-weight RRF rank below vector-only search. Every candidate already
has its cosine similarity (full-text rows carry their stored vector), so score fusion costs no
extra model pass.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from retrieval.embedding import Embedder
from retrieval.fusion import MODES, FusionConfig, Mode
from retrieval.index import ChunkIndex, prefix_filter

# MODES and FusionConfig live in retrieval.fusion (light enough for the settings) and are
# re-exported here, where callers have always found them.
__all__ = [
    "MODES",
    "CrossEncoderReranker",
    "FusionConfig",
    "Mode",
    "Reranker",
    "SearchHit",
    "SearchResult",
    "Searcher",
    "fts_query",
]

_WORD = re.compile(r"[\w][\w.+#-]*[\w+#]|\w", re.UNICODE)


@dataclass
class SearchHit:
    """One ranked chunk with the evidence behind its rank."""

    chunk_id: str
    doc_id: str
    title: str
    heading: str
    text: str
    ordinal: int
    score: float = 0.0
    similarity: float = 0.0
    vector_rank: int | None = None
    text_rank: int | None = None
    text_score: float | None = None  # BM25 from the full-text index, when it matched
    rerank_score: float | None = None


@dataclass
class SearchResult:
    hits: list[SearchHit]
    timings_ms: dict[str, float] = field(default_factory=dict)


class Reranker(Protocol):
    def score(self, query: str, texts: Sequence[str]) -> Sequence[float]: ...


class CrossEncoderReranker:
    """Optional cross-encoder rerank; only for users who have such a model (none is packaged)."""

    def __init__(self, model: str, top_n: int = 20) -> None:
        self.model_name = model
        self.top_n = top_n
        self._model: Any = None

    def score(self, query: str, texts: Sequence[str]) -> Sequence[float]:
        if self._model is None:
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(self.model_name, device="cpu")
        return [float(s) for s in self._model.predict([(query, t) for t in texts])]


def fts_query(text: str, max_terms: int = 32) -> str:
    """Words only: the full-text parser must never see operators or stray punctuation."""
    return " ".join(_WORD.findall(text)[:max_terms])


class Searcher:
    def __init__(
        self,
        index: ChunkIndex,
        embedder: Embedder,
        fusion: FusionConfig | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.fusion = fusion or FusionConfig()
        self.reranker = reranker

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        path_prefixes: Sequence[str] | None = None,
        mode: Mode | None = None,
    ) -> SearchResult:
        _ = self.index.table  # fail fast, before loading the model, when there is no index
        cfg = replace(self.fusion, mode=mode) if mode else self.fusion
        where = prefix_filter(path_prefixes) if path_prefixes else None
        timings: dict[str, float] = {}
        depth = max(cfg.candidates, k)

        t = time.perf_counter()
        qvec = self.embedder.encode_query(query)
        timings["embed_ms"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        cands: dict[str, SearchHit] = {}
        vectors: dict[str, np.ndarray] = {}
        if cfg.mode in ("hybrid", "vector"):
            for rank, row in enumerate(self.index.vector_search(qvec, depth, where), 1):
                hit = self._hit(cands, vectors, row)
                hit.vector_rank = rank
                hit.similarity = 1.0 - float(row["_distance"])  # cosine distance → similarity
        words = fts_query(query)
        if cfg.mode in ("hybrid", "fts") and words:
            for rank, row in enumerate(self.index.text_search(words, depth, where), 1):
                hit = self._hit(cands, vectors, row)
                hit.text_rank = rank
                hit.text_score = float(row["_score"])
        timings["search_ms"] = (time.perf_counter() - t) * 1000

        hits = list(cands.values())
        text_only = [h for h in hits if h.vector_rank is None]  # no distance from LanceDB
        if text_only:
            sims = np.stack([vectors[h.chunk_id] for h in text_only]) @ qvec
            for h, sim in zip(text_only, sims, strict=True):
                h.similarity = float(sim)
        _fuse(hits, cfg)
        hits.sort(key=lambda h: (-h.score, h.doc_id, h.ordinal))

        if self.reranker is not None and hits:
            t = time.perf_counter()
            top_n = max(k, getattr(self.reranker, "top_n", 20))
            head = hits[:top_n]
            for h, s in zip(head, self.reranker.score(query, [h.text for h in head]), strict=True):
                h.rerank_score = s
            head.sort(key=lambda h: -(h.rerank_score or 0.0))
            hits = head + hits[top_n:]
            timings["rerank_ms"] = (time.perf_counter() - t) * 1000
        return SearchResult(hits[:k], timings)

    @staticmethod
    def _hit(
        cands: dict[str, SearchHit], vectors: dict[str, np.ndarray], row: dict[str, Any]
    ) -> SearchHit:
        cid = row["chunk_id"]
        if cid not in cands:
            cands[cid] = SearchHit(
                chunk_id=cid,
                doc_id=row["doc_id"],
                title=row["title"],
                heading=row["heading"],
                text=row["text"],
                ordinal=int(row["ordinal"]),
            )
            if "vector" in row:  # only full-text rows carry it: they have no distance
                vectors[cid] = np.asarray(row["vector"], dtype=np.float32)
        return cands[cid]


def _fuse(hits: list[SearchHit], cfg: FusionConfig) -> None:
    """Give every candidate its fused score; a single mode keeps its retriever's own order."""
    if cfg.mode != "hybrid" or cfg.method == "rrf":
        for h in hits:
            s = 0.0
            if h.vector_rank is not None and cfg.mode != "fts":
                s += cfg.vector_weight / (cfg.rrf_k + h.vector_rank)
            if h.text_rank is not None and cfg.mode != "vector":
                s += cfg.text_weight / (cfg.rrf_k + h.text_rank)
            h.score = s
    else:
        best = max((h.text_score or 0.0 for h in hits), default=0.0)
        for h in hits:
            relative = (h.text_score or 0.0) / best if best > 0 else 0.0
            h.score = cfg.vector_weight * h.similarity + cfg.text_weight * relative
    if cfg.doc_weight > 0:
        per_doc: dict[str, list[SearchHit]] = {}
        for h in sorted(hits, key=lambda h: -h.score):
            per_doc.setdefault(h.doc_id, []).append(h)
        bonus = {}
        for page in per_doc.values():
            for h in page:
                other = page[1] if h is page[0] and len(page) > 1 else page[0]
                bonus[h.chunk_id] = cfg.doc_weight * other.score if other is not h else 0.0
        for h in hits:
            h.score += bonus[h.chunk_id]
