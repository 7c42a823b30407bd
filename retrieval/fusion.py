"""The fusion settings of hybrid search, in a module light enough for the settings to import.

`askdesk.settings` takes its search defaults from `FusionConfig()` so each default lives in one
place; this module imports nothing heavy (no numpy, no LanceDB), so `askdesk --help` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["hybrid", "vector", "fts"]
MODES: tuple[str, ...] = ("hybrid", "vector", "fts")
Method = Literal["score", "rrf"]


@dataclass(frozen=True)
class FusionConfig:
    """How candidates from the two retrievers become one ranking.

    `method="score"` (the default): vector_weight × cosine similarity + passage_weight × the
    best cosine among the chunk's stored passages (its paragraphs, lists, code blocks and whole
    answers, embedded at index time; the chunk's own cosine when none are stored) +
    text_weight × BM25 ÷ the best BM25 of this query. The passage term lets a chunk whose one
    paragraph answers the question outrank one that is vaguely about it all along: MiniLM
    reads at most 256 word pieces of a ~220-word chunk. `method="rrf"`: weighted
    reciprocal-rank fusion with `rrf_k` (no passage term).
    `doc_weight` > 0 adds a page-level term: a chunk gains doc_weight × the fused score of the
    best *other* candidate chunk of its page (one chunk, so long pages with many weak matches
    gain no more than a page with one strong second match).
    Defaults chosen on the FAQ page sets (bench/faq_retrieval.py, BENCHMARKS.md); the settings
    (askdesk/settings.py) take their defaults from here.
    """

    mode: Mode = "hybrid"
    method: Method = "score"
    vector_weight: float = 1.0
    text_weight: float = 0.2
    rrf_k: int = 10
    candidates: int = 40
    doc_weight: float = 0.0
    passage_weight: float = 1.0
