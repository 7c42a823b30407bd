"""HTML: the page's main text, without the site around it.

Exported help-centre and docs pages carry menus, breadcrumbs, cookie banners and footers
on every page; indexed, they would match every query equally and crowd out real answers.
So the main region is chosen first (<main>, [role=main], a single <article>, else <body>)
and navigation-like elements inside it are dropped — unless one of them holds most of the
region's text, which means a class name like "has-sidebar" is a layout wrapper, not a menu.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bs4 import (
    BeautifulSoup,
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    ProcessingInstruction,
    Tag,
)

from askdesk.retrieval.loaders._outline import Outline, clean_inline, code_span, fence, one_line

if TYPE_CHECKING:
    from bs4 import PageElement

_NEVER_CONTENT = {"script", "style", "noscript", "template", "svg", "iframe", "canvas", "object"}
_CHROME = {"nav", "aside", "footer", "button", "select", "input", "textarea", "dialog"}
_DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "menu"}
_JUNK_NAME = re.compile(
    r"menu|sidebar|sidenav|cookie|consent|breadcrumb|navbar|navigation"
    r"|(?<![a-z])(?:nav|toc|skip)(?![a-z])"
)
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_PARAGRAPHS = {"p", "summary", "figcaption", "caption", "address", "dt", "dd", "legend"}
_CONTAINERS = {
    "div", "section", "article", "main", "blockquote", "figure", "details", "header",
    "body", "html", "center", "fieldset", "hgroup", "li", "search",
}  # fmt: skip
_LISTS = {"ul", "ol"}
_LANG_CLASS = re.compile(r"^(?:language|lang|highlight)-([\w+#.-]+)$")
_MOST_OF_PAGE = 0.6


def _is_text(node: PageElement) -> bool:
    return isinstance(node, NavigableString) and not isinstance(
        node, Comment | Declaration | Doctype | ProcessingInstruction
    )


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _raw_inline(node: Tag) -> str:
    """Unstripped, so `<b>Hello </b>world` keeps its space when pieces are concatenated."""
    parts: list[str] = []
    for child in node.children:
        if isinstance(child, Tag):
            if child.name == "br":
                parts.append("\n")
            elif child.name == "code":
                parts.append(code_span(child.get_text()))
            else:
                if child.name in _PARAGRAPHS or child.name in _CONTAINERS:
                    parts.append(" ")
                parts.append(_raw_inline(child))
        elif _is_text(child):
            parts.append(_collapse(str(child)))
    return "".join(parts)


def inline_text(node: Tag) -> str:
    return clean_inline(_raw_inline(node))


def _text_len(node: Tag) -> int:
    return len(node.get_text(" ", strip=True))


def _is_chrome(el: Tag) -> bool:
    """Site furniture by its markup: always dropped."""
    if el.name in _NEVER_CONTENT or el.name in _CHROME or el.get("role") in _DROP_ROLES:
        return True
    # an article's <header> holding its <h1> is content; a site header is not
    return el.name == "header" and el.find(list(_HEADINGS)) is None


def _looks_like_chrome(el: Tag) -> bool:
    """Forms and menu-ish class/id names: dropped unless they wrap most of the page."""
    if el.name == "form":
        return True
    classes = el.get("class") or []
    names = " ".join([*classes, str(el.get("id") or "")]).lower()
    return bool(names.strip()) and _JUNK_NAME.search(names) is not None


def _main_region(soup: BeautifulSoup) -> Tag:
    for candidate in (soup.find("main"), soup.find(attrs={"role": "main"})):
        if isinstance(candidate, Tag):
            return candidate
    articles = soup.find_all("article")
    if len(articles) == 1:
        return articles[0]
    return soup.body or soup


def _prune(region: Tag) -> None:
    total = _text_len(region) or 1
    for el in list(region.find_all(True)):
        if el.decomposed:
            continue
        if _is_chrome(el) or (_looks_like_chrome(el) and _text_len(el) <= _MOST_OF_PAGE * total):
            el.decompose()


def _code_lang(pre: Tag) -> str:
    code = pre.find("code")
    nodes = [pre, code, pre.parent, pre.parent.parent if pre.parent else None]
    for node in nodes:
        if isinstance(node, Tag):
            for cls in node.get("class") or []:
                match = _LANG_CLASS.match(cls)
                if match and match.group(1) not in {"default", "none", "text"}:
                    return match.group(1)
    return ""


class _Walker:
    def __init__(self, outline: Outline) -> None:
        self.out = outline
        self.loose: list[str] = []

    def _flush_loose(self) -> None:
        text = clean_inline("".join(self.loose))
        self.loose = []
        if text:
            self.out.block(text)

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Tag):
                if child.name in _HEADINGS | _PARAGRAPHS | _CONTAINERS | _LISTS | {
                    "pre", "table", "dl", "hr",
                }:  # fmt: skip
                    self._flush_loose()
                    self.element(child)
                elif child.name == "br":
                    self.loose.append("\n")
                else:
                    self.loose.append(_raw_inline(child))
            elif _is_text(child):
                self.loose.append(_collapse(str(child)))
        self._flush_loose()

    def element(self, el: Tag) -> None:
        name = el.name
        if name in _HEADINGS:
            self.out.heading(int(name[1]), inline_text(el))
        elif name in _PARAGRAPHS:
            self.out.block(inline_text(el))
        elif name == "pre":
            self.out.block(fence(el.get_text(), _code_lang(el)))
        elif name in _LISTS:
            self.list(el, 0)
            self.out.flush_lines()
        elif name == "table":
            self.table(el)
        elif name == "dl":
            self.definitions(el)
        elif name != "hr":
            self.walk(el)

    def list(self, el: Tag, level: int) -> None:
        ordered = el.name == "ol"
        start = str(el.get("start") or "1")
        number = int(start) if start.isdigit() else 1
        for li in el.find_all("li", recursive=False):
            item = _Item(self, "  " * level, f"{number}." if ordered else "-", level)
            item.take(li)
            item.emit()
            number += 1

    def table(self, el: Tag) -> None:
        rows = []
        for tr in el.find_all("tr"):
            cells = [inline_text(c).replace("\n", " ") for c in tr.find_all(["td", "th"])]
            if any(cells):
                rows.append(" | ".join(cells))
        self.out.block("\n".join(rows))

    def definitions(self, el: Tag) -> None:
        term = ""
        for child in el.find_all(["dt", "dd"]):
            if child.name == "dt":
                if term:
                    self.out.line(f"- {term}")
                term = one_line(inline_text(child))
            else:
                text = one_line(inline_text(child))
                self.out.line(f"- {term}: {text}" if term else f"- {text}")
                term = ""
        if term:
            self.out.line(f"- {term}")
        self.out.flush_lines()


class _Item:
    """One <li>: its text on one marker line; nested lists and <pre> keep their own shape."""

    def __init__(self, walker: _Walker, indent: str, marker: str, level: int) -> None:
        self.walker, self.indent, self.marker, self.level = walker, indent, marker, level
        self.parts: list[str] = []

    def emit(self) -> None:
        text = one_line("".join(self.parts))
        self.parts = []
        if text:
            self.walker.out.line(f"{self.indent}{self.marker} {text}")
            self.marker = " "

    def take(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, Tag) and child.name in _LISTS:
                self.emit()
                self.walker.list(child, self.level + 1)
            elif isinstance(child, Tag) and child.name == "pre":
                self.emit()
                self.walker.out.block(fence(child.get_text(), _code_lang(child)))
            elif isinstance(child, Tag) and child.find(["pre", "ul", "ol"]) is not None:
                self.take(child)
            elif isinstance(child, Tag):
                self.parts.append(
                    f" {_raw_inline(child)} " if child.name in _PARAGRAPHS else _raw_inline(child)
                )
            elif _is_text(child):
                self.parts.append(str(child))


def parse_html(text: str) -> tuple[str | None, Outline]:
    """Return the <title> text (if any) and the outline of the main region."""
    soup = BeautifulSoup(text, "lxml")
    title_tag = soup.find("title")
    page_title = one_line(title_tag.get_text()) if title_tag else ""
    if soup.head is not None:
        soup.head.decompose()  # a body-less page would otherwise read its <title> as text
    region = _main_region(soup)
    _prune(region)
    outline = Outline()
    _Walker(outline).walk(region)
    return page_title or None, outline
