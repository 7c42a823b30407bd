"""Drafts the style model should not touch, decided before any generation.

The voice was learned from English drafts of 30–130 words with at most 30 facts (the bundled
examples); a draft far outside that is where a 135M model loops, drops a fact or runs out of
time. Such a draft is passed through unchanged with a one-line reason in milliseconds, instead
of spending the whole time budget to fall back anyway. Only prose is restyled: a draft that is
all code or table has nothing for the voice to change, and a Markdown table would be
re-flowed into prose by a model that never saw one.
"""

from __future__ import annotations

import re

from askdesk.styling.guards.placeholders import PLACEHOLDER

#: Twice the longest draft in the bundled examples (128 words).
MAX_WORDS = 250
#: More facts than any training draft had (30): each must be copied exactly once.
MAX_FACTS = 32
MIN_PROSE_WORDS = 3

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$", re.M)
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$", re.M)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
#: Frequent English function words; a prose draft of 20+ words without them is not English.
_ENGLISH = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "is",
        "are",
        "be",
        "it",
        "you",
        "your",
        "this",
        "that",
        "if",
        "can",
        "by",
        "from",
        "as",
        "at",
        "not",
        "no",
        "do",
        "does",
        "will",
        "was",
        "has",
        "have",
        "after",
        "before",
        "when",
        "then",
        "more",
        "than",
    ]
)


def passthrough_reason(draft: str, facts: int = 0) -> str | None:
    """Why `draft` should be posted as written, or None when the model may restyle it.
    `facts` is how many distinct placeholders protecting it made."""
    if _TABLE_RULE.search(draft) and _TABLE_ROW.search(draft):
        return "passed through: a Markdown table (kept as written)"
    prose = _FENCE.sub(" ", draft)
    words = _WORD.findall(PLACEHOLDER.sub(" ", prose))
    if len(words) < MIN_PROSE_WORDS:
        return "passed through: no prose to restyle (code or facts only)"
    total = len(draft.split())
    if total > MAX_WORDS:
        return f"passed through: too long to restyle ({total} words, at most {MAX_WORDS})"
    if facts > MAX_FACTS:
        return f"passed through: too many facts to restyle safely ({facts}, at most {MAX_FACTS})"
    if not _english(words):
        return "passed through: not English (the voice was trained on English drafts)"
    return None


def _english(words: list[str]) -> bool:
    letters = "".join(words)
    if letters and sum(c.isascii() for c in letters) / len(letters) < 0.9:
        return False
    common = sum(w.lower() in _ENGLISH for w in words)
    if len(words) < 20:  # too short for a share: but 8 words without one are not English
        return common > 0 or len(words) < 8
    return common / len(words) >= 0.08
