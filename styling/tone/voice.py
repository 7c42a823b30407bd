"""The Tidewire support voice as checkable rules (askdesk/sample/style/README.md explains it).

A fine-tuned model is only useful if it adopts the voice; these checks measure that on any
output (the bundled examples, or a model's rewrites in an evaluation) without a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPENER = "Hey there! 👋"
CAUTION_OPENER = "Hey there."
SIGN_OFFS = ("Happy relaying! 🌊", "Happy scheduling! 🌊", "Happy building! 🌊")
CAUTION_SIGN_OFF = "We're here if you need us."
MAX_SENTENCE_WORDS = 18
#: Emoji that make a warning sound light-hearted; a cautionary answer has none.
CHEERFUL = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S)
_CITATION = re.compile(r"\s*\[\d{1,3}\]")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?]\*\*))\s+(?=[\"“(\[*`]?[A-Z0-9`*])")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "approx.")


@dataclass(frozen=True)
class VoiceCheck:
    """How one output measures against the voice."""

    opener: bool
    sign_off: bool
    caution_opener: bool
    caution_sign_off: bool
    cheerful_emoji: bool
    sentence_words: tuple[int, ...]

    @property
    def longest_sentence(self) -> int:
        return max(self.sentence_words, default=0)


def sentences(text: str) -> list[str]:
    """Prose sentences and list items, without code blocks, citation markers or layout."""
    prose = _FENCE.sub("\n", text)
    out: list[str] = []
    for line in prose.split("\n"):
        line = _CITATION.sub("", _LIST_ITEM.sub("", line)).strip()
        if not line:
            continue
        parts = _SENTENCE_END.split(line)
        buf = ""
        for part in parts:
            buf = f"{buf} {part}".strip()
            if buf.endswith(_ABBREVIATIONS):
                continue
            out.append(buf)
            buf = ""
        if buf:
            out.append(buf)
    return out


def sentence_lengths(text: str) -> list[int]:
    return [len(s.split()) for s in sentences(text)]


def check_voice(output: str) -> VoiceCheck:
    lines = [ln.strip() for ln in output.strip().split("\n")]
    first, last = (lines[0], lines[-1]) if lines else ("", "")
    return VoiceCheck(
        opener=first == OPENER,
        sign_off=last in SIGN_OFFS,
        caution_opener=first == CAUTION_OPENER,
        caution_sign_off=last == CAUTION_SIGN_OFF,
        cheerful_emoji=bool(CHEERFUL.search(output)),
        sentence_words=tuple(sentence_lengths(_body(output))),
    )


def _body(output: str) -> str:
    """The answer without its greeting and sign-off lines."""
    lines = output.strip().split("\n")
    if lines and lines[0].strip() in (OPENER, CAUTION_OPENER):
        lines = lines[1:]
    if lines and lines[-1].strip() in (*SIGN_OFFS, CAUTION_SIGN_OFF):
        lines = lines[:-1]
    return "\n".join(lines)
