"""Scoring the engine on a golden set: retrieval (hit@k, MRR, nDCG@10), answer overlap
(token F1 and useful@0.5), answerability, groundedness, tone, latency — and the records that
let two runs be compared.

A golden line is `{"question", "answer"?, "sources"?, "answerable"?}`. A reference source
matches a retrieved document when the document's path ends with the reference path, so a
golden set written against `faq.html` still matches `docs/faq.html` wherever the folder was
indexed. `"answerable": false` marks a question the docs do not answer: the engine should
decline it. A line with neither sources nor answer counts as unanswerable too (older files).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from askdesk.core.citations import strip_citations
from askdesk.core.engine import AnswerEngine, split_hedge
from askdesk.core.grounding import cited_texts, groundedness
from askdesk.core.text_units import content_words
from askdesk.core.types import Answer, Question
from askdesk.feedback.analytics import fallback_reason

_TOKEN = re.compile(r"\w+", re.UNICODE)
USEFUL_SHARE = 0.5
"""An answer is useful when it holds at least this share of the reference's content words."""


class GoldenError(ValueError):
    """A golden file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class GoldenItem:
    question: str
    answer: str | None = None
    sources: tuple[str, ...] = ()
    line: int = 0
    answerable: bool | None = None  # None: not said in the file

    @property
    def unanswerable(self) -> bool:
        """Marked `"answerable": false`, or (unmarked) with nothing to check an answer against."""
        if self.answerable is not None:
            return not self.answerable
        return not self.sources and not self.answer


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
            if answer is not None and not isinstance(answer, str):
                raise GoldenError(f'{path}:{n}: "answer" must be a string')
            answerable = obj.get("answerable")
            if answerable is not None and not isinstance(answerable, bool):
                raise GoldenError(
                    f'{path}:{n}: "answerable" must be true or false, not {json.dumps(answerable)}'
                )
            if answerable is False and (sources or answer):
                given = "sources" if sources else "an answer"
                raise GoldenError(
                    f'{path}:{n}: a question marked "answerable": false cannot have {given} '
                    "(nothing in the docs answers it)"
                )
            items.append(
                GoldenItem(
                    str(obj["question"]), answer or None, tuple(sources), n, answerable=answerable
                )
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
    return _TOKEN.findall(strip_citations(text.lower()))


def token_f1(prediction: str, reference: str) -> tuple[float, float]:
    """SQuAD-style token F1 and recall: overlap of words, order ignored."""
    pred, ref = Counter(tokens(prediction)), Counter(tokens(reference))
    common = sum((pred & ref).values())
    if not common:
        return 0.0, 0.0
    precision = common / sum(pred.values())
    recall = common / sum(ref.values())
    return 2 * precision * recall / (precision + recall), recall


def useful_at_05(answer: str, reference: str) -> bool | None:
    """Whether the answer holds at least half of the reference answer's distinct content words
    (`content_words`: lowercased alphanumeric tokens, stop words dropped; `[n]` citation
    markers are removed first). None when the reference has no content word to look for.

    Token F1 punishes a long answer that quotes the right passage with its context; this
    asks only "would the asker find the facts in it". A declined answer is scored as "".
    """
    wanted = set(content_words(strip_citations(reference)))
    if not wanted:
        return None
    found = wanted & set(content_words(strip_citations(answer)))
    return len(found) >= USEFUL_SHARE * len(wanted)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def golden_hash(path: Path) -> str:
    """Identifies the golden set's content, so only runs on the same questions are compared."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


# metrics where a fall is the improvement (for --compare and the dashboard's arrows)
LOWER_IS_BETTER = frozenset(
    {"latency_p50_ms", "latency_p95_ms", "unanswered_rate", "unanswered_rate_answerable"}
)
USEFUL = "useful@0.5"
COMPARED = (
    "hit_at_k",
    "hit@1",
    "hit@3",
    "hit@5",
    "mrr",
    "ndcg@10",
    "answer_f1",
    USEFUL,
    "groundedness",
    "tone",
    "unanswered_rate",
    "unanswered_rate_answerable",
    "answered_rate_answerable",
    "declined_rate_unanswerable",
    "latency_p50_ms",
    "latency_p95_ms",
)


@dataclass(frozen=True)
class MetricChange:
    metric: str
    current: float | None
    previous: float | None

    @property
    def delta(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def improved(self) -> bool | None:
        """True/False for better/worse, None when unchanged or not comparable."""
        if not self.delta:
            return None
        return (self.delta < 0) == (self.metric in LOWER_IS_BETTER)


def compare_metrics(current: Mapping[str, Any], previous: Mapping[str, Any]) -> list[MetricChange]:
    """Each known metric of two runs side by side (either may lack a metric: None)."""
    return [
        MetricChange(key, _num(current.get(key)), _num(previous.get(key)))
        for key in COMPARED
        if key in current or key in previous
    ]


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def golden_from_corrections(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Golden lines from 👎 votes whose comment says the right answer: the question as asked,
    the comment as the reference answer; one line per question text."""
    seen: set[str] = set()
    lines: list[dict[str, str]] = []
    for row in rows:
        question = " ".join(str(row["question"]).split())
        comment = str(row.get("comment") or "").strip()
        if not question or not comment or question.lower() in seen:
            continue
        seen.add(question.lower())
        lines.append({"question": question, "answer": comment})
    return lines


@dataclass
class EvalReport:
    summary: dict[str, Any]
    questions: list[dict[str, Any]] = field(default_factory=list)
    k: int = 5
    style_model_version: str | None = None
    backend: str = "extractive"  # the answer backend measured ("extractive", "llm")
    model: str | None = None  # the LLM's model name for backend "llm"

    def as_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "questions": self.questions}

    def run_record(
        self,
        golden_path: Path,
        *,
        index_version: str | int | None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """The EvalRun columns for the feedback store
        (`askdesk.feedback.styles.Styles.record_eval_run`)."""
        return {
            "golden_path": str(golden_path),
            "golden_hash": golden_hash(golden_path),
            "questions": int(self.summary["questions"]),
            "k": self.k,
            "index_version": None if index_version is None else str(index_version),
            "style_model_version": self.style_model_version,
            "metrics": dict(self.summary),
            "duration_s": float(self.summary.get("duration_s", 0.0)),
            "label": label[:64] if label else None,
            "backend": self.backend,
            "model": self.model,
        }

    def result_records(self) -> list[dict[str, Any]]:
        """One EvalResult row per golden question, in file order."""
        return [
            {
                "position": i,
                "question": q["question"],
                "reference": q.get("reference"),
                "answer": q["answer"],
                "sources": q.get("cited", []),
                "hit_rank": q["hit_rank"],
                "answer_f1": q.get("answer_f1"),
                "groundedness": q.get("groundedness"),
                "tone_score": q.get("tone_score"),
                "latency_ms": q.get("latency_ms", 0.0),
                "unanswered": bool(q["unanswered"]),
            }
            for i, q in enumerate(self.questions)
        ]


def evaluate(
    engine: AnswerEngine,
    golden: list[GoldenItem],
    *,
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Answer every golden question with the engine as configured (style and tone included)
    and score it; groundedness is judged against the hits the answer's trace carries."""
    k = engine.config.k
    tally = _Tally()
    t_all = time.perf_counter()
    for i, item in enumerate(golden, 1):
        t = time.perf_counter()
        ans = engine.answer(Question(item.question, platform="eval"))
        tally.add(item, ans, (time.perf_counter() - t) * 1000)
        if progress:
            progress(i, len(golden))
    summary = tally.summary(golden, k, time.perf_counter() - t_all)
    style = engine.rewriter.version if engine.config.style_by_default else None
    composer = str(engine.versions().get("composer") or "")
    backend, _, model = composer.partition(":") if composer.startswith("llm:") else ("", "", "")
    return EvalReport(
        summary,
        tally.rows,
        k=k,
        style_model_version=style,
        backend=backend or "extractive",
        model=model or None,
    )


@dataclass
class _Tally:
    """Per-question rows and the figures the summary averages, gathered as `evaluate` goes."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    ranks: list[int | None] = field(default_factory=list)
    ndcgs: list[float] = field(default_factory=list)
    f1s: list[float] = field(default_factory=list)
    recalls: list[float] = field(default_factory=list)
    useful: list[float] = field(default_factory=list)
    grounded: list[float] = field(default_factory=list)
    before: list[float] = field(default_factory=list)
    """a generated reply's groundedness before the claim check"""
    after: list[float] = field(default_factory=list)
    """and the final answer's, on the same questions"""
    checked: int = 0  # claim units the check saw
    dropped: int = 0  # and dropped
    fallbacks: Counter[str] = field(default_factory=Counter)  # why a generated answer was not used
    tones: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def add(self, item: GoldenItem, ans: Answer, latency: float) -> None:
        """Score one answer against its golden line."""
        self.latencies.append(latency)
        row = _row(item, ans, latency)
        # what the docs said: a hedged answer's lead line is the bot's, scored like no quote
        said = split_hedge(ans.text)[1] if ans.hedged else ans.text
        if not ans.unanswered:
            hits = ans.trace.hits if ans.trace is not None else []
            g = groundedness(said, cited_texts(ans.sources, hits))
            if g is not None:
                row["groundedness"] = round(g, 4)
                self.grounded.append(g)
        if ans.check is not None:
            self.checked += int(ans.check.get("claims", 0))  # connective text is never dropped
            self.dropped += int(ans.check.get("dropped", 0))
            raw = ans.check.get("groundedness_before")
            row["groundedness_before_check"] = raw
            if raw is not None and not ans.unanswered and row["groundedness"] is not None:
                self.before.append(float(raw))
                self.after.append(float(row["groundedness"]))
        if ans.composer_note and ans.composer_note.startswith("fallback: "):
            self.fallbacks[fallback_reason(ans.composer_note)] += 1
        if ans.tone_score is not None:
            self.tones.append(ans.tone_score)
        if item.sources:
            rank = hit_rank(ans.retrieved, item.sources)
            row["hit_rank"] = rank
            self.ranks.append(rank)
            self.ndcgs.append(ndcg(ans.retrieved, item.sources))
        if item.answer:
            given = "" if ans.unanswered else said
            f1, rec = token_f1(given, item.answer)
            row["answer_f1"] = round(f1, 4)
            self.f1s.append(f1)
            self.recalls.append(rec)
            row["useful"] = useful_at_05(given, item.answer)
            if row["useful"] is not None:
                self.useful.append(1.0 if row["useful"] else 0.0)
        self.rows.append(row)

    def hit_at(self, k: int) -> float | None:
        return _mean([1.0 if r is not None and r <= k else 0.0 for r in self.ranks])

    def summary(self, golden: list[GoldenItem], k: int, duration_s: float) -> dict[str, Any]:
        rows = self.rows
        # every line is one or the other: answered + unanswered rates on answerable lines add to 1
        answerable = [r for r, g in zip(rows, golden, strict=True) if not g.unanswerable]
        unanswerable = [r for r, g in zip(rows, golden, strict=True) if g.unanswerable]
        checked = self.checked
        return {
            "questions": len(golden),
            "k": k,
            "hit_at_k": self.hit_at(k),
            "hit@1": self.hit_at(1),
            "hit@3": self.hit_at(3),
            "hit@5": self.hit_at(5),
            "mrr": _mean([1.0 / r if r else 0.0 for r in self.ranks]),
            "ndcg@10": _mean(self.ndcgs),
            "answer_f1": _mean(self.f1s),
            "answer_recall": _mean(self.recalls),
            USEFUL: _mean(self.useful),
            "groundedness": _mean(self.grounded),
            # the claim check (generated answers only): eval's groundedness on the model's raw
            # replies and on the answers sent, on the same questions; and the share of reply
            # units the check dropped
            "groundedness_before_check": _mean(self.before),
            "groundedness_after_check": _mean(self.after),
            "check_removed": round(self.dropped / checked, 4) if checked else None,
            "fallbacks": dict(self.fallbacks),
            "tone": _mean(self.tones),
            "unanswered_rate": _mean([1.0 if r["unanswered"] else 0.0 for r in rows]),
            "unanswered_rate_answerable": _mean(
                [1.0 if r["unanswered"] else 0.0 for r in answerable]
            ),
            "answered_rate_answerable": _mean(
                [0.0 if r["unanswered"] else 1.0 for r in answerable]
            ),
            "declined_rate_unanswerable": _mean(
                [1.0 if r["unanswered"] else 0.0 for r in unanswerable]
            ),
            "answerable_questions": len(answerable),
            "unanswerable_questions": len(unanswerable),
            "latency_p50_ms": round(percentile(self.latencies, 0.5), 2),
            "latency_p95_ms": round(percentile(self.latencies, 0.95), 2),
            "duration_s": round(duration_s, 3),
        }


def _row(item: GoldenItem, ans: Answer, latency: float) -> dict[str, Any]:
    """One question's row of the report, before it is scored."""
    return {
        "question": item.question,
        "reference": item.answer,
        "expected": list(item.sources),
        "sources": [s.path for s in ans.sources],
        "cited": [
            {"n": s.n, "path": s.path, "title": s.title, "heading": s.heading, "score": s.score}
            for s in ans.sources
        ],
        "retrieved": ans.retrieved,
        "hit_rank": None,
        "answer": ans.text,
        "answerable": not item.unanswerable,
        "unanswered": ans.unanswered,
        "hedged": ans.hedged,
        "confidence": ans.confidence,
        "latency_ms": round(latency, 2),
        "useful": None,
        "groundedness": None,
        "tone_score": ans.tone_score,
        "composer": ans.composer,
        "composer_note": ans.composer_note,
        "groundedness_before_check": None,
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
