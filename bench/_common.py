"""Shared bits of the benchmark scripts: offline model setup, timing, percentiles, output."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

os.environ["HF_HUB_OFFLINE"] = "1"  # never download a model
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from core.evaluation import percentile
from retrieval.embedding import Embedder

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
