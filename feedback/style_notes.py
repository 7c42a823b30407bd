"""The style-note vocabulary: why a styled answer kept its draft, as stored in
`Interaction.style_note` and grouped by the dashboard's Tone tab.

A note is one kind, alone ("timeout") or followed by its detail ("guard: missing '24h'").
This enum is the one list of kinds: `askdesk.core.engine` writes its notes with it, the reports in
`askdesk.feedback.analytics` read notes with `StyleNote.of`, and `tests/test_style_notes.py` checks
that every note the style model (`styling`, which may not import this layer) writes is one
of these kinds.
"""

from __future__ import annotations

from enum import StrEnum


class KeptGroup(StrEnum):
    """How the Tone tab groups the reasons a draft was kept (in the tab's order)."""

    GUARD = "guard"
    TIMEOUT = "timeout"
    LOOP = "loop"
    ERROR = "error"
    PASSED = "passed"
    OTHER = "other"
    PENDING = "pending"


class StyleNote(StrEnum):
    """The kinds of style note, each the note's first words."""

    GUARD = "guard"  # the fact guard refused the rewrite: "guard: <why>"
    PLACEHOLDERS = "placeholders"  # facts could not be protected: "placeholders: <why>"
    TIMEOUT = "timeout"  # out of decoding time
    REPETITION = "repetition"  # the decoder started repeating itself
    MODEL_ERROR = "model error"  # the style model raised: "model error: <type>"
    STYLE_FAILED = "style model failed"  # the engine's hook raised: "…: <type>"
    PASSED_THROUGH = "passed through"  # a draft the voice was not trained on: "…: <why>"
    PENDING = "pending"  # the draft is posted, its styled edit on the way
    KEPT_AS_DRAFTED = "kept as drafted"  # a sentence out of retry time: "…: <why>"
    REWRITTEN = "rewritten"  # not a reason to keep the draft: the styled answer's note

    def with_detail(self, detail: str) -> str:
        """The note "<kind>: <detail>"."""
        return f"{self.value}: {detail}"

    @classmethod
    def of(cls, note: str | None) -> StyleNote | None:
        """The kind of a stored note, None for a note of no known kind (or no note)."""
        if not note:
            return None
        for kind in cls:
            if note == kind.value or note.startswith(f"{kind.value}:"):
                return kind
        return None

    @property
    def group(self) -> KeptGroup:
        return _GROUPS[self]


_GROUPS = {
    StyleNote.GUARD: KeptGroup.GUARD,
    StyleNote.PLACEHOLDERS: KeptGroup.GUARD,
    StyleNote.TIMEOUT: KeptGroup.TIMEOUT,
    StyleNote.REPETITION: KeptGroup.LOOP,
    StyleNote.MODEL_ERROR: KeptGroup.ERROR,
    StyleNote.STYLE_FAILED: KeptGroup.ERROR,
    StyleNote.PASSED_THROUGH: KeptGroup.PASSED,
    StyleNote.PENDING: KeptGroup.PENDING,
    StyleNote.KEPT_AS_DRAFTED: KeptGroup.OTHER,
    StyleNote.REWRITTEN: KeptGroup.OTHER,
}


def kept_group(note: str | None) -> KeptGroup:
    """The Tone tab's group of the note of an answer that kept its draft."""
    kind = StyleNote.of(note)
    return KeptGroup.OTHER if kind is None else kind.group
