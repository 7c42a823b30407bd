"""Markdown via markdown-it-py tokens.

Tokens rather than regexes because fences, lists and headings interact (a `#` inside a fence
is not a heading, a fence inside a list item is still code) and the CommonMark parser already
gets those cases right.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from markdown_it import MarkdownIt

from askdesk.retrieval.loaders._outline import Outline, clean_inline, code_span, fence, one_line

if TYPE_CHECKING:
    from markdown_it.token import Token

_FRONT_MATTER_FENCES = {"---": ("---", "..."), "+++": ("+++",)}
_TITLE_KEY = re.compile(r"title\s*[:=](.*)$")


def split_front_matter(text: str) -> tuple[str | None, str]:
    """Drop YAML (---) or TOML (+++) front matter, keeping only its `title`.

    Parsed by hand: only one key matters, and a YAML dependency (or a YAML error on someone's
    exotic metadata) is not worth failing a document over.
    """
    lines = text.split("\n")
    closers = _FRONT_MATTER_FENCES.get(lines[0].strip()) if lines else None
    if not closers:
        return None, text
    for end in range(1, min(len(lines), 400)):
        if lines[end].strip() in closers:
            return _front_matter_title(lines[1:end]), "\n".join(lines[end + 1 :])
    return None, text


def _front_matter_title(lines: list[str]) -> str | None:
    for i, line in enumerate(lines):
        match = _TITLE_KEY.match(line)
        if not match:
            continue
        value = match.group(1).strip()
        if value in {"|", ">", "|-", ">-"}:
            value = " ".join(
                rest.strip() for rest in lines[i + 1 :] if rest[:1].isspace() and rest.strip()
            )
        value = value.strip().strip("\"'").strip()
        return value or None
    return None


class _TextOnly(HTMLParser):
    """Raw HTML blocks in Markdown: keep what a reader would see, drop tags and scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        elif tag in {"br", "p", "div", "li", "tr"}:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _html_text(html: str) -> str:
    """Visible text of a raw HTML block; a <pre> block stays code, whitespace and all."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    if html.lstrip()[:4].lower() == "<pre":
        return fence(text)
    return clean_inline(text)


def _inline(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type == "text":
            parts.append(child.content)
        elif child.type == "code_inline":
            parts.append(code_span(child.content))
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)
    return clean_inline("".join(parts))


class _Walker:
    """Turns the flat token stream into Outline events; tracks list nesting for `- ` lines."""

    def __init__(self, outline: Outline) -> None:
        self.out = outline
        self.lists: list[bool] = []  # ordered?
        self.pending: list[str | None] = []  # marker of each open item until its first text
        self.last_end: int | None = None  # the source line after the last top-level block

    def _tight(self, tok: Token) -> bool:
        """`tok` starts on the line right after the previous block ended (no blank line
        between): a command written under its sentence, a sentence under the command's
        closing fence. It stays in that block, so an FAQ answer with its code stays one."""
        start = tok.map[0] if tok.map else None
        tight = start is not None and start == self.last_end and not self.lists
        if tok.map:
            self.last_end = tok.map[1]
        return tight

    def _text(self, text: str, tight: bool = False) -> None:
        if not self.lists:
            self.out.block(text, tight=tight)
            return
        indent = "  " * (len(self.lists) - 1)
        marker = self.pending[-1]
        if marker is not None:
            self.pending[-1] = None
            self.out.line(f"{indent}{marker} {one_line(text)}")
        else:
            self.out.line(f"{indent}  {one_line(text)}")

    def _code(self, code: str, lang: str, tight: bool = False) -> None:
        self.out.block(fence(code, lang), tight=tight)  # block() closes any list lines first

    def walk(self, tokens: list[Token]) -> None:
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            kind = tok.type
            if kind == "heading_open":
                self.out.heading(int(tok.tag[1]), _inline(tokens[i + 1]))
                i += 2
            elif kind == "paragraph_open":
                tight = self._tight(tok)
                if tokens[i + 1].type == "inline":
                    self._text(_inline(tokens[i + 1]), tight)
                    i += 1
            elif kind == "inline":
                self._text(_inline(tok))
            elif kind in {"bullet_list_open", "ordered_list_open"}:
                self.lists.append(kind == "ordered_list_open")
            elif kind in {"bullet_list_close", "ordered_list_close"}:
                self.lists.pop()
                if not self.lists:
                    self.out.flush_lines()
            elif kind == "list_item_open":
                self.pending.append(f"{tok.info or 1}." if self.lists[-1] else "-")
            elif kind == "list_item_close":
                self.pending.pop()
            elif kind in {"fence", "code_block"}:
                tight = self._tight(tok)
                self._code(tok.content, tok.info.split()[0] if tok.info.strip() else "", tight)
            elif kind == "html_block":
                text = _html_text(tok.content)
                if text:
                    self._text(text)
            elif kind == "table_open":
                i = self._table(tokens, i)
            i += 1

    def _table(self, tokens: list[Token], i: int) -> int:
        rows: list[str] = []
        cells: list[str] = []
        while tokens[i].type != "table_close":
            tok = tokens[i]
            if tok.type == "inline":
                cells.append(_inline(tok).replace("\n", " "))
            elif tok.type == "tr_close":
                rows.append(" | ".join(cells))
                cells = []
            i += 1
        self.out.block("\n".join(rows))
        return i


def parse_markdown(text: str) -> tuple[str | None, Outline]:
    """Return the front-matter title (if any) and the outline of the body."""
    title, body = split_front_matter(text)
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    outline = Outline()
    _Walker(outline).walk(md.parse(body))
    return title, outline
