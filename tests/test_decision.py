"""The reindex/retrain rules on constructed histories: verdicts, boundaries, evidence."""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from askdesk.dashboard.decision import History, RuleResult, Thresholds, decide
from askdesk.settings import RulesSettings, Settings

T = Thresholds()  # min answers 20, facts 10%, unanswered 20% / +5 pts, eval 0.05, tone 0.8/5%


def healthy(**changes: object) -> History:
    base = History(
        answers=100,
        facts_down=2,
        tone_down=1,
        unanswered=5,
        prev_answers=100,
        prev_unanswered=5,
        tone_mean=0.9,
        tone_n=100,
        style_wanted=100,
        docs_changed=0,
        eval_latest={"hit@5": 0.9, "answer_f1": 0.6},
        eval_previous={"hit@5": 0.9, "answer_f1": 0.6},
        new_examples=3,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def rule(h: History, name: str, t: Thresholds = T) -> RuleResult:
    return next(r for r in decide(h, t).rules if r.name == name)


def test_thresholds_default_to_the_settings_defaults() -> None:
    for f in fields(Thresholds):
        assert getattr(Thresholds(), f.name) == Settings.model_fields[f.name].default
    # the rules get their typed block, never the whole settings object
    rules = Settings(tone_target=0.5, top_k=9).block(RulesSettings)
    assert type(rules) is RulesSettings and not hasattr(rules, "top_k")
    assert rules.thresholds() == replace(Thresholds(), tone_target=0.5)


def test_healthy_history_is_healthy_with_every_rule_judged() -> None:
    rec = decide(healthy(), T)
    assert rec.verdict == "HEALTHY"
    assert all(r.enough_data and not r.fired for r in rec.rules)
    assert {r.lever for r in rec.rules} == {"reindex", "retrain"}
    assert rec.summary.startswith("Healthy")


def test_failing_facts_mean_reindex_with_the_evidence() -> None:
    rec = decide(healthy(facts_down=15, facts_down_ids=[7, 8, 9]), T)
    assert rec.verdict == "REINDEX"
    [fired] = rec.fired()
    assert fired.name == "facts_downvotes" and fired.lever == "reindex"
    assert fired.value == pytest.approx(0.15) and fired.threshold == 0.10
    assert fired.evidence == [7, 8, 9]
    assert "15.0%" in fired.explanation and "15.0%" in rec.summary


def test_failing_tone_means_retrain() -> None:
    rec = decide(healthy(tone_mean=0.6, low_tone_ids=[4]), T)
    assert rec.verdict == "RETRAIN"
    assert [r.name for r in rec.fired()] == ["tone_mean"]
    assert rec.fired()[0].evidence == [4]


def test_both_levers_failing_is_both() -> None:
    rec = decide(healthy(docs_changed=3, tone_down=9, tone_down_ids=[1, 2]), T)
    assert rec.verdict == "BOTH"
    assert {r.name for r in rec.fired("reindex")} == {"docs_changed"}
    assert {r.name for r in rec.fired("retrain")} == {"tone_downvotes"}
    assert rec.summary.startswith("Reindex and retrain")


def test_empty_history_is_not_enough_data() -> None:
    rec = decide(History(), T)
    assert rec.verdict == "NOT_ENOUGH_DATA"
    assert not rec.fired()
    by_name = {r.name: r for r in rec.rules}
    for name in ("facts_downvotes", "unanswered_rate", "unanswered_rise"):
        assert not by_name[name].enough_data
        assert by_name[name].explanation.startswith("Not enough data")
    assert by_name["tone_mean"].explanation.startswith("n/a: style is off")
    assert not by_name["docs_changed"].enough_data  # unknown, not "unchanged"
    assert not by_name["eval_hit_rate"].enough_data
    assert by_name["new_examples"].enough_data  # needs no answers


def test_rules_that_need_no_answers_fire_on_an_empty_window() -> None:
    assert decide(History(docs_changed=1), T).verdict == "REINDEX"
    assert decide(History(new_examples=20, new_example_ids=[5]), T).verdict == "RETRAIN"
    few = History(answers=19, facts_down=19)  # 100% bad, but below the minimum
    assert decide(few, T).verdict == "NOT_ENOUGH_DATA"
    assert rule(few, "facts_downvotes").value == 1.0


@pytest.mark.parametrize(
    ("changes", "name", "fires"),
    [
        ({"facts_down": 10}, "facts_downvotes", False),  # exactly 10%
        ({"facts_down": 11}, "facts_downvotes", True),
        ({"unanswered": 20, "prev_unanswered": 20}, "unanswered_rate", False),  # exactly 20%
        ({"unanswered": 21, "prev_unanswered": 21}, "unanswered_rate", True),
        ({"tone_down": 5}, "tone_downvotes", False),  # exactly 5%
        ({"tone_down": 6}, "tone_downvotes", True),
        ({"tone_mean": 0.8}, "tone_mean", False),  # exactly the target
        ({"tone_mean": 0.7999}, "tone_mean", True),
        ({"new_examples": 19}, "new_examples", False),
        ({"new_examples": 20}, "new_examples", True),  # "at least N"
        ({"docs_changed": 0}, "docs_changed", False),
        ({"docs_changed": 1}, "docs_changed", True),
        ({"unanswered": 10, "prev_unanswered": 5}, "unanswered_rise", False),  # +5 points
        ({"unanswered": 11, "prev_unanswered": 5}, "unanswered_rise", True),
        ({"eval_latest": {"hit@5": 0.85, "answer_f1": 0.6}}, "eval_hit_rate", False),
        ({"eval_latest": {"hit@5": 0.84, "answer_f1": 0.6}}, "eval_hit_rate", True),
        ({"eval_latest": {"hit@5": 0.9, "answer_f1": 0.55}}, "eval_answer_f1", False),
        ({"eval_latest": {"hit@5": 0.9, "answer_f1": 0.54}}, "eval_answer_f1", True),
    ],
)
def test_boundaries_exactly_at_the_threshold_do_not_fire(
    changes: dict[str, object], name: str, fires: bool
) -> None:
    result = rule(healthy(**changes), name)
    assert result.fired is fires and result.enough_data


def test_minimum_answers_is_inclusive() -> None:
    assert rule(healthy(answers=20, facts_down=3), "facts_downvotes").fired
    assert not rule(healthy(answers=19, facts_down=3), "facts_downvotes").enough_data


def test_unanswered_rise_needs_both_windows_and_improvement_never_fires() -> None:
    r = rule(healthy(prev_answers=3, prev_unanswered=0, unanswered=30), "unanswered_rise")
    assert not r.enough_data and not r.fired
    better = rule(healthy(unanswered=0, prev_unanswered=30), "unanswered_rise")
    assert better.enough_data and not better.fired and better.value == pytest.approx(-0.3)


def test_eval_rules_need_the_same_metric_in_both_runs() -> None:
    one_run = rule(healthy(eval_previous=None), "eval_hit_rate")
    assert not one_run.enough_data
    other_metric = healthy(eval_latest={"hit@1": 0.1}, eval_previous={"hit@5": 0.9})
    assert not rule(other_metric, "eval_hit_rate").enough_data
    preferred = healthy(
        eval_latest={"hit_at_k": 0.5, "hit@5": 0.9}, eval_previous={"hit_at_k": 0.9, "hit@5": 0.9}
    )
    assert rule(preferred, "eval_hit_rate").fired
    assert not rule(healthy(eval_latest={"answer_f1": True}), "eval_answer_f1").enough_data


def test_demo_votes_are_named_in_the_summary() -> None:
    rec = decide(healthy(facts_down=50, demo_votes=12), T)
    assert "12 simulated demo votes" in rec.summary


def test_tone_rule_says_na_when_style_is_off() -> None:
    """The demo's case: a tone scorer scores every plain draft (~0.03) but no answer asked for
    the voice; the tone rule must not call for a retrain."""
    h = healthy(tone_mean=None, tone_n=0, style_wanted=0, low_tone_ids=[1, 2])
    r = rule(h, "tone_mean")
    assert not r.fired and not r.enough_data and r.value is None and r.evidence == []
    assert r.explanation.startswith("n/a: style is off")
    assert decide(h, T).verdict == "HEALTHY"


def test_tone_rule_reads_styled_answers_and_states_the_fallback_share() -> None:
    h = healthy(
        tone_mean=0.6, tone_n=40, style_wanted=40, style_fallbacks=10,
        low_tone_ids=[5, 6], style_fallback_ids=[6, 7],
    )
    r = rule(h, "tone_mean")
    assert r.fired and r.enough_data and r.value == 0.6
    assert "over 40 answers in the brand voice" in r.explanation
    assert "10 of 40 styled answers (25.0%) kept the plain draft" in r.explanation
    assert r.evidence == [5, 6, 7]
    few = rule(healthy(tone_mean=0.1, tone_n=3, style_wanted=3, style_fallbacks=3), "tone_mean")
    assert not few.fired and "3 scored styled answers" in few.explanation
