"""askdesk.core.grounding: whether a sentence is supported by passages (overlap and facts)."""

from __future__ import annotations

import pytest

from askdesk.core.grounding import (
    SUPPORTED_SHARE,
    cited_texts,
    facts,
    groundedness,
    is_supported,
    missing_facts,
    sentence_support,
    sentences,
)
from askdesk.core.types import Source
from askdesk.retrieval.search import SearchHit

KEYS = (
    "To rotate an API key, open Settings, choose API keys and click Rotate. The old key keeps "
    "working for 24 hours so you can deploy the new one. Run `tw keys rotate --name production` "
    "or see https://docs.example.com/security/api-keys. Keys expire after 90 days."
)
PLANS = "The Team plan costs $49 per month and includes 10,000 deliveries."


def test_sentence_support_is_the_share_of_content_words_in_the_passages():
    assert sentence_support("Click Rotate to rotate the API key [1].", [KEYS]) == 1.0
    assert sentence_support("Bananas are yellow and curved.", [KEYS]) == 0.0
    half = sentence_support("Rotate the key, then bake bread.", KEYS)  # str or list alike
    assert 0.0 < half < 1.0
    assert sentence_support("[1]", [KEYS]) == 1.0  # claims nothing
    assert sentence_support("Plans cost $49 per month.", [KEYS, PLANS]) > SUPPORTED_SHARE


@pytest.mark.parametrize(
    ("sentence", "missing"),
    [
        ("The old key keeps working for 24 hours [1].", []),
        ("The old key keeps working for 24h [1].", []),  # same duration, written otherwise
        ("The old key keeps working for 48 hours [1].", ["48 hours"]),
        ("Keys expire after 30 days.", ["30 days"]),
        ("Run `tw keys rotate --name production`.", []),
        ("Run `tw keys revoke --all`.", ["`tw keys revoke --all`"]),  # as written
        ("See https://docs.example.com/security/api-keys.", []),
        ("See https://evil.example.com/keys for details.", ["https://evil.example.com/keys"]),
        ("Sign requests with HMAC-SHA256.", ["HMAC-SHA256"]),
        ("It costs $49 and has 10000 deliveries [2].", []),  # 10,000 = 10000
        ("It costs $59 [2].", ["$59"]),
    ],
)
def test_missing_facts_names_every_number_identifier_url_and_code_not_in_the_passages(
    sentence, missing
):
    assert missing_facts(sentence, [KEYS, PLANS]) == missing


def test_citation_markers_are_not_facts_and_a_fact_is_reported_once():
    assert facts("Rotate it [1] [2].") == []
    assert missing_facts("Use port 8080, yes port 8080.", KEYS) == ["8080"]


def test_a_sentence_is_supported_only_with_its_words_and_its_facts():
    assert is_supported("The old key keeps working for 24 hours [1].", [KEYS])
    assert not is_supported("The old key keeps working for 72 hours [1].", [KEYS])  # a fact
    assert not is_supported("Managers approve every rotation on Fridays at lunch.", [KEYS])


def test_sentences_skip_headings_and_bare_markers():
    text = "Rotate the key [1].\n\n[2]\n\n- Open Settings.\n- Click Rotate."
    assert sentences(text) == ["Rotate the key [1].", "- Open Settings.", "- Click Rotate."]


def test_answer_level_groundedness_checks_each_sentence_against_what_it_cites():
    answer = "The old key keeps working for 24 hours [1]. The Team plan costs $49 per month [2]."
    assert groundedness(answer, {1: KEYS, 2: PLANS}) == 1.0
    swapped = "The old key keeps working for 24 hours [2]. The Team plan costs $49 per month [1]."
    assert groundedness(swapped, {1: KEYS, 2: PLANS}) == 0.0
    assert groundedness("[1]", {1: KEYS}) is None


def test_cited_texts_join_each_cited_documents_retrieved_chunks():
    def hit(doc: str, text: str, ordinal: int) -> SearchHit:
        return SearchHit(f"{doc}#{ordinal}", doc, doc, "", text, ordinal)

    hits = [hit("keys.md", "first chunk", 0), hit("plans.md", "plans", 0), hit("keys.md", "b", 1)]
    sources = [Source(1, "keys.md", "", "", 0.9), Source(2, "gone.md", "", "", 0.5, snippet="s")]
    assert cited_texts(sources, hits) == {1: "first chunk\n\nb", 2: "s"}


def test_a_marker_the_splitter_leaves_alone_still_cites_the_sentences_before_it():
    """"… a credit card. [1]" followed by a list cited [2]: the [1] lands on a unit of its own;
    the sentences it closes are judged against source 1, not against the list's source."""
    answer = (
        "The Team plan is for production use by small teams. You can try Team free for 14 "
        "days without a credit card. [1]\n\n- Team: Members included 10 · Extra members $8 [2]"
    )
    cited = {
        1: "The Team plan is for production use by small teams. You can try Team free for 14 "
        "days without a credit card.",
        2: "Plan | Members included | Extra members\nTeam | 10 | $8",
    }
    assert groundedness(answer, cited) == 1.0
