"""Why an answer got 👎: the one vocabulary of vote reasons, with the words people see.

The store validates against it, both chat bots show its labels as the "what was wrong?"
choices, the CLI parses it (with short aliases), the dashboard and the demo use its codes.
It lives here, in the lowest layer that needs it, so every layer above imports the same list
and a new reason is added in one place.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """A 👎 reason; the value is the code stored with the vote. Order = the order shown."""

    WRONG_FACTS = "wrong_facts"
    NOT_IN_DOCS = "not_in_docs"
    TONE_FORMAT = "tone_format"
    OTHER = "other"

    @property
    def label(self) -> str:
        """What a person reads on the button or in the dashboard."""
        return LABELS[self]

    @property
    def short(self) -> str:
        """A compact label for charts and tables ("wrong facts")."""
        return SHORT[self]


LABELS: dict[Reason, str] = {
    Reason.WRONG_FACTS: "Wrong or outdated facts",
    Reason.NOT_IN_DOCS: "Not in the docs",
    Reason.TONE_FORMAT: "Tone or format",
    Reason.OTHER: "Other",
}
SHORT: dict[Reason, str] = {
    Reason.WRONG_FACTS: "wrong facts",
    Reason.NOT_IN_DOCS: "not in docs",
    Reason.TONE_FORMAT: "tone / format",
    Reason.OTHER: "other",
}
ALIASES: dict[str, Reason] = {
    "facts": Reason.WRONG_FACTS,
    "missing": Reason.NOT_IN_DOCS,
    "tone": Reason.TONE_FORMAT,
}
"""Short words the CLI accepts besides the codes (`askdesk vote 12 down --reason facts`)."""

CODES: tuple[str, ...] = tuple(r.value for r in Reason)
"""Every reason code, in display order (what the store accepts)."""

FACT_REASONS: tuple[Reason, ...] = (Reason.WRONG_FACTS, Reason.NOT_IN_DOCS)
"""The reasons that say the docs (not the voice) are at fault: they count toward reindexing."""


def parse_reason(text: str | None) -> Reason | None:
    """The reason a code or alias names (any case), or None for anything else."""
    if not text:
        return None
    key = text.strip().lower()
    if key in ALIASES:
        return ALIASES[key]
    try:
        return Reason(key)
    except ValueError:
        return None
