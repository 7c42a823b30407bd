"""Incremental indexing of a docs folder: load → chunk → hash → embed only what changed → write.

Work is decided per document by the hash of its bytes (plus the pipeline version), and per
chunk by the hash of its embedding text: a changed document is re-chunked, but each of its
chunks whose text was seen before reuses the stored vector, so only new text is embedded.
Documents are written in batches, each batch one atomic commit; an interrupted run leaves
every document either as before or fully updated, and the next run finishes the rest.
A rebuild is built aside and swapped in with one commit, so the old index serves until then.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.chunking import chunk_document
from retrieval.documents import Chunk, LoadError, printable_path
from retrieval.embedding import Embedder
from retrieval.index import STAGING, ChunkIndex, ChunkRow, IndexUnavailable
from retrieval.loaders import SUPPORTED_SUFFIXES, load_document
from retrieval.passages import embed_missing

log = logging.getLogger(__name__)

# Bump when loading or chunking changes output, so every document is re-chunked once.
PIPELINE_VERSION = "3"

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as work advances; stages "scan", "embed", "passages",
"write"."""


@dataclass
class SourceFile:
    doc_id: str
    path: Path
    doc_hash: str


@dataclass
class IndexReport:
    """What one run did; becomes an IndexRun row and the CLI's summary."""

    docs_root: str
    embed_model: str
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
    error: str | None = None
    started_at: float = field(default_factory=time.time)
    duration_s: float = 0.0
    table_version: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "docs_root": self.docs_root,
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
class FolderDiff:
    added: list[SourceFile]
    changed: list[SourceFile]
    removed: list[str]
    unchanged: list[SourceFile]
    ignored: int
    skipped: list[dict[str, str]] = field(default_factory=list)
    """Files on disk that are not (or no longer) indexable as they are, each with its reason."""


@dataclass(frozen=True)
class FolderScan:
    """What is on disk: the files to index, and the ones that cannot even be read.

    `blocked` are folders that could not be listed: documents indexed from under them are
    kept, not removed, since they may well still be there.
    """

    files: list[SourceFile]
    ignored: int
    skipped: list[dict[str, str]]
    blocked: list[str]


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f"{PIPELINE_VERSION}:{h.hexdigest()[:32]}"


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc) or type(exc).__name__).splitlines()[0][:120]


def scan(root: Path) -> FolderScan:
    """Walk `root` (hidden files and folders skipped, folder links not followed).

    Hashing happens here, so a file that cannot be read is reported as skipped with its
    reason instead of ending the scan; so are broken and looping symbolic links. Only an
    unreadable `root` raises: treating it as empty would remove every document.
    """
    files: list[SourceFile] = []
    skipped: list[dict[str, str]] = []
    blocked: list[str] = []
    ignored = 0

    def walk_error(exc: OSError) -> None:
        if exc.filename is None or Path(exc.filename) == root:
            raise exc
        rel = printable_path(Path(exc.filename).relative_to(root).as_posix())
        blocked.append(rel + "/")
        skipped.append({"path": rel + "/", "reason": f"cannot read folder: {_reason(exc)}"})

    for top, dirs, names in os.walk(root, onerror=walk_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if name.startswith("."):
                continue
            path = Path(top) / name
            doc_id = printable_path(path.relative_to(root).as_posix())
            try:
                st = path.stat()
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    reason = "symbolic link loop"
                elif path.is_symlink():
                    reason = "broken symbolic link (its target is missing)"
                else:
                    reason = f"cannot read file: {_reason(exc)}"
                skipped.append({"path": doc_id, "reason": reason})
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                ignored += 1
                continue
            try:
                files.append(SourceFile(doc_id, path, file_hash(path)))
            except OSError as exc:
                skipped.append({"path": doc_id, "reason": f"cannot read file: {_reason(exc)}"})
    files.sort(key=lambda f: f.doc_id)
    skipped.sort(key=lambda s: s["path"])
    return FolderScan(files, ignored, skipped, blocked)


def scan_folder(root: Path) -> tuple[list[SourceFile], int]:
    """Readable supported files under root, and how many were ignored (see `scan`)."""
    found = scan(root)
    return found.files, found.ignored


def diff_folder(
    root: Path, index: ChunkIndex, known_skips: Iterable[Mapping[str, Any]] = ()
) -> FolderDiff:
    """Compare the folder on disk with what the index holds (used by `status` too).

    `known_skips` are a previous run's skipped entries: a file skipped then, with the same
    content hash now, would be skipped again, so it is listed as skipped, not as a change.
    Unreadable files and folders are kept in the index, not removed.
    """
    found = scan(root)
    states = index.doc_states()
    by_id = {f.doc_id: f for f in found.files}
    again: dict[str, str] = {}
    for entry in known_skips:
        f = by_id.get(str(entry.get("path")))
        if f is not None and entry.get("doc_hash") == f.doc_hash:
            again[f.doc_id] = str(entry.get("reason") or "skipped")
    skipped = list(found.skipped)
    files = []
    for f in found.files:
        if f.doc_id in again and states.get(f.doc_id) != f.doc_hash:
            skipped.append({"path": f.doc_id, "reason": again[f.doc_id]})
        else:
            files.append(f)
    keep = {s["path"] for s in found.skipped}
    on_disk = {f.doc_id for f in found.files} | keep
    added = [f for f in files if f.doc_id not in states]
    changed = [f for f in files if f.doc_id in states and states[f.doc_id] != f.doc_hash]
    unchanged = [f for f in files if states.get(f.doc_id) == f.doc_hash]
    removed = sorted(
        d
        for d in states
        if d not in on_disk and not any(d.startswith(b) for b in found.blocked)
    )
    skipped.sort(key=lambda s: s["path"])
    return FolderDiff(added, changed, removed, unchanged, found.ignored, skipped)


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
        self, root: Path, *, rebuild: bool = False, progress: Progress | None = None
    ) -> IndexReport:
        root = Path(root)
        if not root.exists():
            raise FileNotFoundError(f"docs folder not found: {root}")
        if not root.is_dir():
            raise NotADirectoryError(f"not a folder: {root}")
        report = IndexReport(docs_root=str(root.resolve()), embed_model=self.embedder.model_name)
        self.last_report = report
        t0 = time.perf_counter()
        try:
            self._run(root, report, rebuild, progress or _no_progress)
        except KeyboardInterrupt:
            report.status = "interrupted"
            report.error = "interrupted; the next run completes the remaining documents"
            raise
        except Exception as exc:
            report.status = "failed"
            report.error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            raise
        finally:
            report.duration_s = time.perf_counter() - t0
            report.table_version = self.index.version if self.index.exists() else None
        return report

    def _run(self, root: Path, report: IndexReport, rebuild: bool, progress: Progress) -> None:
        self._drop_leftover_staging()
        if rebuild:
            self._rebuild(root, report, progress)
            return
        self._prepare_table()
        # cheap when present; repairs a table whose full-text index was lost (a crash, a bug)
        self.index.ensure_text_index()
        self._sync(root, report, self.index, progress)

    def _rebuild(self, root: Path, report: IndexReport, progress: Progress) -> None:
        """Embed everything into a staging table, then swap it in with one commit.

        Until the swap the old index keeps serving; a run killed before it leaves the old
        index as it was (the next run drops the leftover staging table).
        """
        staged = self.index.sibling(STAGING)
        staged.drop()
        staged.create(self.embedder.dimension, self.embedder.version)
        self._sync(root, report, staged, progress, compact=False)  # it is copied, then dropped
        progress("write", 0, 1)
        self.index.swap_in(staged)
        staged.drop()
        self.index.compact()
        progress("write", 1, 1)

    def _drop_leftover_staging(self) -> None:
        try:
            self.index.sibling(STAGING).drop()
        except Exception as exc:  # never block a run on cleaning up after an older one
            log.warning("leftover rebuild table not dropped", extra={"error": str(exc)[:200]})

    def _sync(
        self,
        root: Path,
        report: IndexReport,
        index: ChunkIndex,
        progress: Progress,
        *,
        compact: bool = True,
    ) -> None:
        """Bring `index` in line with the folder, one atomic batch of documents at a time."""
        diff = diff_folder(root, index)
        report.ignored = diff.ignored
        report.skipped.extend(diff.skipped)
        for entry in diff.skipped:
            log.info("skipped file", extra={"path": entry["path"], "reason": entry["reason"]})
        report.docs_unchanged = len(diff.unchanged)
        counts = index.doc_chunk_counts()
        report.chunks_unchanged = sum(counts.get(f.doc_id, 0) for f in diff.unchanged)
        todo = diff.added + diff.changed
        progress("scan", 0, len(todo))

        loaded: list[tuple[SourceFile, list[Chunk]]] = []
        for i, src in enumerate(todo, 1):
            chunks = self._load(src, root, report)
            if chunks is not None:
                loaded.append((src, chunks))
            progress("scan", i, len(todo))

        added_ids = {f.doc_id for f in diff.added}
        total_chunks = sum(len(c) for _, c in loaded)
        counter = _EmbedProgress(progress, total_chunks)
        done = 0
        for batch in _batches(loaded, self.batch_chunks):
            rows, embedded, known_before = self._rows(index, batch, counter.advance)
            index.replace_documents([s.doc_id for s, _ in batch], rows)
            for src, chunks in batch:
                if src.doc_id in added_ids:
                    report.docs_added.append(src.doc_id)
                    report.chunks_added += len(chunks)
                    continue
                report.docs_changed.append(src.doc_id)
                kept = sum(1 for c in chunks if c.content_hash in known_before)
                report.chunks_unchanged += kept
                report.chunks_added += len(chunks) - kept
                report.chunks_removed += max(counts.get(src.doc_id, 0) - kept, 0)
            report.chunks_embedded += embedded
            done += len(rows)
            counter.set(done)

        if diff.removed:
            index.delete_documents(diff.removed)
            report.docs_removed = diff.removed
            report.chunks_removed += sum(counts.get(d, 0) for d in diff.removed)

        report.passages_embedded = self._index_passages(index, progress, loaded or diff.removed)

        if (loaded or diff.removed) and compact:
            progress("write", 0, 1)
            index.compact()
            progress("write", 1, 1)

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

    def _load(self, src: SourceFile, root: Path, report: IndexReport) -> list[Chunk] | None:
        try:
            doc = load_document(src.path, root, max_bytes=int(self.max_file_mb * 1_000_000))
            chunks = chunk_document(doc)
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
        report.skipped.append({"path": src.doc_id, "reason": reason, "doc_hash": src.doc_hash})
        log.info("skipped file", extra={"path": src.doc_id, "reason": reason})
        return None

    def _rows(
        self,
        index: ChunkIndex,
        batch: list[tuple[SourceFile, list[Chunk]]],
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
                doc_hash=src.doc_hash,
                ordinal=c.ordinal,
                title=c.title,
                heading=c.heading,
                text=c.text,
                content_hash=c.content_hash,
                format=src.path.suffix.lower().lstrip("."),
                vector=np.asarray(known[c.content_hash], dtype=np.float32),
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
    loaded: list[tuple[SourceFile, list[Chunk]]], max_chunks: int
) -> Iterator[list[tuple[SourceFile, list[Chunk]]]]:
    """Group whole documents into write batches of about max_chunks chunks."""
    batch: list[tuple[SourceFile, list[Chunk]]] = []
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
