"""Reindex or retrain: the dashboard's rules as pure functions over counted history.

Facts are the index's job and voice is the style model's, so every rule names the lever it
points at. Keeping this free of I/O means the rules are tested on constructed histories and the
same verdict is given whoever gathered the numbers (the dashboard, a CLI, a scheduled job).
A share exactly at its threshold does not fire: thresholds are the largest acceptable value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from askdesk.dashboard.labels import VOTE_DOWN
from askdesk.feedback.history import History

__all__ = ["History", "Recommendation", "RuleResult", "Thresholds", "decide"]

Lever = Literal["reindex", "retrain"]
Verdict = Literal["REINDEX", "RETRAIN", "BOTH", "HEALTHY", "NOT_ENOUGH_DATA"]

HIT_RATE_KEYS: tuple[str, ...] = ("hit_at_k", "hit@5", "hit@3", "hit@1")
"""Eval metric names that mean "retrieval hit rate", preferred first (EvalRun.metrics is free
form; `askdesk.core.evaluation` writes hit@1/3/5)."""


@dataclass
class Thresholds:
    """The rules' thresholds; the settings block of the same names
    (askdesk.dashboard.dashboard_settings.RulesSettings) takes its defaults from here."""

    rules_window_days: int = 7
    rules_min_answers: int = 20
    facts_downvote_max: float = 0.10
    unanswered_max: float = 0.20
    unanswered_rise_max: float = 0.05
    eval_drop_max: float = 0.05
    tone_target: float = 0.8
    tone_downvote_max: float = 0.05
    retrain_min_examples: int = 20


@dataclass
class RuleResult:
    name: str
    lever: Lever
    value: float | None
    threshold: float
    fired: bool
    enough_data: bool
    explanation: str
    evidence: list[int] = field(default_factory=list)


@dataclass
class Recommendation:
    verdict: Verdict
    rules: list[RuleResult]
    summary: str

    def fired(self, lever: Lever | None = None) -> list[RuleResult]:
        return [r for r in self.rules if r.fired and (lever is None or r.lever == lever)]


_EPSILON = 1e-9  # 0.90 - 0.85 is 0.05000000000000004 in binary floats: not above 0.05


def _above(value: float, limit: float) -> bool:
    return value - limit > _EPSILON


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _share_rule(
    name: str,
    lever: Lever,
    count: int,
    answers: int,
    limit: float,
    min_answers: int,
    what: str,
    evidence: list[int],
) -> RuleResult:
    if answers < min_answers:
        return RuleResult(
            name,
            lever,
            None if answers == 0 else count / answers,
            limit,
            False,
            False,
            f"Not enough data: {answers} answers in the window, {min_answers} needed.",
            list(evidence),
        )
    share = count / answers
    fired = _above(share, limit)
    verb = "above" if fired else "within"
    return RuleResult(
        name,
        lever,
        share,
        limit,
        fired,
        True,
        f"{_pct(share)} of answers {what} ({count} of {answers}), {verb} the maximum "
        f"{_pct(limit)}.",
        list(evidence),
    )


def _docs_rule(h: History) -> RuleResult:
    if h.docs_changed is None:
        return RuleResult(
            "docs_changed",
            "reindex",
            None,
            0,
            False,
            False,
            "Unknown: the docs folder could not be compared with the index.",
        )
    fired = h.docs_changed > 0
    text = (
        f"{h.docs_changed} document(s) added, changed or removed on disk since the last index."
        if fired
        else "The index matches the documents on disk."
    )
    return RuleResult("docs_changed", "reindex", h.docs_changed, 0, fired, True, text)


def _unanswered_rise_rule(h: History, t: Thresholds) -> RuleResult:
    name = "unanswered_rise"
    if h.answers < t.rules_min_answers or h.prev_answers < t.rules_min_answers:
        return RuleResult(
            name,
            "reindex",
            None,
            t.unanswered_rise_max,
            False,
            False,
            f"Not enough data: {h.answers} answers in the window and {h.prev_answers} in the "
            f"one before, {t.rules_min_answers} needed in each.",
            list(h.unanswered_ids),
        )
    now = h.unanswered / h.answers
    before = h.prev_unanswered / h.prev_answers
    rise = now - before
    fired = _above(rise, t.unanswered_rise_max)
    return RuleResult(
        name,
        "reindex",
        rise,
        t.unanswered_rise_max,
        fired,
        True,
        f"Unanswered share went from {_pct(before)} to {_pct(now)} "
        f"({'+' if rise >= 0 else ''}{rise * 100:.1f} points; at most "
        f"+{t.unanswered_rise_max * 100:.1f} allowed).",
        list(h.unanswered_ids),
    )


def _metric(metrics: dict[str, Any] | None, keys: tuple[str, ...]) -> tuple[str, float] | None:
    for key in keys:
        value = (metrics or {}).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return key, float(value)
    return None


def _eval_rule(name: str, keys: tuple[str, ...], h: History, t: Thresholds) -> RuleResult:
    latest = _metric(h.eval_latest, keys)
    previous = None if latest is None else _metric(h.eval_previous, (latest[0],))
    if latest is None or previous is None:
        return RuleResult(
            name,
            "reindex",
            None,
            t.eval_drop_max,
            False,
            False,
            "Not enough data: needs two eval runs that both measured it.",
        )
    key, now = latest
    before = previous[1]
    drop = before - now
    fired = _above(drop, t.eval_drop_max)
    return RuleResult(
        name,
        "reindex",
        drop,
        t.eval_drop_max,
        fired,
        True,
        f"Eval {key} went from {before:.3f} to {now:.3f} (drop {drop:.3f}; at most "
        f"{t.eval_drop_max:.3f} allowed).",
    )


def _tone_mean_rule(h: History, t: Thresholds) -> RuleResult:
    """Mean tone over the answers where the voice was wanted (rewritten or fallen back); a
    plain draft is not meant to sound like the brand, so with style off there is nothing to
    judge. The share kept as the draft is stated beside the mean, its answers as evidence."""
    evidence = list(dict.fromkeys([*h.low_tone_ids, *h.style_fallback_ids]))
    if h.style_wanted == 0:
        return RuleResult(
            "tone_mean",
            "retrain",
            None,
            t.tone_target,
            False,
            False,
            "n/a: style is off (no answer in the window asked for the brand voice).",
            [],
        )
    fallback = (
        f" {h.style_fallbacks} of {h.style_wanted} styled answers "
        f"({_pct(h.style_fallbacks / h.style_wanted)}) kept the plain draft."
    )
    if h.tone_mean is None or h.tone_n < t.rules_min_answers:
        return RuleResult(
            "tone_mean",
            "retrain",
            h.tone_mean,
            t.tone_target,
            False,
            False,
            f"Not enough data: {h.tone_n} scored styled answers in the window, "
            f"{t.rules_min_answers} needed." + fallback,
            evidence,
        )
    fired = _above(t.tone_target, h.tone_mean)
    return RuleResult(
        "tone_mean",
        "retrain",
        h.tone_mean,
        t.tone_target,
        fired,
        True,
        f"Mean tone score {h.tone_mean:.3f} over {h.tone_n} answers in the brand voice, "
        f"{'below' if fired else 'at or above'} the target {t.tone_target:.3f}." + fallback,
        evidence,
    )


def _examples_rule(h: History, t: Thresholds) -> RuleResult:
    fired = h.new_examples >= t.retrain_min_examples
    return RuleResult(
        "new_examples",
        "retrain",
        h.new_examples,
        t.retrain_min_examples,
        fired,
        True,
        f"{h.new_examples} approved example(s) not yet used in training; "
        f"{t.retrain_min_examples} make a retrain worthwhile.",
        list(h.new_example_ids),
    )


def evaluate_rules(h: History, t: Thresholds) -> list[RuleResult]:
    """Every rule, reindex ones first, in the order the dashboard lists them."""
    n = t.rules_min_answers
    return [
        _docs_rule(h),
        _share_rule(
            "facts_downvotes",
            "reindex",
            h.facts_down,
            h.answers,
            t.facts_downvote_max,
            n,
            f"got {VOTE_DOWN} votes for wrong facts or not in the docs",
            h.facts_down_ids,
        ),
        _share_rule(
            "unanswered_rate",
            "reindex",
            h.unanswered,
            h.answers,
            t.unanswered_max,
            n,
            "were unanswered",
            h.unanswered_ids,
        ),
        _unanswered_rise_rule(h, t),
        _eval_rule("eval_hit_rate", HIT_RATE_KEYS, h, t),
        _eval_rule("eval_answer_f1", ("answer_f1",), h, t),
        _tone_mean_rule(h, t),
        _share_rule(
            "tone_downvotes",
            "retrain",
            h.tone_down,
            h.answers,
            t.tone_downvote_max,
            n,
            f"got {VOTE_DOWN} votes for tone or format",
            h.tone_down_ids,
        ),
        _examples_rule(h, t),
    ]


def decide(history: History, thresholds: Thresholds) -> Recommendation:
    """The verdict: which levers at least one rule points at, or why there is none.

    With nothing fired, too few answers in the window means the feedback side cannot be
    judged, so the verdict is NOT_ENOUGH_DATA rather than a reassuring HEALTHY.
    """
    rules = evaluate_rules(history, thresholds)
    reindex = [r for r in rules if r.fired and r.lever == "reindex"]
    retrain = [r for r in rules if r.fired and r.lever == "retrain"]
    verdict: Verdict
    if reindex and retrain:
        verdict = "BOTH"
    elif reindex:
        verdict = "REINDEX"
    elif retrain:
        verdict = "RETRAIN"
    elif history.answers < thresholds.rules_min_answers:
        verdict = "NOT_ENOUGH_DATA"
    else:
        verdict = "HEALTHY"
    return Recommendation(verdict, rules, _summary(verdict, reindex + retrain, history, thresholds))


def _summary(verdict: Verdict, fired: list[RuleResult], h: History, t: Thresholds) -> str:
    if verdict == "NOT_ENOUGH_DATA":
        return (
            f"Not enough data: {h.answers} answers in the last {t.rules_window_days} days, "
            f"{t.rules_min_answers} needed to judge facts and tone."
        )
    if verdict == "HEALTHY":
        text = f"Healthy: no rule fired over {h.answers} answers."
    else:
        head = {"REINDEX": "Reindex", "RETRAIN": "Retrain", "BOTH": "Reindex and retrain"}
        text = f"{head[verdict]}: " + " ".join(r.explanation for r in fired)
    if h.demo_votes:
        text += f" (includes {h.demo_votes} simulated demo votes)"
    return text
