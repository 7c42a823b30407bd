"""Hybrid, vector and full-text search on a real index of tiny docs."""

from __future__ import annotations

import pytest

from askdesk.retrieval.index import ChunkIndex, prefix_filter
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import FusionConfig, Searcher, SearchHit, _fuse, fts_query


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


# -- fusion: the default hybrid never trails its best single mode (issue 10, part 3) -----------

PASSWORD_DOCS = {
    "a-password-policy.md": "# Password policy\n\nPassword rules for admins: the password policy "
    "sets the password length, password expiry and password history. Reset the password policy "
    "to its defaults from the policy page; a password policy reset is recorded in the audit log.\n",
    "password-managers.md": "# Password managers\n\nStore every password in a password manager: "
    "it fills the password in for you, warns about a reused password and remembers the password "
    "you forgot. It can generate a strong password for each new account.\n",
    "signing-in.md": "# Signing in\n\nLocked out of your account? On the sign-in screen choose "
    '"Forgot password" and we email you a link. Open it within an hour and pick a new one; your '
    "old sessions are signed out.\n",
}


def _index_docs(tmp_path, embedder, docs: dict[str, str]) -> ChunkIndex:
    """A real LanceDB index of `docs` (file name -> Markdown) under tmp_path."""
    root = tmp_path / "docs"
    root.mkdir()
    for name, text in docs.items():
        (root / name).write_text(text, encoding="utf-8")
    index = ChunkIndex(tmp_path / "lancedb")
    Ingester(index, embedder).run(root)
    return index


@pytest.fixture
def password_searcher(tmp_path, embedder) -> Searcher:
    return Searcher(_index_docs(tmp_path, embedder, PASSWORD_DOCS), embedder)


def test_hybrid_does_not_follow_full_text_to_the_wrong_page(password_searcher):
    """Full text ranks the page that repeats "password" and "reset" first and puts the answer
    last; equal-weight rank fusion (the old default) followed it. Score fusion keeps the page
    whose meaning matches, because a full-text lead is only as large as the BM25 gap."""
    q = "I forgot my password, how do I reset it?"
    fts = password_searcher.search(q, 3, mode="fts").hits
    vector = password_searcher.search(q, 3, mode="vector").hits
    hybrid = password_searcher.search(q, 3).hits
    assert fts[0].doc_id == "a-password-policy.md" and fts[-1].doc_id == "signing-in.md"
    assert vector[0].doc_id == "signing-in.md"
    assert hybrid[0].doc_id == "signing-in.md"
    assert hybrid[0].text_rank == 3 and hybrid[0].text_score is not None
    rrf = Searcher(
        password_searcher.index,
        password_searcher.embedder,
        FusionConfig(method="rrf", text_weight=1.0),
    )
    assert rrf.search(q, 3).hits[0].doc_id == "a-password-policy.md"  # what the old default did


def test_score_fusion_is_cosine_plus_best_passage_plus_weighted_relative_bm25(password_searcher):
    q = "I forgot my password, how do I reset it?"
    res = password_searcher.search(q, 3)
    hits = res.hits
    best = max(h.text_score or 0.0 for h in hits)
    tw, pw = FusionConfig().text_weight, FusionConfig().passage_weight
    assert pw > 0
    for h in hits:
        assert h.passage_vectors is not None and h.passage_similarity is not None
        best_block = float((h.passage_vectors @ res.query_vector).max())
        assert h.passage_similarity == pytest.approx(best_block)
        assert h.score == pytest.approx(
            h.similarity + pw * h.passage_similarity + tw * (h.text_score or 0.0) / best
        )


def _hit(doc: str, n: int, sim: float, rank: int) -> SearchHit:
    return SearchHit(f"{doc}#{n}", doc, doc, "", "text", n, similarity=sim, vector_rank=rank)


def test_doc_weight_adds_the_best_other_chunk_not_the_sum():
    """A page with two strong chunks beats a long page with one strong and many weak chunks;
    summing the other chunks (the old page term) favoured the long page."""
    pair = [_hit("pair.md", 0, 0.60, 2), _hit("pair.md", 1, 0.58, 3)]
    long_page = [_hit("long.md", 0, 0.62, 1)]
    long_page += [_hit("long.md", n, 0.15, 3 + n) for n in range(1, 7)]
    hits = pair + long_page
    _fuse(hits, FusionConfig(doc_weight=0.5, passage_weight=0.0))
    top = max(hits, key=lambda h: h.score)
    assert top.chunk_id == "pair.md#0"
    assert top.score == pytest.approx(0.60 + 0.5 * 0.58)
    assert hits[2].score == pytest.approx(0.62 + 0.5 * 0.15)
    lone = [_hit("solo.md", 0, 0.5, 1)]
    _fuse(lone, FusionConfig(doc_weight=0.5, passage_weight=0.0))
    assert lone[0].score == pytest.approx(0.5)  # no other chunk, no bonus


def test_settings_defaults_flow_into_fusion_config(env):
    from askdesk.settings import Settings
    from askdesk.wiring import App

    default = FusionConfig()
    s = Settings()
    assert (s.search_mode, s.fusion_method) == (default.mode, default.method)
    assert (s.vector_weight, s.text_weight, s.rrf_k) == (
        default.vector_weight,
        default.text_weight,
        default.rrf_k,
    )
    assert (s.search_candidates, s.doc_weight) == (default.candidates, default.doc_weight)
    assert s.passage_weight == default.passage_weight
    assert App(s).searcher.fusion == default
    custom = Settings(
        fusion_method="rrf",
        text_weight=0.7,
        search_candidates=25,
        doc_weight=0.1,
        passage_weight=0.0,
    )
    assert App(custom).searcher.fusion == FusionConfig(
        method="rrf", text_weight=0.7, candidates=25, doc_weight=0.1, passage_weight=0.0
    )


# -- the passage term: a page whose one paragraph answers (issue 19, whole-page retrieval) ----

DECK_DOCS = {
    "deck.md": "# Building a deck\n\n"
    "Footings carry the whole deck, so dig them below the frost line and pour concrete piers on "
    "undisturbed soil. Space the piers to suit the beam size and check the layout is square by "
    "measuring the diagonals.\n\n"
    "Beams sit on post bases fixed to the piers. Joists run across the beams at 400 mm centres, "
    "hung from a ledger board bolted to the house rim joist with flashing above it so water "
    "cannot get behind.\n\n"
    "Decking boards are laid with a gap of a few millimetres for drainage, two screws at every "
    "joist, and the ends staggered so no two joints line up on neighbouring boards. Stainless "
    "screws do not stain the wood.\n\n"
    "New pressure-treated lumber is still wet from the treatment. Wait until water soaks in "
    "instead of beading, usually two to three months, before you apply any stain or sealer, or "
    "the finish peels.\n\n"
    "Railings are required once the deck is more than 600 mm above the ground; balusters must be "
    "close enough that a 100 mm sphere cannot pass between them, and the top rail must resist a "
    "sideways load.\n",
    "finishes.md": "# Stains and finishes\n\n"
    "Exterior stains come in transparent, semi-transparent and solid colours. Transparent stains "
    "show the grain and need renewing every year; solid stains look like paint and last longer. "
    "Oil-based stains soak into the wood, water-based ones dry faster and clean up with soap. "
    "Apply stain with a brush in the direction of the grain on a dry, overcast day.\n",
}


@pytest.fixture
def deck_searcher(tmp_path, embedder) -> Searcher:
    index = _index_docs(tmp_path, embedder, DECK_DOCS)
    assert index.count() == 2  # each page is one chunk: the deck page's answer is 1 of 5 paras
    return Searcher(index, embedder)


def test_passage_term_finds_the_page_whose_one_paragraph_answers(deck_searcher):
    """The deck page's chunk is about decks at large; its one paragraph on staining new treated
    wood is the answer. Whole-chunk cosine (and hybrid without the passage term, today's
    ranking before) prefer the general page on stains; the best stored passage does not."""
    q = "Should I stain treated wood immediately?"
    assert deck_searcher.search(q, 2, mode="vector").hits[0].doc_id == "finishes.md"
    chunks_only = Searcher(
        deck_searcher.index, deck_searcher.embedder, FusionConfig(passage_weight=0.0)
    )
    assert chunks_only.search(q, 2).hits[0].doc_id == "finishes.md"
    hits = deck_searcher.search(q, 2).hits
    assert hits[0].doc_id == "deck.md"
    deck, finishes = hits
    assert deck.similarity < finishes.similarity  # the chunk alone would lose
    assert deck.passage_similarity > deck.similarity + 0.1  # its answer paragraph wins
    assert deck.similarity == pytest.approx(
        chunks_only.search(q, 2).hits[1].similarity, abs=1e-4
    )  # similarity (what confidence and declines read) is unchanged


def test_context_reuses_the_passage_vectors_the_search_fetched(deck_searcher, monkeypatch):
    asked: list[list[str]] = []
    real = deck_searcher.index.passages.vectors

    def vectors(hashes):
        hashes = list(hashes)
        asked.append(hashes)
        return real(hashes)

    monkeypatch.setattr(deck_searcher.index.passages, "vectors", vectors)
    hits = deck_searcher.search("Should I stain treated wood immediately?", 2).hits
    flat = [h for call in asked for h in call]
    assert sorted(flat) == sorted({h.content_hash for h in hits})  # each chunk asked once
    kept = [h.passage_vectors for h in hits]
    searched = len(asked)
    out = deck_searcher.context(hits)
    again = [h.passage_vectors for h in out[: len(hits)]]
    assert all(a is not None and b is a for a, b in zip(kept, again, strict=True))
    assert all(not h for h in asked[searched:])  # nothing asked again for the hits


def test_a_failed_passage_lookup_ranks_by_chunks(deck_searcher, monkeypatch, caplog):
    def broken(hashes):
        raise OSError("passages table unreadable")

    monkeypatch.setattr(deck_searcher.index.passages, "vectors", broken)
    hits = deck_searcher.search("Should I stain treated wood immediately?", 2).hits
    assert [h.doc_id for h in hits] == ["finishes.md", "deck.md"]  # the chunk-only order
    assert all(h.passage_similarity is None for h in hits)
    best = max(h.text_score or 0.0 for h in hits)
    cfg = FusionConfig()
    for h in hits:  # the chunk's own cosine stands in for its best passage
        rel = (h.text_score or 0.0) / best
        want = (cfg.vector_weight + cfg.passage_weight) * h.similarity + cfg.text_weight * rel
        assert h.score == pytest.approx(want)
    assert "passage lookup failed" in caplog.text


def test_passage_vectors_read_as_arrow_match_the_stored_rows(sample_index):
    """`PassageStore.vectors` reads Arrow into one matrix: the same float32 blocks, in block
    order, as the rows `to_list` returns."""
    import numpy as np

    from askdesk.retrieval.passages import VERSION, key

    index = sample_index[0]
    hashes = sorted(index.content_hashes())[:40]
    got = index.passages.vectors(hashes)
    part = ", ".join(f"'{key(h)}'" for h in hashes)
    rows = index.passages._open().search().where(f"chunk_hash IN ({part})").limit(None).to_list()
    want: dict[str, list] = {}
    for r in sorted(rows, key=lambda r: (r["chunk_hash"], r["block"])):
        want.setdefault(r["chunk_hash"][len(VERSION) + 1 :], []).append(r["vector"])
    assert sorted(got) == sorted(want) and len(got) >= 30
    assert any(len(v) > 1 for v in got.values())  # multi-block chunks, ordered by block
    for h, blocks in want.items():
        assert got[h].dtype == np.float32
        assert np.array_equal(got[h], np.asarray(blocks, dtype=np.float32))


def test_context_takes_neighbours_passages_from_the_searchs_candidates(
    sample_searcher, monkeypatch
):
    """A neighbour that was a candidate of the same search has its blocks read already:
    context asks the passage table only for the others, and every neighbour's vectors are
    the ones a direct lookup returns."""
    import numpy as np

    index = sample_searcher.index
    asked: list[list[str]] = []
    real = index.passages.vectors

    def vectors(hashes):
        hashes = list(hashes)
        asked.append(hashes)
        return real(hashes)

    monkeypatch.setattr(index.passages, "vectors", vectors)
    reused = 0
    for q in ("How do I reset my password?", "How do I export my data?", "What does it cost?"):
        result = sample_searcher.search(q, 5)
        candidates = result.hits[0].candidate_passages
        assert candidates is not None and len(candidates) > len(result.hits)
        searched = len(asked)
        out = sample_searcher.context(result.hits)
        around = out[len(result.hits) :]
        assert around and all(h.neighbour for h in around)
        later = {h for call in asked[searched:] for h in call}
        assert later == {h.content_hash for h in around} - set(candidates)
        reused += sum(h.content_hash in candidates for h in around)
        direct = real([h.content_hash for h in around])
        for h in around:
            want = direct.get(h.content_hash)
            assert (h.passage_vectors is None) == (want is None)
            assert want is None or np.array_equal(h.passage_vectors, want)
    assert reused > 0  # today's code reads them again: this would fail there


def test_neighbours_use_the_doc_index_and_keep_table_order(sample_index):
    """The doc_id index exists on an indexed table, and `neighbours` returns exactly the rows
    (and order) of a plain scan with the per-document filter it replaced."""
    from askdesk.retrieval.index import DOC_INDEX, sql_str

    index = sample_index[0]
    assert DOC_INDEX in {i.name for i in index.table.list_indices()}
    rows = index._scan(None, ["doc_id", "ordinal"]).to_pylist()
    wanted = [*sorted({(r["doc_id"], r["ordinal"]) for r in rows[::3]})[:12], ("nope.md", 1)]
    wanted.append((wanted[0][0], 999))  # a chunk past a document's end: nothing
    by_doc: dict[str, list[int]] = {}
    for d, o in wanted:
        by_doc.setdefault(d, []).append(o)
    where = " OR ".join(
        f"(doc_id = {sql_str(d)} AND ordinal IN ({', '.join(map(str, sorted(os)))}))"
        for d, os in by_doc.items()
    )
    plain = index._scan(where, index._text_columns()).to_pylist()
    assert len(plain) == 12
    assert index.neighbours(wanted) == plain


def test_an_index_made_before_the_doc_index_gets_it_on_the_next_run(tmp_path, embedder):
    from askdesk.retrieval.index import DOC_INDEX

    index = _index_docs(tmp_path, embedder, DECK_DOCS)
    index.table.drop_index(DOC_INDEX)
    assert DOC_INDEX not in {i.name for i in index.table.list_indices()}
    Ingester(index, embedder).run(tmp_path / "docs")  # nothing changed: still repaired
    assert DOC_INDEX in {i.name for i in index.table.list_indices()}
