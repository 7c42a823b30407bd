"""Evaluation metrics as pure functions, golden-file validation, and a run on the sample set."""

from __future__ import annotations

import json

import pytest

from core.compose import ExtractiveComposer
from core.engine import AnswerEngine
from core.evaluation import GoldenError, evaluate, hit_rank, load_golden, ndcg, token_f1
from tests.conftest import SAMPLE


def test_hit_rank_matches_reference_by_path_suffix():
    ranked = ["docs/a.md", "kb/sqlite/faq.html", "b.md"]
    assert hit_rank(ranked, ("faq.html",)) == 2
    assert hit_rank(ranked, ("b.md",)) == 3
    assert hit_rank(ranked, ("c.md",)) is None
    assert hit_rank(["kb/gitfaq.html"], ("faq.html",)) is None  # a path boundary, not a suffix


def test_ndcg_rewards_early_hits():
    assert ndcg(["x", "y"], ("x",)) == pytest.approx(1.0)
    assert ndcg(["y", "x"], ("x",)) == pytest.approx(1 / 1.5849625, rel=1e-4)
    assert ndcg(["y"], ("x",)) == 0.0


def test_token_f1_ignores_citation_markers_and_case():
    f1, recall = token_f1("Click Rotate [1].", "click rotate")
    assert f1 == pytest.approx(1.0) and recall == pytest.approx(1.0)
    assert token_f1("nothing shared", "completely different")[0] == 0.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "a"}\nnot json\n', ":2: not valid JSON"),
        ('{"answer": "no question"}\n', ':1: each line needs a non-empty "question"'),
        ('{"question": "a", "sources": [1]}\n', '"sources" must be a list'),
        ("\n\n", "no questions"),
    ],
)
def test_bad_golden_files_name_the_line(tmp_path, content, message):
    p = tmp_path / "g.jsonl"
    p.write_text(content)
    with pytest.raises(GoldenError, match=message.replace("(", r"\(")):
        load_golden(p)


def test_missing_golden_file(tmp_path):
    with pytest.raises(GoldenError, match="not found"):
        load_golden(tmp_path / "none.jsonl")


def test_sample_golden_set_scores_well(sample_searcher):
    items = load_golden(SAMPLE / "golden.jsonl")
    report = evaluate(AnswerEngine(sample_searcher, ExtractiveComposer()), items)
    s = report.summary
    assert set(s) >= {
        "hit@1",
        "hit@3",
        "hit@5",
        "mrr",
        "ndcg@10",
        "answer_f1",
        "unanswered_rate",
        "latency_p50_ms",
        "latency_p95_ms",
    }
    assert s["hit@5"] >= 0.85 and s["mrr"] >= 0.7
    assert s["answer_f1"] >= 0.2
    assert s["declined_rate_unanswerable"] is not None  # near-topic ones are hard: see README
    assert s["unanswered_rate_answerable"] <= 0.05
    row = report.questions[0]
    assert set(row) >= {"question", "sources", "hit_rank", "answer", "unanswered"}
    json.dumps(report.as_dict())  # serialisable for --json
