"""The engine's ports (askdesk.core.ports): implementations with nothing but the Protocols' members
work, the composer gets the whole question, and the answer carries the hits it was made from."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from askdesk.core.citations import source_for
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import NOT_FOUND_WITH_SOURCES, AnswerEngine, EngineConfig
from askdesk.core.evaluation import GoldenItem, evaluate
from askdesk.core.grounding import cited_texts, groundedness
from askdesk.core.types import Composition, Question, Turn
from askdesk.retrieval.search import SearchHit, SearchResult

ROOT = Path(__file__).resolve().parents[1]
ASK = "How do I rotate my API key?"


class PortOnlyRetriever:
    """A retriever with exactly the Retriever port's methods and no attributes: the engine
    (and evaluation) must not reach for `.index`, `.embedder` or `.fusion`. It keeps what each
    search returned, to compare with what the answer says it was made from."""

    __slots__ = ("_searcher", "results", "warmed")

    def __init__(self, searcher: Any) -> None:
        self._searcher = searcher
        self.results: list[SearchResult] = []
        self.warmed = 0

    def search(
        self, query: str, k: int = 5, *, path_prefixes: Sequence[str] | None = None
    ) -> SearchResult:
        result = self._searcher.search(query, k, path_prefixes=path_prefixes)
        self.results.append(result)
        return result

    def context(self, hits: Sequence[SearchHit]) -> list[SearchHit]:
        return self._searcher.context(hits)

    def versions(self) -> dict[str, Any]:
        return {"index_version": 1, "embed_model": "port-test", "fusion": "hybrid"}

    def warm_up(self) -> None:
        self.warmed += 1


class RecordingComposer:
    """A composer with only the Composer port's members; it remembers what it was given and
    answers with the extractive quote, saying it fell back (as a generator would)."""

    name = "recording"
    version = "recording-1"

    def __init__(self) -> None:
        self.inner = ExtractiveComposer()
        self.seen: list[tuple[Question, list[SearchHit]]] = []

    def compose(
        self,
        question: Question,
        hits: Sequence[SearchHit],
        query_vector: Any = None,
        unmatched_terms: Sequence[str] | None = None,
    ) -> Composition:
        self.seen.append((question, list(hits)))
        c = self.inner.compose(question, hits, query_vector, unmatched_terms)
        c.note = "recording: quoted instead"
        return c


class LoadingRewriter:
    version = "style-load"

    def __init__(self) -> None:
        self.loaded = 0

    def load(self) -> None:
        self.loaded += 1

    def rewrite(self, draft: str, question: Question) -> tuple[str | None, str | None]:
        return None, "kept"


class VersionedTone:
    version = "tone-7"

    def score(self, text: str) -> float:
        return 0.5


def test_the_composer_gets_the_whole_question_with_its_thread_history(sample_searcher):
    """The engine used to compose `Question(text, platform)`: history, channel and thread
    were dropped, so no composer could write a follow-up answer from the thread."""
    composer = RecordingComposer()
    engine = AnswerEngine(PortOnlyRetriever(sample_searcher), composer)
    history = (Turn("How do I rotate my API key?", "Open Settings, choose API keys… [1]"),)
    q = Question(
        "and   how long does the old one keep working?",
        platform="slack",
        channel="C1",
        thread="T1",
        history=history,
    )
    ans = engine.answer(q)
    assert len(composer.seen) == 1
    got, hits = composer.seen[0]
    assert got.history == history
    assert (got.platform, got.channel, got.thread) == ("slack", "C1", "T1")
    # as searched: the elliptical follow-up read with its topic (askdesk.core.conversation)
    assert got.text == ans.trace.query
    assert got.text == "how long does the old one keep working? How do I rotate my API key?"
    assert hits and hits == ans.trace.passages
    assert ans.composer == "extractive" and ans.composer_note == "recording: quoted instead"


def test_port_only_implementations_answer_warm_up_and_report_versions(sample_searcher):
    retriever = PortOnlyRetriever(sample_searcher)
    rewriter = LoadingRewriter()
    engine = AnswerEngine(
        retriever,
        RecordingComposer(),
        rewriter=rewriter,
        tone=VersionedTone(),
        config=EngineConfig(style_by_default=True),
    )
    engine.warm_up()
    assert retriever.warmed == 1 and rewriter.loaded == 1
    ans = engine.answer(Question(ASK))
    assert not ans.unanswered and "[1]" in ans.text
    assert ans.versions == {
        "index_version": 1,
        "embed_model": "port-test",
        "fusion": "hybrid",
        "composer": "recording-1",
        "style_model": "style-load",
        "tone_scorer": "tone-7",
    }


def test_the_trace_holds_the_search_hits_and_is_never_serialised(sample_searcher):
    retriever = PortOnlyRetriever(sample_searcher)
    ans = AnswerEngine(retriever, ExtractiveComposer()).answer(Question(ASK))
    assert ans.trace is not None
    assert ans.trace.result is retriever.results[-1]
    assert ans.trace.hits == retriever.results[-1].hits
    assert ans.trace.composition is not None and ans.trace.composition.text == ans.draft
    d = ans.as_dict()
    assert "trace" not in d and d["composer"] == "extractive" and d["composer_note"] is None
    json.dumps(d)  # plain data only


def test_evaluation_scores_the_hits_the_answer_was_made_from(sample_searcher):
    """Evaluation used to swap `engine.searcher` for a proxy to see the hits; it now reads
    the answer's trace, so a retriever without attributes to forward works as well."""
    retriever = PortOnlyRetriever(sample_searcher)
    engine = AnswerEngine(retriever, ExtractiveComposer())
    report = evaluate(engine, [GoldenItem(ASK, sources=("security/api-keys.md",))])
    assert engine.searcher is retriever and len(retriever.results) == 1
    row = report.questions[0]
    hits = retriever.results[0].hits
    again = engine.answer(Question(ASK, platform="eval"))
    assert [h.chunk_id for h in again.trace.hits] == [h.chunk_id for h in hits]
    expected = groundedness(row["answer"], cited_texts(again.sources, hits))
    assert row["groundedness"] == round(expected, 4) == 1.0


def test_a_decline_lists_the_closest_pages_through_the_citations_module(sample_searcher):
    """The closest pages used to come from `composer.source_for`: a composer had to know how
    the engine shows a page. They come from askdesk.core.citations with the engine's URL
    template."""
    template = "https://docs.example.com/{path}"
    engine = AnswerEngine(
        sample_searcher,
        RecordingComposer(),
        config=EngineConfig(url_template=template, min_confidence=0.99),  # declines all
    )
    declined = engine.answer(Question(ASK))
    assert declined.unanswered and declined.text == NOT_FOUND_WITH_SOURCES
    firsts: dict[str, SearchHit] = {}
    for h in declined.trace.hits:
        firsts.setdefault(h.doc_id, h)
    expected = [source_for(i, h, template) for i, h in enumerate(list(firsts.values())[:3], 1)]
    assert declined.sources == expected and len(expected) == 3
    assert declined.sources[0].url == f"https://docs.example.com/{declined.sources[0].path}"
    assert declined.composer is None  # off-topic by confidence: nothing was composed


def test_the_engine_reaches_no_object_through_getattr():
    """In addition to the behaviour tests above: no `getattr` in the engine or evaluation."""
    for name in ("engine.py", "evaluation.py"):
        text = (ROOT / "core" / name).read_text()
        assert not re.search(r"\bgetattr\(|__getattr__", text), name
