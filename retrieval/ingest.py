"""Incremental indexing of a docs folder: load → chunk → hash → embed only what changed → write.

Work is decided per document by the hash of its bytes (plus the pipeline version), and per
chunk by the hash of its embedding text: a changed document is re-chunked, but each of its
chunks whose text was seen before reuses the stored vector, so only new text is embedded.
Documents are written in batches, each batch one atomic commit; an interrupted run leaves
every document either as before or fully updated, and the next run finishes the rest.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from retrieval.chunking import chunk_document
from retrieval.documents import Chunk, LoadError
from retrieval.embedding import Embedder
from retrieval.index import ChunkIndex, ChunkRow, IndexUnavailable
from retrieval.loaders import SUPPORTED_SUFFIXES, load_document
from retrieval.passages import embed_missing

log = logging.getLogger(__name__)

# Bump when loading or chunking changes output, so every document is re-chunked once.
PIPELINE_VERSION = "3"

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as work advances; stages "scan", "embed", "write"."""


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


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return f"{PIPELINE_VERSION}:{h.hexdigest()[:32]}"


def scan_folder(root: Path) -> tuple[list[SourceFile], int]:
    """Supported files under root (hidden files and folders skipped), and how many were ignored."""
    files: list[SourceFile] = []
    ignored = 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            ignored += 1
            continue
        files.append(SourceFile(rel.as_posix(), path, file_hash(path)))
    return files, ignored


def diff_folder(root: Path, index: ChunkIndex) -> FolderDiff:
    """Compare the folder on disk with what the index holds (used by `status` too)."""
    files, ignored = scan_folder(root)
    states = index.doc_states()
    on_disk = {f.doc_id for f in files}
    added = [f for f in files if f.doc_id not in states]
    changed = [f for f in files if f.doc_id in states and states[f.doc_id] != f.doc_hash]
    unchanged = [f for f in files if states.get(f.doc_id) == f.doc_hash]
    removed = sorted(d for d in states if d not in on_disk)
    return FolderDiff(added, changed, removed, unchanged, ignored)


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
        self._prepare_table(rebuild)
        diff = diff_folder(root, self.index)
        report.ignored = diff.ignored
        report.docs_unchanged = len(diff.unchanged)
        counts = self.index.doc_chunk_counts()
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
            rows, embedded, known_before = self._rows(batch, counter.advance)
            self.index.replace_documents([s.doc_id for s, _ in batch], rows)
            # from the first batch on, so that an interrupted run still has full-text search
            self.index.ensure_text_index()
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
            self.index.delete_documents(diff.removed)
            report.docs_removed = diff.removed
            report.chunks_removed += sum(counts.get(d, 0) for d in diff.removed)

        report.passages_embedded = self._index_passages(progress, loaded or diff.removed)

        if loaded or diff.removed or rebuild:
            progress("write", 0, 1)
            self.index.ensure_text_index()
            self.index.compact()
            progress("write", 1, 1)

    def _index_passages(self, progress: Progress, changed: object) -> int:
        """Embed the quotable blocks of every chunk text that has none yet (new text, or an
        index from before passages existed), and forget those of texts no longer indexed."""
        store = self.index.passages
        hashes = self.index.content_hashes()
        stored = store.stored_hashes()
        missing = hashes - stored
        embedded = 0
        if missing:
            embedded = embed_missing(
                store,
                self.index.texts_for(missing),
                self._encode_by_length,
                on_done=lambda done, total: progress("passages", done, total),
            )
        store.prune(hashes)  # texts no longer indexed, and blocks of an older cut
        if missing or changed:
            store.ensure_index()
        return embedded

    def _prepare_table(self, rebuild: bool) -> None:
        model_version = self.embedder.version
        if rebuild:
            self.index.drop()
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
        report.skipped.append({"path": src.doc_id, "reason": reason})
        log.info("skipped file", extra={"path": src.doc_id, "reason": reason})
        return None

    def _rows(
        self,
        batch: list[tuple[SourceFile, list[Chunk]]],
        on_embedded: Callable[[int], None] | None = None,
    ) -> tuple[list[ChunkRow], int, set[str]]:
        """Rows for a batch, the number of texts embedded, and the hashes already stored."""
        chunks = [(src, c) for src, cs in batch for c in cs]
        known = self.index.vectors_for(c.content_hash for _, c in chunks)
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
