"""The bundled brand-voice examples and the validator that guards them.

The style model learns only from these pairs, so they must be clean (no added facts), split
without leaks, and in one consistent voice; and the validator must catch each kind of bad
line with its line number.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from askdesk.styling.guards.facts import guard
from askdesk.styling.tone.voice import check_voice, sentence_lengths
from askdesk.styling.training.examples import (
    Example,
    ExamplesFileError,
    check_examples,
    load_examples,
    load_product_terms,
    load_topics,
    main,
)
from askdesk.styling.training.near_duplicates import jaccard, similar_pairs, token_set

STYLE = Path(__file__).resolve().parent.parent / "askdesk/sample/style"
EXAMPLES = STYLE / "examples.jsonl"
TERMS = load_product_terms(EXAMPLES)  # the sample product's vocabulary, beside its examples

GOOD_IN = "Rotation keeps the old key for 24 hours by default. [1]"
GOOD_OUT = "Hey there! 👋\n\nThe old key keeps working for **24 hours** by default. [1]"


@pytest.fixture(scope="module")
def bundled() -> list[Example]:
    return load_examples(EXAMPLES)


def _write(tmp_path: Path, rows: list[object]) -> Path:
    path = tmp_path / "pairs.jsonl"
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _pair(i: int, **extra: object) -> dict[str, object]:
    """Distinct, valid pairs (different topics, so no two are near-duplicates)."""
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    w = words[i % len(words)] + str(i)
    return {
        "input": f"The {w} setting waits {i + 1} days. [1]",
        "output": f"Hey there! 👋\n\n{w}: **{i + 1} days**. [1]",
        **extra,
    }


# --- the bundled set ---------------------------------------------------------------------


def test_bundled_examples_pass_with_no_errors_and_no_warnings(bundled):
    report = check_examples(bundled, product_terms=TERMS)
    assert report.product_terms == TERMS
    assert len(bundled) >= 220
    assert report.ok, report.format()
    assert report.warnings == [], report.format()
    assert report.counts["train"] + report.counts["eval"] == len(bundled)


def test_every_bundled_output_passes_the_guard(bundled):
    for ex in bundled:
        result = guard(ex.input, ex.output, TERMS)
        assert result.ok, f"line {ex.line}: {result.reason}"


def test_bundled_inputs_look_like_drafts(bundled):
    words = [len(ex.input.split()) for ex in bundled]
    assert min(words) >= 30 and max(words) <= 130
    assert sum(w >= 90 for w in words) >= 5  # long drafts, where models drop sentences
    assert all("[1]" in ex.input for ex in bundled)
    assert sum("[2]" in ex.input for ex in bundled) >= 10
    assert sum("```" in ex.input for ex in bundled) >= 30


def test_bundled_set_covers_the_docs_areas(bundled):
    topics = {ex.topic for ex in bundled}
    expected = {"keys", "webhooks", "retries", "jobs", "plans", "sso", "regions", "retention"}
    assert expected | {"cli-errors", "rate-limits", "signatures", "audit"} <= topics
    assert len(topics) >= 25
    assert sum(ex.caution for ex in bundled) >= 10


def test_voice_is_consistent(bundled):
    normal = [ex for ex in bundled if not ex.caution]
    checks = [check_voice(ex.output) for ex in normal]
    assert sum(c.opener for c in checks) >= 0.9 * len(normal)
    assert sum(c.sign_off for c in checks) >= 0.9 * len(normal)
    sentences = [n for c in checks for n in c.sentence_words]
    assert sum(n <= 18 for n in sentences) >= 0.95 * len(sentences)


def test_cautionary_answers_stay_serious(bundled):
    for ex in (ex for ex in bundled if ex.caution):
        check = check_voice(ex.output)
        assert check.caution_opener and check.caution_sign_off, ex.line
        assert not check.cheerful_emoji, f"line {ex.line}: emoji on a warning"
        assert "**" in ex.output, f"line {ex.line}: the warning is not in bold"


def test_outputs_use_shorter_sentences_than_inputs(bundled):
    before = statistics.mean(n for ex in bundled for n in sentence_lengths(ex.input))
    after = statistics.mean(n for ex in bundled for n in sentence_lengths(ex.output))
    assert after < before


def test_held_out_topics_make_a_clean_topic_split(bundled):
    held = load_topics(STYLE / "held_out_topics.txt")
    report = check_examples(bundled, held_out_topics=held, product_terms=TERMS)
    assert report.ok, report.format()
    assert {bundled[i].topic for i in report.eval} == held
    assert 0.1 <= len(report.eval) / len(bundled) <= 0.2


# --- each error type, with its line number ------------------------------------------------


def test_load_reports_every_malformed_line(tmp_path):
    rows: list[object] = [
        _pair(0),
        "{not json",
        "",  # blank lines are skipped but still counted
        [1, 2],
        {"input": "x"},
        {"input": 3, "output": "y"},
        {"input": "x", "output": "y", "caution": "yes"},
    ]
    with pytest.raises(ExamplesFileError) as err:
        load_examples(_write(tmp_path, rows))
    found = {(i.line, i.code) for i in err.value.issues}
    assert found == {
        (2, "bad_json"),
        (4, "bad_shape"),
        (5, "bad_shape"),
        (6, "bad_shape"),
        (7, "bad_shape"),
    }
    assert "line 5" in str(err.value) and 'missing "output"' in str(err.value)


def test_empty_file_is_an_error(tmp_path):
    with pytest.raises(ExamplesFileError):
        load_examples(_write(tmp_path, [""]))


def _codes(tmp_path: Path, rows: list[object], **kwargs: object) -> set[tuple[int, str, str]]:
    report = check_examples(load_examples(_write(tmp_path, rows)), **kwargs)  # type: ignore[arg-type]
    return {(i.line, i.severity, i.code) for i in report.issues}


def test_empty_input_and_output(tmp_path):
    rows = [_pair(0), {"input": " ", "output": GOOD_OUT}, {"input": GOOD_IN, "output": ""}]
    codes = _codes(tmp_path, rows)
    assert (2, "error", "empty_input") in codes
    assert (3, "error", "empty_output") in codes


def test_exact_duplicate_and_repeated_input(tmp_path):
    rows = [
        _pair(0),
        {"input": GOOD_IN, "output": GOOD_OUT},
        _pair(1),
        {"input": GOOD_IN, "output": GOOD_OUT},
        {"input": GOOD_IN, "output": GOOD_OUT + "\n\nHappy building! 🌊"},
    ]
    codes = _codes(tmp_path, rows)
    assert (4, "error", "duplicate") in codes
    assert (5, "warning", "duplicate_input") in codes
    assert not any(line == 2 for line, _, _ in codes)


def test_over_long_line(tmp_path):
    long_in = GOOD_IN.replace("Rotation", "Rotation " + "really " * 60)
    codes = _codes(tmp_path, [_pair(0), {"input": long_in, "output": GOOD_OUT}], max_chars=300)
    assert (2, "error", "too_long") in codes


def test_added_fact_is_an_error_and_dropped_fact_a_warning(tmp_path):
    added = {"input": GOOD_IN, "output": GOOD_OUT + " See https://status.tidewire.example"}
    dropped = {"input": GOOD_IN, "output": "Hey there! 👋\n\nThe old key keeps working. [1]"}
    changed = {"input": GOOD_IN, "output": GOOD_OUT.replace("[1]", "[2]")}
    codes = _codes(tmp_path, [_pair(0), added, _pair(1), dropped, changed])
    assert (2, "error", "added_fact") in codes
    assert (4, "warning", "dropped_fact") in codes
    assert (5, "error", "added_fact") in codes and (5, "warning", "dropped_fact") in codes


def test_reworded_repeated_and_unchanged_facts_are_warnings(tmp_path):
    reworded = {"input": "Wait 24h. [1]", "output": "Hey there! 👋\n\nWait **24 hours**. [1]"}
    repeated = {"input": "Wait 24h. [1]", "output": "Wait 24h, yes, 24h. [1]"}
    unchanged = {"input": "Wait a day. [1]", "output": "Wait a day. [1]"}
    codes = _codes(tmp_path, [reworded, repeated, unchanged])
    assert (1, "warning", "reworded_fact") in codes
    assert (2, "warning", "repeated_fact") in codes
    assert (3, "warning", "unchanged") in codes
    assert not any(sev == "error" for _, sev, _ in codes)


def test_near_duplicates_across_a_given_split_are_reported(tmp_path):
    a = {
        "input": "The old key keeps working for 24 hours by default after rotation. [1]",
        "output": "Hey there! 👋\n\nIt works for **24 hours** after rotation. [1]",
    }
    b = {
        "input": "The old key keeps working for 24 hours by default after a rotation. [1]",
        "output": "Hey there! 👋\n\nAfter a rotation it works for **24 hours**. [1]",
    }
    rows = [_pair(0), a, _pair(1), b]
    codes = _codes(tmp_path, rows, split=([0, 1, 2], [3]))
    assert (2, "error", "split_leak") in codes and (4, "error", "split_leak") in codes
    assert _codes(tmp_path, rows, split=([0, 2], [1, 3])) == set()


# --- the split ---------------------------------------------------------------------------


def _many(n: int) -> list[Example]:
    out = []
    for i in range(n):
        row = _pair(i)
        out.append(Example(str(row["input"]), str(row["output"]), i + 1))
    # near-duplicate families that must not be cut
    topics = [
        "retries backoff jitter",
        "signing secrets rotation",
        "cron schedules timezone",
        "invoices refunds taxes",
        "regions backups recovery",
        "quota overage caps",
    ]
    for k, topic in enumerate(topics):
        base = f"Drafts about {topic} quote the same {k}th passage of the guide once more"
        for j in range(3):
            out.append(Example(f"{base} variant {j}. [1]", f"Hey there! 👋\n\n{base}. [1]", 0))
    return out


def test_split_is_deterministic_and_respects_share_and_seed():
    examples = _many(60)
    first = check_examples(examples, eval_share=0.2, seed=1)
    again = check_examples(list(examples), eval_share=0.2, seed=1)
    assert (first.train, first.eval) == (again.train, again.eval)
    assert abs(len(first.eval) - 0.2 * len(examples)) <= 3
    other = check_examples(examples, eval_share=0.2, seed=2)
    assert other.eval != first.eval
    assert sorted(first.train + first.eval) == list(range(len(examples)))


def test_near_duplicate_groups_never_straddle_the_split():
    examples = _many(60)
    for seed in range(10):
        report = check_examples(examples, eval_share=0.3, seed=seed)
        assert report.ok, report.format()
        assert len(report.groups) == 6
        evals = set(report.eval)
        for group in report.groups:
            assert len({i in evals for i in group}) == 1


def test_split_is_stable_when_lines_are_reordered():
    examples = _many(40)
    report = check_examples(examples, seed=3)
    shuffled = examples[::-1]
    moved = check_examples(shuffled, seed=3)
    assert {examples[i].input for i in report.eval} == {shuffled[i].input for i in moved.eval}


def test_prefix_filtered_pairs_match_brute_force(bundled):
    texts = [ex.input for ex in bundled] + [ex.input + " extra words here" for ex in bundled[:40]]
    fast = {(a, b) for a, b, _ in similar_pairs(texts, 0.8)}
    sets = [token_set(t) for t in texts]
    slow = {
        (i, j)
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
        if jaccard(sets[i], sets[j]) >= 0.8
    }
    assert fast == slow and len(slow) >= 40


def test_cli_prints_the_report(capsys):
    assert main([str(EXAMPLES)]) == 0
    assert "errors 0" in capsys.readouterr().out
