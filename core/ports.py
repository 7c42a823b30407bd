"""The answer engine's ports: everything `AnswerEngine` uses of the objects it is given.

Each port is a Protocol, complete for what the engine calls, so an implementation is any
object with these methods and attributes: the engine never probes with `getattr` nor reaches
through one object into another's (no `searcher.index.table`). The built-ins are
`askdesk.retrieval.search.Searcher` (Retriever), `askdesk.core.compose.ExtractiveComposer`
(Composer), `askdesk.styling.generation.rewrite.StyleRewriter` (Rewriter),
`askdesk.styling.tone.scorer.BoundToneScorer` (Tone) and
`askdesk.feedback.interactions.Interactions` (Recorder); `askdesk.wiring` chooses them from
settings, and third-party composers and tone scorers plug in through entry points
(`askdesk.plugins`; ARCHITECTURE.md, "The ports" and "Extending askdesk").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from askdesk.core.types import Composition, Question
from askdesk.feedback.records import InteractionRecord, StyleOutcome
from askdesk.retrieval.search import SearchHit, SearchResult

__all__ = [
    "Composer",
    "Composition",
    "NoRewrite",
    "Recorder",
    "Retriever",
    "Rewriter",
    "Tone",
]


class Retriever(Protocol):
    """Finds the chunks that may answer a question."""

    def search(
        self, query: str, k: int = 5, *, path_prefixes: Sequence[str] | None = None
    ) -> SearchResult:
        """The k best chunks, best first, with the query's vector and the question terms
        found nowhere (`SearchResult.query_vector`, `.unmatched_terms`; either may be None)."""
        ...

    def context(self, hits: Sequence[SearchHit]) -> list[SearchHit]:
        """The hits plus what an answer may need around them (neighbouring chunks marked
        `neighbour=True`, passage vectors); the hits unchanged when there is nothing to add.
        Must not raise: a failed lookup costs the extras, not the answer."""
        ...

    def versions(self) -> dict[str, Any]:
        """What produced the hits, recorded with every answer: `index_version`,
        `embed_model`, `fusion` (None where unknown)."""
        ...

    def warm_up(self) -> None:
        """Open the index and load the models now, so the first answer's timings are honest."""
        ...


class Composer(Protocol):
    """Turns the question and the retrieved chunks into a draft that cites its sources as
    [n], numbered as `askdesk.core.citations` numbers them, and says whether the docs answer.

    `question` is the whole question: its thread history (`question.history`) included.
    `hits` are the top hits with their context (neighbours have `neighbour=True`).
    `query_vector` and `unmatched_terms` come from the search and may be None.
    """

    name: str  # the registry name (`answer_backend`), e.g. "extractive"
    version: str  # recorded with every answer

    def compose(
        self,
        question: Question,
        hits: Sequence[SearchHit],
        query_vector: np.ndarray | None = None,
        unmatched_terms: Sequence[str] | None = None,
    ) -> Composition: ...


class Rewriter(Protocol):
    """Rewrites a grounded draft in the team's voice; returns None to keep the draft.

    The second value is a short note on why the rewrite was or was not used (recorded with
    the interaction). Implementations must never add facts; the core keeps the draft when
    anything goes wrong.
    """

    version: str | None  # None: no rewriting happens

    def load(self) -> object:
        """Load the model now (a rewriter may load lazily on first use; a no-op if not)."""
        ...

    def rewrite(self, draft: str, question: Question) -> tuple[str | None, str | None]: ...


class Tone(Protocol):
    """Scores how close an answer is to the team's voice, in [0, 1] (0.5: undecided).

    Recorded with every answer so the dashboard can track the voice over time. Scoring one
    text must be cheap (one sentence embedding + a linear model); the core survives errors.
    """

    version: str | None  # recorded with every answer

    def score(self, text: str) -> float: ...


class Recorder(Protocol):
    """Stores an answered question; returns the interaction id."""

    def record(self, record: InteractionRecord) -> int: ...

    def record_style(self, interaction_id: int, outcome: StyleOutcome) -> None:
        """The outcome of a rewrite that finished after the draft was posted (the styled text
        or why the draft stands), stored on the interaction `record` made."""
        ...


class NoRewrite:
    """The default: answers are the grounded draft, untouched."""

    version: str | None = None

    def load(self) -> None:
        return None

    def rewrite(self, draft: str, question: Question) -> tuple[str | None, str | None]:
        return None, None
