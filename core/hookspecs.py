"""The answer core's extension points, in one place.

Each is a small Protocol: an implementation is any object with the method, so the style
model (issue: style model), a reranker or a different composer can be plugged in without
the core importing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from core.types import Question, Source
from retrieval.search import SearchHit


class Composer(Protocol):
    """Turns retrieved chunks into a grounded draft that cites its sources."""

    version: str

    def compose(
        self, question: Question, hits: Sequence[SearchHit]
    ) -> tuple[str, list[Source]]: ...

    def source_for(self, n: int, hit: SearchHit) -> Source:
        """How a hit is shown as source [n] (also for the closest pages of a non-answer)."""
        ...


class Rewriter(Protocol):
    """Rewrites a grounded draft in the team's voice; returns None to keep the draft.

    The second value is a short note on why the rewrite was or was not used (recorded with
    the interaction). Implementations must never add facts; the core keeps the draft when
    anything goes wrong.
    """

    version: str | None

    def rewrite(self, draft: str, question: Question) -> tuple[str | None, str | None]: ...


class Tone(Protocol):
    """Scores how close an answer is to the team's voice, in [0, 1] (0.5: undecided).

    Recorded with every answer so the dashboard can track the voice over time. Scoring one
    text must be cheap (one sentence embedding + a linear model); the core survives errors.
    """

    def score(self, text: str) -> float: ...


class Recorder(Protocol):
    """Stores an answered question; returns the interaction id."""

    def record_interaction(self, **fields: Any) -> int: ...


class NoRewrite:
    """The default: answers are the grounded draft, untouched."""

    version: str | None = None

    def rewrite(self, draft: str, question: Question) -> tuple[str | None, str | None]:
        return None, None
