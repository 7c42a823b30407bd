"""Citations in one place: how an answer cites a source (`[n]`), how sources are numbered, and
how a retrieved chunk is shown as a source (title, heading, link from the docs URL template).

Every composer numbers and shows its sources through this module, and so does the engine's
list of closest pages when it declines, so a source looks the same whoever cited it and a
citation checker can rely on one marker syntax.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from askdesk.core.types import Source

if TYPE_CHECKING:  # the settings import this module: it must stay light
    from askdesk.retrieval.search import SearchHit

URL_PLACEHOLDER = "{path}"
"""What the `docs_url_template` setting must contain: replaced by the document's path."""
SNIPPET_CHARS = 240  # a source's snippet: the start of its chunk, whitespace folded
CLOSEST_PAGES = 3  # pages listed when the engine declines
CITATION = re.compile(r"\[(\d{1,3})\]")
"""A citation marker in answer text: `[1]`, `[12]`."""


def marker(n: int) -> str:
    """The marker that cites source n."""
    return f"[{n}]"


def cite(text: str, n: int) -> str:
    """`text` ending with a citation of source n."""
    return f"{text} {marker(n)}"


def cited_numbers(text: str) -> list[int]:
    """The source numbers `text` cites, in order, with repeats."""
    return [int(n) for n in CITATION.findall(text)]


def strip_citations(text: str) -> str:
    """`text` without its citation markers (each replaced by a space)."""
    return CITATION.sub(" ", text)


def doc_url(path: str, url_template: str | None) -> str | None:
    """The document's link from the docs URL template (`https://docs.example.com/{path}`)."""
    return url_template.replace(URL_PLACEHOLDER, path) if url_template else None


def source_for(n: int, hit: SearchHit, url_template: str | None = None) -> Source:
    """How a hit is shown as source [n]: its document, title, heading, similarity, link and
    the start of its text. The link is the page's own URL when its source gave one (a site's
    page, a repository file at its commit), else the docs URL template's."""
    snippet = " ".join(hit.text.split())[:SNIPPET_CHARS]
    return Source(
        n,
        hit.doc_id,
        hit.title,
        hit.heading,
        round(hit.similarity, 4),
        hit.url or doc_url(hit.doc_id, url_template),
        snippet,
    )


class Numbering:
    """Numbers documents [1], [2]… in the order an answer first cites them; a document cited
    twice keeps its number. `sources` lists each once, in number order."""

    def __init__(self, url_template: str | None = None) -> None:
        self.url_template = url_template
        self.sources: list[Source] = []
        self._number: dict[str, int] = {}

    def number(self, hit: SearchHit) -> int:
        """The number of the hit's document (given the next free one on its first citation)."""
        n = self._number.get(hit.doc_id)
        if n is None:
            n = self._number[hit.doc_id] = len(self._number) + 1
            self.sources.append(source_for(n, hit, self.url_template))
        return n


def closest_pages(
    hits: Iterable[SearchHit], url_template: str | None = None, limit: int = CLOSEST_PAGES
) -> list[Source]:
    """The first `limit` distinct documents of the hits, numbered in rank order: what a
    declined question is shown instead of an answer."""
    numbering = Numbering(url_template)
    for hit in hits:
        if len(numbering.sources) == limit:
            break
        numbering.number(hit)
    return numbering.sources
