"""Plain text: structure guessed from the conventions people actually use in .txt files.

The first short line names the document. Underlined lines (=== / ---) and short UPPERCASE
lines are headings, ranked like rst underlines: the first style seen is level 1, the next 2.
Hard-wrapped lines are rejoined into paragraphs; a line well short of the file's usual line
width was ended on purpose (a label, a table row) and keeps its break. Bullet lines are list
items, and runs indented by 4+ spaces are nearly always commands, so they become code.
"""

from __future__ import annotations

import re
import textwrap

from askdesk.retrieval.loaders._outline import Outline, fence, one_line

_BULLET = re.compile(r"^(\s*)(?:[-*•·▪◦‣+]|(\d{1,3})[.)])\s+(\S.*)$")
_RULE = re.compile(r"^\s*(?:={3,}|-{3,})\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})\s*([\w+#.-]*)")
_TITLE_MAX_CHARS = 80
_TITLE_MAX_WORDS = 12
_SHORT_LINE = 0.6  # of the wrap width: shorter lines end deliberately


def _title_like(line: str) -> bool:
    text = line.strip()
    return bool(text) and len(text) <= _TITLE_MAX_CHARS and len(text.split()) <= _TITLE_MAX_WORDS


def _upper_heading(line: str) -> bool:
    text = line.strip()
    letters = [c for c in text if c.isalpha()]
    return (
        len(letters) >= 2
        and text == text.upper()
        and any(c.isupper() for c in letters)
        and len(text) <= 60
        and len(text.split()) <= 8
        and not text.endswith((".", ",", ";"))
        and not _BULLET.match(text)
    )


def _indented(line: str) -> bool:
    return line.startswith(("    ", "\t"))


def _wrap_width(lines: list[str]) -> int:
    """The width the author wrapped at: the 90th percentile of line lengths."""
    lengths = sorted(len(line.rstrip()) for line in lines if line.strip())
    return lengths[int(0.9 * (len(lengths) - 1))] if lengths else 0


class _Parser:
    def __init__(self, wrap_width: int) -> None:
        self.short = _SHORT_LINE * wrap_width
        self.out = Outline()
        self.styles: list[str] = []
        self.code: list[str] = []

    def level(self, style: str) -> int:
        if style not in self.styles:
            self.styles.append(style)
        return self.styles.index(style) + 1

    def flush_code(self) -> None:
        if self.code:
            self.out.block(fence(textwrap.dedent("\n".join(self.code))))
            self.code = []

    def heading(self, style: str, text: str) -> None:
        self.flush_code()
        self.out.heading(self.level(style), text)

    def paragraph(self, lines: list[str]) -> None:
        """Text lines rejoin; bullets start items; indented lines continue an item or are code."""
        text: list[str] = []
        in_item = False
        if self.code:
            self.code.append("")  # code split by a blank line stays one block

        def flush_text() -> None:
            if text:
                self.flush_code()
                for line in text:
                    self.out.line(line)
                text.clear()

        def add_text(line: str, previous: str) -> None:
            if text and len(previous.rstrip()) >= self.short:
                text[-1] = f"{text[-1]} {one_line(line)}"
            else:
                text.append(one_line(line))

        previous = ""
        for line in lines:
            bullet = _BULLET.match(line)
            if bullet:
                flush_text()
                self.flush_code()
                depth = min(len(bullet.group(1)) // 2, 3)
                marker = f"{bullet.group(2)}." if bullet.group(2) else "-"
                self.out.line(f"{'  ' * depth}{marker} {bullet.group(3).strip()}")
                in_item = True
            elif in_item and line[:1].isspace():
                self.out.continue_line(line)
            elif _indented(line):
                flush_text()
                self.out.flush_lines()
                self.code.append(line)
            else:
                add_text(line, previous)
                in_item = False
            previous = line
        flush_text()
        self.out.flush_lines()

    def fenced(self, lines: list[str], start: int) -> int:
        """Copy a ``` block verbatim (blank lines included); return the index after it."""
        opener = _FENCE.match(lines[start])
        assert opener is not None
        mark = opener.group(1)
        end = start + 1
        while end < len(lines):
            stripped = lines[end].strip()
            if stripped.startswith(mark[0] * len(mark)) and not stripped.strip(mark[0]):
                break
            end += 1
        self.flush_code()
        self.out.block(fence("\n".join(lines[start + 1 : end]), opener.group(2)))
        return end + 1

    def run(self, lines: list[str]) -> Outline:
        para: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if _FENCE.match(line):
                self._end(para)
                i = self.fenced(lines, i)
                continue
            if not line.strip() or (_RULE.match(line) and para):
                self._end(para)
            elif not para and _RULE.match(nxt) and _title_like(line) and not _BULLET.match(line):
                self._end(para)
                self.heading(nxt.strip()[0], line)
                i += 1
            elif _RULE.match(line):
                pass  # a horizontal rule between paragraphs
            elif not para and _upper_heading(line) and not nxt.strip():
                self.heading("upper", line)
            else:
                para.append(line)
            i += 1
        self._end(para)
        self.flush_code()
        return self.out

    def _end(self, para: list[str]) -> None:
        if para:
            self.paragraph(para)
            para.clear()


def parse_text(text: str) -> tuple[str | None, Outline]:
    """Return the title line (if the first line looks like one) and the outline of the rest."""
    lines = textwrap.dedent(text).split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    title: str | None = None
    start = 0
    if first is not None and _title_like(lines[first]) and not _BULLET.match(lines[first]):
        after = first + 1
        if after < len(lines) and _RULE.match(lines[after]):
            after += 1
        if any(line.strip() for line in lines[after:]):
            title, start = one_line(lines[first]), after
    return title, _Parser(_wrap_width(lines)).run(lines[start:])
