"""The source port: where documents come from, as items to list and bytes to read.

A source (a folder, a website, a git repository) lists its items — each with the `doc_id`
it is cited by, its loader format, a validator that changes whenever its content does, and
the URL a reader opens — and reads one item's bytes. The ingester compares validators with
the index and reads only what changed, so a source decides how cheaply "unchanged" can be
known: a folder hashes files, a website gets 304s, a repository has blob ids.

A named source owns the doc_ids under `name/`; the unnamed source (`askdesk index ./docs`)
owns the whole index, exactly as a single docs folder always did.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from askdesk.retrieval.documents import PIPELINE_VERSION
from askdesk.retrieval.folder_scan import scan
from askdesk.retrieval.loaders import format_for_name
from askdesk.retrieval.loaders._source import read_bytes


@dataclass(frozen=True)
class Item:
    """One document a source can produce.

    `validator` is stored as the document's hash: equal validators mean equal content, so
    the item is not read. `key` is the source's own handle (a path, a URL, a blob path).
    """

    doc_id: str
    fmt: str
    validator: str
    url: str | None = None
    key: str = ""


@dataclass
class Listing:
    """What a source holds now.

    `keep` are doc_ids (or prefixes ending in "/") that are not listed but must not be
    removed: an unreadable folder, a page that answered 500 or timed out this time.
    `notes` are figures for the run report (pages fetched, 304s, bytes, renames...).
    `partial` says why the listing may miss documents that still exist (a sitemap or a
    section that could not be read); those are in `keep`, and the run is "partial".
    """

    items: list[Item]
    ignored: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    revision: str | None = None
    notes: dict[str, object] = field(default_factory=dict)
    partial: list[str] = field(default_factory=list)


class Source(Protocol):
    """What the ingester needs from a place where documents live."""

    name: str
    """"" for the unnamed source that owns the whole index, else the doc_id prefix."""

    location: str
    """Where it is, for run rows and messages (a folder, a URL, a git URL without secrets)."""

    kind: str
    """The source type: "folder", "web", "git" or a registered one
    (askdesk.retrieval.source_registry)."""

    def list_items(self) -> Listing:
        """Everything the source holds now; raises only when nothing can be listed at all
        (treating that as empty would remove every document)."""
        ...

    def read(self, item: Item, max_bytes: int) -> bytes:
        """One item's bytes; LoadError with a one-line reason when it cannot be read."""
        ...

    def finish(self) -> None:
        """Called after the sync was written, to remember what was synced (a website its
        validators, a repository its commit). Nothing to remember by default: a source
        class that subclasses Source inherits this."""
        return None


def owns(source_name: str, doc_id: str) -> bool:
    """Whether a doc_id belongs to the source called `source_name` ("" owns everything)."""
    return not source_name or doc_id.startswith(source_name + "/")


def prefixed(source_name: str, rel: str) -> str:
    return f"{source_name}/{rel}" if source_name else rel


def content_validator(data: bytes) -> str:
    """The validator of content known only by its bytes (a file, a page without ETag): what a
    source type returns so an unchanged document is not re-embedded (askdesk.plugins)."""
    return f"{PIPELINE_VERSION}:{hashlib.sha256(data).hexdigest()[:32]}"


class FolderSource(Source):
    """A docs folder on disk: what `askdesk index ./docs` has always indexed."""

    kind = "folder"

    def __init__(self, root: Path, name: str = "", url_template: str | None = None) -> None:
        self.root = Path(root)
        self.name = name
        self.url_template = url_template
        self.location = str(self.root.resolve())

    def check(self) -> None:
        if not self.root.exists():
            raise FileNotFoundError(f"docs folder not found: {self.root}")
        if not self.root.is_dir():
            raise NotADirectoryError(f"not a folder: {self.root}")

    def list_items(self) -> Listing:
        self.check()
        found = scan(self.root)
        items = [
            Item(
                doc_id=prefixed(self.name, f.doc_id),
                fmt=format_for_name(f.doc_id) or "text",
                validator=f.doc_hash,
                url=self.url_template.format(path=f.doc_id) if self.url_template else None,
                key=str(f.path),
            )
            for f in found.files
        ]
        skipped = [{**s, "path": prefixed(self.name, s["path"])} for s in found.skipped]
        keep = [prefixed(self.name, b) for b in found.blocked]
        return Listing(items, found.ignored, skipped, keep)

    def read(self, item: Item, max_bytes: int) -> bytes:
        return read_bytes(Path(item.key), max_bytes)


