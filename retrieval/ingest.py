"""Incremental indexing of sources: list → read what changed → chunk → embed new text → write.

Work is decided per document by its validator (a hash of its bytes, an ETag, a blob id; see
askdesk.retrieval.sources), and per
chunk by the hash of its embedding text: a changed document is re-chunked, but each of its
chunks whose text was seen before reuses the stored vector, so only new text is embedded.
Documents are written in batches, each batch one atomic commit; an interrupted run leaves
every document either as before or fully updated, and the next run finishes the rest.
A rebuild is built aside and swapped in with one commit, so the old index serves until then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from askdesk.retrieval.chunking import chunk_document
from askdesk.retrieval.documents import Chunk, LoadError
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import STAGING, ChunkIndex, ChunkRow, IndexUnavailable
from askdesk.retrieval.loaders import parse
from askdesk.retrieval.passages import embed_missing
from askdesk.retrieval.sources import FolderSource, Item, Listing, Source, owns

log = logging.getLogger(__name__)

__all__ = ["IndexReport", "Ingester", "diff_folder", "diff_source"]

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as work advances; stages "scan", "embed", "passages",
"write"."""


@dataclass
class IndexReport:
    """What one run did; becomes an IndexRun row and the CLI's summary."""

    docs_root: str
    embed_model: str
    source: str = ""
    """The source's name ("" for the unnamed source that owns the whole index)."""
    kind: str = "folder"
    revision: str | None = None
    """The git commit a repository source was synced at."""
    notes: dict[str, object] = field(default_factory=dict)
    docs_added: list[str] = field(default_factory=list)
    docs_changed: list[str] = field(default_factory=list)
    docs_removed: list[str] = field(default_factory=list)
    docs_unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    chunks_embedded: int = 0
    passages_embedded: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    ignored: int = 0
    status: str = "ok"
    """"ok", "partial" (synced; some of the source could not be seen and was kept),
    "failed" or "interrupted"."""
    error: str | None = None
    started_at: float = field(default_factory=time.time)
    duration_s: float = 0.0
    table_version: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "docs_root": self.docs_root,
            "source": self.source,
            "kind": self.kind,
            "revision": self.revision,
            "notes": self.notes,
            "embed_model": self.embed_model,
            "status": self.status,
            "docs_added": len(self.docs_added),
            "docs_changed": len(self.docs_changed),
            "docs_removed": len(self.docs_removed),
            "docs_unchanged": self.docs_unchanged,
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "chunks_unchanged": self.chunks_unchanged,
            "chunks_embedded": self.chunks_embedded,
            "passages_embedded": self.passages_embedded,
            "skipped": self.skipped,
            "ignored": self.ignored,
            "duration_s": round(self.duration_s, 3),
            "table_version": self.table_version,
            "error": self.error,
        }


@dataclass(frozen=True)
class SourceDiff:
    added: list[Item]
    changed: list[Item]
    removed: list[str]
    unchanged: list[Item]
    ignored: int
    skipped: list[dict[str, str]] = field(default_factory=list)
    """Items that are not (or no longer) indexable as they are, each with its reason."""
    listing: Listing | None = None



def diff_folder(
    root: Path, index: ChunkIndex, known_skips: Iterable[Mapping[str, Any]] = ()
) -> SourceDiff:
    """Compare the folder on disk with what the index holds (used by `status` too)."""
    return diff_source(FolderSource(root), index, known_skips)


def diff_source(
    source: Source,
    index: ChunkIndex,
    known_skips: Iterable[Mapping[str, Any]] = (),
    listing: Listing | None = None,
) -> SourceDiff:
    """Compare what a source holds with what the index holds for it.

    Only documents the source owns are compared (a named source: those under `name/`).
    `known_skips` are a previous run's skipped entries: an item skipped then, with the same
    validator now, would be skipped again, so it is listed as skipped, not as a change.
    Items the source could not read this time (`listing.keep`) are kept, not removed.
    """
    found = listing if listing is not None else source.list_items()
    states = {d: h for d, h in index.doc_states().items() if owns(source.name, d)}
    by_id = {f.doc_id: f for f in found.items}
    again: dict[str, str] = {}
    for entry in known_skips:
        f = by_id.get(str(entry.get("path")))
        if f is not None and entry.get("doc_hash") == f.validator:
            again[f.doc_id] = str(entry.get("reason") or "skipped")
    skipped = list(found.skipped)
    items = []
    for f in found.items:
        if f.doc_id in again and states.get(f.doc_id) != f.validator:
            skipped.append({"path": f.doc_id, "reason": again[f.doc_id]})
        else:
            items.append(f)
    keep_ids = {s["path"] for s in found.skipped} | set(found.keep)
    prefixes = [k for k in found.keep if k.endswith("/")]
    present = {f.doc_id for f in found.items} | keep_ids
    added = [f for f in items if f.doc_id not in states]
    changed = [f for f in items if f.doc_id in states and states[f.doc_id] != f.validator]
    unchanged = [f for f in items if states.get(f.doc_id) == f.validator]
    removed = sorted(
        d for d in states if d not in present and not any(d.startswith(b) for b in prefixes)
    )
    skipped.sort(key=lambda s: s["path"])
    return SourceDiff(added, changed, removed, unchanged, found.ignored, skipped, found)


class Ingester:
    """Brings one LanceDB index in line with one docs folder."""

    def __init__(
        self,
        index: ChunkIndex,
        embedder: Embedder,
        *,
        batch_chunks: int = 512,
        max_file_mb: float = 20.0,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.batch_chunks = batch_chunks
        self.max_file_mb = max_file_mb
        self.last_report: IndexReport | None = None  # readable after an interrupted run

    def run(
        self,
        source: Path | Source,
        *,
        rebuild: bool = False,
        progress: Progress | None = None,
    ) -> IndexReport:
        """Bring the index in line with one source (a Path means the unnamed folder source,
        which owns the whole index)."""
        src: Source = FolderSource(Path(source)) if isinstance(source, (str, Path)) else source
        if isinstance(src, FolderSource):
            src.check()
        return self.run_many([src], rebuild=rebuild, progress=progress, raise_failure=True)[0]

    def run_many(
        self,
        sources: list[Source],
        *,
        rebuild: bool = False,
        progress: Progress | None = None,
        drop_unowned: bool = False,
        on_report: Callable[[IndexReport], None] | None = None,
        raise_failure: bool = False,
        keep_names: Iterable[str] = (),
    ) -> list[IndexReport]:
        """Sync several sources into one index, one report each (`on_report` is called as
        each finishes, so a caller records it even if a later one fails).

        A source that cannot be listed at all (unreachable site, missing repository) fails
        its own report and keeps its documents; the others still sync. With
        `drop_unowned`, documents no source owns (a source removed from the config) are
        deleted, in one more report whose `source` is "(removed)"; `keep_names` are names
        still configured that could not be built this time. A rebuild syncs every source
        into a staging table and swaps it in once.
        """
        progress = progress or _no_progress
        self._drop_leftover_staging()
        try:
            target = self._target(rebuild)
        except Exception as exc:  # no source can sync: each gets a failed report, then raise
            for src in sources:
                report = IndexReport(src.location, self.embedder.model_name, src.name, src.kind)
                report.status = "failed"
                report.error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                self.last_report = report
                if on_report is not None:
                    on_report(report)
            raise
        reports: list[IndexReport] = []
        changed = False
        for src in sources:
            report = self._one(src, target, progress, raise_failure)
            reports.append(report)
            changed = changed or bool(report.docs_added or report.docs_changed)
            changed = changed or bool(report.docs_removed)
            if on_report is not None:
                on_report(report)
        if drop_unowned and not rebuild:
            gone = self._drop_unowned(target, [s.name for s in sources] + list(keep_names))
            if gone is not None:
                reports.append(gone)
                changed = True
                if on_report is not None:
                    on_report(gone)
        failed = [r for r in reports if r.status != "ok"]
        if rebuild:
            if failed:  # a partial source's kept documents are not in the staging table
                for r in failed:
                    if r.status == "partial":
                        r.status = "failed"
                        r.error = f"{r.error}, and the rebuild was not swapped in"
                target.drop()
                return reports
            progress("write", 0, 1)
            self.index.swap_in(target)
            target.drop()
            self.index.compact()
            progress("write", 1, 1)
        elif changed:
            progress("write", 0, 1)
            self.index.compact()
            progress("write", 1, 1)
        version = self.index.version if self.index.exists() else None
        for report in reports:
            report.table_version = version
        return reports

    def _target(self, rebuild: bool) -> ChunkIndex:
        """The table this run writes: the index, or a fresh staging table for a rebuild."""
        if rebuild:
            target = self.index.sibling(STAGING)  # opened like the index (object storage too)
            target.drop()
            target.create(self.embedder.dimension, self.embedder.version)
            return target
        self._prepare_table()
        # cheap when present; repairs a table whose full-text index was lost
        self.index.ensure_text_index()
        self.index.ensure_doc_index()  # likewise for an index made before it existed
        self.index.ensure_url_column()
        return self.index

    def _one(
        self, src: Source, index: ChunkIndex, progress: Progress, raise_failure: bool
    ) -> IndexReport:
        report = IndexReport(
            docs_root=src.location,
            embed_model=self.embedder.model_name,
            source=src.name,
            kind=src.kind,
        )
        self.last_report = report
        t0 = time.perf_counter()
        try:
            self._sync(src, report, index, progress)
            src.finish()  # remember what was synced (a no-op for a folder)
        except KeyboardInterrupt:
            report.status = "interrupted"
            report.error = "interrupted; the next run completes the remaining documents"
            raise
        except Exception as exc:
            report.status = "failed"
            report.error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            if raise_failure:  # the caller reports it: one line, not a warning as well
                raise
            log.warning(
                "source sync failed",
                extra={"source": src.name, "kind": src.kind, "error": report.error},
            )
        finally:
            report.duration_s = time.perf_counter() - t0
            report.table_version = self.index.version if self.index.exists() else None
        return report

    def _drop_unowned(self, index: ChunkIndex, names: list[str]) -> IndexReport | None:
        """Delete the documents of sources no longer configured."""
        gone = sorted(d for d in index.doc_states() if not any(owns(n, d) for n in names))
        if not gone:
            return None
        counts = index.doc_chunk_counts()
        index.delete_documents(gone)
        report = IndexReport(
            docs_root="(removed sources)", embed_model=self.embedder.model_name, source="(removed)"
        )
        report.docs_removed = gone
        report.chunks_removed = sum(counts.get(d, 0) for d in gone)
        report.notes = {"sources": sorted({d.split("/", 1)[0] for d in gone})}
        log.info("removed sources dropped", extra={"docs": len(gone)})
        return report

    def _drop_leftover_staging(self) -> None:
        try:
            self.index.sibling(STAGING).drop()
        except Exception as exc:  # never block a run on cleaning up after an older one
            log.warning("leftover rebuild table not dropped", extra={"error": str(exc)[:200]})

    def _sync(
        self, src: Source, report: IndexReport, index: ChunkIndex, progress: Progress
    ) -> None:
        """Bring `index` in line with one source, one atomic batch of documents at a time."""
        listing = src.list_items()
        report.revision = listing.revision
        report.notes = dict(listing.notes)
        if listing.partial:  # synced, but not everything could be seen: nothing unseen removed
            report.status = "partial"
            reasons = " and ".join(listing.partial)[:300]
            report.error = f"{reasons}, so documents not seen are kept"
        diff = diff_source(src, index, listing=listing)
        report.ignored = diff.ignored
        report.skipped.extend(diff.skipped)
        for entry in diff.skipped:
            log.info("skipped item", extra={"path": entry["path"], "reason": entry["reason"]})
        report.docs_unchanged = len(diff.unchanged)
        self._refresh_links(index, diff.unchanged, report)
        counts = index.doc_chunk_counts()
        report.chunks_unchanged = sum(counts.get(f.doc_id, 0) for f in diff.unchanged)
        todo = diff.added + diff.changed
        progress("scan", 0, len(todo))

        loaded: list[tuple[Item, list[Chunk]]] = []
        for i, item in enumerate(todo, 1):
            chunks = self._load(src, item, report)
            if chunks is not None:
                loaded.append((item, chunks))
            progress("scan", i, len(todo))

        added_ids = {f.doc_id for f in diff.added}
        total_chunks = sum(len(c) for _, c in loaded)
        counter = _EmbedProgress(progress, total_chunks)
        done = 0
        for batch in _batches(loaded, self.batch_chunks):
            rows, embedded, known_before = self._rows(index, batch, counter.advance)
            index.replace_documents([s.doc_id for s, _ in batch], rows)
            for item, chunks in batch:
                if item.doc_id in added_ids:
                    report.docs_added.append(item.doc_id)
                    report.chunks_added += len(chunks)
                    continue
                report.docs_changed.append(item.doc_id)
                kept = sum(1 for c in chunks if c.content_hash in known_before)
                report.chunks_unchanged += kept
                report.chunks_added += len(chunks) - kept
                report.chunks_removed += max(counts.get(item.doc_id, 0) - kept, 0)
            report.chunks_embedded += embedded
            done += len(rows)
            counter.set(done)

        if diff.removed:
            index.delete_documents(diff.removed)
            report.docs_removed = diff.removed
            report.chunks_removed += sum(counts.get(d, 0) for d in diff.removed)

        report.passages_embedded = self._index_passages(index, progress, loaded or diff.removed)

    def _refresh_links(self, index: ChunkIndex, unchanged: list[Item], report: IndexReport) -> None:
        """Unchanged documents whose link changed (a `web_url` edited, a password taken out
        of a source URL by a newer version) get the new link without being re-embedded."""
        if not unchanged:
            return
        stored = index.doc_urls()
        stale = {f.doc_id: f.url for f in unchanged if stored.get(f.doc_id, f.url) != f.url}
        if stale:
            index.set_document_urls(stale)
            report.notes["links_updated"] = len(stale)

    def _index_passages(self, index: ChunkIndex, progress: Progress, changed: object) -> int:
        """Embed the quotable blocks of every chunk text that has none yet (new text, or an
        index from before passages existed), and forget those of texts no longer indexed."""
        store = index.passages
        hashes = index.content_hashes()
        keys = store.stored_keys()  # read once: what is missing and what is stale
        missing = hashes - store.stored_hashes(keys)
        embedded = 0
        if missing:
            embedded = embed_missing(
                store,
                index.texts_for(missing),
                self._encode_by_length,
                on_done=lambda done, total: progress("passages", done, total),
            )
        store.prune(hashes, keys)  # texts no longer indexed, and blocks of an older cut
        if missing or changed:
            store.ensure_index()
        return embedded

    def _prepare_table(self) -> None:
        model_version = self.embedder.version
        if not self.index.exists():
            self.index.create(self.embedder.dimension, model_version)
            return
        built_with = self.index.embed_model
        if built_with and built_with != model_version:
            raise IndexUnavailable(
                f"the index was built with {built_with} but the embedding model is now "
                f"{model_version}; run `askdesk index --rebuild` to re-embed everything"
            )

    def _encode_by_length(self, texts: list[str]) -> np.ndarray:
        """Encode longest first (batches of alike lengths pad least), rows in input order."""
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors = self.embedder.encode([texts[i] for i in order])
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

    def _load(self, src: Source, item: Item, report: IndexReport) -> list[Chunk] | None:
        try:
            data = src.read(item, int(self.max_file_mb * 1_000_000))
            chunks = chunk_document(parse(data, item.fmt, item.doc_id))
            if not chunks:
                raise LoadError("no text content")
            return chunks
        except LoadError as exc:
            reason = str(exc)
        except (OSError, UnicodeError, ValueError) as exc:  # unreadable despite the loaders
            reason = (
                f"unreadable: {str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__}"
            )
        # the hash lets `status` tell "will be skipped again" from "changed since"
        report.skipped.append({"path": item.doc_id, "reason": reason, "doc_hash": item.validator})
        log.info("skipped item", extra={"path": item.doc_id, "reason": reason})
        return None

    def _rows(
        self,
        index: ChunkIndex,
        batch: list[tuple[Item, list[Chunk]]],
        on_embedded: Callable[[int], None] | None = None,
    ) -> tuple[list[ChunkRow], int, set[str]]:
        """Rows for a batch, the number of texts embedded, and the hashes already stored."""
        chunks = [(src, c) for src, cs in batch for c in cs]
        known = index.vectors_for(c.content_hash for _, c in chunks)
        known_before = set(known)
        need: dict[str, str] = {}
        for _, c in chunks:
            if c.content_hash not in known:
                need.setdefault(c.content_hash, c.embedding_text)
        if need:
            texts = list(need.values())
            order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
            vectors = self.embedder.encode([texts[i] for i in order], on_batch=on_embedded)
            hashes = list(need)
            for pos, i in enumerate(order):
                known[hashes[i]] = vectors[pos]
        rows = [
            ChunkRow(
                chunk_id=c.chunk_id,
                doc_id=c.doc_id,
                doc_hash=src.validator,
                ordinal=c.ordinal,
                title=c.title,
                heading=c.heading,
                text=c.text,
                content_hash=c.content_hash,
                format=src.fmt,
                vector=np.asarray(known[c.content_hash], dtype=np.float32),
                url=src.url,
            )
            for src, c in chunks
        ]
        return rows, len(need), known_before


class _EmbedProgress:
    """Advances the "embed" stage as each encode sub-batch finishes, not only per write."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0
        progress("embed", 0, total)

    def advance(self, n: int) -> None:
        self.set(self.done + n)

    def set(self, done: int) -> None:
        self.done = min(done, self.total)
        self.progress("embed", self.done, self.total)


def _batches(
    loaded: list[tuple[Item, list[Chunk]]], max_chunks: int
) -> Iterator[list[tuple[Item, list[Chunk]]]]:
    """Group whole documents into write batches of about max_chunks chunks."""
    batch: list[tuple[Item, list[Chunk]]] = []
    size = 0
    for item in loaded:
        if batch and size + len(item[1]) > max_chunks:
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += len(item[1])
    if batch:
        yield batch


def _no_progress(stage: str, done: int, total: int) -> None:
    return None
