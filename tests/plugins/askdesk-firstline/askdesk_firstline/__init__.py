"""A third-party composer: the first sentence of the best passage, cited as [1].

Declines (through the extractive composer it is given) when the search found nothing or the
extractive composer judges the docs do not answer: the decision stays askdesk's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from askdesk.plugins import Composer, Composition, Question, SearchHit, cite, source_for

SENTENCE = re.compile(r"(?<=[.!?])\s+")


class FirstLine:
    name = "firstline"
    version = "firstline-0.1"

    def __init__(self, fallback: Composer, url_template: str | None) -> None:
        self.fallback = fallback
        self.url_template = url_template

    def compose(
        self,
        question: Question,
        hits: Sequence[SearchHit],
        query_vector=None,
        unmatched_terms: Sequence[str] | None = None,
    ) -> Composition:
        base = self.fallback.compose(question, hits, query_vector, unmatched_terms)
        top = [h for h in hits if not h.neighbour]
        if not base.answerable or not top:
            return replace(base, note="firstline: the docs do not answer; the quote declines")
        hit = top[0]
        lines = [ln for ln in hit.text.splitlines() if ln.strip() and not ln.startswith("#")]
        first = SENTENCE.split(" ".join(lines).strip())[0]
        return replace(
            base,
            text=cite(first, 1),
            sources=[source_for(1, hit, self.url_template)],
            composer=self.name,
            note=None,
        )


def build(settings, fallback: Composer) -> Composer:
    return FirstLine(fallback, settings.docs_url_template)
