"""Timing subclasses of the embedder and the index, to see where an ingest run spends its time.

They only add a perf_counter around each call (microseconds against seconds of work), so an
instrumented run is as fast as a plain one.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex, ChunkRow
from askdesk.retrieval.ingest import IndexReport, Ingester

Clock = defaultdict[str, float]


class TimedEmbedder(Embedder):
    def __init__(self, *, threads: int | None = None) -> None:
        super().__init__(threads=threads)
        self.spent: Clock = defaultdict(float)

    def encode(
        self, texts: Sequence[str], *, on_batch: Callable[[int], Any] | None = None
    ) -> np.ndarray:
        t = time.perf_counter()
        try:
            return super().encode(texts, on_batch=on_batch)
        finally:
            self.spent["embed"] += time.perf_counter() - t
            self.spent["embed_texts"] += len(texts)


class TimedIndex(ChunkIndex):
    def __init__(self, uri: str | Path) -> None:
        super().__init__(uri)
        self.spent: Clock = defaultdict(float)

    def _add(self, key: str, t: float) -> None:
        self.spent[key] += time.perf_counter() - t

    def doc_states(self) -> dict[str, str]:
        t = time.perf_counter()
        try:
            return super().doc_states()
        finally:
            self._add("doc_states", t)

    def doc_chunk_counts(self) -> dict[str, int]:
        t = time.perf_counter()
        try:
            return super().doc_chunk_counts()
        finally:
            self._add("doc_chunk_counts", t)

    def vectors_for(self, content_hashes: Iterable[str]) -> dict[str, np.ndarray]:
        t = time.perf_counter()
        try:
            return super().vectors_for(content_hashes)
        finally:
            self._add("vectors_for", t)

    def replace_documents(self, doc_ids: Sequence[str], rows: Sequence[ChunkRow]) -> None:
        t = time.perf_counter()
        try:
            super().replace_documents(doc_ids, rows)
        finally:
            self._add("replace_documents", t)

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        t = time.perf_counter()
        try:
            super().delete_documents(doc_ids)
        finally:
            self._add("delete_documents", t)

    def ensure_text_index(self) -> None:
        t = time.perf_counter()
        try:
            super().ensure_text_index()
        finally:
            self._add("ensure_text_index", t)

    def compact(self, *args: Any, **kwargs: Any) -> None:
        t = time.perf_counter()
        try:
            super().compact(*args, **kwargs)
        finally:
            self._add("compact", t)


def timed_run(
    index: TimedIndex,
    emb: TimedEmbedder,
    root: Path,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[IndexReport, dict[str, float]]:
    """One ingester run; returns its report and a breakdown of wall time in seconds.

    `load_chunk` is the time between the first "scan" and the first "embed" progress call
    (loading and chunking the new/changed files); `scan_hash` is what precedes it apart from
    the index reads (walking and hashing the folder); `other` is the remainder.
    """
    index.spent.clear()
    emb.spent.clear()
    marks: dict[str, float] = {}

    def track(stage: str, done: int, total: int) -> None:
        marks.setdefault(f"{stage}_first", time.perf_counter())
        if progress:
            progress(stage, done, total)

    t0 = time.perf_counter()
    report = Ingester(index, emb).run(root, progress=track)
    wall = time.perf_counter() - t0
    reads = index.spent["doc_states"] + index.spent["doc_chunk_counts"]
    parts: dict[str, float] = {
        "wall": wall,
        "scan_hash": marks.get("scan_first", t0) - t0 - reads,
        "load_chunk": marks.get("embed_first", t0) - marks.get("scan_first", t0),
        "embed": emb.spent["embed"],
        **{k: v for k, v in index.spent.items()},
    }
    parts["other"] = wall - sum(v for k, v in parts.items() if k != "wall")
    parts["embedded_texts"] = emb.spent["embed_texts"]
    return report, {k: round(v, 3) for k, v in parts.items()}
