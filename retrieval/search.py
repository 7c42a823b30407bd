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

A search never fails because one retriever is unavailable (say the full-text index is
missing after a crashed first index run): it answers from the other one, and says so in the
log once, when that mode goes down, not on every query.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.fusion import MODES, FusionConfig, Mode
from askdesk.retrieval.index import ChunkIndex, in_filter, prefix_filter
from askdesk.retrieval.text_units import terms

log = logging.getLogger(__name__)

# MODES and FusionConfig live in askdesk.retrieval.fusion (light enough for the settings) and are
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
    passage_similarity: float | None = None  # best cosine among its stored passages, if any
    content_hash: str = ""
    url: str | None = None  # the document's own link (a page, a file at a commit), if known
    neighbour: bool = False  # not ranked: the chunk before or after a hit, fetched as context
    passage_vectors: np.ndarray | None = field(default=None, repr=False)  # blocks × dim
    # every candidate's passage vectors from the same search (content hash → blocks × dim),
    # shared by its hits: `context` takes a neighbour's from here when the neighbour was a
    # candidate too, rather than reading them again
    candidate_passages: dict[str, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )

    @classmethod
    def from_row(cls, row: dict[str, Any], *, neighbour: bool = False) -> SearchHit:
        """A hit from a chunks-table row (scores are filled in by the search)."""
        return cls(
            chunk_id=row["chunk_id"],
            doc_id=row["doc_id"],
            title=row["title"],
            heading=row["heading"],
            text=row["text"],
            ordinal=int(row["ordinal"]),
            content_hash=row.get("content_hash") or "",
            url=row.get("url") or None,
            neighbour=neighbour,
        )


@dataclass
class SearchResult:
    hits: list[SearchHit]
    timings_ms: dict[str, float] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    """Retrievers ("vector", "fts") that failed for this search, with the reason."""
    query_vector: np.ndarray | None = field(default=None, repr=False)
    # the question's content terms found in no candidate of either retriever: full-text
    # search surfaces any chunk holding a rare term, so these are (nearly) absent from the docs
    unmatched_terms: tuple[str, ...] | None = None


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
            # optional: sentence-transformers (askdesk[torch]), for a configured reranker_model
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(self.model_name, device="cpu")
        return [float(s) for s in self._model.predict([(query, t) for t in texts])]


def unmatched_terms(query: str, texts: Iterable[str]) -> tuple[str, ...]:
    """Question terms (stemmed content words) that occur in none of the texts."""
    wanted = sorted(set(terms(query)))
    if not wanted:
        return ()
    haystack = "\n".join(texts).lower()
    return tuple(t for t in wanted if t not in haystack)


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
        self._down: dict[str, str] = {}  # retriever → reason, logged once when it went down
        self._down_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None  # context lookups, made on first use

    def versions(self) -> dict[str, Any]:
        """What produces the hits, recorded with every answer (askdesk.core.ports.Retriever)."""
        return {
            "index_version": self.index.version if self.index.exists() else None,
            "embed_model": self.embedder.model_name,
            "fusion": self.fusion.mode,
        }

    def warm_up(self) -> None:
        """Open the table and load the embedding model now, not on the first question: at
        once, the model in a worker thread (onnxruntime builds its session without the GIL)
        while this one imports LanceDB and opens the table. Either's error is raised here."""
        model = self._pool().submit(lambda: self.embedder.model)
        _ = self.index.table  # no index: that error, not the model's, is the one to report
        model.result()

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        path_prefixes: Sequence[str] | None = None,
        mode: Mode | None = None,
        exclude_docs: Sequence[str] = (),
    ) -> SearchResult:
        """The k best chunks; `exclude_docs` hides whole documents (answerability probes ask
        what the docs would answer if a page were missing)."""
        _ = self.index.table  # fail fast, before loading the model, when there is no index
        cfg = replace(self.fusion, mode=mode) if mode else self.fusion
        where = prefix_filter(path_prefixes) if path_prefixes else None
        if exclude_docs:
            hide = f"NOT ({in_filter('doc_id', exclude_docs)})"
            where = f"{where} AND {hide}" if where else hide
        timings: dict[str, float] = {}
        depth = max(cfg.candidates, k)

        t = time.perf_counter()
        qvec = self.embedder.encode_query(query)
        timings["embed_ms"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        cands: dict[str, SearchHit] = {}
        vectors: dict[str, np.ndarray] = {}
        words = fts_query(query)
        unavailable: dict[str, str] = {}
        want_vector = cfg.mode in ("hybrid", "vector")
        want_text = cfg.mode in ("hybrid", "fts") and bool(words)
        want_passages = cfg.mode == "hybrid" and cfg.method == "score" and cfg.passage_weight > 0

        def text_then_passages() -> tuple[list[dict[str, Any]] | None, _Passages]:
            rows = self._retrieve(
                "fts", want_text, lambda: self.index.text_search(words, depth, where), unavailable
            )
            if not want_passages or not rows:
                return rows, _Passages()
            # the full-text candidates' passages are read while the vector search still runs
            return rows, self._lookup_passages({r.get("content_hash") or "" for r in rows})

        # the two retrievers run at once: LanceDB releases the GIL while it reads
        text_future = self._pool().submit(text_then_passages)
        vector_rows = self._retrieve(
            "vector", want_vector, lambda: self.index.vector_search(qvec, depth, where), unavailable
        )
        text_rows, early = text_future.result()
        if vector_rows is None and text_rows is None and unavailable:
            vector_rows, text_rows = self._other_mode(qvec, words, depth, where, unavailable)
        if unavailable:
            cfg = replace(cfg, mode="vector" if vector_rows is not None else "fts")
        for rank, row in enumerate(vector_rows or (), 1):
            hit = self._hit(cands, vectors, row)
            hit.vector_rank = rank
            hit.similarity = 1.0 - float(row["_distance"])  # cosine distance → similarity
        for rank, row in enumerate(text_rows or (), 1):
            hit = self._hit(cands, vectors, row)
            hit.text_rank = rank
            hit.text_score = float(row["_score"])
        timings["search_ms"] = (time.perf_counter() - t) * 1000

        hits = list(cands.values())
        # without full-text candidates a rare term's absence says nothing
        unmatched = None if text_rows is None else unmatched_terms(query, (h.text for h in hits))
        text_only = [h for h in hits if h.vector_rank is None]  # no distance from LanceDB
        if text_only:
            sims = np.stack([vectors[h.chunk_id] for h in text_only]) @ qvec
            for h, sim in zip(text_only, sims, strict=True):
                h.similarity = float(sim)
        if hits and cfg.mode == "hybrid" and cfg.method == "score" and cfg.passage_weight > 0:
            t = time.perf_counter()
            self._passage_similarities(hits, qvec, early)
            timings["passages_ms"] = (time.perf_counter() - t) * 1000
        _fuse(hits, cfg)
        hits.sort(key=lambda h: (-h.score, h.doc_id, h.ordinal))

        if self.reranker is not None and hits:
            hits = self._reranked(query, hits, k, timings)
        return SearchResult(hits[:k], timings, unavailable, qvec, unmatched)

    def _other_mode(
        self,
        qvec: np.ndarray,
        words: str,
        depth: int,
        where: str | None,
        unavailable: dict[str, str],
    ) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
        """The requested mode is down: the other one answers (if it too is down, raise)."""
        vector_rows = self._retrieve(
            "vector",
            "vector" not in unavailable,
            lambda: self.index.vector_search(qvec, depth, where),
            unavailable,
        )
        text_rows = self._retrieve(
            "fts",
            "fts" not in unavailable and bool(words),
            lambda: self.index.text_search(words, depth, where),
            unavailable,
        )
        if vector_rows is None and text_rows is None:
            raise SearchUnavailable(
                "search is unavailable: " + "; ".join(f"{m}: {r}" for m, r in unavailable.items())
            )
        return vector_rows, text_rows

    def _reranked(
        self, query: str, hits: list[SearchHit], k: int, timings: dict[str, float]
    ) -> list[SearchHit]:
        """The head of the fused ranking reordered by the cross-encoder, the rest as it was."""
        assert self.reranker is not None
        t = time.perf_counter()
        top_n = max(k, getattr(self.reranker, "top_n", 20))
        head = hits[:top_n]
        for h, s in zip(head, self.reranker.score(query, [h.text for h in head]), strict=True):
            h.rerank_score = s
        head.sort(key=lambda h: -(h.rerank_score or 0.0))
        timings["rerank_ms"] = (time.perf_counter() - t) * 1000
        return head + hits[top_n:]

    def _lookup_passages(self, hashes: set[str]) -> _Passages:
        hashes.discard("")
        try:
            found = self.index.passages.vectors(hashes) if hashes else {}
        except Exception as exc:
            log.warning("passage lookup failed", extra={"error": str(exc)[:200]})
            return _Passages(asked=hashes, failed=True)
        return _Passages(asked=hashes, vectors=found)

    def _passage_similarities(
        self, hits: Sequence[SearchHit], qvec: np.ndarray, early: _Passages
    ) -> None:
        """Attach every candidate's stored passage vectors and its best passage cosine; the
        full-text candidates' were read beside the vector search (`early`), the rest now.
        `context` reuses them. A failed lookup ranks by chunks only."""
        if early.failed:
            return
        rest = self._lookup_passages({h.content_hash for h in hits} - early.asked)
        if rest.failed:
            return
        vectors = {**early.vectors, **rest.vectors}
        for h in hits:
            h.candidate_passages = vectors
            pv = vectors.get(h.content_hash)
            if pv is not None and len(pv):
                h.passage_vectors = pv
                h.passage_similarity = float(np.max(pv @ qvec))

    def _retrieve(
        self,
        mode: str,
        wanted: bool,
        run: Callable[[], list[dict[str, Any]]],
        unavailable: dict[str, str],
    ) -> list[dict[str, Any]] | None:
        """One retriever's rows, or None when not wanted or failing (noted in `unavailable`)."""
        if not wanted:
            return None
        try:
            rows = run()
        except Exception as exc:
            reason = _first_line(exc)
            unavailable[mode] = reason
            with self._down_lock:
                first = self._down.get(mode) != reason
                self._down[mode] = reason
            if first:
                log.warning(
                    "search mode unavailable; answering from the other one until it is back",
                    extra={"mode": mode, "error": reason},
                )
            return None
        if mode in self._down:
            with self._down_lock:
                was = self._down.pop(mode, None)
            if was is not None:
                log.info("search mode available again", extra={"mode": mode})
        return rows

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(2, thread_name_prefix="askdesk-context")
        return self._executor

    def context(
        self, hits: Sequence[SearchHit], *, docs: int = 5, radius: int = 1
    ) -> list[SearchHit]:
        """The hits plus what an answer may need around them: the chunks just before and after
        the hits of the first `docs` documents (an answer may cross a chunk boundary), and
        every chunk's passage vectors. A lookup that fails costs the extras, not the answer."""
        out = list(hits)
        try:
            # the hits' blocks are looked up while the neighbours are fetched (the reads
            # release the GIL); a hybrid search already attached them while ranking
            missing = [h.content_hash for h in hits if h.content_hash and h.passage_vectors is None]
            hit_vectors = (
                self._pool().submit(self.index.passages.vectors, missing) if missing else None
            )
            top_docs: list[str] = []
            for h in hits:
                if h.doc_id not in top_docs and len(top_docs) < docs:
                    top_docs.append(h.doc_id)
            have = {(h.doc_id, h.ordinal) for h in hits}
            wanted = sorted(
                {
                    (h.doc_id, h.ordinal + d)
                    for h in hits
                    if h.doc_id in top_docs
                    for d in range(-radius, radius + 1)
                    if d and h.ordinal + d >= 0
                }
                - have
            )
            for row in self.index.neighbours(wanted) if wanted else []:
                out.append(SearchHit.from_row(row, neighbour=True))
            # a neighbour that was a candidate of the search has its blocks read already
            known: dict[str, np.ndarray] = {}
            for h in hits:
                if h.candidate_passages:
                    known = h.candidate_passages
                    break
            around = out[len(hits) :]
            extra = {
                h.content_hash for h in around if h.content_hash and h.content_hash not in known
            }
            vectors = self.index.passages.vectors(extra) if extra else {}
            vectors.update({c: known[c] for c in {h.content_hash for h in around} if c in known})
            if hit_vectors is not None:
                vectors.update(hit_vectors.result())
            for h in out:
                if h.passage_vectors is None:
                    h.passage_vectors = vectors.get(h.content_hash)
        except Exception as exc:
            log.warning("answer context lookup failed", extra={"error": str(exc)[:200]})
        return out

    @staticmethod
    def _hit(
        cands: dict[str, SearchHit], vectors: dict[str, np.ndarray], row: dict[str, Any]
    ) -> SearchHit:
        cid = row["chunk_id"]
        if cid not in cands:
            cands[cid] = SearchHit.from_row(row)
            if "vector" in row:  # only full-text rows carry it: they have no distance
                vectors[cid] = np.asarray(row["vector"], dtype=np.float32)
        return cands[cid]


@dataclass
class _Passages:
    """One passage lookup: the chunk hashes asked for and the vectors found."""

    asked: set[str] = field(default_factory=set)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    failed: bool = False


class SearchUnavailable(Exception):
    """Neither retriever could answer; the message gives each one's reason."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


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
            passage = h.passage_similarity if h.passage_similarity is not None else h.similarity
            h.score = (
                cfg.vector_weight * h.similarity
                + cfg.passage_weight * passage
                + cfg.text_weight * relative
            )
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
