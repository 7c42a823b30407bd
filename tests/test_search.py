"""Hybrid, vector and full-text search on a real index of tiny docs."""

from __future__ import annotations

import pytest

from retrieval.index import ChunkIndex, prefix_filter
from retrieval.ingest import Ingester
from retrieval.search import FusionConfig, Searcher, fts_query


@pytest.fixture
def searcher(tmp_path, tiny_docs, embedder) -> Searcher:
    index = ChunkIndex(tmp_path / "lancedb")
    Ingester(index, embedder).run(tiny_docs)
    return Searcher(index, embedder)


@pytest.mark.parametrize("mode", ["hybrid", "vector", "fts"])
def test_each_mode_finds_the_right_document(searcher, mode):
    hits = searcher.search("how to rotate an API key", 3, mode=mode).hits
    assert hits and hits[0].doc_id == "keys.md"
    if mode == "vector":
        assert hits[0].vector_rank == 1 and hits[0].text_rank is None
    if mode == "fts":
        assert hits[0].text_rank == 1


def test_hybrid_fuses_both_rankings_and_reports_similarity(searcher):
    res = searcher.search("retry backoff schedule for failed deliveries", 5)
    top = res.hits[0]
    assert top.doc_id == "guides/retries.txt"
    assert top.vector_rank is not None and top.text_rank is not None
    assert 0.3 < top.similarity <= 1.0
    assert [h.score for h in res.hits] == sorted((h.score for h in res.hits), reverse=True)
    assert {"embed_ms", "search_ms"} <= set(res.timings_ms)


def test_path_prefix_filter_restricts_results(searcher):
    hits = searcher.search("how to rotate an API key", 5, path_prefixes=["billing/"]).hits
    assert hits and {h.doc_id for h in hits} == {"billing/plans.md"}
    both = searcher.search("plans and retries", 10, path_prefixes=["billing", "guides/"]).hits
    assert {h.doc_id for h in both} == {"billing/plans.md", "guides/retries.txt"}


def test_hostile_query_text_never_breaks_full_text_search(searcher):
    for q in ['"unbalanced', "AND OR NOT (", "?:*~^", "rotate' OR 1=1 --", "ключ API", "   "]:
        searcher.search(q, 3)  # must not raise
    assert fts_query("what's the *rate* limit? (v2.1)") == "what s the rate limit v2.1"


def test_prefix_filter_escapes_quotes_and_wildcards():
    f = prefix_filter(["it's_%/"])
    assert "it''s\\_\\%/%" in f and "ESCAPE" in f
    assert prefix_filter(["", "a/"]) is None


def test_fusion_weights_change_the_order(searcher):
    q = "Team plan members"
    text_only = searcher.search(q, 5, mode="fts").hits
    heavy_text = (
        Searcher(
            searcher.index, searcher.embedder, FusionConfig(vector_weight=0.0, text_weight=1.0)
        )
        .search(q, 5)
        .hits
    )
    assert [h.chunk_id for h in heavy_text[: len(text_only)]] == [h.chunk_id for h in text_only]


class _ReverseReranker:
    top_n = 10

    def score(self, query, texts):
        return [-len(t) for t in texts]


def test_optional_reranker_reorders_the_head(searcher):
    rr = Searcher(searcher.index, searcher.embedder, reranker=_ReverseReranker())
    hits = rr.search("keys plans retries", 5).hits
    assert [len(h.text) for h in hits] == sorted(len(h.text) for h in hits)
    assert all(h.rerank_score is not None for h in hits)


def test_similarity_is_the_same_from_either_retriever(searcher):
    q = "retry backoff schedule for failed deliveries"
    by_vector = {h.chunk_id: h.similarity for h in searcher.search(q, 10, mode="vector").hits}
    by_text = {h.chunk_id: h.similarity for h in searcher.search(q, 10, mode="fts").hits}
    shared = set(by_vector) & set(by_text)
    assert shared
    for cid in shared:
        assert abs(by_vector[cid] - by_text[cid]) < 1e-4
