"""A draft cut into the units the style model rewrites one at a time, and the blocks it never
touches.

Rewriting a whole answer in one generation makes its time grow with its length and lets one
bad sentence (a dropped fact, a loop) throw away the whole rewrite. In units, a unit that
fails keeps its drafted words and the others are still styled, and code blocks, lists and
tables, which the voice has nothing to add to and a 135M model tends to garble, are passed
through as written without spending a single model pass on them.

A unit is a run of prose paragraphs of at most `MAX_UNIT_WORDS` words (a paragraph longer
than that is cut between sentences): about the size of the shorter drafts the voice was
trained on, so each unit looks like a training input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Words per unit: the voice's training drafts are 30-130 words; units stay in that range.
MAX_UNIT_WORDS = 90

_FENCE_OPEN = re.compile(r"^[ \t]*(`{3,}|~{3,})")
#: A Markdown list item's marker; shared by the modules that cut or pass lists through.
LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_CITATIONS_LEAD = re.compile(r"(?:\[\d{1,3}\]\s*)+")
_TRAILING_CITATIONS = re.compile(r"(?:[ \t]*\[\d{1,3}\])+[ \t]*\Z")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
#: Where one sentence ends and the next starts (placeholders and code may start one).
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“(\[*`<]?[A-Z0-9`*<])")


@dataclass(frozen=True)
class Block:
    """A piece of the draft, in order: `prose` is rewritten, anything else passed through."""

    text: str
    kind: str  # "prose" | "code" | "list" | "table" | "lead" (a line leading into a list)

    @property
    def prose(self) -> bool:
        return self.kind == "prose"


def blocks(draft: str) -> list[Block]:
    """The draft as paragraphs, code blocks, lists and tables, in order (blank lines and
    fences decide; a list or table is a run of its own lines)."""
    out: list[Block] = []
    lines = draft.strip("\n").split("\n")
    i = 0
    para: list[str] = []

    def flush() -> None:
        if para:
            out.extend(_split_kinds(para))
            para.clear()

    while i < len(lines):
        line = lines[i]
        fence = _FENCE_OPEN.match(line)
        if fence:
            flush()
            mark, j = fence.group(1), i + 1
            while j < len(lines) and not lines[j].strip().startswith(mark):
                j += 1
            out.append(Block("\n".join(lines[i : j + 1]), "code"))
            i = j + 1
            continue
        if not line.strip():
            flush()
        else:
            para.append(line)
        i += 1
    flush()
    return out


def _split_kinds(lines: list[str]) -> list[Block]:
    """One paragraph's lines as prose, list and table runs (a list item's indented or
    unmarked continuation lines stay with it)."""
    out: list[Block] = []
    kind_of = []
    for line in lines:
        if _TABLE_ROW.match(line):
            kind_of.append("table")
        elif LIST_ITEM.match(line) or (kind_of and kind_of[-1] == "list" and line[:1] in " \t"):
            kind_of.append("list")
        else:
            kind_of.append("prose")
    run: list[str] = []
    kind = kind_of[0]
    for line, k in zip(lines, kind_of, strict=True):
        if k != kind:
            out.append(Block("\n".join(run), kind))
            run, kind = [], k
        run.append(line)
    out.append(Block("\n".join(run), kind))
    return out


def units(draft: str, max_words: int = MAX_UNIT_WORDS) -> list[Block]:
    """`blocks` with neighbouring prose paragraphs joined into units of at most `max_words`
    words, and a longer paragraph cut between sentences."""
    out: list[Block] = []
    for block in blocks(draft):
        if not block.prose:
            out.append(block)
            continue
        for piece in _cut(block.text, max_words):
            last = out[-1] if out else None
            if (
                last is not None
                and last.prose
                and not trailing_citations(last.text)[1]  # a cited paragraph ends its unit
                and len(last.text.split()) + len(piece.split()) <= max_words
            ):
                out[-1] = Block(f"{last.text}\n\n{piece}", "prose")
            else:
                out.append(Block(piece, "prose"))
    return _lead_in(out)


def _lead_in(out: list[Block]) -> list[Block]:
    """A prose block whose last sentence introduces what follows ("After that:") keeps that
    sentence as written: rewritten alone, without the list it leads into, a small model
    makes something up to finish the thought."""
    fixed: list[Block] = []
    for block in out:
        if block.prose and block.text.rstrip().endswith(":"):
            sentences = SENTENCE_END.split(block.text.strip())
            rest = " ".join(sentences[:-1]).strip()
            if rest:
                fixed.append(Block(rest, "prose"))
            fixed.append(Block(sentences[-1], "lead"))
            continue
        fixed.append(block)
    return fixed


def _cut(paragraph: str, max_words: int) -> list[str]:
    if len(paragraph.split()) <= max_words:
        return [paragraph]
    pieces: list[str] = []
    cur: list[str] = []
    for sentence in sentence_split(paragraph):
        if cur and len(" ".join([*cur, sentence]).split()) > max_words:
            pieces.append(" ".join(cur))
            cur = []
        cur.append(sentence)
    if cur:
        pieces.append(" ".join(cur))
    return pieces


def sentence_split(text: str) -> list[str]:
    """A prose unit's sentences (paragraph breaks are sentence breaks too); citation markers
    after a full stop ("… instead. [1]") stay with their sentence."""
    out: list[str] = []
    for para in text.split("\n\n"):
        for piece in SENTENCE_END.split(para.strip()):
            lead = _CITATIONS_LEAD.match(piece)
            if out and lead:  # "[1] Next sentence": the marker belongs to the one before
                out[-1] = f"{out[-1]} {lead.group(0).strip()}"
                piece = piece[lead.end() :]
            if piece:
                out.append(piece)
    return out


def trailing_citations(text: str) -> tuple[str, str]:
    """(text, its closing citation markers): "Keys expire. [1][2]" -> ("Keys expire.",
    "[1][2]"). The rewriter keeps them out of the model and puts them back at the end, where
    a 135M model would otherwise sometimes move one into the text ("[1] disables…")."""
    m = _TRAILING_CITATIONS.search(text)
    if not m:
        return text, ""
    return text[: m.start()].rstrip(), m.group(0).strip()


def line_sentences(line: str) -> list[str]:
    """One line's sentences, a list marker kept with the first ("- Do this. Then that.")."""
    marker = LIST_ITEM.match(line)
    head = marker.group(0) if marker else ""
    parts = sentence_split(line[len(head) :]) if line[len(head) :].strip() else []
    if head and parts:
        parts[0] = head + parts[0]
    return parts or ([line] if line.strip() else [])


def join(parts: list[str]) -> str:
    """Blocks back into one Markdown text, a blank line between them."""
    return "\n\n".join(p.strip("\n") for p in parts if p.strip())
