"""The counted history the reindex/retrain rules read: plain data, no I/O.

It lives here, below `askdesk.dashboard.decision`, because `askdesk.feedback.analytics` fills it
from SQL and imports only run downward; the rules themselves stay pure functions in the dashboard
layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class History:
    """What the rules look at: counts over the recent window (and the one before it).

    `facts_down` and `tone_down` count answers (not votes) with at least one 👎 of that kind;
    the `*_ids` lists are the interactions behind each count, shown as evidence.
    `docs_changed` is None when the docs folder could not be compared with the index.
    `tone_mean`/`tone_n` cover only the answers where the voice was wanted (`style_wanted`:
    rewritten, or fallen back to the draft — `style_fallbacks` of them): a plain draft is not
    meant to sound like the brand, so its tone says nothing about the style model.
    """

    answers: int = 0
    facts_down: int = 0
    tone_down: int = 0
    unanswered: int = 0
    prev_answers: int = 0
    prev_unanswered: int = 0
    tone_mean: float | None = None
    tone_n: int = 0
    docs_changed: int | None = None
    eval_latest: dict[str, Any] | None = None
    eval_previous: dict[str, Any] | None = None
    new_examples: int = 0
    style_wanted: int = 0
    style_fallbacks: int = 0
    demo_votes: int = 0
    facts_down_ids: list[int] = field(default_factory=list)
    tone_down_ids: list[int] = field(default_factory=list)
    unanswered_ids: list[int] = field(default_factory=list)
    low_tone_ids: list[int] = field(default_factory=list)
    new_example_ids: list[int] = field(default_factory=list)
    style_fallback_ids: list[int] = field(default_factory=list)
