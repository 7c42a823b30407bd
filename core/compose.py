"""The default composer: extractive and grounded, choosing what to quote by meaning.

It answers with sentences quoted from the retrieved chunks, never with words of its own
beyond a short framing, so it cannot state what no source says. What it quotes is chosen
block by block (a paragraph, a list or table with its intro, a code block with the sentence
before it) among the top documents' hits *and the chunks around them*: each block is scored
by its cosine to the question (block vectors are embedded at index time, see
askdesk.retrieval.passages) plus lexical evidence (rare question terms, numbers, identifiers), and
the best one is quoted as a readable window: in order, code and steps intact, table rows
read against their header. A second source is quoted only when it covers part of the
question the first does not.

The composition also says whether the docs answer at all (`Composition.answerable`), from
features of the chosen block (see askdesk.core.answerability): a question whose best block is not
close enough in meaning and wording is declined rather than answered with the nearest text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from askdesk.core.answerability import DecisionModel
from askdesk.core.citations import Numbering, cite, marker
from askdesk.core.text_units import Unit, row_cells, split_units, terms
from askdesk.core.types import Composition, Question
from askdesk.retrieval.passages import passages
from askdesk.retrieval.search import SearchHit

_CONNECTIVES = (
    "it ",
    "this ",
    "these ",
    "that ",
    "those ",
    "then ",
    "also ",
    "however",
    "otherwise",
    "instead",
    "they ",
    "there ",
)
_EXACT = re.compile(r"\b\d+(?:[.:/-]\d+)*\b|[A-Za-z]+[_.-][\w.-]*\w|--?[a-z][\w-]+")
# Block scores, swept on the dev FAQ answer sets (bench/answer_quality.py): lexical 0.1 beat
# 0, 0.2 and 0.35; five candidate documents beat three (sqlite3 0.74 -> 0.82 useful@0.5).
LEXICAL_WEIGHT = 0.1  # a block's score: cosine + this x idf-weighted share of question terms
EXACT_WEIGHT = 0.05  # + this x share of the question's numbers and identifiers it contains
DOC_PRIOR = (0.04, 0.02, 0.0)  # the search's own order still counts, a little
MAX_DOCS = 5  # documents whose blocks compete for the answer
RELATED_MARGIN = 0.1  # a block within this of the best one's score may continue the quote
BACK_MARGIN = 0.12  # a list, table or code block just above the best one, this close, starts it
PARAGRAPH_STRETCH = 2.0  # the chosen paragraph may exceed max_words by this factor to end
LIST_STRETCH = 1.6  # a list or command introduced by a colon may run this far over, whole
WHOLE_BLOCK = True  # quote the answer's blank-line block from its start through to the budget
BLOCK_LEAD = 1.0  # …from its start when the best passage lies within this share of the budget
# (0.5 started Perl FAQ answers mid-way, after their "(contributed by …)" line: perl 0.550 -> 0.560)
TOPIC_COSINE = 0.5  # a following block this close to the chosen one continues the quote
WHOLE_WEIGHT = 0.5  # a part's cosine: this share is its whole answer's (perl +0.01)…
WHOLE_MAX_WORDS = 200  # …for an answer its whole vector read in full (longer: zsh -0.05)
SECOND_MARGIN = 0.15  # another answer scored this close to the chosen one is quoted after it
# (0.1 -> 0.15: construction useful@0.5 0.688 -> 0.716 at F1 0.614 -> 0.616, the other sets
# within one question; 0.2-0.25 gain more useful@0.5 but cost F1 0.02-0.04)
SECOND_COSINE = 0.05  # …its cosine this close when it shares more of the question's words
CODE_BOUNDARY_JOIN = True  # text right after a chunk that ends in code continues its answer
SAME_BLOCK_BACK = True  # the window never reaches back over a blank line into another answer
CUT_LAST = True  # the sentence that overruns the budget is quoted up to it, ending in "…"
CUT_MIN_WORDS = 8  # …when at least this many words of the budget are left
# Shape penalties, swept on the same sets: Tidewire 0.41 -> 0.47 useful@0.5, the dev FAQs
# unchanged (their pages have little code and few pointer lines).
CODE_PENALTY = 0.04  # a block quoted with code, for a question that names no code or command
SHORT_BLOCK_WORDS = 12  # a block of fewer prose words than this says little on its own…
SHORT_BLOCK_PENALTY = 0.1  # …and its cosine, inflated by its brevity, is discounted this much
_CODE_WORDS = re.compile(
    r"\b(curl|code|command|commands|snippet|script|example|syntax|cli|sdk|api call|endpoint url)\b",
    re.I,
)
_BOUNDARY = "\x00section"  # `header` of the heading unit put between two sections' chunks


@dataclass
class _Block:
    start: int  # units [start, end) of its document's merged text
    end: int
    vector: np.ndarray | None = None  # from the index; None for an index without passages
    doc: int = 0  # index into the candidate documents
    cosine: float | None = None
    lexical: float = 0.0
    exact: float = 0.0
    score: float = 0.0


@dataclass
class _Doc:
    hit: SearchHit  # the best-ranked hit of the document (cited as its source)
    units: list[Unit]
    blocks: list[_Block] = field(default_factory=list)
    owners: list[SearchHit] = field(default_factory=list)  # the chunk each unit came from
    headings: list[str] = field(default_factory=list)  # the section each unit stands under

    def cited(self, units: list[Unit]) -> SearchHit:
        """The hit to cite for a quote: the document's best hit, but with the heading of the
        section the quoted block stands under (a neighbour chunk's section, or a sibling
        section merged into the chunk after its own heading line) and that chunk's text."""
        first = next((i for i, u in enumerate(self.units) if units and u is units[0]), None)
        if first is None or first >= len(self.owners):
            return self.hit
        owner = self.owners[first]
        heading = self.headings[first] if first < len(self.headings) else owner.heading
        if owner is self.hit and heading == self.hit.heading:
            return self.hit
        return replace(self.hit, heading=heading, text=owner.text)


EXTRACTIVE_VERSION = "extractive-2"  # recorded with every answer it writes

# Composition lives in askdesk.core.types; re-exported for composers that build one
__all__ = ["EXTRACTIVE_VERSION", "Composition", "ExtractiveComposer"]


class ExtractiveComposer:
    """The built-in composer (askdesk.core.ports.Composer), `answer_backend = "extractive"`."""

    name = "extractive"
    version = EXTRACTIVE_VERSION

    def __init__(
        self,
        *,
        max_words: int = 110,
        min_words: int = 30,
        max_sources: int = 2,
        url_template: str | None = None,
        decision: DecisionModel | None = None,
    ) -> None:
        self.max_words = max_words
        self.min_words = min_words
        self.max_sources = max_sources
        self.url_template = url_template
        self.decision = decision or DecisionModel()

    def compose(
        self,
        question: Question,
        hits: Sequence[SearchHit],
        query_vector: np.ndarray | None = None,
        unmatched_terms: Sequence[str] | None = None,
    ) -> Composition:
        """The draft and the decision. `query_vector` scores blocks by meaning (without it,
        by words only); `unmatched_terms` are question terms search found nowhere. A quote
        answers the question as asked: the thread's history reaches it through the search."""
        ranked = [h for h in hits if not h.neighbour]
        if not ranked:
            return Composition("", [], answerable=False, composer=self.name)
        docs = _documents(hits, ranked)
        query = _Query.of(question.text, [d.units for d in docs])
        best, runner_up = _best_blocks(docs, query, query_vector)
        if best is None:
            return Composition("", [], answerable=False, composer=self.name)

        doc = docs[best.doc]
        unit_scores = [query.lexical(u) for u in doc.units]
        related = _related_units(doc, best, unit_scores)
        anchor = self._anchor(doc, best)
        primary = self._window(doc.units, unit_scores, related, anchor=anchor, block_end=best.end)
        groups = self._quoted_groups(docs, best, primary, query)

        window_text = " ".join(u.text for u in primary)
        found = set(terms(window_text)) & query.terms
        q_terms = query.terms
        decision = self.decision.decide(
            cosine=best.cosine if best.cosine is not None else doc.hit.similarity,
            lexical=sum(query.idf.get(t, 1.0) for t in found) / query.weight,
            exact=best.exact if query.exact else None,
            top_similarity=max(h.similarity for h in ranked),
            margin=best.score - runner_up.score if runner_up is not None else None,
            agreement=_agreement(ranked),
            unmatched=len(unmatched_terms) / len(q_terms)
            if unmatched_terms is not None and q_terms
            else None,
            has_passages=best.cosine is not None,
        )

        numbering = Numbering(self.url_template)
        parts = [_render(units, numbering.number(hit)) for hit, units in groups]
        text = "\n\n".join(p for p in parts if p)
        answerable = bool(text) and decision.answer
        return Composition(
            text,
            numbering.sources,
            answerable=answerable,
            decision=decision,
            composer=self.name,
            hedged=answerable and decision.hedged,
        )

    def _anchor(self, doc: _Doc, best: _Block) -> int:
        """Where the quote starts: the chosen block, or the list, table or code right before
        it when that scores nearly as well and the two fit the budget together."""
        before = [
            b
            for b in doc.blocks
            if b.end == best.start
            and b.cosine is not None
            and any(u.kind in ("item", "row", "code") for u in doc.units[b.start : b.end])
        ]
        if before and before[0].score >= best.score - BACK_MARGIN:
            words = sum(u.words for u in doc.units[before[0].start : best.end])
            if words <= self.max_words * PARAGRAPH_STRETCH:
                return before[0].start  # the steps above say it too, not only the line after
        return best.start

    def _quoted_groups(
        self, docs: list[_Doc], best: _Block, primary: list[Unit], query: _Query
    ) -> list[tuple[SearchHit, list[Unit]]]:
        """The primary quote, then a second answer as close (while the budget lasts), then a
        supporting sentence from another document for question terms still missing."""
        doc = docs[best.doc]
        groups: list[tuple[SearchHit, list[Unit]]] = [(doc.cited(primary), primary)]
        used_words = sum(_cost(u) for u in primary)
        quoted = list(primary)
        if SECOND_MARGIN > 0 and used_words <= self.max_words - CUT_MIN_WORDS:
            room = self.max_words - used_words
            second = self._second(docs, best, primary, query.lexical, room, query.code_asked)
            if second is not None:
                groups.append(second)
                quoted += second[1]
        q_terms = query.terms
        covered = set().union(*(terms(u.text) for u in quoted)) & q_terms if quoted else set()
        used_words = sum(u.words for u in quoted if u.kind != "code")
        if self.max_sources > 1 and used_words < self.max_words:
            extra = self._supporting(
                [d for i, d in enumerate(docs) if i != best.doc],
                q_terms - covered,
                q_terms,
                query.idf,
                query.weight,
                quoted,
            )
            if extra is not None:
                groups.append(extra)
        return groups

    def _window(
        self,
        units: list[Unit],
        scores: list[float],
        related: list[bool],
        *,
        anchor: int,
        block_end: int,
    ) -> list[Unit]:
        """The chosen block, with the context that makes it readable: the sentence that
        introduces it, its sub-heading, and what follows while it still answers."""
        if not units:
            return []
        if units[anchor].kind == "row":
            return self._table_rows(units, scores, anchor)
        start = anchor
        para = [i for i, u in enumerate(units) if u.para == units[anchor].para]
        fits = sum(units[i].words for i in para) <= self.max_words * PARAGRAPH_STRETCH
        if units[anchor].kind == "sentence" and para and para[0] < anchor and fits:
            start = para[0]  # a block cut from a long paragraph: quote the paragraph whole
        answer = units[anchor].block
        if WHOLE_BLOCK:
            first = next(
                i for i, u in enumerate(units) if u.block == answer and u.kind != "heading"
            )
            lead = sum(_cost(u) for u in units[first:anchor])
            if first < start and lead <= self.max_words * BLOCK_LEAD:
                start = first  # the answer begins where its block begins, not mid-way
        if (
            units[start].kind in ("code", "item")
            and start > 0
            and units[start - 1].kind == "sentence"
            and _same_answer(units[start - 1], units[start])
        ):
            start -= 1  # the sentence that introduces a list or a command (it was embedded with it)
        while start > 0 and _needs_previous(units[start], units[start - 1]):
            start -= 1
        if _explains_code(units, start):
            start -= 1  # "The script installs…" explains the command just above it
        if start > 0 and units[start - 1].kind == "heading" and units[start - 1].header is None:
            start -= 1  # the sub-heading names what the quote is about
        if units[anchor].kind == "item":
            items = self._long_list(units, scores, start, anchor)
            if items is not None:
                return items
        room = self.max_words * (1.0 if units[start].kind == "code" else LIST_STRETCH)
        first_unit = _fit(units[start], int(room)) or units[start]
        picked = [first_unit]
        words = _cost(first_unit)
        if first_unit is not units[start]:
            return picked  # one unit longer than the budget (a page that is one long line)
        in_list = units[start].text.rstrip().endswith(":")
        for i in range(start + 1, len(units)):
            u = units[i]
            if u.kind == "row":
                if units[i - 1].text.rstrip().endswith(":"):
                    rows = self._table_rows(units, scores, i)
                    picked.extend(r for r in rows if r.kind == "row")
                break
            if u.kind == "heading":
                break
            # the answer's own block (an FAQ answer, a paragraph running into its list or
            # code) is quoted through to the budget; a following block only while it answers
            own = WHOLE_BLOCK and u.block == answer
            if u.kind in ("item", "code") and (in_list or units[i - 1].text.rstrip().endswith(":")):
                in_list = True
                limit = self.max_words * LIST_STRETCH
            else:
                if u.kind == "sentence" and in_list:
                    in_list = False
                same_para = u.para == units[anchor].para and i < block_end + 8
                limit = self.max_words * (PARAGRAPH_STRETCH if same_para else 1.0)
                new_paragraph = u.para != units[i - 1].para
                short = words < self.min_words // 2  # "See below." needs what follows
                if (
                    i >= block_end
                    and not own
                    and not related[i]
                    and (words >= self.min_words or (new_paragraph and not short))
                ):
                    break  # enough said, or a paragraph about something else starts
            cost = _cost(u)
            if u.kind == "code" and u.text.count("\n") > 40:
                break
            if words + cost > limit:
                cut = _fit(u, int(limit) - words) if CUT_LAST else None
                if cut is not None and (u.kind == "sentence" or u.block == answer):
                    picked.append(cut)  # the answer runs on: quoted up to the budget, with …
                break
            picked.append(u)
            words += cost
            if u.text.rstrip().endswith(":"):
                in_list = True
        while picked and picked[-1].kind == "heading":
            picked.pop()  # a heading with nothing under it says nothing
        return picked

    def _second(
        self,
        docs: list[_Doc],
        best: _Block,
        primary: list[Unit],
        lexical: Callable[[Unit], float],
        room: int,
        code_asked: bool,
    ) -> tuple[SearchHit, list[Unit]] | None:
        """Another answer scored as high as the chosen one (within SECOND_MARGIN), quoted after
        it while the budget lasts: when two answers are this close, the model cannot tell which
        one answers, and the asker reads both in a few seconds. Never a part of the answer
        already quoted, nor of the same answer block."""
        quoted = {id(u) for u in primary}
        chosen = docs[best.doc].units[best.start].block
        ranked = sorted(
            (b for d in docs for b in d.blocks if b.cosine is not None and b is not best),
            key=lambda b: -b.score,
        )
        for b in ranked:
            if b.score < best.score - SECOND_MARGIN:
                return None
            # close by shared words only: the most overlapping is not an answer (a block with
            # more of the question's words than the chosen one needs the closer cosine)
            gap = SECOND_COSINE if b.lexical > best.lexical else SECOND_MARGIN / 2
            if best.cosine is not None and (b.cosine or 0.0) < best.cosine - gap:
                continue
            d = docs[b.doc]
            if any(id(u) in quoted for u in d.units[b.start : b.end]):
                continue
            if b.doc == best.doc and d.units[b.start].block == chosen:
                continue
            window = self._window(
                d.units,
                [lexical(u) for u in d.units],
                [False] * len(d.units),
                anchor=b.start,
                block_end=b.end,
            )
            if any(id(u) in quoted for u in window):
                continue
            if not code_asked and any(u.kind == "code" for u in window):
                continue  # a second answer never brings a command nobody asked for
            picked: list[Unit] = []
            for u in window:
                fitted = _fit(u, room)
                if fitted is None:
                    break
                picked.append(fitted)
                room -= _cost(fitted)
                if fitted is not u:
                    break
            while picked and picked[-1].kind == "heading":
                picked.pop()
            return (d.cited(picked), picked) if picked else None
        return None

    def _long_list(
        self, units: list[Unit], scores: list[float], start: int, anchor: int
    ) -> list[Unit] | None:
        """A list longer than the budget answers with its intro and the items that hold the
        question's terms (the item of error E137 out of 200), like a table's rows; None for
        a list that fits (it is quoted whole by the window)."""
        para = units[anchor].para
        items = [i for i, u in enumerate(units) if u.para == para and u.kind == "item"]
        if sum(_cost(units[i]) for i in items) <= self.max_words * LIST_STRETCH:
            return None
        best = sorted((i for i in items if scores[i] > 0), key=lambda i: -scores[i])[:5]
        if best and scores[best[0]] >= 1.0:  # items holding the asked number or identifier
            best = [i for i in best if scores[i] >= 1.0]
        picked = [units[start]] if start < items[0] and units[start].kind != "item" else []
        words = sum(_cost(u) for u in picked)
        chosen = sorted(best) if best else items
        for i in chosen:
            if words + _cost(units[i]) > self.max_words:
                break
            picked.append(units[i])
            words += _cost(units[i])
        return picked or [units[anchor]]

    def _table_rows(self, units: list[Unit], scores: list[float], anchor: int) -> list[Unit]:
        """A table answers with its best rows, each read against the header."""
        header = units[anchor].header or units[anchor].text
        same = [
            i
            for i, u in enumerate(units)
            if u.kind == "row" and (u.header == header or (i == anchor and u.header is None))
        ]
        same = [i for i in same if units[i].header is not None and not _rule(units[i])] or same
        if not same:
            return [units[anchor]]
        best = sorted((i for i in same if scores[i] > 0), key=lambda i: -scores[i])[:3]
        if best and scores[best[0]] >= 1.0:  # rows holding the asked number or identifier
            best = [i for i in best if scores[i] >= 1.0]
        if not best:
            best = same[:3]  # nothing matched a row: the first rows usually matter most
        picked: list[Unit] = []
        intro = min(same) - 2  # the sentence before the header row
        if intro >= 0 and units[intro].kind == "sentence":
            picked.append(units[intro])
        picked.extend(units[i] for i in sorted(best))
        return picked

    def _supporting(
        self,
        others: list[_Doc],
        missing: set[str],
        q_terms: set[str],
        idf: dict[str, float],
        q_weight: float,
        primary: list[Unit],
    ) -> tuple[SearchHit, list[Unit]] | None:
        """One sentence from another document that covers question terms the first missed."""
        if not missing or not others:
            return None
        seen = {_norm(u.text) for u in primary}
        top = max(d.hit.similarity for d in others)
        best: tuple[float, SearchHit, Unit] | None = None
        for doc in others:
            if doc.hit.similarity < top - 0.15:
                continue
            for u in doc.units:
                if (
                    u.kind != "sentence"
                    or _norm(u.text) in seen
                    or u.words < 5
                    or u.text.rstrip().endswith("?")
                ):
                    continue
                found = set(terms(u.text))
                gain = sum(idf.get(t, 1.0) for t in found & missing) / q_weight
                relevant = len(found & q_terms) >= 2
                if gain >= 0.3 and relevant and (best is None or gain > best[0]):
                    best = (gain, doc.cited([u]), u)
        if best is None:
            return None
        return best[1], [best[2]]


@dataclass(frozen=True)
class _Query:
    """The question as the composer weighs it: its terms with their idf over the retrieved
    units, the numbers and identifiers it asks for exactly, and whether it asks for code."""

    terms: set[str]
    exact: set[str]
    idf: dict[str, float]
    weight: float
    code_asked: bool

    @classmethod
    def of(cls, text: str, units: list[list[Unit]]) -> _Query:
        q_terms = set(terms(text))
        exact = {e.lower() for e in _EXACT.findall(text)}
        idf = _idf(units)
        weight = sum(idf.get(t, 1.0) for t in q_terms) or 1.0
        code_asked = bool(exact) or bool(_CODE_WORDS.search(text))
        return cls(q_terms, exact, idf, weight, code_asked)

    def lexical(self, u: Unit) -> float:
        """Word evidence of one unit; an asked number or identifier counts most (it picks
        the table row of exit code 5, not the row that shares the word "tw")."""
        if u.kind == "code":
            return 0.0
        found = set(terms(u.text)) & self.terms
        score = sum(self.idf.get(t, 1.0) for t in found) / self.weight
        if self.exact and u.kind in ("row", "item"):
            cells = {c.lower() for c in _EXACT.findall(u.text)}
            score += float(len(self.exact & cells))
        return score


def _best_blocks(
    docs: list[_Doc], query: _Query, query_vector: np.ndarray | None
) -> tuple[_Block | None, _Block | None]:
    """Score every block of every document (meaning, words, exact asks, rank prior, shape);
    the best one, and the best one of another document (the decision's margin)."""
    best: _Block | None = None
    runner_up: _Block | None = None
    for d_i, doc in enumerate(docs):
        if query_vector is not None:
            _answer_cosines(doc.blocks, query_vector, doc.units)
        for b in doc.blocks:
            b.doc = d_i
            text = " ".join(u.text for u in doc.units[b.start : b.end]).lower()
            found = set(terms(text)) & query.terms
            b.lexical = sum(query.idf.get(t, 1.0) for t in found) / query.weight
            exact = query.exact
            b.exact = (sum(1 for e in exact if e in text) / len(exact)) if exact else 0.0
            sem = b.cosine if b.cosine is not None else doc.hit.similarity
            prior = DOC_PRIOR[d_i] if d_i < len(DOC_PRIOR) else 0.0
            b.score = sem + LEXICAL_WEIGHT * b.lexical + EXACT_WEIGHT * b.exact + prior
            # a sentence right after a command is quoted with it (see `_window`)
            first = b.start - 1 if _explains_code(doc.units, b.start) else b.start
            b.score -= _shape_penalty(doc.units[first : b.end], query.code_asked)
            if best is None or b.score > best.score:
                if best is not None and best.doc != d_i:
                    runner_up = best
                best = b
            elif b.doc != best.doc and (runner_up is None or b.score > runner_up.score):
                runner_up = b
    return best, runner_up


def _related_units(doc: _Doc, best: _Block, unit_scores: list[float]) -> list[bool]:
    """Which units of the chosen document belong with the chosen block."""
    related = [False] * len(doc.units)
    for other in doc.blocks:  # a following block as close in meaning continues the quote
        close = other.cosine is not None and other.score >= best.score - RELATED_MARGIN
        if other.vector is not None and best.vector is not None:
            # …and so does one on the same topic as the chosen block (the rest of a
            # multi-paragraph answer says less of the question's words, but follows on)
            close = close or float(other.vector @ best.vector) >= TOPIC_COSINE
        for i in range(other.start, other.end):
            # without block vectors, sharing a question term is what relates a block
            # (blocks overlap: a whole answer block and its parts; any close one counts)
            related[i] = related[i] or close or (other.cosine is None and unit_scores[i] > 0)
    return related


def _documents(hits: Sequence[SearchHit], ranked: Sequence[SearchHit]) -> list[_Doc]:
    """The candidate text: for each of the first MAX_DOCS documents, each contiguous run of
    its chunks (hits and their neighbours) read as one text, the overlap that chunking
    repeats at a chunk's start dropped, and each chunk's blocks with their vectors."""
    order: list[str] = []
    best_hit: dict[str, SearchHit] = {}
    for h in ranked:
        if h.doc_id not in best_hit:
            if len(order) == MAX_DOCS:
                continue
            order.append(h.doc_id)
            best_hit[h.doc_id] = h
    docs: list[_Doc] = []
    for doc_id in order:
        chunks: dict[int, SearchHit] = {}
        for h in hits:
            if h.doc_id == doc_id:
                chunks.setdefault(h.ordinal, h)
        run: list[SearchHit] = []
        for ordinal in sorted(chunks):
            if run and ordinal != run[-1].ordinal + 1:
                docs.append(_merge(run, best_hit[doc_id]))
                run = []
            run.append(chunks[ordinal])
        if run:
            docs.append(_merge(run, best_hit[doc_id]))
    return docs


def _merge(run: list[SearchHit], cited: SearchHit) -> _Doc:
    ranked = [h for h in run if not h.neighbour]
    doc = _Doc(hit=ranked[0] if ranked else cited, units=[])
    para = 0
    heading = None
    for h in run:
        units = split_units(h.text)
        skip = 0
        if doc.units:
            tail = {_norm(u.text) for u in doc.units[-8:]}
            while skip < len(units) and _norm(units[skip].text) in tail:
                skip += 1  # the sentences chunking repeated from the previous chunk
        offset = len(doc.units) - skip
        if h.heading and h.heading != heading and doc.units:
            # another section starts: a window must not run on into it (never quoted)
            block = doc.units[-1].block + 1
            doc.units.append(Unit(h.heading, "heading", para, header=_BOUNDARY, block=block))
            doc.owners.append(h)
            doc.headings.append(h.heading)
            para += 1
            offset += 1
        heading = h.heading
        base = para
        last_block = doc.units[-1].block if doc.units else -1
        # a chunk that repeats the previous one's last sentences continues its block; so does
        # one that follows a chunk ending in code (chunking carries no overlap after code, so
        # the blank line that would start another answer is not there to read: the answer's
        # text under its command goes on, issue 19's perl quotes that stopped after a command)
        cont = units[skip - 1].block if skip else None
        if (
            CODE_BOUNDARY_JOIN
            and not skip
            and units
            and doc.units
            and doc.units[-1].kind == "code"
            and units[0].kind == "sentence"
        ):
            cont = units[0].block
        under = h.heading  # a heading line inside the chunk starts a merged sibling section
        for i, u in enumerate(units):
            if u.kind == "heading":
                under = sibling_heading(h.heading, u.text)
            if i < skip:
                continue
            block = last_block if u.block == cont else last_block + 1 + u.block
            doc.units.append(Unit(u.text, u.kind, base + u.para, u.header, block))
            doc.owners.append(h)
            doc.headings.append(under)
            para = max(para, base + u.para + 1)
        vectors = h.passage_vectors
        blocks = passages(units)
        usable = vectors is not None and len(vectors) == len(blocks)
        for b_i, p in enumerate(blocks):
            if p.end <= skip:
                continue
            doc.blocks.append(
                _Block(
                    start=max(p.start, skip) + offset,
                    end=p.end + offset,
                    vector=vectors[b_i] if usable and vectors is not None else None,
                )
            )
    return doc


def _answer_cosines(
    blocks: list[_Block], query_vector: np.ndarray, units: Sequence[Unit] = ()
) -> None:
    """Each block's cosine to the question; a part of a longer answer (a block inside a
    whole-block passage, see askdesk.retrieval.passages) is judged with its answer as a whole,
    by WHOLE_WEIGHT: a list item or a code line close to the question's words says less
    of whether its answer answers than the answer does (issue 19: the emacs tools list
    outscored the perl-mode answer it stood beside). Only an answer of at most WHOLE_MAX_WORDS
    words: a longer one's vector read only its first 200 words (askdesk.retrieval.passages), and
    blending it in cost the zsh FAQ 0.05 useful@0.5."""
    for b in blocks:
        if b.vector is not None:
            b.cosine = float(b.vector @ query_vector)
    if WHOLE_WEIGHT <= 0:
        return
    wholes = [
        w
        for w in blocks
        if w.cosine is not None
        and sum(1 for b in blocks if b is not w and w.start <= b.start and b.end <= w.end) > 1
        and sum(u.words for u in units[w.start : w.end]) <= WHOLE_MAX_WORDS
    ]
    for w in wholes:
        for b in blocks:
            if b is not w and b.cosine is not None and w.start <= b.start and b.end <= w.end:
                b.cosine = (1 - WHOLE_WEIGHT) * b.cosine + WHOLE_WEIGHT * w.cosine  # type: ignore[operator]


def sibling_heading(path: str, heading: str) -> str:
    """The heading path of a section whose heading line appears inside a chunk of `path`:
    chunking merges a tiny section only with its next sibling (askdesk.retrieval.chunking), so the
    new heading replaces the path's last part ("Keys > Listing keys" -> "Keys > Rotating")."""
    parts = path.split(" > ") if path else []
    return " > ".join([*parts[:-1], heading]) if parts else heading


def _shape_penalty(units: list[Unit], code_asked: bool) -> float:
    """What a block's cosine overstates: a code block (a command shares the question's nouns
    without explaining anything) when no code was asked for, and a pointer like "See below."
    whose few words match any question on its page."""
    if not units:
        return 0.0
    penalty = 0.0
    if not code_asked and any(u.kind == "code" for u in units):
        penalty += CODE_PENALTY
    prose = sum(u.words for u in units if u.kind not in ("code", "heading"))
    if prose < SHORT_BLOCK_WORDS and any(u.kind != "code" for u in units):
        penalty += SHORT_BLOCK_PENALTY
    return penalty


def _explains_code(units: list[Unit], start: int) -> bool:
    """A sentence right after a code block is quoted with it (see `_window`), when both are
    parts of one answer: a command that ends the previous blank-line block (the last line of
    another FAQ answer) explains nothing of the next one."""
    return (
        start > 0
        and units[start - 1].kind == "code"
        and units[start].kind == "sentence"
        and _same_answer(units[start - 1], units[start], units, start - 1)
    )


def _same_answer(
    prev: Unit, unit: Unit, units: list[Unit] | None = None, at: int | None = None
) -> bool:
    """`prev` may lead into `unit`: both in one blank-line block, or `prev` ends in a colon
    ("Run this:" over a fenced block), or `prev` (units[at]) is a command block that opens its
    heading's section: under "### Windows" the commands and the sentence after them are one
    answer, whereas a command ending another FAQ answer's block follows that answer's text."""
    if not SAME_BLOCK_BACK or prev.block == unit.block or prev.text.rstrip().endswith(":"):
        return True
    return units is not None and at is not None and _code_opens_section(units, at)


def _code_opens_section(units: list[Unit], at: int) -> bool:
    """units[at]'s blank-line block is code only and comes right under a heading. A block's
    units are contiguous: walk out from `at` rather than scan the page (this runs per window)."""
    block = units[at].block
    first = end = at
    while first > 0 and units[first - 1].block == block:
        first -= 1
    while end + 1 < len(units) and units[end + 1].block == block:
        end += 1
    return (
        first > 0
        and units[first - 1].kind == "heading"
        and all(u.kind == "code" for u in units[first : end + 1])
    )


def _rule(u: Unit) -> bool:
    """A Markdown table's |---|---| line: not a row to quote."""
    return not u.text.replace("|", "").replace("-", "").replace(":", "").strip()


def _agreement(ranked: Sequence[SearchHit]) -> float:
    """1 when the top document is among the first three of both retrievers, else 0."""
    top = ranked[0].doc_id
    vec = any(h.doc_id == top and (h.vector_rank or 99) <= 3 for h in ranked)
    txt = any(h.doc_id == top and (h.text_rank or 99) <= 3 for h in ranked)
    return 1.0 if vec and txt else 0.0


def _fit(u: Unit, room: int) -> Unit | None:
    """`u` cut to `room` words of budget, or None when too little of it would fit: prose
    up to the budget ending in "…", a code block's first lines with a "…" line before its
    closing fence. `u` itself when it fits."""
    if _cost(u) <= room:
        return u
    if u.kind == "code":
        lines = u.text.split("\n")
        keep = max(room // 4, 0)
        if keep < 3 or len(lines) < 3:
            return None
        body = lines[1:-1][:keep]
        return replace(u, text="\n".join([lines[0], *body, "…", lines[-1]]))
    if u.kind in ("sentence", "item") and room >= CUT_MIN_WORDS:
        return replace(u, text=" ".join(u.text.split()[:room]) + " …")
    return None


def _cost(u: Unit) -> int:
    """Words a unit adds to the answer's budget; a code line reads like a few words."""
    return 4 * (u.text.count("\n") - 1) if u.kind == "code" else u.words


def _needs_previous(unit: Unit, prev: Unit) -> bool:
    if prev.text.rstrip().endswith(":") and prev.kind != "code":
        return True
    if unit.kind in ("item", "code") and prev.kind in ("item", "code") and prev.para != unit.para:
        return False
    if unit.kind in ("item", "code") and prev.kind in ("item",):
        return True
    if WHOLE_BLOCK and unit.block != prev.block:
        return False  # "This option…" opens the next FAQ answer; it does not refer back
    return unit.kind == "sentence" and unit.text.lower().startswith(_CONNECTIVES)


def _render(units: list[Unit], n: int) -> str:
    """Quote the units in order, keeping paragraphs, list lines and code blocks apart."""
    if not units:
        return ""
    last_prose = max(
        (i for i, u in enumerate(units) if u.kind not in ("code", "heading")), default=None
    )
    out: list[str] = []
    prev: Unit | None = None
    for i, u in enumerate(units):
        text = _show(u)
        if i == last_prose:
            text = cite(text, n)
        if prev is None:
            out.append(text)
        elif u.kind == "sentence" and prev.kind == "sentence" and prev.para == u.para:
            out.append(" " + text)
        elif u.kind in ("item", "row") and prev.kind in ("item", "row"):
            out.append("\n" + text)
        else:
            out.append("\n\n" + text)
        prev = u
    if last_prose is None:
        out.append(f"\n\n{marker(n)}")
    return "".join(out)


def _show(u: Unit) -> str:
    if u.kind == "heading":
        return f"**{u.text}**"
    if u.kind == "row" and u.header:
        cells, head = row_cells(u.text), row_cells(u.header)
        if len(head) == len(cells) - 1:
            head = ["", *head]
        if len(head) == len(cells) and len(cells) > 1:
            pairs = " · ".join(f"{h} {c}".strip() for h, c in zip(head[1:], cells[1:], strict=True))
            return f"- {cells[0]}: {pairs}" if cells[0] else f"- {pairs}"
    return u.text


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _idf(per_hit: list[list[Unit]]) -> dict[str, float]:
    df: Counter[str] = Counter()
    n = 0
    for units in per_hit:
        for u in units:
            n += 1
            df.update(set(terms(u.text)))
    return {t: math.log(1 + n / c) for t, c in df.items()}
