"""Shared bits of the benchmark scripts: offline model setup, timing, percentiles, output."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

os.environ["HF_HUB_OFFLINE"] = "1"  # never download a model
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from askdesk.core.evaluation import percentile
from askdesk.retrieval.embedding import Embedder

THREADS = 2
E = TypeVar("E", bound=Embedder)


def log(msg: str) -> None:
    """Progress goes to stderr so `--json` output on stdout stays parseable."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    return p


def emit(figures: dict[str, Any], as_json: bool, text: Callable[[], str]) -> None:
    if as_json:
        print(json.dumps(figures, indent=2, sort_keys=False))
    else:
        print(text())


def embedder(cls: type[E]) -> E:
    e = cls(threads=THREADS)
    t = time.perf_counter()
    _ = e.dimension  # load now, outside any timed section
    e.model.encode(["warm-up sentence"] * 8, batch_size=8, show_progress_bar=False)
    log(f"model loaded in {time.perf_counter() - t:.1f}s ({e.version}, threads={THREADS})")
    return e


class MemoEmbedder(Embedder):
    """Caches query vectors by text; chunk encoding (`encode`) is untouched."""

    def __init__(self, *, threads: int | None = None) -> None:
        super().__init__(threads=threads)
        self._memo: dict[str, np.ndarray] = {}

    def encode_query(self, text: str) -> np.ndarray:
        vec = self._memo.get(text)
        if vec is None:
            vec = super().encode_query(text)
            self._memo[text] = vec
        return vec


class DiskCacheEmbedder(Embedder):
    """Every vector it computes kept on disk (bench/_data/embcache.sqlite, keyed by model
    version and text): a quality benchmark re-run, or another index of the same pages, embeds
    nothing twice. Not for timed benchmarks: a hit costs a lookup, not a model call."""

    def __init__(self, *, threads: int | None = None, path: Path | None = None) -> None:
        super().__init__(threads=threads)
        self._path = path or Path(__file__).resolve().parent / "_data" / "embcache.sqlite"
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self._path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS v (k TEXT PRIMARY KEY, b BLOB)")
        self._lock = threading.Lock()

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.version}\x00{text}".encode()).hexdigest()

    def encode(self, texts: Sequence[str], *, on_batch: Callable[[int], Any] | None = None):  # type: ignore[override]
        if not texts:
            return super().encode(texts)
        keys = [self._key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                rows = self._db.execute(
                    f"SELECT k, b FROM v WHERE k IN ({','.join('?' * len(part))})", part
                ).fetchall()
                found.update((k, np.frombuffer(b, dtype=np.float32)) for k, b in rows)
        missing = sorted({i for i, k in enumerate(keys) if k not in found}, key=keys.__getitem__)
        todo = list(dict.fromkeys(keys[i] for i in missing))
        if todo:
            first = {keys[i]: texts[i] for i in missing}
            vecs = super().encode([first[k] for k in todo], on_batch=on_batch)
            with self._lock:
                self._db.executemany(
                    "INSERT OR REPLACE INTO v VALUES (?, ?)",
                    [(k, v.astype(np.float32).tobytes()) for k, v in zip(todo, vecs, strict=True)],
                )
                self._db.commit()
            found.update(zip(todo, vecs, strict=True))
        elif on_batch:
            on_batch(len(texts))
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


@contextmanager
def timer(out: dict[str, float], key: str) -> Iterator[None]:
    t = time.perf_counter()
    try:
        yield
    finally:
        out[key] = time.perf_counter() - t


def pct(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 2),
        "p95": round(percentile(values, 0.95), 2),
        "mean": round(sum(values) / len(values), 2) if values else 0.0,
    }


def progress_printer(label: str, every_s: float = 15.0) -> Callable[[str, int, int], None]:
    """An ingester progress callback that prints at most every `every_s` seconds per stage."""
    last: dict[str, float] = {}

    def show(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if done in (0, total) or now - last.get(stage, 0.0) >= every_s:
            last[stage] = now
            log(f"{label}: {stage} {done}/{total}")

    return show
