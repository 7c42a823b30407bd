"""PDF via pypdf's text extraction.

PDF text has no paragraphs or headings, only positioned lines, so structure is rebuilt
modestly: running headers/footers (lines repeated at the top or bottom of most pages, page
numbers) are removed because they would otherwise appear in every chunk; wrapped lines are
rejoined into paragraphs; and each page becomes a section ("Page N"), which gives citations
a page to point at. Heading detection is not attempted: without font sizes it guesses wrong
too often to be worth a wrong heading path.
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter

from pypdf import PdfReader
from pypdf.errors import DependencyError

from askdesk.retrieval.documents import LoadError, Section
from askdesk.retrieval.loaders._outline import one_line

_EDGE_LINES = 2
_RUNNING_MAX_WORDS = 12  # running heads are short; a long repeated line is body text
_REPEATED_SHARE = 0.6
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?\d+(?:\s*(?:of|/)\s*\d+)?$", re.I)
_BULLET = re.compile(r"^(?:[•◦▪‣·●○■□*-]|(\d{1,3})[.)])\s+(\S.*)$")
_SENTENCE_END = (".", "!", "?", ":")
_SHORT_LINE = 0.8  # of the page's widest line: a sentence ending here ends its paragraph
_VERY_SHORT_LINE = 0.6  # ...and a line this short ends it regardless (titles, labels)
_JUNK_TITLES = {"untitled", "untitled document", "title", "document", "slide 1"}
_OFFICE_PREFIX = re.compile(r"^microsoft (?:word|powerpoint|excel) - ", re.I)
_FILE_SUFFIX = re.compile(r"\.(?:docx?|pptx?|xlsx?|odt|rtf|pages|indd|pdf|tex)$", re.I)


def _short(exc: BaseException) -> str:
    text = one_line(str(exc)) or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def _open(data: bytes) -> PdfReader:
    if b"%PDF-" not in data[:1024]:
        raise LoadError("broken PDF: not a PDF file")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except Exception as exc:
        raise LoadError(f"broken PDF: {_short(exc)}") from exc
    if reader.is_encrypted:
        # Many PDFs are encrypted only to restrict printing/editing, with an empty user
        # password: those open fine and should be indexed.
        try:
            opened = reader.decrypt("")
        except DependencyError as exc:
            raise LoadError("encrypted PDF (decrypting needs the 'cryptography' package)") from exc
        except Exception as exc:
            raise LoadError("encrypted PDF") from exc
        if not opened:
            raise LoadError("encrypted PDF")
    return reader


def _page_texts(reader: PdfReader) -> list[str]:
    try:
        pages = list(reader.pages)
    except Exception as exc:
        raise LoadError(f"broken PDF: {_short(exc)}") from exc
    if not pages:
        raise LoadError("broken PDF: no pages")
    texts: list[str] = []
    failure: Exception | None = None
    for page in pages:
        try:
            texts.append(page.extract_text() or "")
        except Exception as exc:  # one damaged page should not cost the whole manual
            failure = exc
            texts.append("")
    if failure is not None and not any(t.strip() for t in texts):
        raise LoadError(f"broken PDF: {_short(failure)}")
    return texts


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", one_line(line)).casefold()


def _edge_indexes(count: int) -> set[int]:
    return set(range(min(_EDGE_LINES, count))) | set(range(max(0, count - _EDGE_LINES), count))


def _running(line: str, page_number: int, exact: set[str], numbered: set[str]) -> bool:
    """Repeated verbatim, or repeated apart from digits and carrying this page's number."""
    text = one_line(line)
    if _PAGE_NUMBER.match(text) or text.casefold() in exact:
        return True
    return _key(text) in numbered and str(page_number) in re.findall(r"\d+", text)


def strip_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Drop page numbers and lines repeated at the top/bottom of most pages."""
    exact: Counter[str] = Counter()
    numbered: Counter[str] = Counter()
    for lines in pages:
        edge = [one_line(lines[i]) for i in _edge_indexes(len(lines))]
        exact.update({line.casefold() for line in edge})
        numbered.update({_key(line) for line in edge})
    threshold = max(2, math.ceil(_REPEATED_SHARE * len(pages)))

    def frequent(counts: Counter[str]) -> set[str]:
        return {
            key
            for key, n in counts.items()
            if n >= threshold and len(key.split()) <= _RUNNING_MAX_WORDS
        }

    exact_lines, numbered_lines = frequent(exact), frequent(numbered)
    cleaned = []
    for number, lines in enumerate(pages, 1):
        edges = _edge_indexes(len(lines))
        cleaned.append(
            [
                line
                for i, line in enumerate(lines)
                if i not in edges or not _running(line, number, exact_lines, numbered_lines)
            ]
        )
    return cleaned


def _join(left: str, right: str) -> str:
    if left.endswith("-") and len(left) > 1 and left[-2].isalpha() and right[:1].islower():
        return left[:-1] + right  # de-hyphenate a word broken across lines
    return f"{left} {right}"


def paragraphs(lines: list[str]) -> list[str]:
    """Rejoin wrapped lines; a short line ending a sentence closes its paragraph."""
    full = max((len(line) for line in lines), default=0)
    blocks: list[str] = []
    current = ""
    items: list[str] = []

    def close() -> None:
        nonlocal current
        if items:
            blocks.append("\n".join(items))
            items.clear()
        if current:
            blocks.append(current)
            current = ""

    for raw in lines:
        line = one_line(raw)
        bullet = _BULLET.match(line)
        if not line:
            close()
        elif bullet:
            if current:
                close()
            items.append(
                f"{bullet.group(1)}. {bullet.group(2)}"
                if bullet.group(1)
                else f"- {bullet.group(2)}"
            )
        elif items and not current and not line[:1].isupper():
            items[-1] = _join(items[-1], line)  # wrapped bullet text
        else:
            if items:
                close()
            current = _join(current, line) if current else line
            ends_sentence = line.endswith(_SENTENCE_END) and len(line) < _SHORT_LINE * full
            if ends_sentence or len(line) < _VERY_SHORT_LINE * full:
                close()
    close()
    return blocks


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        raw = reader.metadata.title if reader.metadata else None
    except Exception:
        return None
    title = _FILE_SUFFIX.sub("", _OFFICE_PREFIX.sub("", one_line(str(raw or "")))).strip()
    return title if title and title.casefold() not in _JUNK_TITLES else None


def parse_pdf(data: bytes) -> tuple[str | None, tuple[Section, ...]]:
    """Return the title and one section per page that has text."""
    reader = _open(data)
    texts = _page_texts(reader)
    if not any(t.strip() for t in texts):
        raise LoadError("PDF has no extractable text (scanned?)")
    pages = strip_running_lines([[line for line in t.split("\n") if line.strip()] for t in texts])
    sections = tuple(
        Section((f"Page {number}",), "\n\n".join(blocks))
        for number, lines in enumerate(pages, 1)
        if (blocks := paragraphs(lines))
    )
    title = _metadata_title(reader)
    first = next((one_line(line) for lines in pages for line in lines if line.strip()), "")
    if title is None and first and len(first) <= 100 and len(first.split()) <= 15:
        title = first
    return title, sections
