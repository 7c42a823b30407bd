"""Scoring the engine on a golden set: retrieval (hit@k, MRR, nDCG@10) and answer overlap.

A golden line is `{"question", "answer"?, "sources"?}`. A reference source matches a
retrieved document when the document's path ends with the reference path, so a golden set
written against `faq.html` still matches `docs/faq.html` wherever the folder was indexed.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.engine import AnswerEngine
from core.types import Question

_CITE = re.compile(r"\[\d+\]")
_TOKEN = re.compile(r"\w+", re.UNICODE)


class GoldenError(ValueError):
    """A golden file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class GoldenItem:
    question: str
    answer: str | None = None
    sources: tuple[str, ...] = ()
    line: int = 0


def load_golden(path: Path) -> list[GoldenItem]:
    if not path.exists():
        raise GoldenError(f"golden file not found: {path}")
    items: list[GoldenItem] = []
    with path.open(encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise GoldenError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict) or not str(obj.get("question", "")).strip():
                raise GoldenError(f'{path}:{n}: each line needs a non-empty "question"')
            sources = obj.get("sources") or []
            if isinstance(sources, str):
                sources = [sources]
            if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
                raise GoldenError(f'{path}:{n}: "sources" must be a list of paths')
            answer = obj.get("answer")
            items.append(
                GoldenItem(str(obj["question"]), answer if answer else None, tuple(sources), n)
            )
    if not items:
        raise GoldenError(f"{path}: no questions in the golden file")
    return items


def _matches(doc: str, refs: Iterable[str]) -> bool:
    # on a path boundary: "faq.html" matches "kb/faq.html" but not "gitfaq.html"
    return any(doc == r or doc.endswith("/" + r.lstrip("/")) for r in refs)


def hit_rank(ranked: list[str], refs: tuple[str, ...]) -> int | None:
    for i, doc in enumerate(ranked, 1):
        if _matches(doc, refs):
            return i
    return None


def ndcg(ranked: list[str], refs: tuple[str, ...], k: int = 10) -> float:
    gains = [1.0 if _matches(d, refs) else 0.0 for d in ranked[:k]]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(refs), k)))
    return dcg / ideal if ideal else 0.0


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(_CITE.sub(" ", text.lower()))


def token_f1(prediction: str, reference: str) -> tuple[float, float]:
    """SQuAD-style token F1 and recall: overlap of words, order ignored."""
    pred, ref = Counter(tokens(prediction)), Counter(tokens(reference))
    common = sum((pred & ref).values())
    if not common:
        return 0.0, 0.0
    precision = common / sum(pred.values())
    recall = common / sum(ref.values())
    return 2 * precision * recall / (precision + recall), recall


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass
class EvalReport:
    summary: dict[str, Any]
    questions: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "questions": self.questions}


def evaluate(
    engine: AnswerEngine,
    golden: list[GoldenItem],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    rows: list[dict[str, Any]] = []
    ranks: list[int | None] = []
    ndcgs: list[float] = []
    f1s: list[float] = []
    recalls: list[float] = []
    latencies: list[float] = []
    t_all = time.perf_counter()
    for i, item in enumerate(golden, 1):
        t = time.perf_counter()
        ans = engine.answer(Question(item.question, platform="eval"))
        latencies.append((time.perf_counter() - t) * 1000)
        row: dict[str, Any] = {
            "question": item.question,
            "expected": list(item.sources),
            "sources": [s.path for s in ans.sources],
            "retrieved": ans.retrieved,
            "hit_rank": None,
            "answer": ans.text,
            "unanswered": ans.unanswered,
            "confidence": ans.confidence,
        }
        if item.sources:
            rank = hit_rank(ans.retrieved, item.sources)
            row["hit_rank"] = rank
            ranks.append(rank)
            ndcgs.append(ndcg(ans.retrieved, item.sources))
        if item.answer:
            f1, rec = token_f1("" if ans.unanswered else ans.text, item.answer)
            row["answer_f1"] = round(f1, 4)
            f1s.append(f1)
            recalls.append(rec)
        rows.append(row)
        if progress:
            progress(i, len(golden))

    def hit_at(k: int) -> float | None:
        return _mean([1.0 if r is not None and r <= k else 0.0 for r in ranks])

    answerable = [r for r, g in zip(rows, golden, strict=True) if g.sources]
    unanswerable = [r for r, g in zip(rows, golden, strict=True) if not g.sources and not g.answer]
    summary = {
        "questions": len(golden),
        "hit@1": hit_at(1),
        "hit@3": hit_at(3),
        "hit@5": hit_at(5),
        "mrr": _mean([1.0 / r if r else 0.0 for r in ranks]),
        "ndcg@10": _mean(ndcgs),
        "answer_f1": _mean(f1s),
        "answer_recall": _mean(recalls),
        "unanswered_rate": _mean([1.0 if r["unanswered"] else 0.0 for r in rows]),
        "unanswered_rate_answerable": _mean([1.0 if r["unanswered"] else 0.0 for r in answerable]),
        "declined_rate_unanswerable": _mean(
            [1.0 if r["unanswered"] else 0.0 for r in unanswerable]
        ),
        "latency_p50_ms": round(percentile(latencies, 0.5), 2),
        "latency_p95_ms": round(percentile(latencies, 0.95), 2),
        "duration_s": round(time.perf_counter() - t_all, 3),
    }
    return EvalReport(summary, rows)


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
