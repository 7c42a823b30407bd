"""Turning files into `LoadedDocument`s: one entry point, one small parser module per format.

Every failure leaves as a `LoadError` whose message is a one-line reason fit for an ingest
report ("empty file", "encrypted PDF", ...): one bad file must neither stop an ingest run nor
dump a parser traceback on an operator who can only fix the file.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from askdesk.retrieval.documents import LoadedDocument, LoadError, Section, printable_path
from askdesk.retrieval.loaders._outline import prettify_stem
from askdesk.retrieval.loaders._plaintext import parse_text
from askdesk.retrieval.loaders._source import MB, decode_text, read_bytes

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_SUFFIXES",
    "LoadError",
    "format_for_name",
    "format_for_type",
    "load_document",
    "parse",
]

DEFAULT_MAX_BYTES = 20 * MB

_FORMATS = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_FORMATS)
_MEDIA_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/x-rst": "rst",
    "text/plain": "text",
}


def format_for_name(name: str) -> str | None:
    """The loader format of a file name by its suffix (None: not a format we read)."""
    dot = name.rfind(".")
    return _FORMATS.get(name[dot:].lower()) if dot >= 0 else None


def format_for_type(content_type: str | None, name: str = "") -> str | None:
    """The loader format of a fetched page: its media type, the suffix breaking ties.

    Servers often send Markdown and reStructuredText as text/plain, so a text/plain page
    whose name says .md or .rst is read as such; a missing type falls back to the name.
    """
    media = (content_type or "").split(";")[0].strip().lower()
    by_name = format_for_name(name)
    if not media or media == "application/octet-stream":
        return by_name
    fmt = _MEDIA_TYPES.get(media)
    if fmt == "text" and by_name in ("markdown", "rst", "text"):
        return by_name
    return fmt


Parsed = tuple[str | None, tuple[Section, ...]]


def _markdown(data: bytes) -> Parsed:
    # lean: its parser (markdown-it, docutils, bs4, pypdf) loads with its first document
    from askdesk.retrieval.loaders._markdown import parse_markdown

    title, outline = parse_markdown(decode_text(data))
    return outline.build(title)


def _rst(data: bytes) -> Parsed:
    # lean: its parser (markdown-it, docutils, bs4, pypdf) loads with its first document
    from askdesk.retrieval.loaders._rst import parse_rst

    return parse_rst(decode_text(data)).build()


def _html(data: bytes) -> Parsed:
    """A lone leading <h1> names the page best; else <title>, which often has a site suffix."""
    # lean: its parser (markdown-it, docutils, bs4, pypdf) loads with its first document
    from askdesk.retrieval.loaders._html import parse_html

    page_title, outline = parse_html(decode_text(data, html=True))
    title, sections = outline.build(None, first_h1_fallback=False)
    return title or page_title or outline.first_heading(), sections


def _text(data: bytes) -> Parsed:
    title, outline = parse_text(decode_text(data))
    return outline.build(title)


def _pdf(data: bytes) -> Parsed:
    # lean: its parser (markdown-it, docutils, bs4, pypdf) loads with its first document
    from askdesk.retrieval.loaders._pdf import parse_pdf

    return parse_pdf(data)


_PARSERS: dict[str, Callable[[bytes], Parsed]] = {
    "markdown": _markdown,
    "rst": _rst,
    "html": _html,
    "text": _text,
    "pdf": _pdf,
}


@contextmanager
def _quiet() -> Iterator[None]:
    """Parsers report recoverable damage via warnings/logging; our LoadError is the report.

    pypdf logs through `logging`, which with no handler configured falls back to stderr.
    """
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        pypdf_log.setLevel(level)


def _doc_id(path: Path, root: Path) -> str:
    try:
        return printable_path(path.relative_to(root).as_posix())
    except ValueError:
        pass
    try:
        return printable_path(path.resolve().relative_to(root.resolve()).as_posix())
    except ValueError:
        raise ValueError(f"{path} is not inside {root}") from None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def load_document(path: Path, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedDocument:
    """Load one file under `root`; raise LoadError (only) when it cannot become a document.

    A path outside `root` is a caller bug, not a bad file, and raises ValueError.
    """
    doc_id = _doc_id(path, root)
    suffix = path.suffix.lower()
    fmt = _FORMATS.get(suffix)
    if fmt is None:
        raise LoadError(f"unsupported file type: {suffix or 'no extension'}")
    return parse(read_bytes(path, max_bytes), fmt, doc_id)


def parse(data: bytes, fmt: str, doc_id: str) -> LoadedDocument:
    """Bytes of one item (a file, a fetched page, a blob) → a document, or LoadError.

    Sources read bytes; this is the only place that knows formats, so a page fetched from a
    website and a file in a folder become documents the same way.
    """
    parser = _PARSERS.get(fmt)
    if parser is None:
        raise LoadError(f"unsupported format: {fmt}")
    if not data:
        raise LoadError("empty file")
    with _quiet():
        try:
            title, sections = parser(data)
        except LoadError:
            raise
        except RecursionError as exc:
            raise LoadError("too deeply nested to parse") from exc
        except Exception as exc:
            raise LoadError(f"could not parse {fmt}: {_short(exc)}") from exc
    sections = tuple(s for s in sections if s.text.strip())
    if not sections:
        raise LoadError("no text content")
    return LoadedDocument(doc_id, title or _stem_title(doc_id), fmt, sections)


def _stem_title(doc_id: str) -> str:
    """A title from the last path segment's stem ("guides/set-up.md" → "Set up")."""
    name = doc_id.rstrip("/").rsplit("/", 1)[-1] or doc_id
    stem = name.rsplit(".", 1)[0] if "." in name[1:] else name
    return prettify_stem(printable_path(stem or name))
