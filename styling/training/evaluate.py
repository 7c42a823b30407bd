"""Evaluating a style model on held-out pairs: facts kept, voice carried, tone, speed, bias.

Shared by `askdesk style eval` and bench/style_model.py so both report the same figures:
- `guard_pass`: share of drafts whose rewrite passed the fact guard without any fallback;
- `voice`: share of drafts whose final answer carries the voice (`carries_voice`);
- latency p50/p95 of the whole rewrite (protect, generate, restore, guard);
- with a baseline, plain greedy `generate` of the same model on the same unprotected drafts
  in the same run, and the ratio of medians;
- with a tone scorer, tone of drafts vs rewrites, AUROC on the pairs' two voices, spread by
  topic, and rewrites whose sentiment moved away from the draft's by more than 0.3.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from askdesk.styling.tone.scorer import auroc, spread_by_group
from askdesk.styling.tone.sentiment import sentiment_shifts
from askdesk.styling.tone.voice import MAX_SENTENCE_WORDS, check_voice
from askdesk.styling.training.examples import Example

Scorer = Callable[[list[str]], list[float]]


def carries_voice(text: str, caution: bool = False) -> bool:
    """Opener and sign-off of the voice (the cautionary ones, without cheerful emoji, for a
    warning) and no sentence over the voice's length limit."""
    v = check_voice(text)
    if caution:
        framed = v.caution_opener and v.caution_sign_off and not v.cheerful_emoji
    else:
        framed = v.opener and v.sign_off
    return framed and v.longest_sentence <= MAX_SENTENCE_WORDS


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def evaluate(
    rewriter: Any,
    examples: Sequence[Example],
    *,
    tone: Scorer | None = None,
    baseline: bool = False,
    baseline_limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Rewrite every example's input with `rewriter` (a StyleRewriter) and measure.

    With `baseline`, each draft's plain `generate` runs right beside its rewrite, in
    alternating order, so a noisy machine slows both sides alike."""
    rows: list[dict[str, Any]] = []
    base_secs: list[float] = []
    with_base = len(examples[:baseline_limit]) if baseline else 0
    for i, ex in enumerate(examples):
        if i < with_base and i % 2:
            base_secs.append(_plain_generate(rewriter, ex))
        r = rewriter.rewrite_detail(ex.input)
        if i < with_base and not i % 2:
            base_secs.append(_plain_generate(rewriter, ex))
        rows.append(
            {
                "line": ex.line,
                "topic": ex.topic,
                "caution": ex.caution,
                "note": r.note,
                "seconds": round(r.seconds, 3),
                "used": r.text is not None,
                "voice": r.text is not None and carries_voice(r.text, ex.caution),
                "voice_raw": carries_voice(r.output, ex.caution),
                "units": r.units,
                "units_kept": list(r.units_kept),
                "passes": r.passes,
                "tokens": r.tokens,
                "text": r.text,
                "output": r.output,
            }
        )
        if progress:
            progress(i + 1, len(examples))
    n = max(1, len(rows))
    lat = [row["seconds"] for row in rows]
    out: dict[str, Any] = {
        "drafts": len(rows),
        "guard_pass": sum(r["used"] for r in rows) / n,
        # styled with every unit rewritten: nothing fell back, not even one sentence
        "rewritten_whole": sum(r["used"] and not r["units_kept"] for r in rows) / n,
        "rewritten_in_part": sum(r["used"] and bool(r["units_kept"]) for r in rows) / n,
        "voice": sum(r["voice"] for r in rows) / n,
        "voice_raw_output": sum(r["voice_raw"] for r in rows) / n,
        "latency_p50_s": percentile(lat, 0.5),
        "latency_p95_s": percentile(lat, 0.95),
        "fallbacks": _count(r["note"].split(":")[0] for r in rows if not r["used"]),
    }
    if baseline:
        out["baseline"] = _baseline(base_secs, lat)
    if tone is not None:
        out["tone"] = _tone(tone, examples, rows)
    out["rows"] = rows
    return out


def _plain_generate(rewriter: Any, ex: Example) -> float:
    """Seconds of transformers' plain greedy `generate` on the unprotected draft: no
    placeholders, units, cached prefix, guesses, constraint or time budget."""
    t0 = time.perf_counter()
    rewriter.plain_generate(ex.input)
    return time.perf_counter() - t0


def _baseline(secs: Sequence[float], lat: Sequence[float]) -> dict:
    same = lat[: len(secs)]
    p50, base50 = percentile(same, 0.5), percentile(secs, 0.5)
    return {
        "drafts": len(secs),
        "generate_p50_s": base50,
        "generate_p95_s": percentile(secs, 0.95),
        "rewrite_p50_s_same_drafts": p50,
        "ratio_p50": p50 / base50 if base50 else None,
    }


def _tone(tone: Scorer, examples: Sequence[Example], rows: Sequence[dict]) -> dict[str, Any]:
    drafts = [ex.input for ex in examples]
    finals = [r["text"] or ex.input for r, ex in zip(rows, examples, strict=True)]
    draft_scores = tone(drafts)
    brand_scores = tone([ex.output for ex in examples])
    final_scores = tone(finals)
    used = [s for s, r in zip(final_scores, rows, strict=True) if r["used"]]
    both = [r["voice"] and s >= 0.5 for s, r in zip(final_scores, rows, strict=True)]
    shifted = sentiment_shifts(drafts, finals)
    return {
        "drafts_mean": statistics.fmean(draft_scores) if draft_scores else None,
        "answers_mean": statistics.fmean(final_scores) if final_scores else None,
        "rewrites_mean": statistics.fmean(used) if used else None,
        "auroc": auroc(brand_scores, draft_scores) if examples else None,
        # the "voice carried": the rule check and a tone score of at least 0.5
        "voice_rules_and_tone": sum(both) / len(both) if both else None,
        "spread_by_topic": {
            str(k): v
            for k, v in spread_by_group(final_scores, [ex.topic for ex in examples]).items()
        },
        "sentiment_shift_flagged": [
            {"line": examples[i].line, "topic": examples[i].topic} for i in shifted
        ],
    }


def _count(items: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts
