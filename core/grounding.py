"""Is a sentence supported by the passages it cites? Pure functions, shared by evaluation
(groundedness of a run's answers) and by any composer that writes its own words (a generated
draft is checked sentence by sentence before anyone sees it).

Two checks, both about the text only:
- content overlap (`sentence_support`): the share of the sentence's content words (stemmed,
  stop words and citation markers dropped) that occur in the passages. A faithful rewording
  keeps most of them; an invented claim does not.
- facts (`missing_facts`): every number, identifier, URL, e-mail address, date, version,
  duration and code span of the sentence must occur in the passages. Overlap alone lets
  "keys expire after 90 days" pass a passage that says 30; a fact check does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from askdesk.core.citations import CITATION, strip_citations
from askdesk.core.text_units import split_units, terms
from askdesk.core.types import Answer, Source
from askdesk.retrieval.search import SearchHit
from askdesk.styling.guards.fact_patterns import Fact, find_facts

SUPPORTED_SHARE = 0.5
"""A sentence is supported when more than this share of its content words is in its sources."""
_IGNORED_FACTS = frozenset({"citation", "term"})  # markers, and words (overlap judges those)

Passages = str | Iterable[str]


def _joined(passages: Passages) -> str:
    return passages if isinstance(passages, str) else "\n\n".join(passages)


def sentences(text: str) -> list[str]:
    """The units of `text` that say something (a sentence, list item, table row or code
    block with at least one content word); headings and bare markers are left out."""
    return [u.text for u in split_units(text) if terms(strip_citations(u.text))]


def _marked_sentences(text: str) -> tuple[list[str], list[list[int]]]:
    """`sentences(text)` with the citation numbers each one carries. A marker that the
    splitter leaves on a unit of its own ("… a credit card. [1]" before a list) belongs to the
    sentence before it: dropped with its bare unit, the sentences it cites would be judged
    against the next source's text instead."""
    units: list[str] = []
    markers: list[list[int]] = []
    for u in split_units(text):
        cites = [int(n) for n in CITATION.findall(u.text)]
        if terms(strip_citations(u.text)):
            units.append(u.text)
            markers.append(cites)
        elif cites and markers:
            markers[-1] = markers[-1] + cites
    return units, markers


def content_words(sentence: str) -> set[str]:
    """The sentence's content words as overlap compares them (citation markers dropped)."""
    return set(terms(strip_citations(sentence)))


def sentence_support(sentence: str, passages: Passages) -> float:
    """The share of the sentence's content words found in the passages, 0..1 (1.0 for a
    sentence without content words: it claims nothing)."""
    words = content_words(sentence)
    if not words:
        return 1.0
    return _share(words, set(terms(_joined(passages))))


def _share(words: set[str], vocab: set[str]) -> float:
    return len(words & vocab) / len(words)


def facts(text: str) -> list[Fact]:
    """The checkable facts of `text` (numbers, identifiers, URLs, code…), citations excluded."""
    return [f for f in find_facts(strip_citations(text), ()) if f.kind not in _IGNORED_FACTS]


def missing_facts(sentence: str, passages: Passages) -> list[str]:
    """The sentence's facts, as written, that the passages do not contain (in order, once
    each). A fact is found when the passages hold the same fact (24h = 24 hours, 10,000 =
    10000) or its exact text as a whole word."""
    wanted = facts(sentence)
    if not wanted:
        return []
    text = _joined(passages)
    have = {(f.group, f.value.lower()) for f in find_facts(text, ())}
    flat = " ".join(text.split()).lower()
    missing: list[str] = []
    for f in wanted:
        if f.text in missing or (f.group, f.value.lower()) in have:
            continue
        if not _contains(flat, f.text) and not _contains(flat, f.value):
            missing.append(f.text)
    return missing


def _contains(flat: str, needle: str) -> bool:
    needle = " ".join(needle.split()).lower()
    if not needle:
        return False
    return re.search(rf"(?<![\w.]){re.escape(needle)}(?![\w])", flat) is not None


def is_supported(sentence: str, passages: Passages) -> bool:
    """More than SUPPORTED_SHARE of the content words found, and every fact."""
    return sentence_support(sentence, passages) > SUPPORTED_SHARE and not missing_facts(
        sentence, passages
    )


def groundedness(
    answer: str,
    cited_text: Mapping[int, str],
    vocab_cache: dict[tuple[int, ...], set[str]] | None = None,
) -> float | None:
    """The share of the answer's sentences that its cited sources support (content overlap).

    An extractive answer cites a quoted passage once, at its end, so a sentence without a
    marker is checked against the next marker after it (else the last one before it); an
    answer with no marker at all is checked against all its sources. A sentence counts as
    supported when more than SUPPORTED_SHARE of its content words occur in the cited text: a
    rewrite that keeps the facts passes, an invented claim or a citation of a source that was
    not retrieved does not. None when there is nothing to judge (no sentence with content
    words). Linear in the answer's length. `vocab_cache` (keyed by the cited numbers, `()`
    for all of `cited_text`) lets a caller judging many pieces against the same passages
    stem each passage set once.
    """
    units, markers = _marked_sentences(answer)
    if not units:
        return None
    # the marker each unit is judged by, in two passes (linear: a reply of many sentences
    # without markers must not rescan the rest of the reply per sentence)
    judged: list[list[int] | None] = [m or None for m in markers]
    following: list[int] | None = None
    for i in range(len(units) - 1, -1, -1):
        judged[i] = judged[i] or following
        following = markers[i] or following
    previous: list[int] | None = None
    for i, own in enumerate(markers):
        judged[i] = judged[i] or previous
        previous = own or previous
    vocab = vocab_cache if vocab_cache is not None else {}
    supported = 0
    for unit, cites in zip(units, judged, strict=True):
        key = tuple(sorted(set(cites))) if cites else ()
        if key not in vocab:
            names = key or tuple(cited_text)
            vocab[key] = set(terms(" ".join(cited_text.get(n, "") for n in names)))
        if _share(content_words(unit), vocab[key]) > SUPPORTED_SHARE:
            supported += 1
    return supported / len(units)


def cited_texts(sources: Sequence[Source] | Answer, hits: Sequence[SearchHit]) -> dict[int, str]:
    """Each cited source's text from the search hits behind the answer (all its chunks that
    were retrieved, else its snippet), keyed by the number the answer cites it with."""
    cited = sources.sources if isinstance(sources, Answer) else sources
    by_doc: dict[str, list[str]] = {}
    for hit in hits:
        by_doc.setdefault(hit.doc_id, []).append(hit.text)
    return {s.n: "\n\n".join(by_doc.get(s.path, [s.snippet])) for s in cited}
