"""Splitting chunk text into quotable units: sentences, list items and whole code blocks.

The extractive composer quotes units verbatim, so a unit must read well on its own and a
code block must never be cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Kind = Literal["sentence", "item", "code", "heading", "row"]

_FENCE = re.compile(r"^(```|~~~)")
_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_HEADING = re.compile(r"^#{1,6}\s+(\S.*)$")
_ABBREV = {
    "e.g",
    "i.e",
    "etc",
    "vs",
    "mr",
    "mrs",
    "dr",
    "no",
    "fig",
    "approx",
    "incl",
    "min",
    "max",
}
_SENT_END = re.compile(r"(?<=[.!?])[\"”')\]]*\s+(?=[\"“(\[]?[A-Z0-9`])")
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "else",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "into",
        "onto",
        "about",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "having",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "it",
        "its",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "not",
        "no",
        "yes",
        "so",
        "than",
        "too",
        "very",
        "just",
        "also",
        "any",
        "all",
        "some",
        "each",
        "more",
        "most",
        "other",
        "such",
        "only",
        "own",
        "same",
        "both",
        "few",
        "again",
        "further",
        "once",
        "up",
        "down",
        "out",
        "off",
        "over",
        "under",
        "s",
        "t",
        "don",
        "doesn",
        "didn",
        "isn",
        "aren",
        "wasn",
        "weren",
        "get",
        "got",
        "please",
        "need",
        "want",
        "use",
        "using",
        "way",
        "tell",
        "know",
        "let",
        "make",
        "thing",
    ]
)
_TOKEN = re.compile(r"[a-z0-9][a-z0-9_+#.-]*[a-z0-9+#]|[a-z0-9]")
_WORD = re.compile(r"[^\W_]+")  # alphanumeric runs, any script


@dataclass(frozen=True)
class Unit:
    text: str
    kind: Kind
    para: int  # paragraph index inside the chunk: keeps quoted sentences in their paragraphs
    header: str | None = None  # for a table row: the table's first row
    # blank-line separated block of the chunk text it stands in: an FAQ answer or a Markdown
    # paragraph with the list or code it runs into without a blank line; a heading starts one
    block: int = 0

    @property
    def words(self) -> int:
        return len(self.text.split())


def split_sentences(paragraph: str) -> list[str]:
    parts: list[str] = []
    buf: list[str] = []  # pieces of the sentence so far, joined once it ends (linear time)
    for piece in _SENT_END.split(paragraph.strip()):
        piece = piece.strip()
        if piece:
            buf.append(piece)
        last = buf[-1].rsplit(None, 1)[-1].rstrip(".").lower() if buf else ""
        if last in _ABBREV:
            continue  # "e.g. Foo" is not a sentence end
        parts.append(" ".join(buf))
        buf = []
    if buf:
        parts.append(" ".join(buf))
    return [p for p in parts if p]


def split_units(text: str) -> list[Unit]:
    units: list[Unit] = []
    para = 0
    block = 0
    lines = text.splitlines()
    i = 0
    prose: list[str] = []
    header = ""  # the current table's first row

    def flush() -> None:
        nonlocal para
        if prose:
            for s in split_sentences(" ".join(x.strip() for x in prose)):
                units.append(Unit(s, "sentence", para, block=block))
            prose.clear()
            para += 1

    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line.strip()):
            flush()
            fence = line.strip()[:3]
            code = [line]
            i += 1
            while i < len(lines):
                code.append(lines[i])
                if lines[i].strip().startswith(fence):
                    break
                i += 1
            if not code[-1].strip().startswith(fence) or len(code) == 1:
                code.append(fence)  # an unclosed fence (chunk edge) is closed for display
            units.append(Unit("\n".join(code), "code", para, block=block))
            para += 1
        elif not line.strip():
            flush()
            if units and units[-1].para == para:
                para += 1  # a blank line after a list or table ends its paragraph too
            if units and units[-1].block == block:
                block += 1
        elif _HEADING.match(line.strip()):
            flush()
            if units and units[-1].block == block:
                block += 1
            heading = _HEADING.match(line.strip()).group(1)  # type: ignore[union-attr]
            units.append(Unit(heading, "heading", para, block=block))
            para += 1
            block += 1
        elif _is_row(line) and (
            (i + 1 < len(lines) and _is_row(lines[i + 1])) or (units and units[-1].kind == "row")
        ):
            if not (units and units[-1].kind == "row" and not prose):
                flush()
                header = line.strip()
                units.append(Unit(header, "row", para, header=None, block=block))
            else:  # the table's header row, kept as we go (not searched for per row)
                units.append(Unit(line.strip(), "row", para, header=header, block=block))
        elif _ITEM.match(line):
            flush()
            units.append(Unit(line.strip(), "item", para, block=block))
        else:
            prose.append(line)
        i += 1
    flush()
    return units


def _is_row(line: str) -> bool:
    return " | " in line or line.strip().startswith("|")


def row_cells(row: str) -> list[str]:
    return (
        [c.strip() for c in row.strip().strip("|").split("|")]
        if row.strip().startswith("|")
        else [c.strip() for c in row.split(" | ")]
    )


def terms(text: str) -> list[str]:
    """Content words, lightly stemmed, for lexical matching between question and sentence."""
    out = []
    for tok in _TOKEN.findall(text.lower()):
        if tok in _STOP or len(tok) < 2:
            continue
        out.append(stem(tok))
    return out


def content_words(text: str) -> list[str]:
    """Content words as the answer measures define them: lowercased alphanumeric tokens with
    the stop words dropped, neither stemmed nor length-filtered.

    Unlike `terms`, nothing is folded: `useful@0.5` is a published measure (share of the
    reference's content words found in the answer), and crediting "rotated" for "rotating"
    would make it more lenient than its definition. The stop list is `terms`' own, so both
    agree on what a content word is.
    """
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """Crude suffix folding: enough to match "rotate", "rotating" and "rotated".

    Memoised: an answer stems ~3,500 words (mostly the same few hundred, from the candidates'
    sentences), ~1 ms of Python a question; the vocabulary of a docs set fits the cache."""
    if not word.isalpha():
        return word
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: len(word) - len(suffix)] + keep
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word
