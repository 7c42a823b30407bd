"""Splitting a loaded document into retrievable chunks.

Chunks never cross sections: a passage straddling two headings answers neither question well
and half of it would carry the wrong heading path. (The one exception: a section too small to
stand alone merges with its next sibling and keeps its own heading path.) Inside a section,
paragraphs are packed towards `target_words`; code fences are atomic, because half a command
is worse than none, and a huge one is split at line boundaries and re-fenced. Every chunk
after the first in a section repeats the last sentences of the one before, so a passage that
spans the boundary can still be found from either side.

Chunking a section depends only on that section and chunk ids only on content (see
`make_chunk`), so editing one section leaves the other sections' chunk ids — and their stored
embeddings — untouched.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from askdesk.retrieval.documents import Chunk, LoadedDocument, Section, make_chunk

__all__ = ["chunk_document"]

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(\s+)(?=[A-Z0-9\"'“‘(\[])")
_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "dr", "mr", "mrs", "ms", "no", "fig", "approx", "cf"}
_PARAGRAPH = "\n\n"


def _words(text: str) -> int:
    return len(text.split())


@dataclass(frozen=True)
class _Unit:
    """An indivisible piece of a section; `joiner` is what precedes it when it follows its
    predecessor directly (a blank line between paragraphs, a space inside a split paragraph)."""

    text: str
    code: bool = False
    joiner: str = _PARAGRAPH

    @property
    def words(self) -> int:
        return _words(self.text)


@dataclass(frozen=True)
class _Limits:
    target: int
    max: int
    min: int
    overlap: int


# --- splitting a section into units ------------------------------------------------------


def _is_fence_close(line: str, mark: str) -> bool:
    text = line.strip()
    return len(text) >= len(mark) and set(text) == {mark[0]}


def _blocks(text: str) -> list[_Unit]:
    """Blank-line separated paragraphs, with each fenced code block kept as one unit."""
    units: list[_Unit] = []
    para: list[str] = []
    lines = text.split("\n")
    joiner = _PARAGRAPH  # what precedes the next unit: a blank line, or a line break

    def flush() -> None:
        nonlocal joiner
        if para:
            units.append(_Unit("\n".join(para), joiner=joiner))
            para.clear()
            joiner = _PARAGRAPH

    i = 0
    while i < len(lines):
        opener = _FENCE_OPEN.match(lines[i])
        if opener and not (opener.group(1)[0] == "`" and "`" in opener.group(2)):
            # a fence written right under a line of text (no blank line) belongs to the same
            # block, and so does a line right under its closing fence: an FAQ answer with its
            # commands stays one blank-line block in the chunk (passages, the composer's window)
            tight = bool(para)
            flush()
            mark = opener.group(1)
            end = i + 1
            while end < len(lines) and not _is_fence_close(lines[end], mark):
                end += 1
            body = lines[i : end + 1] if end < len(lines) else [*lines[i:], mark]
            units.append(_Unit("\n".join(body), code=True, joiner="\n" if tight else joiner))
            i = end + 1
            joiner = "\n" if i < len(lines) and lines[i].strip() else _PARAGRAPH
            continue
        if lines[i].strip():
            para.append(lines[i])
        else:
            flush()
            joiner = _PARAGRAPH
        i += 1
    flush()
    return units


def _sentences(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        before = text[start : match.start()].rsplit(None, 1)
        if before and before[-1].lower().rstrip(".") in _ABBREVIATIONS:
            continue
        out.append(text[start : match.start(1)])
        start = match.end(1)
    out.append(text[start:])
    return [s for s in out if s.strip()]


def _atoms(text: str, limit: int) -> list[tuple[str, str]]:
    """(joiner, piece) pairs no longer than `limit` words, cut at the coarsest boundary that
    works: lines (list items), then sentences, then — for a monster sentence — words."""
    atoms: list[tuple[str, str]] = []
    for line in text.split("\n"):
        joiner = "\n"
        for sentence in [line] if _words(line) <= limit else _sentences(line):
            words = sentence.split()
            for k in range(0, len(words), limit):
                atoms.append((joiner, " ".join(words[k : k + limit])))
                joiner = " "
    return atoms


def _split_paragraph(unit: _Unit, limits: _Limits) -> list[_Unit]:
    """A paragraph too long for one chunk becomes balanced pieces of about `target` words."""
    if unit.code or unit.words <= limits.max - limits.overlap:
        return [unit]
    atoms = _atoms(unit.text, limits.target)
    aim = unit.words / math.ceil(unit.words / limits.target)
    pieces: list[_Unit] = []
    current: list[tuple[str, str]] = []
    count = 0
    for joiner, text in atoms:
        words = _words(text)
        if current and count + words > aim * 1.1:
            pieces.append(_join_atoms(current, unit.joiner if not pieces else None))
            current, count = [], 0
        current.append((joiner, text))
        count += words
    pieces.append(_join_atoms(current, unit.joiner if not pieces else None))
    return pieces


def _join_atoms(atoms: list[tuple[str, str]], joiner: str | None) -> _Unit:
    text = atoms[0][1] + "".join(j + t for j, t in atoms[1:])
    return _Unit(text, joiner=joiner if joiner is not None else atoms[0][0])


def _split_code(unit: _Unit, limits: _Limits) -> list[_Unit]:
    """Huge code stays whole up to 2× max; beyond that, line-cut pieces, each re-fenced."""
    if unit.words <= 2 * limits.max:
        return [unit]
    lines = unit.text.split("\n")
    opener, closer, body = lines[0], lines[-1], lines[1:-1]
    budget = limits.max - _words(opener) - _words(closer)
    pieces: list[_Unit] = []
    current: list[str] = []
    count = 0
    for line in body:
        if current and count + _words(line) > budget:
            pieces.append(_Unit("\n".join([opener, *current, closer]), code=True))
            current, count = [], 0
        current.append(line)
        count += _words(line)
    if current:
        pieces.append(_Unit("\n".join([opener, *current, closer]), code=True))
    return pieces


# --- packing units into chunks -----------------------------------------------------------


@dataclass
class _Group:
    units: list[_Unit]
    solo: bool = False  # an oversized code block: no packing, merging or overlap

    @property
    def words(self) -> int:
        return sum(u.words for u in self.units)


def _pack(units: list[_Unit], limits: _Limits) -> list[_Group]:
    """Greedy, stopping where the chunk is closest to `target` (never below `min` by choice).

    Chunks after the first leave room for the overlap they will be given.
    """
    groups: list[_Group] = []
    current: list[_Unit] = []
    count = 0

    def close() -> None:
        nonlocal current, count
        if current:
            groups.append(_Group(current))
        current, count = [], 0

    for unit in units:
        if unit.code and unit.words > limits.max:
            close()
            groups.extend(_Group([piece], solo=True) for piece in _split_code(unit, limits))
            continue
        budget = limits.max - (limits.overlap if groups else 0)
        words = unit.words
        if current and (
            count + words > budget
            or (
                count >= limits.min
                and abs(count - limits.target) <= abs(count + words - limits.target)
            )
        ):
            close()
        current.append(unit)
        count += words
    close()
    _absorb_tail(groups, limits)
    return groups


def _absorb_tail(groups: list[_Group], limits: _Limits) -> None:
    """A tiny last piece joins the chunk before it; if that would overflow, shift units back."""
    if len(groups) < 2 or groups[-1].solo or groups[-2].solo:
        return
    last, prev = groups[-1], groups[-2]
    if last.words >= limits.min:
        return
    prev_budget = limits.max - (limits.overlap if len(groups) > 2 else 0)
    if prev.words + last.words <= prev_budget:
        prev.units.extend(last.units)
        groups.pop()
        return
    while (
        last.words < limits.min
        and len(prev.units) > 1
        and prev.words - prev.units[-1].words >= limits.min
        and last.words + prev.units[-1].words <= limits.max - limits.overlap
    ):
        last.units.insert(0, prev.units.pop())


def _overlap(previous: _Unit, limit: int) -> str:
    """The last whole sentences (or list lines) of `previous`, at most ~`limit` words."""
    if previous.code or limit <= 0:
        return ""
    lines = previous.text.split("\n")
    segments, joiner = (lines, "\n") if len(lines) > 1 else (_sentences(previous.text), " ")
    taken: list[str] = []
    count = 0
    for segment in reversed(segments):
        if count + _words(segment) > limit and (taken or _words(segment) > 2 * limit):
            break
        taken.insert(0, segment)
        count += _words(segment)
        if count >= limit:
            break
    return joiner.join(taken).strip()


def _render(groups: list[_Group], limits: _Limits) -> list[str]:
    texts: list[str] = []
    for i, group in enumerate(groups):
        first = group.units[0]
        body = first.text + "".join(u.joiner + u.text for u in group.units[1:])
        if i and not group.solo and not groups[i - 1].solo:
            carried = _overlap(groups[i - 1].units[-1], limits.overlap)
            if carried and _words(carried) + group.words <= limits.max:
                body = carried + first.joiner + body
        texts.append(body)
    return texts


# --- sections ----------------------------------------------------------------------------


def _siblings(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return bool(a) and len(a) == len(b) and a[:-1] == b[:-1]


def _merge_tiny_sections(
    sections: tuple[Section, ...], limits: _Limits
) -> list[tuple[tuple[str, ...], str]]:
    """A heading with a sentence under it embeds poorly alone; it joins its next sibling(s)
    when the result still fits one chunk. The sibling's heading stays visible as a Markdown
    heading line ("### Windows"), so the composer can tell it from a sentence."""
    live = [s for s in sections if s.text.strip()]
    merged: list[tuple[tuple[str, ...], str]] = []
    i = 0
    while i < len(live):
        path, text = live[i].heading_path, live[i].text.strip("\n")
        j = i + 1
        while (
            _words(text) < limits.min
            and j < len(live)
            and _siblings(path, live[j].heading_path)
            and _words(text) + _words(live[j].heading_path[-1]) + _words(live[j].text) <= limits.max
        ):
            marker = "#" * min(len(live[j].heading_path) + 1, 6)
            heading = f"{marker} {live[j].heading_path[-1]}"
            text = f"{text}{_PARAGRAPH}{heading}{_PARAGRAPH}{live[j].text}"
            j += 1
        merged.append((path, text))
        i = j
    return merged


def _section_texts(text: str, limits: _Limits) -> list[str]:
    units = [piece for unit in _blocks(text) for piece in _split_paragraph(unit, limits)]
    return _render(_pack(units, limits), limits) if units else []


def chunk_document(
    doc: LoadedDocument,
    target_words: int = 220,
    max_words: int = 350,
    min_words: int = 60,
    overlap_words: int = 30,
) -> list[Chunk]:
    """Chunks in document order with ordinals 0..n-1 and ids unique within the document."""
    if not 0 < min_words <= target_words <= max_words or not 0 <= overlap_words < target_words:
        raise ValueError("need 0 < min_words <= target_words <= max_words, overlap < target")
    limits = _Limits(target_words, max_words, min_words, overlap_words)
    chunks: list[Chunk] = []
    seen: Counter[str] = Counter()
    for path, section_text in _merge_tiny_sections(doc.sections, limits):
        for text in _section_texts(section_text, limits):
            chunk = make_chunk(doc.doc_id, len(chunks), doc.title, path, text)
            dup = seen[chunk.content_hash]
            seen[chunk.content_hash] += 1
            if dup:
                chunk = make_chunk(doc.doc_id, len(chunks), doc.title, path, text, dup)
            chunks.append(chunk)
    return chunks
