"""Stored eval runs: groundedness on constructed answers, a real engine run on the sample
index, and `askdesk eval` storing runs, comparing them and exporting 👎 corrections."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from askdesk.cli import app
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.evaluation import (
    compare_metrics,
    evaluate,
    golden_from_corrections,
    golden_hash,
    load_golden,
)
from askdesk.core.grounding import groundedness
from askdesk.feedback.records import InteractionRecord
from askdesk.feedback.store import FeedbackStore
from tests.conftest import SAMPLE

KEYS = (
    "To rotate an API key, open Settings, choose API keys and click Rotate. The old key keeps "
    "working for 24 hours so you can deploy the new one."
)
PLANS = "The Team plan costs 49 dollars per month and includes 10 members."


def test_a_quoted_sentence_is_supported_and_an_invented_one_is_not():
    supported = "The old key keeps working for 24 hours so you can deploy the new one [1]."
    invented = "Rotated keys are refunded in bitcoin by the finance robot [1]."
    assert groundedness(supported, {1: KEYS}) == 1.0
    assert groundedness(invented, {1: KEYS}) == 0.0
    assert groundedness(f"{supported} {invented}", {1: KEYS}) == 0.5


def test_a_sentence_is_judged_against_the_source_it_cites():
    answer = "The Team plan costs 49 dollars per month [2]. Click Rotate under API keys [1]."
    assert groundedness(answer, {1: KEYS, 2: PLANS}) == 1.0
    swapped = "The Team plan costs 49 dollars per month [1]. Click Rotate under API keys [2]."
    assert groundedness(swapped, {1: KEYS, 2: PLANS}) == 0.0
    assert groundedness("Click Rotate under API keys [3].", {1: KEYS}) == 0.0  # not retrieved


def test_uncited_sentences_take_the_next_citation_and_rewording_still_counts():
    # the extractive composer cites a quoted passage once, at its end
    answer = "Open Settings and choose API keys. Then click Rotate on the key [1]."
    assert groundedness(answer, {1: KEYS, 2: PLANS}) == 1.0
    assert groundedness("The Team plan includes 10 members [1].", {1: KEYS, 2: PLANS}) == 0.0
    reworded = "Good news: the old key keeps on working for 24 hours [1]!"  # styled, same facts
    assert groundedness(reworded, {1: KEYS}) == 1.0
    assert groundedness("[1]", {1: KEYS}) is None  # nothing to judge


def test_compare_knows_which_direction_is_better():
    changes = {
        c.metric: c
        for c in compare_metrics(
            {"mrr": 0.8, "latency_p50_ms": 40.0, "tone": None, "groundedness": 0.9},
            {"mrr": 0.6, "latency_p50_ms": 30.0, "tone": 0.7, "groundedness": 0.9},
        )
    }
    assert changes["mrr"].delta == pytest.approx(0.2) and changes["mrr"].improved is True
    assert changes["latency_p50_ms"].improved is False  # slower is worse
    assert changes["tone"].delta is None and changes["groundedness"].improved is None


def test_golden_lines_from_corrections_skip_blank_and_repeated_questions():
    rows = [
        {"question": "How much is  Team?", "comment": "49 dollars per month."},
        {"question": "how much is team?", "comment": "older duplicate"},
        {"question": "silent", "comment": "  "},
    ]
    assert golden_from_corrections(rows) == [
        {"question": "How much is Team?", "answer": "49 dollars per month."}
    ]


def test_an_engine_run_scores_groundedness_and_yields_store_records(sample_searcher, tmp_path):
    golden = tmp_path / "golden.jsonl"
    lines = [json.loads(line) for line in (SAMPLE / "golden.jsonl").read_text().splitlines()]
    golden.write_text("".join(json.dumps(line) + "\n" for line in lines[:4]))
    engine = AnswerEngine(sample_searcher, ExtractiveComposer())
    report = evaluate(engine, load_golden(golden))

    assert engine.searcher is sample_searcher  # evaluation never swaps the searcher
    s = report.summary
    assert s["k"] == 5 and s["hit_at_k"] == s["hit@5"]
    assert s["groundedness"] == 1.0  # extractive answers quote their sources verbatim
    assert s["tone"] is None  # no tone scorer in this engine
    answered = [q for q in report.questions if not q["unanswered"]]
    assert answered and all(q["groundedness"] == 1.0 for q in answered)

    with FeedbackStore(f"sqlite:///{tmp_path / 'askdesk.db'}") as store:
        run_id = store.styles.record_eval_run(
            report.run_record(golden, index_version=7, label="baseline"), report.result_records()
        )
        (run,) = store.styles.eval_runs()
        results = store.styles.eval_results(run_id)
    assert run["index_version"] == "7" and run["label"] == "baseline" and run["k"] == 5
    assert run["golden_hash"] == golden_hash(golden) and run["questions"] == 4
    assert run["metrics"]["groundedness"] == 1.0 and run["metrics"]["mrr"] == s["mrr"]
    assert [r["position"] for r in results] == [0, 1, 2, 3]
    assert results[0]["question"] == lines[0]["question"]
    assert results[0]["reference"] == lines[0]["answer"]
    assert results[0]["sources"][0]["path"] and results[0]["latency_ms"] > 0


def test_record_eval_run_rejects_unknown_fields(tmp_path):
    with FeedbackStore(f"sqlite:///{tmp_path / 'askdesk.db'}") as store:
        run = {"golden_path": "g", "golden_hash": "h", "questions": 1, "k": 5, "hitz": 1}
        with pytest.raises(ValueError, match="unknown eval run field"):
            store.styles.record_eval_run(run, [])
        assert store.styles.eval_runs() == []


runner = CliRunner()


def test_cli_eval_stores_every_run_and_compares_with_the_previous(env, tiny_docs):
    assert runner.invoke(app, ["index", str(tiny_docs)]).exit_code == 0
    golden = env / "golden.jsonl"
    golden.write_text(
        json.dumps(
            {
                "question": "how much is the team plan?",
                "answer": "49 dollars per month",
                "sources": ["billing/plans.md"],
            }
        )
        + "\n"
    )
    first = runner.invoke(app, ["eval", str(golden), "--json", "--label", "before"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["eval_run_id"] == 1

    db = f"sqlite:///{env / 'data' / 'askdesk.db'}"
    with FeedbackStore(db) as store:
        (stored,) = store.styles.eval_runs()
        last_index = store.index_runs.last_finished()
        # a worse run on the same golden set, recorded after the first: the one to compare with
        worse = {**stored["metrics"], "hit@1": 0.0, "mrr": 0.25, "latency_p50_ms": 0.001}
        store.styles.record_eval_run(
            {
                "golden_path": str(golden),
                "golden_hash": golden_hash(golden),
                "questions": 1,
                "k": 5,
                "metrics": worse,
                "label": "worse",
            },
            [],
        )
    assert stored["label"] == "before" and stored["index_version"] == str(
        last_index["table_version"]
    )
    assert stored["metrics"]["hit@1"] == 1.0 and stored["metrics"]["groundedness"] == 1.0

    r = runner.invoke(app, ["eval", str(golden), "--compare"])
    assert r.exit_code == 0, r.output
    assert "Stored as eval run #3" in r.stdout
    assert "Compared with run #2 'worse'" in r.stdout
    comparison = r.stdout.split("Compared with", 1)[1].splitlines()
    hit1 = next(line for line in comparison if line.strip().startswith("hit@1 "))
    assert "(was 0.000)" in hit1 and "▲ +1.000" in hit1
    latency = next(line for line in comparison if "latency_p50_ms" in line)
    assert "▲" in latency  # slower than the made-up 0.001 ms
    assert "groundedness" in r.stdout

    with FeedbackStore(db) as store:
        runs = store.styles.eval_runs()
        assert [run["id"] for run in runs] == [3, 2, 1]
        assert len(store.styles.eval_results(3)) == 1 and store.styles.eval_results(2) == []

    r = runner.invoke(app, ["eval", str(golden), "--json", "--compare"])
    compared = json.loads(r.stdout)["compare"]
    assert compared["previous_run_id"] == 3 and compared["metrics"]["hit@1"]["delta"] == 0.0


def test_cli_exports_downvote_comments_as_golden_lines(env):
    with FeedbackStore(f"sqlite:///{env / 'data' / 'askdesk.db'}") as store:
        iid = store.interactions.record(
            InteractionRecord(platform="slack", question="how much is team?", answer="10")
        )
        store.interactions.record_vote(
            iid, "someone", -1, reason="wrong_facts", comment="49 dollars a month"
        )
        other = store.interactions.record(
            InteractionRecord(platform="slack", question="no comment", answer="x")
        )
        store.interactions.record_vote(other, "someone", -1, reason="tone_format")
    out = env / "more-golden.jsonl"
    r = runner.invoke(app, ["eval", "--export-golden", str(out)])
    assert r.exit_code == 0, r.output
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"question": "how much is team?", "answer": "49 dollars a month"}
    ]
    assert load_golden(out)[0].answer == "49 dollars a month"  # a valid golden file as is
    r = runner.invoke(app, ["eval", "--export-golden", "-"])
    assert json.loads(r.stdout.splitlines()[0])["question"] == "how much is team?"


def test_cli_eval_reports_useful_and_the_declined_share_in_text_and_json(env, tiny_docs):
    """A real index of the tiny docs: one answerable question answered, one declined (its
    reference is not in the docs), and three marked unanswerable of which the engine declines
    the two that are off-topic and answers the one that the docs do cover."""
    assert runner.invoke(app, ["index", str(tiny_docs)]).exit_code == 0
    lines = [
        {
            "question": "how much is the team plan?",
            "answer": "The Team plan costs 49 dollars per month.",
            "sources": ["billing/plans.md"],
        },
        {"question": "What's the weather in Paris today?", "answer": "Sunny and 20 degrees."},
        {"question": "What's the weather in Lisbon today?", "answerable": False},
        {"question": "Is there a Zapier integration?", "answerable": False},
        {"question": "how do I rotate an API key?", "answerable": False},  # it is answered
    ]
    golden = env / "golden.jsonl"
    golden.write_text("".join(json.dumps(line) + "\n" for line in lines))

    r = runner.invoke(app, ["eval", str(golden), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    s = out["summary"]
    rows = out["questions"]
    assert [q["unanswered"] for q in rows] == [False, True, True, True, False]
    assert [q["useful"] for q in rows] == [True, False, None, None, None]
    assert [q["answerable"] for q in rows] == [True, True, False, False, False]
    assert rows[0]["answer_f1"] < 0.6  # the quoted passage is longer than the reference
    assert s["useful@0.5"] == 0.5 and s["answer_f1"] < s["useful@0.5"]
    assert s["declined_rate_unanswerable"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["answered_rate_answerable"] == 0.5 and s["unanswered_rate_answerable"] == 0.5
    assert (s["answerable_questions"], s["unanswerable_questions"]) == (2, 3)
    with FeedbackStore(f"sqlite:///{env / 'data' / 'askdesk.db'}") as store:
        (run,) = store.styles.eval_runs()
    assert run["metrics"]["useful@0.5"] == 0.5
    assert run["metrics"]["declined_rate_unanswerable"] == s["declined_rate_unanswerable"]

    r = runner.invoke(app, ["eval", str(golden), "--compare"])
    assert r.exit_code == 0, r.output
    shown = r.stdout.split("Compared with", 1)[0].splitlines()
    keys = [line.split()[0] for line in shown if line.startswith("  ")]
    assert keys[keys.index("answer_f1") + 1] == "useful@0.5"  # next to answer F1
    declined = next(line for line in shown if "declined_rate_unanswerable" in line)
    assert "0.667" in declined and "(2 of 3 unanswerable questions declined)" in declined
    compared = r.stdout.split("Compared with", 1)[1]
    assert "useful@0.5" in compared and "answered_rate_answerable" in compared


def test_cli_eval_of_a_golden_set_without_unanswerable_lines_prints_no_declined_share(
    env, tiny_docs
):
    assert runner.invoke(app, ["index", str(tiny_docs)]).exit_code == 0
    golden = env / "golden.jsonl"
    golden.write_text(json.dumps({"question": "how much is the team plan?", "answer": "49"}) + "\n")
    r = runner.invoke(app, ["eval", str(golden)])
    assert r.exit_code == 0, r.output
    assert "useful@0.5" in r.stdout and "declined" not in r.stdout
