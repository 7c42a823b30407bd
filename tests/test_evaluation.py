"""Evaluation metrics as pure functions, golden-file validation, and a run on the sample set."""

from __future__ import annotations

import json
import re

import pytest

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.evaluation import (
    GoldenError,
    evaluate,
    hit_rank,
    load_golden,
    ndcg,
    token_f1,
    useful_at_05,
)
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


# reference content words: rotate, api, key, settings ("the", "in" are stop words)
ROTATE = "Rotate the API key in Settings."


def test_useful_at_half_of_the_reference_content_words_and_not_below():
    assert useful_at_05("Open Settings and click Rotate [1].", ROTATE) is True  # 2 of 4
    assert useful_at_05("Open Settings [1].", ROTATE) is False  # 1 of 4
    assert useful_at_05("ROTATE it under settings → API", ROTATE) is True  # 3 of 4, any case
    # an answer made of the reference's stop words holds none of its content
    assert useful_at_05("The key is in the docs, the rest is in the settings", "The in") is None
    assert useful_at_05("the in the in of to", ROTATE) is False


def test_useful_ignores_citation_markers_and_does_not_stem():
    # with the markers kept as words, "1" would be a shared content word: 2 of 4, useful
    assert useful_at_05("Rotated [1] [2]", "Rotated keys expire [1]") is False  # 1 of 3
    assert useful_at_05("rotating", "rotated keys") is False  # the measure is literal
    assert useful_at_05("café prices", "Café PRICES") is True  # any script, lowercased


def test_a_declined_answer_is_never_useful():
    assert useful_at_05("", ROTATE) is False
    f1, _ = token_f1("", ROTATE)
    assert f1 == 0.0


def test_answerable_marks_and_old_lines_without_sources_are_unanswerable(tmp_path):
    p = tmp_path / "g.jsonl"
    p.write_text(
        '{"question": "q1", "answerable": false}\n'
        '{"question": "q2", "sources": [], "answerable": false}\n'
        '{"question": "q3", "sources": []}\n'
        '{"question": "q4", "answer": "a reference only"}\n'
        '{"question": "q5", "answerable": true}\n'
        '{"question": "q6", "sources": ["a.md"], "answer": "x", "answerable": true}\n'
    )
    items = load_golden(p)
    assert [i.unanswerable for i in items] == [True, True, True, False, False, False]
    assert items[0].answerable is False and items[2].answerable is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "a"}\nnot json\n', ":2: not valid JSON"),
        ('{"answer": "no question"}\n', ':1: each line needs a non-empty "question"'),
        ('{"question": "a", "sources": [1]}\n', '"sources" must be a list'),
        ("\n\n", "no questions"),
        ('{"question": "a", "answerable": "false"}\n', ':1: "answerable" must be true or false'),
        ('{"question": "a", "answerable": 0}\n', '"answerable" must be true or false, not 0'),
        (
            '{"question": "a"}\n{"question": "b", "answerable": false, "sources": ["x.md"]}\n',
            ':2: a question marked "answerable": false cannot have sources',
        ),
        (
            '{"question": "a", "answerable": false, "answer": "no"}\n',
            ':1: a question marked "answerable": false cannot have an answer',
        ),
        ('{"question": "a", "answer": 42}\n', ':1: "answer" must be a string'),
    ],
)
def test_bad_golden_files_name_the_line(tmp_path, content, message):
    p = tmp_path / "g.jsonl"
    p.write_text(content)
    with pytest.raises(GoldenError, match=re.escape(message)) as caught:
        load_golden(p)
    assert "\n" not in str(caught.value)  # one line


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
    assert s["unanswerable_questions"] == sum(1 for i in items if i.answerable is False) >= 8
    assert s["answered_rate_answerable"] == pytest.approx(1 - s["unanswered_rate_answerable"])
    assert 0.3 <= s["useful@0.5"] <= 1.0
    assert {q["useful"] for q in report.questions if q["reference"]} <= {True, False}
    assert all(q["useful"] is None for q in report.questions if not q["answerable"])
    row = report.questions[0]
    assert set(row) >= {"question", "sources", "hit_rank", "answer", "unanswered"}
    json.dumps(report.as_dict())  # serialisable for --json
