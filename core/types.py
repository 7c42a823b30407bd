"""The answer core's vocabulary: what a question carries in and what an answer carries out.

Every front end (CLI, Slack, Discord, web playground, eval) speaks only these types, so the
core never learns about a platform and each adapter stays a thin translation layer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from askdesk.core.answerability import Decision
    from askdesk.retrieval.search import SearchHit, SearchResult

REPLACEMENT = "\ufffd"
# How much of a question is kept (stored, shown back, echoed); the rest is cut with a marker.
# The `max_stored_question_chars` setting; the search uses a shorter `max_question_chars`.
MAX_STORED_QUESTION_CHARS = 8192


def clean_text(text: str) -> str:
    """Text every later stage can encode: lone surrogates and NUL become U+FFFD.

    A lone surrogate arrives from JSON (`"\\ud800"` in a Slack event) or from undecodable
    bytes in argv (Python's surrogateescape); the tokenizer, SQLite and Slack's API all
    refuse it, so the question crashed and was lost. A valid pair is joined, as UTF-16 would.
    PostgreSQL refuses NUL in text columns.
    """
    if text.isascii() and "\0" not in text:
        return text
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text.replace("\0", REPLACEMENT)


def decode_text(raw: bytes) -> str:
    """Bytes from outside (stdin, argv) as text: invalid UTF-8 becomes U+FFFD, never an error."""
    return clean_text(raw.decode("utf-8", "replace"))


def clip_question(text: str, limit: int = MAX_STORED_QUESTION_CHARS) -> tuple[str, int | None]:
    """(the first `limit` characters, the full length) for a longer text; (text, None) else."""
    if len(text) <= limit:
        return text, None
    return text[:limit], len(text)


def clipped_marker(total: int) -> str:
    """Appended to a stored question that was cut, so the record says so."""
    return f" […cut: the question had {total:,} characters]"


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

    def __post_init__(self) -> None:
        # Cleaned here, where every platform's question is made, so none can crash on it.
        for name in ("text", "channel", "thread", "asker_id"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, clean_text(value))


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
class Composition:
    """What a composer returns (askdesk.core.ports.Composer): the draft with its sources, whether
    the docs answer the question (and why), and which composer wrote the text.

    A composer that falls back to another (a generator to the extractive quote) returns the
    fallback's composition with `composer` naming the one that wrote the text and `note`
    saying why the first did not: the asker sees one answer, the record sees both.
    """

    text: str
    sources: list[Source]
    answerable: bool = True
    decision: Decision | None = None
    hedged: bool = False  # answerable, but only just: the engine leads the text with a hedge
    composer: str = ""  # what produced `text`: a registry name, or "llm:<model>"
    note: str | None = None  # why a fallback happened; None when the first choice answered
    check: dict[str, Any] | None = None  # the claim check's summary for a generated draft


@dataclass
class AnswerTrace:
    """What an answer was made from: the search result and what the composer was given and
    returned. Kept on the `Answer` for evaluation and diagnostics, never serialised or sent
    to chat (it holds every retrieved chunk's text and vectors)."""

    query: str  # the text searched (a follow-up: its standalone form, askdesk.core.conversation)
    result: SearchResult
    passages: list[SearchHit] = field(default_factory=list)  # the composer's input
    composition: Composition | None = None  # None: not composed (off-topic, too far)

    @property
    def hits(self) -> list[SearchHit]:
        """The ranked hits of the search (what retrieval metrics and groundedness see)."""
        return self.result.hits


@dataclass
class Answer:
    text: str
    sources: list[Source]
    confidence: float
    unanswered: bool
    question: str = ""
    # answered, but the decision is unsure the docs cover it: `text` starts with the engine's
    # HEDGE_LINE (askdesk.core.answerability.HEDGE_BIAS_SHIFT sets the zone); never set with
    # unanswered
    hedged: bool = False
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
    composer: str | None = None  # what wrote the text ("extractive", "llm:<model>"; None: nothing)
    composer_note: str | None = None  # why it fell back ("fallback: timeout") or what was dropped
    check: dict[str, Any] | None = None  # the claim check's summary for a generated draft
    trace: AnswerTrace | None = field(default=None, repr=False, compare=False)
    style_pending: bool = False  # the draft goes out first; AnswerEngine.finish_style follows

    def as_dict(self) -> dict[str, Any]:
        """The answer as JSON-ready data (`ask --json`); the trace is left out."""
        d = asdict(replace(self, trace=None))
        d.pop("trace")
        d = {"answer": d.pop("text"), **d}
        d["sources"] = [asdict(s) for s in self.sources]
        return d
