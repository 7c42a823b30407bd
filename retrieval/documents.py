"""The value types that flow through ingestion: a loaded document, its sections, its chunks.

They are plain frozen dataclasses so every stage (loader, chunker, index) can be tested alone
and nothing downstream depends on how a format was parsed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

PIPELINE_VERSION = "4"
"""Bump when loading or chunking changes output, so every document is re-chunked once."""


class LoadError(Exception):
    """A file that cannot become a document; the message is the one-line reason for the report."""


@dataclass(frozen=True)
class Section:
    """A run of body text under one heading path (outermost heading first).

    Paragraphs are separated by blank lines; code blocks are kept verbatim inside ``` fences
    so the chunker never splits them and the composer can quote them whole.
    """

    heading_path: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class LoadedDocument:
    """One source file after format-specific parsing.

    `doc_id` is the path relative to the indexed folder, in POSIX form: it is what citations
    show and what per-channel path-prefix filters match.
    """

    doc_id: str
    title: str
    format: str
    sections: tuple[Section, ...]


def printable_path(text: str) -> str:
    """A path as valid UTF-8 text, so ids, logs, the store and JSON output can all hold it.

    A file name's bytes that are not UTF-8 reach Python as surrogate escapes, which cannot be
    encoded; they become a visible `\\xff` instead, and every other character stays as it is.
    """
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that no file system decoding produced
        raw = text.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace")


def stable_hash(*parts: str, length: int = 16) -> str:
    """A short, deterministic hex digest; stable across processes (unlike `hash()`)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:length]


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: a slice of one section, small enough to embed well."""

    doc_id: str
    ordinal: int
    title: str
    heading_path: tuple[str, ...]
    text: str
    content_hash: str = field(default="")
    chunk_id: str = field(default="")

    @property
    def heading(self) -> str:
        return " > ".join(self.heading_path)

    @property
    def embedding_text(self) -> str:
        """What gets embedded: the title and headings give a bare paragraph its topic."""
        context = " > ".join(p for p in (self.title, *self.heading_path) if p)
        return f"{context}\n{self.text}" if context else self.text


def make_chunk(
    doc_id: str, ordinal: int, title: str, heading_path: tuple[str, ...], text: str, dup: int = 0
) -> Chunk:
    """Build a chunk with its content hash and id.

    The id depends on the document, the content and a duplicate counter but not on the
    position, so inserting a paragraph above a chunk does not change that chunk's id.
    """
    probe = Chunk(doc_id, ordinal, title, heading_path, text)
    content_hash = stable_hash(probe.embedding_text, length=32)
    chunk_id = stable_hash(doc_id, content_hash, str(dup))
    return Chunk(doc_id, ordinal, title, heading_path, text, content_hash, chunk_id)
