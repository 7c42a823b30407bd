"""A follow-up read with its conversation: the question to search and compose for a turn.

"and on Windows?" after "How do I install the CLI?" means "How do I install the CLI on
Windows?"; searched alone it finds the supported-platforms list (the only place "Windows"
is near "tw"), and searched as the two questions glued together the composer still weighs
the blocks against three words of its own. So an *elliptical* follow-up — one that leans on
the previous turn (it starts with "and", "what about", names its subject with "it" or "one",
or has too few words of its own to stand) — is rewritten as one standalone question: the
previous question with the follow-up's own words put in (`fuse`). That text is what is
searched and what the composer scores blocks against (its terms, its wording for code); the
composer's query vector also leans away from the topic question (`composer_vector`), whose
own answer sits on the same page.

A follow-up that stands on its own ("How do I rotate an API key?" after the CLI question) is
searched as asked: gluing a new topic to the old one would pull the old page back.

Measured on bench/follow_ups.jsonl (bench/follow_up_context.py, BENCHMARKS.md "Follow-ups"):
second-turn hit@5 and useful@0.5 alone, glued to the last question, and fused as here.

Later follow-ups fuse with the same topic (the latest question that stood on its own), so
"and on Windows?" then "what about Docker?" asks about installing with Docker, not on Windows
with Docker. Pure text, no model and no I/O: cheap enough for every question, the same for
every surface.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from askdesk.core.text_units import terms
from askdesk.core.types import Turn

# A follow-up opening with one of these continues the previous question.
_LEAD = re.compile(
    r"^\s*(?:(?:and|but|or|so|also|then|plus|ok|okay)\b[\s,]*)*"
    r"(?:(?:what|how)\s+about\b|what\s+if\b|same\s+for\b)?[\s,]*",
    re.I,
)
_CONTINUES = re.compile(
    r"^\s*(?:and|but|or|also|plus|same|what\s+about|how\s+about|what\s+if)\b", re.I
)
# Words that point back at something the follow-up does not name (not "that" or "there":
# mostly a conjunction or "is there" in a question of its own).
_ANAPHORS = frozenset(
    [
        *("it", "its", "it's", "itself", "this", "those", "these"),
        *("they", "them", "their", "one", "ones", "he", "she"),
    ]
)
_QUESTION_OPENERS = frozenset(
    [
        *("how", "what", "when", "where", "which", "who", "why", "whom", "whose", "is", "are"),
        *("was", "were", "do", "does", "did", "can", "could", "should", "would", "will"),
        *("must", "may", "might", "has", "have", "had"),
    ]
)
# A fragment with fewer content words than this leans on the previous turn…
MIN_OWN_TERMS = 3
# …and so does a question with a pronoun for its subject, up to this many ("how long does
# the old one keep working?"); a longer question says what "it" is itself.
MAX_ANAPHORIC_TERMS = 6


# The composer's query vector for a fused follow-up: the standalone question's vector minus
# this much of the topic question's, then normalised. The page is the topic's; the part of
# it that answers is what the follow-up adds (swept 0-0.5 on bench/follow_ups.jsonl: 0.35
# is the largest that keeps the Windows walk right; see BENCHMARKS.md "Follow-ups").
ANCHOR_WEIGHT = 0.35


@dataclass(frozen=True)
class Contextual:
    """What a turn is searched and composed with. `anchor` is the topic question a fused
    follow-up was completed with (None: the text is searched as typed)."""

    text: str
    anchor: str | None = None

    @property
    def fused(self) -> bool:
        return self.anchor is not None


def composer_vector(standalone_vector: np.ndarray, anchor_vector: np.ndarray) -> np.ndarray:
    """Where to look on the page for a fused follow-up: away from what the topic question
    already asked (its answer is on the same page and would otherwise be quoted again)."""
    v = standalone_vector - ANCHOR_WEIGHT * anchor_vector
    norm = float(np.linalg.norm(v))
    return standalone_vector if norm == 0.0 else (v / norm).astype(standalone_vector.dtype)


def is_elliptical(text: str) -> bool:
    """Does the follow-up lean on the previous turn? It does when it opens with "and", "what
    about"…, when a pronoun stands for a subject it has few words to name otherwise, or when
    it is a fragment ("Windows?", "on the Business plan?"). A short question of its own
    ("How do I install the CLI?") stands."""
    if _CONTINUES.match(text):
        return True
    words = re.findall(r"[a-z']+", text.lower())
    own = terms(text)
    if any(w in _ANAPHORS for w in words) and len(own) <= MAX_ANAPHORIC_TERMS:
        return True
    fragment = not words or words[0] not in _QUESTION_OPENERS
    return fragment and len(own) < MIN_OWN_TERMS


def fuse(previous: str, follow_up: str) -> str:
    """One standalone question from the previous (standalone) question and an elliptical
    follow-up: a fragment ("and on Windows?") goes into the previous question ("How do I
    install the CLI on Windows?"); a question of its own ("how long does it take?") comes
    first, with the previous question after it for what "it" stands for."""
    prev = previous.strip().rstrip("?!. ")
    rest = _LEAD.sub("", follow_up.strip(), count=1).strip()
    if not rest:
        return previous.strip()
    first = re.match(r"[A-Za-z']+", rest)
    if first and first.group(0).lower() in _QUESTION_OPENERS:
        return f"{rest.rstrip('?!. ')}? {prev}?"
    return f"{prev} {rest.rstrip('?!. ')}?"


def standalone(text: str, history: Sequence[Turn]) -> Contextual:
    """The question to search and compose for `text` after the conversation's `history`
    (oldest first). An elliptical follow-up is fused with the conversation's topic: the
    latest question that stood on its own. Follow-ups are siblings more often than a chain
    ("and on Windows?", then "what about Docker?": Docker instead of Windows, not as well)."""
    if not history or not is_elliptical(text):
        return Contextual(text)
    anchor = next(
        (t.question for t in reversed(history) if not is_elliptical(t.question)),
        history[0].question,
    )
    return Contextual(fuse(anchor, text), anchor=anchor)
