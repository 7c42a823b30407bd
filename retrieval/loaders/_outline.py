"""Format-neutral assembly of sections.

Every format parser reports headings and body blocks in reading order to an `Outline`; only
this module decides heading paths and which heading is really the document title, so the
formats cannot drift apart on those rules (and the chunker sees the same shapes from all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from askdesk.retrieval.documents import Section

_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BACKTICK_RUN = re.compile(r"`{3,}")
_LANG = re.compile(r"[\w+#.-]+")


def clean_inline(text: str) -> str:
    """Collapse layout whitespace but keep deliberate line breaks (e.g. <br>, hard breaks)."""
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def code_span(code: str) -> str:
    """Inline code keeps its backticks: chat renders it as code, and the style guard can
    protect it exactly."""
    code = " ".join(code.split())
    if not code:
        return ""
    ticks = "``" if "`" in code else "`"
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{ticks}{pad}{code}{pad}{ticks}"


def one_line(text: str) -> str:
    """Headings and list items must stay on one line or the list/heading shape breaks."""
    return " ".join(text.split())


def fence(code: str, lang: str = "") -> str:
    """Wrap code verbatim; the fence is longer than any backtick run inside so it stays closed."""
    code = code.strip("\n").rstrip()
    if not code.strip():
        return ""
    match = _LANG.match(lang.strip())
    longest = max((len(m.group()) for m in _BACKTICK_RUN.finditer(code)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{match.group() if match else ''}\n{code}\n{ticks}"


def prettify_stem(stem: str) -> str:
    """`getting_started-guide` reads as `Getting started guide` in a citation."""
    words = re.sub(r"[_\-.\s]+", " ", stem).strip()
    if not words:
        return stem
    return words[:1].upper() + words[1:]


def _same(a: str, b: str) -> bool:
    return one_line(a).casefold() == one_line(b).casefold()


class Heading(NamedTuple):
    level: int
    text: str


@dataclass
class Outline:
    """Reading-order events: headings and body blocks (already formatted text).

    List lines are buffered via `line()` so that a code block met inside a list item can
    close the list block, sit on its own at column 0, and let the list continue afterwards.
    """

    events: list[Heading | str] = field(default_factory=list)
    _lines: list[str] = field(default_factory=list)

    def heading(self, level: int, text: str) -> None:
        self.flush_lines()
        text = one_line(text)
        if text:
            self.events.append(Heading(level, text))

    def block(self, text: str, tight: bool = False) -> None:
        """A body block; `tight`: written with no blank line after the previous block (a
        command right under its sentence), so it continues that block on the next line."""
        had_lines = bool(self._lines)
        self.flush_lines()
        text = text.strip("\n")
        if text.strip():
            text = text if text.startswith(("```", "~~~")) else text.strip()
            if tight and not had_lines and self.events and isinstance(self.events[-1], str):
                self.events[-1] = f"{self.events[-1]}\n{text}"
            else:
                self.events.append(text)

    def line(self, text: str) -> None:
        if text.strip():
            self._lines.append(text.rstrip())

    def continue_line(self, text: str) -> None:
        """A wrapped list item's next physical line belongs on the item's line."""
        if self._lines:
            self._lines[-1] = f"{self._lines[-1]} {text.strip()}"
        else:
            self.line(text)

    def flush_lines(self) -> None:
        if self._lines:
            self.events.append("\n".join(self._lines))
            self._lines = []

    def first_heading(self, level: int = 1) -> str | None:
        return next(
            (ev.text for ev in self.events if isinstance(ev, Heading) and ev.level == level), None
        )

    def build(
        self, title: str | None = None, first_h1_fallback: bool = True
    ) -> tuple[str | None, tuple[Section, ...]]:
        """Return the title and the sections.

        A lone level-1 heading that opens the document is the title: it is left out of every
        heading path (it would only repeat the title) unless an explicit title disagrees with
        it, in which case it stays a normal heading so its text is not lost. Without either,
        the first level-1 heading names the document unless the caller has a better source.
        """
        self.flush_lines()
        headings = [(i, ev) for i, ev in enumerate(self.events) if isinstance(ev, Heading)]
        top = [(i, ev) for i, ev in headings if ev.level == 1]
        title_ix = -1
        leading_lone_h1 = bool(top) and top == headings[:1]
        if leading_lone_h1 and (title is None or _same(title, top[0][1].text)):
            title_ix, title = top[0][0], top[0][1].text
        if title is None and top and first_h1_fallback:
            title = top[0][1].text

        sections: list[Section] = []
        stack: list[Heading] = []
        blocks: list[str] = []

        def flush() -> None:
            if blocks:
                sections.append(Section(tuple(h.text for h in stack), "\n\n".join(blocks)))
                blocks.clear()

        for i, ev in enumerate(self.events):
            if isinstance(ev, str):
                blocks.append(ev)
                continue
            if i == title_ix:
                continue
            flush()
            while stack and stack[-1].level >= ev.level:
                stack.pop()
            stack.append(ev)
        flush()
        return title, tuple(sections)
