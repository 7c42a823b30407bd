"""A frozen copy of the extractive composer as it was before issue 10 (core/compose.py at
ca02af2): the "today" column of bench/answer_quality.py. Not used by askdesk itself."""


from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from askdesk.core.text_units import Unit, row_cells, split_units, terms
from askdesk.core.types import Composition, Question, Source
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


@dataclass
class _Scored:
    unit: Unit
    score: float
    hit: int  # index into hits


class ComposerBefore:
    name = "before"
    version = "extractive-1"

    def __init__(
        self,
        *,
        max_words: int = 110,
        min_words: int = 30,
        max_sources: int = 2,
        url_template: str | None = None,
    ) -> None:
        self.max_words = max_words
        self.min_words = min_words
        self.max_sources = max_sources
        self.url_template = url_template

    def source_for(self, n: int, hit: SearchHit) -> Source:
        url = self.url_template.format(path=hit.doc_id) if self.url_template else None
        snippet = " ".join(hit.text.split())[:240]
        return Source(n, hit.doc_id, hit.title, hit.heading, round(hit.similarity, 4), url, snippet)

    def compose(self, question: Question, hits: Sequence[SearchHit], *_: object) -> Composition:
        """The engine's port (askdesk.core.ports.Composer): the draft as before, always answered."""
        text, sources = self.quote(question, hits)
        return Composition(text, sources, composer=self.name)

    def quote(self, question: Question, hits: Sequence[SearchHit]) -> tuple[str, list[Source]]:
        if not hits:
            return "", []
        q_terms = set(terms(question.text))
        per_hit = [split_units(h.text) for h in hits]
        idf = _idf(per_hit)
        q_weight = sum(idf.get(t, 1.0) for t in q_terms) or 1.0

        def score(u: Unit) -> float:
            if u.kind == "code":
                return 0.0
            found = set(terms(u.text)) & q_terms
            return sum(idf.get(t, 1.0) for t in found) / q_weight

        groups: list[tuple[int, list[Unit]]] = []
        primary = self._window(per_hit[0], [score(u) for u in per_hit[0]])
        groups.append((0, primary))
        covered = set().union(*(terms(u.text) for u in primary)) & q_terms
        used_words = sum(u.words for u in primary if u.kind != "code")

        if self.max_sources > 1 and used_words < self.max_words:
            extra = self._supporting(
                hits, per_hit, q_terms - covered, q_terms, idf, q_weight, primary
            )
            if extra is not None:
                groups.append(extra)

        sources: list[Source] = []
        number: dict[str, int] = {}
        parts: list[str] = []
        for hit_index, units in groups:
            doc = hits[hit_index].doc_id
            if doc not in number:
                number[doc] = len(number) + 1
                sources.append(self.source_for(number[doc], hits[hit_index]))
            parts.append(_render(units, number[doc]))
        return "\n\n".join(p for p in parts if p), sources

    def _window(self, units: list[Unit], scores: list[float]) -> list[Unit]:
        """The best-scoring unit with the context that makes it readable."""
        quotable = [i for i, u in enumerate(units) if u.kind != "heading"]
        if not quotable:
            return []
        anchor = max(quotable, key=lambda i: (scores[i] + (0.05 if i == quotable[0] else 0), -i))
        if units[anchor].kind == "row":
            return self._table_rows(units, scores, anchor)
        start = anchor
        while start > 0 and _needs_previous(units[start], units[start - 1]):
            start -= 1
        if start > 0 and units[start - 1].kind == "code" and units[start].kind == "sentence":
            start -= 1  # "The script installs…" explains the command just above it
        if start > 0 and units[start - 1].kind == "heading":
            start -= 1  # the sub-heading names what the quote is about
        picked = [units[start]]
        words = _cost(units[start])
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
            if u.kind in ("item", "code") and (in_list or units[i - 1].text.rstrip().endswith(":")):
                in_list = True
                limit = self.max_words * 1.6
            else:
                if u.kind == "sentence" and in_list:
                    in_list = False
                limit = self.max_words
                new_paragraph = u.para != units[i - 1].para
                if scores[i] <= 0 and i > anchor and (words >= self.min_words or new_paragraph):
                    break  # enough said, or an unrelated paragraph starts
            cost = _cost(u)
            if u.kind == "code" and u.text.count("\n") > 40:
                break
            if words + cost > limit:
                break
            picked.append(u)
            words += cost
            if u.text.rstrip().endswith(":"):
                in_list = True
        while picked and picked[-1].kind == "heading":
            picked.pop()  # a heading with nothing under it says nothing
        return picked

    def _table_rows(self, units: list[Unit], scores: list[float], anchor: int) -> list[Unit]:
        """A table answers with its best rows, each read against the header."""
        header = units[anchor].header or units[anchor].text
        same = [i for i, u in enumerate(units) if u.kind == "row" and u.header == header]
        if not same:
            return [units[anchor]]
        best = sorted((i for i in same if scores[i] > 0), key=lambda i: -scores[i])[:3]
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
        hits: Sequence[SearchHit],
        per_hit: list[list[Unit]],
        missing: set[str],
        q_terms: set[str],
        idf: dict[str, float],
        q_weight: float,
        primary: list[Unit],
    ) -> tuple[int, list[Unit]] | None:
        """One passage from another chunk that covers question terms the first one missed."""
        if not missing:
            return None
        seen = {_norm(u.text) for u in primary}
        best: _Scored | None = None
        for hi in range(1, min(len(hits), 4)):
            if hits[hi].similarity < hits[0].similarity - 0.15:
                continue
            for u in per_hit[hi]:
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
                if gain >= 0.3 and relevant and (best is None or gain > best.score):
                    best = _Scored(u, gain, hi)
        if best is None:
            return None
        return best.hit, [best.unit]


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
            text = _cite(text, n)
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
        out.append(f"\n\n[{n}]")
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


def _cite(text: str, n: int) -> str:
    return f"{text} [{n}]"


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
