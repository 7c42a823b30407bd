"""Honest style output (issue 22, part 4, CLI side): `style rewrite` prints what would be
posted (the draft when the rewrite falls back), never the model's raw attempt; the time
budget starts once the model is loaded; `status` names the active style version and its
last evaluation."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from askdesk.feedback.store import FeedbackStore
from askdesk.styling.generation.rewrite import StyleRewriter
from askdesk.styling.training.fine_tune import TrainConfig, train_style_model
from tests.clirun import run_main
from tests.test_style_model import build_tiny_base

# a draft the barely trained tiny model cannot rewrite with its facts intact
DRAFT = "Keys expire after 90 days. Rotate them in Settings → API keys before 2026-01-31 [1]."
SLOW_LOAD_S = 1.5


@pytest.fixture(scope="module")
def tiny_version(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("honest-style")
    base = build_tiny_base(root / "base")
    pairs = [("Rotate the key in Settings.", "Hey there! 👋\nRotate the key in Settings.")] * 2
    cfg = TrainConfig(max_steps=1, batch_size=2, eval_every=1, warmup_steps=0, threads=1)
    return train_style_model(pairs, pairs[:1], root / "style", str(base), cfg).folder


@pytest.mark.slow
def test_rewrite_prints_the_draft_when_the_rewrite_falls_back(env, capsys, monkeypatch):
    """The issue's case, with the bundled voice: out of time mid-answer, the unfinished
    attempt (raw placeholders and all, "open <F1> and wait **<F") was printed as the result."""
    r = run_main(capsys, monkeypatch, "style", "use", "sample")
    assert r.code == 0, r.err
    monkeypatch.setenv("ASKDESK_STYLE_TIME_BUDGET_S", "1.0")  # a second of decoding: too short
    r = run_main(capsys, monkeypatch, "style", "rewrite", DRAFT)
    assert r.code == 0, r.err
    assert "draft kept (timeout)" in r.err, r.err
    assert r.out.strip() == DRAFT  # exactly what chat would post
    assert "<F" not in r.out


def test_the_time_budget_starts_once_the_model_is_loaded(tiny_version, monkeypatch):
    """On a busy machine loading took 15 of a 20 s budget; the rewrite then had 5 s left."""
    budget = 30.0
    rewriter = StyleRewriter(tiny_version, time_budget_s=budget, threads=1)
    real_load = rewriter.load
    loaded_at: list[float] = []

    def slow_load() -> StyleRewriter:  # the real load, made as slow as a busy machine's
        if rewriter._model is None:
            time.sleep(SLOW_LOAD_S)
            real_load()
            loaded_at.append(time.perf_counter())
        return rewriter

    deadlines: list[float] = []
    real_unit = rewriter._unit_or_sentences

    def unit(text, deadline, soft_deadline, opener=None):
        deadlines.append(deadline)
        return real_unit(text, deadline, soft_deadline, opener)

    monkeypatch.setattr(rewriter, "load", slow_load)
    monkeypatch.setattr(rewriter, "_unit_or_sentences", unit)
    result = rewriter.rewrite_detail(DRAFT)
    assert loaded_at and deadlines, result
    assert deadlines[0] - loaded_at[0] >= budget - 0.5  # the whole budget after loading
    assert result.seconds < budget


def test_status_names_the_active_style_version_and_its_last_evaluation(
    env, tiny_version, capsys, monkeypatch
):
    r = run_main(capsys, monkeypatch, "status")
    assert r.code == 0 and "Style: no style model" in r.out, r.out
    r = run_main(capsys, monkeypatch, "style", "use", str(tiny_version))
    assert r.code == 0, r.err
    r = run_main(capsys, monkeypatch, "status")
    assert f"Style: {tiny_version} active, only with ask --style" in r.out, r.out
    assert "Last evaluation: none" in r.out

    with FeedbackStore(f"sqlite:///{env / 'data' / 'askdesk.db'}") as store:
        for version, f1 in ((tiny_version.name, 0.61), ("older", 0.2)):
            store.styles.record_eval_run(
                {
                    "golden_path": "g.jsonl",
                    "golden_hash": "h",
                    "questions": 3,
                    "k": 5,
                    "style_model_version": version,
                    "metrics": {"hit@5": 1.0, "answer_f1": f1, "tone": 0.83},
                },
                [],
            )
    monkeypatch.setenv("ASKDESK_STYLE_ENABLED", "true")
    r = run_main(capsys, monkeypatch, "status")
    assert "active, every answer" in r.out
    assert "Last evaluation: eval run #1" in r.out and "answer_f1 0.61, tone 0.83" in r.out
    r = run_main(capsys, monkeypatch, "status", "--json")
    import json

    style = json.loads(r.out)["style"]
    assert style["active_version"] == str(tiny_version) and style["enabled"] is True
