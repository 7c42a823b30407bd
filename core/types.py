"""The answer core's vocabulary: what a question carries in and what an answer carries out.

Every front end (CLI, Slack, Discord, web playground, eval) speaks only these types, so the
core never learns about a platform and each adapter stays a thin translation layer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Turn:
    """An earlier exchange in the same thread, for follow-up questions."""

    question: str
    answer: str


@dataclass(frozen=True)
class Question:
    text: str
    platform: str = "cli"
    channel: str | None = None
    thread: str | None = None
    asker_id: str | None = None  # raw platform id: hashed before storage, never logged
    path_prefixes: tuple[str, ...] = ()  # restrict retrieval (per-channel scoping)
    history: tuple[Turn, ...] = ()
    style: bool | None = None  # None: the engine's default


@dataclass(frozen=True)
class Source:
    """A cited document, numbered as the answer text cites it: [n]."""

    n: int
    path: str
    title: str
    heading: str
    score: float
    url: str | None = None
    snippet: str = ""

    @property
    def label(self) -> str:
        where = f"{self.path} › {self.heading}" if self.heading else self.path
        return f"{self.title} — {where}" if self.title else where


@dataclass
class Answer:
    text: str
    sources: list[Source]
    confidence: float
    unanswered: bool
    question: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    retrieved: list[str] = field(default_factory=list)  # doc ids in rank order (for eval)
    notice: str | None = None  # e.g. "question truncated"; shown before the answer
    draft: str | None = None  # the grounded text before any style rewrite
    style_used: bool = False
    style_note: str | None = None
    tone_score: float | None = None  # closeness to the team's voice, 0..1 (None: not scored)
    interaction_id: int | None = None
    error: str | None = None  # set when answering failed and `text` is an apology
    decision: dict[str, Any] | None = None  # whether the docs answer, and why (see answerability)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d = {"answer": d.pop("text"), **d}
        d["sources"] = [asdict(s) for s in self.sources]
        return d
