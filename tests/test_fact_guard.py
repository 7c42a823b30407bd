"""The fact guard and the placeholders on constructed drafts and on every bundled example.

No model: the guard is what lets a small model rewrite answers safely, so it is tested on
its own, on the mistakes a model makes (drop a number, invent a URL, change a citation,
alter code, lose or loop a placeholder).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from askdesk.styling.guards.fact_patterns import DEFAULT_PRODUCT_TERMS
from askdesk.styling.guards.facts import check_rewrite, extract_facts, guard, protect
from askdesk.styling.guards.placeholders import PLACEHOLDER, PlaceholderError
from askdesk.styling.training.examples import load_product_terms
from askdesk.styling.training.fine_tune import TrainConfig

EXAMPLES = Path(__file__).resolve().parent.parent / "askdesk/sample/style/examples.jsonl"
#: The sample product's vocabulary, kept beside its examples (product_terms.txt).
TERMS = load_product_terms(EXAMPLES)

DRAFT = (
    "In the dashboard, pick a grace period (24 hours by default, up to 7 days). With the CLI, "
    "run `tw keys rotate key_... --grace 24h`. See https://app.tidewire.example/settings/api-keys "
    "or email security@tidewire.example. The Team plan costs $49 per month. [1]"
)
FAITHFUL = (
    "Hey there! 👋\n\nPick a grace period. It's **24 hours** by default, up to **7 days**.\n\n"
    "With the CLI, run `tw keys rotate key_... --grace 24h`.\n\n"
    "More at https://app.tidewire.example/settings/api-keys, or email security@tidewire.example. "
    "The **Team** plan is **$49** per month. [1]\n\nHappy building! 🌊"
)


def _examples() -> list[dict]:
    return [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines()]


# --- extraction -------------------------------------------------------------------------


def test_extracts_each_kind_in_order():
    facts = extract_facts(DRAFT, TERMS)
    assert facts.durations == ["24 hours", "7 days"]
    assert facts.code_spans == ["`tw keys rotate key_... --grace 24h`"]
    assert facts.urls == ["https://app.tidewire.example/settings/api-keys"]
    assert facts.emails == ["security@tidewire.example"]
    assert facts.money == ["$49"]
    assert facts.terms == ["Team"]
    assert facts.citations == ["[1]"]
    assert facts.numbers == []  # the 24 of `--grace 24h` is part of the code span


def test_numbers_versions_times_percentages_and_multiplicity():
    text = (
        "tw 3.4.0 runs at 02:30 on the 11th; 10,000 events, 99.95% uptime, -5 degrees, "
        "SAML 2.0, 1 MB, 2.5 min, 24/7, 10,000 again. [2]"
    )
    facts = extract_facts(text)
    assert facts.versions == ["3.4.0"]
    assert facts.times == ["02:30"]
    assert facts.percentages == ["99.95%"]
    assert facts.sizes == ["1 MB"]
    assert facts.durations == ["2.5 min"]
    assert facts.numbers == ["11th", "10,000", "-5", "2.0", "24/7", "10,000"]
    assert facts.citations == ["[2]"]  # and not the number 2
    assert facts.keys()[("number", "10000")] == 2


def test_numbers_inside_urls_code_and_citations_are_not_counted_again():
    text = (
        "Open https://api.us.tidewire.example/v2/events?limit=100, run `tw jobs next --count 5` [3]"
    )
    facts = extract_facts(text)
    assert facts.numbers == []
    assert [f.kind for f in facts.items] == ["url", "code", "citation"]


def test_fenced_code_block_is_one_fact():
    text = "Run:\n\n```bash\ntw endpoints update ep_3Jd81 --max-attempts 4\n```\n\nDone. [1]"
    facts = extract_facts(text)
    assert len(facts.code_blocks) == 1
    assert facts.numbers == [] and facts.identifiers == []


def test_bare_commands_keep_their_code_like_parts():
    text = "run tw keys rotate key_... --grace 24h and check quota_exceeded"
    facts = extract_facts(text, TERMS)
    assert facts.terms == ["tw"]
    assert facts.identifiers == ["key_...", "--grace", "quota_exceeded"]
    assert facts.durations == ["24h"]


def test_numbered_list_markers_and_bold_are_layout_not_facts():
    text = "1. **Answer quickly.**\n2. Use order.** for nested types, **8** attempts."
    facts = extract_facts(text)
    assert facts.numbers == ["8"]
    assert facts.identifiers == ["order.**"]


# --- guard ------------------------------------------------------------------------------


def test_faithful_restyle_passes():
    result = guard(DRAFT, FAITHFUL)
    assert result.ok, result.reason
    assert result.missing == [] and result.added == []


def test_equivalent_duration_spelling_and_bold_pass():
    assert guard("Wait 24h. [1]", "Wait **24 hours**. [1]").ok
    assert guard("About 10,000 events. [1]", "About **10000** events. [1]").ok


def test_dropped_number_fails_as_missing():
    result = guard(DRAFT, FAITHFUL.replace(", up to **7 days**", ""))
    assert not result.ok
    assert result.missing == ["7 days"]
    assert "missing" in result.reason


def test_invented_url_fails_as_added():
    rewrite = FAITHFUL.replace("[1]", "See https://status.tidewire.example too. [1]")
    result = guard(DRAFT, rewrite)
    assert not result.ok
    assert result.added == ["https://status.tidewire.example"]


def test_invented_number_fails():
    result = guard("Retries wait a while. [1]", "Retries wait **48 hours**. [1]")
    assert result.added == ["48 hours"]


def test_changed_citation_fails_both_ways():
    result = guard(DRAFT, FAITHFUL.replace("[1]", "[2]"))
    assert not result.ok
    assert result.missing == ["[1]"] and result.added == ["[2]"]


def test_citations_count_as_a_multiset():
    draft = "First part. [1]\n\nSecond part. [1]"
    assert not guard(draft, "Both parts. [1]").ok
    assert guard(draft, "First. [1]\n\nSecond. [1]").ok
    assert guard("Once. [1]", "Once. [1] [1]").added == ["[1]"]


def test_other_facts_count_as_a_set():
    assert guard("Wait 24h, then 24h again. [1]", "Wait **24h** twice. [1]").ok


def test_altered_code_block_fails():
    draft = "Run:\n\n```bash\ntw keys rotate key_7Hc2N0 --grace 24h\n```\n\n[1]"
    rewrite = draft.replace("--grace 24h", "--grace 48h")
    result = guard(draft, rewrite)
    assert not result.ok
    assert len(result.missing) == 1 and len(result.added) == 1


def test_code_block_and_inline_code_with_the_same_content_are_the_same_fact():
    draft = "Run `tw keys list`. [1]"
    assert guard(draft, "Run this:\n\n```bash\ntw keys list\n```\n\n[1]").ok


def test_product_terms_are_case_sensitive():
    # "your team" is not the Team plan, so a rewrite that capitalises it adds a plan name
    assert guard("Ask your team. [1]", "Ask your team! [1]", TERMS).ok
    assert guard("Ask your team. [1]", "Ask your Team. [1]", TERMS).added == ["Team"]
    # a lowercase brand name is not the term: the term counts as dropped
    assert guard("Tidewire retries. [1]", "tidewire retries. [1]", TERMS).missing == ["Tidewire"]
    # plurals share the term: "Owners" keeps "Owner"
    assert guard("Owners can do it. [1]", "Only an Owner can. [1]", TERMS).ok


def test_default_terms_know_no_product():
    """The defaults are generic: the sample product's words live beside its examples, and
    without them none of those words is a fact, while numbers, code and URLs still are."""
    assert len(TERMS) >= 10 and "Tidewire" in TERMS
    assert set(DEFAULT_PRODUCT_TERMS).isdisjoint(TERMS)
    assert TrainConfig().product_terms == DEFAULT_PRODUCT_TERMS
    sample_words = {w for term in TERMS for w in re.split(r"[\W_]+", term.lower()) if w}
    default_words = {w for t in DEFAULT_PRODUCT_TERMS for w in re.split(r"[\W_]+", t.lower())}
    assert sample_words.isdisjoint(default_words)
    facts = extract_facts(DRAFT)
    assert facts.terms == []
    assert facts.money == ["$49"] and facts.durations == ["24 hours", "7 days"]
    assert facts.urls == ["https://app.tidewire.example/settings/api-keys"]


def test_custom_product_terms():
    terms = ("Acme Cloud", "acmectl")
    assert guard("Use acmectl. [1]", "Use acmectl! [1]", terms).ok
    assert guard("Use acmectl. [1]", "Use Acme Cloud. [1]", terms).added == ["Acme Cloud"]
    assert extract_facts("Tidewire", product_terms=()).terms == []


# --- placeholders -----------------------------------------------------------------------


def test_protect_replaces_every_fact_and_restores_exactly():
    p = protect(DRAFT)
    assert "24 hours" not in p.text and "https://" not in p.text and "[1]" not in p.text
    assert p.text.count("<F") == len(extract_facts(DRAFT))
    assert p.restore(p.text) == DRAFT


def test_identical_spans_share_a_placeholder_and_blocks_take_one():
    draft = "Wait 24h. Then wait 24h.\n\n```bash\ntw keys list\ntw keys revoke key_1\n```\n\n[1]"
    p = protect(draft)
    assert p.counts["<F1>"] == 2
    assert p.kinds["<F2>"] == "code_block"
    assert p.text.endswith("<F2>\n\n<F3>")


def test_round_trip_is_exact_on_every_bundled_example():
    for n, row in enumerate(_examples(), 1):
        for text in (row["input"], row["output"]):
            p = protect(text, TERMS)
            assert p.restore(p.text) == text, f"line {n}"


def test_bundled_outputs_are_expressible_with_the_input_placeholders():
    """A trainer can protect each pair: every fact of the output is one of the input's spans,
    used at most as often as in the input."""
    for n, row in enumerate(_examples(), 1):
        p = protect(row["input"], TERMS)
        protected_output = p.apply(row["output"])
        assert p.problems(protected_output).ok, f"line {n}: {p.problems(protected_output)}"
        assert p.restore(protected_output) == row["output"], f"line {n}"
        leftover = extract_facts(PLACEHOLDER.sub("X", protected_output), TERMS).items
        assert not leftover, f"line {n}: {leftover}"


def test_missing_duplicated_and_invented_placeholders_are_reported():
    p = protect("Wait 24h, then check https://status.tidewire.example [1]")
    assert p.text == "Wait <F1>, then check <F2> <F3>"
    problems = p.problems("Wait <F1> then <F1>, see <F7>. <F3>")
    assert problems.missing == ["<F2>"]
    assert problems.duplicated == ["<F1>"]
    assert problems.unknown == ["<F7>"]
    assert not problems.ok
    with pytest.raises(PlaceholderError) as err:
        p.restore("Wait <F1>. <F3>")
    assert err.value.problems.missing == ["<F2>"]


def test_mangled_placeholders_are_reported_as_unknown():
    p = protect("Wait 24h. [1]")
    assert p.problems("Wait < F1 >. <F2>").unknown == ["< F1 >"]
    assert p.problems("Wait <f1>. <F2>").unknown == ["<f1>"]


def test_check_rewrite_restores_a_good_model_output():
    p = protect(DRAFT)
    model_output = "Hey there! 👋\n\n" + p.text + "\n\nHappy building! 🌊"
    text, result = check_rewrite(p, model_output)
    assert result.ok and text is not None
    assert DRAFT in text


def test_check_rewrite_fails_on_a_dropped_placeholder_or_an_invented_fact():
    p = protect(DRAFT)
    dropped = p.text.replace("<F2>", "")
    text, result = check_rewrite(p, dropped)
    assert text is None and not result.ok
    assert result.missing == ["7 days"]
    assert "placeholders" in result.reason
    invented = p.text + " Rotate every 90 days."
    text, result = check_rewrite(p, invented)
    assert text is None and result.added == ["90 days"]


def test_restore_puts_a_code_block_back_on_its_own_lines():
    p = protect("Run:\n\n```bash\ntw keys list\n```\n\n[1]")
    restored = p.restore("Run this: <F1> and you're done. <F2>")
    assert restored == "Run this:\n\n```bash\ntw keys list\n```\n\nand you're done. [1]"


def test_protect_refuses_text_that_already_has_placeholder_tokens():
    with pytest.raises(ValueError):
        protect("The literal <F1> appears in prose. [1]")
