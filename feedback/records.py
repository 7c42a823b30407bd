"""What callers hand the store's repositories: typed, immutable records.

A record replaces a long keyword list (an interaction has 25 fields, an index run 20): a
misspelt field fails where the record is built, and the repository's signature stays short.
The repositories turn records into rows (truncating, copying, defaulting times); the
records themselves carry only what the caller knows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, kw_only=True)
class InteractionRecord:
    """One answered (or failed) question; `asker_hash` must already be hashed.
    `simulated` marks a made-up row (the demo's history), never a real user's question."""

    platform: str
    question: str
    answer: str
    channel: str | None = None
    thread: str | None = None
    asker_hash: str | None = None
    sources: Sequence[Mapping[str, Any]] = ()
    confidence: float = 0.0
    unanswered: bool = False
    latency_ms: float = 0.0
    timings: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, Any] = field(default_factory=dict)
    style_model_version: str | None = None
    style_used: bool = False
    style_note: str | None = None
    tone_score: float | None = None
    escalated: bool = False
    error: str | None = None
    created_at: datetime | None = None
    draft: str | None = None
    composer: str | None = None
    composer_note: str | None = None
    shown: str | None = None
    simulated: bool = False
    hedged: bool = False


@dataclass(frozen=True, kw_only=True)
class StyleOutcome:
    """The rewrite's outcome for an answer recorded with its draft first: with `styled`,
    the answer becomes the styled text; without, the draft stands and `note` says why."""

    styled: str | None
    note: str | None
    style_model_version: str | None = None
    tone_score: float | None = None
    style_ms: float | None = None


@dataclass(frozen=True, kw_only=True)
class IndexRunRecord:
    """A finished ingestion pass (its report); times default to "just finished, took
    `duration_s`". Completing a started run ignores `started_at` (the row has the real one)."""

    docs_root: str
    status: str
    embed_model: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    docs_added: int = 0
    docs_changed: int = 0
    docs_removed: int = 0
    docs_unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    chunks_embedded: int = 0
    skipped: Sequence[Mapping[str, Any]] = ()
    duration_s: float = 0.0
    table_version: int | None = None
    error: str | None = None
    source: str | None = None
    revision: str | None = None
    simulated: bool = False
