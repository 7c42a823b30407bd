"""The hedged zone: what each `HEDGE_BIAS_SHIFT` hedges, per dev set, beside the old decision.

    python bench/hedge_zone.py [--json]

The shipped decision (core/answerability.py) answers ≥ 0.95 of every dev set's answerable
questions; between its point and a stricter one (the bias shifted by HEDGE_BIAS_SHIFT) an
answer is given with the hedge line instead of as a confident quote. For a range of shifts
this prints, per scope set and for Tidewire's golden set: answerable questions answered
confidently / hedged, and out-of-scope questions declined / hedged / answered confidently,
beside the decision shipped before the refit (main cb71cfd, behind its 0.25 gate) on the
same questions. The same searches, caches and composer as `answer_quality.py --decline`.
"""

from __future__ import annotations

from typing import Any

import _decline
import numpy as np
from _common import DiskCacheEmbedder, embedder, emit, log, parser
from answer_quality import BEFORE_BIAS, BEFORE_WEIGHTS, OLD_MIN_CONFIDENCE, decision_rows

from askdesk.core.answerability import DEFAULT_BIAS, DEFAULT_WEIGHTS, HEDGE_BIAS_SHIFT
from askdesk.core.engine import EngineConfig

SHIFTS = (0.0, -0.5, -1.0, -1.5, -2.0, -2.5, -3.0)


def zone(rows: list[Any], shift: float) -> dict[str, float]:
    """Shares at the shipped bias with the hedge point `shift` below it."""
    _decline.GATE = EngineConfig().min_confidence
    z = _decline.logits(rows, DEFAULT_WEIGHTS, DEFAULT_BIAS)
    y = np.asarray([r.label for r in rows])
    sure = z + shift >= 0
    hedged = (z >= 0) & ~sure
    out: dict[str, float] = {}
    if (y == 1).any():
        out["in_sure"] = round(float(np.mean(sure[y == 1])), 3)
        out["in_hedged"] = round(float(np.mean(hedged[y == 1])), 3)
    if (y == 0).any():
        out["out_declined"] = round(float(np.mean(z[y == 0] < 0)), 3)
        out["out_hedged"] = round(float(np.mean(hedged[y == 0])), 3)
        out["out_sure"] = round(float(np.mean(sure[y == 0])), 3)
    return out


def before(rows: list[Any]) -> dict[str, float]:
    _decline.GATE = OLD_MIN_CONFIDENCE
    return _decline.judge(rows, dict(BEFORE_WEIGHTS), BEFORE_BIAS)


def main() -> None:
    args = parser(__doc__).parse_args()
    scope, answer, tide = decision_rows(embedder(DiskCacheEmbedder))
    sets = {**scope, "tidewire": tide, **{f"answer {n}": r for n, r in answer.items()}}
    out: dict[str, Any] = {"shipped_shift": HEDGE_BIAS_SHIFT, "before": {}, "shifts": {}}
    for name, rows in sets.items():
        out["before"][name] = before(rows)
    for shift in sorted({*SHIFTS, HEDGE_BIAS_SHIFT}, reverse=True):
        out["shifts"][str(shift)] = {n: zone(r, shift) for n, r in sets.items()}
    log(f"hedge zone: {out}")
    emit(out, args.json, lambda: _text(out))


def _text(out: dict[str, Any]) -> str:
    lines = [f"before (main cb71cfd): {out['before']}"]
    for shift, per in out["shifts"].items():
        lines.append(f"shift {shift}")
        lines += [f"  {n}: {v}" for n, v in per.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
