"""The claim check on its own: which sentences of a generated reply its cited passages carry."""

from __future__ import annotations

from askdesk.core.claim_check import check_reply, exact_tokens, normalize_citations, renumber

PASSAGES = {
    1: "Rotate keys every 90 days. Rotation keeps the old key working for a grace period of "
    "24 hours by default. Run `tw keys rotate key_123 --grace 24h` to rotate from the CLI.",
    2: "The Business plan includes SSO and 1000 webhook deliveries per minute. "
    "The current IP list is at https://docs.tidewire.example/ips.json.",
}


def _kept(reply: str) -> list[str]:
    return [c.unit.text for c in check_reply(reply, PASSAGES).units if c.kept]


def test_supported_sentences_are_kept_verbatim():
    reply = "Rotate keys every 90 days [1]. The old key keeps working for 24 hours by default [1]."
    result = check_reply(reply, PASSAGES)
    assert result.text == reply and result.kept == result.claims == 2 and result.enough


def test_a_number_no_cited_passage_has_is_dropped_even_inside_a_copied_sentence():
    reply = "Rotate keys every 45 days [1]. The old key works for 24 hours by default [1]."
    assert _kept(reply) == ["The old key works for 24 hours by default [1]."]
    assert _kept("Rotate keys every 9 days [1].") == []  # "9" is not "90"


def test_a_fact_from_another_passage_than_the_cited_one_is_dropped():
    assert _kept("The Business plan includes SSO [1].") == []
    assert _kept("The Business plan includes SSO [2].") == ["The Business plan includes SSO [2]."]


def test_a_product_name_swapped_in_is_dropped():
    assert _kept("The Enterprise plan includes SSO [2].") == []


def test_urls_identifiers_and_code_spans_must_be_in_the_cited_passage():
    ok = "The IP list is at https://docs.tidewire.example/ips.json [2]."
    bad = "The IP list is at https://docs.tidewire.example/ranges.json [2]."
    assert _kept(ok) == [ok] and _kept(bad) == []
    assert _kept("Run `tw keys rotate key_123 --grace 24h` to rotate [1].") != []
    assert _kept("Run `tw keys delete key_123` to rotate from the CLI [1].") == []


def test_thousands_separators_match():
    assert _kept("The Business plan has 1,000 webhook deliveries per minute [2].") != []


def test_citing_a_passage_that_does_not_exist_is_an_error():
    result = check_reply("Rotate keys every 90 days [7].", PASSAGES)
    assert result.kept == 0 and result.errors == 1
    assert result.units[0].reason == "cites [7] of 2" and not result.enough


def test_uncited_claims_are_dropped_but_connective_text_stays():
    reply = "Here is how:\n\n- Rotate keys every 90 days.\n\nRotation keeps the old key working."
    result = check_reply(reply, PASSAGES)
    assert [c.unit.text for c in result.units if c.kept] == ["Here is how:"]
    assert result.kept == 0 and result.claims == 2 and not result.enough


def test_list_items_share_the_citation_of_their_intro_line():
    reply = "To rotate a key [1]:\n- Rotate keys every 90 days.\n- Use a grace period of 24 hours."
    result = check_reply(reply, PASSAGES)
    assert result.text == reply and not result.dropped and result.kept == 2


def test_citation_markers_after_the_full_stop_belong_to_the_sentence_before():
    assert normalize_citations("Rotate keys.[1] Next [1, 2].") == "Rotate keys [1]. Next [1][2]."
    assert _kept("Rotate keys every 90 days. [1] The Business plan includes SSO. [2]") == [
        "Rotate keys every 90 days [1].",
        "The Business plan includes SSO [2].",
    ]


def test_not_in_the_docs_is_a_decline_only_when_no_claim_survives():
    assert check_reply("Not in the docs.", PASSAGES).declined
    assert check_reply("The documentation does not mention refunds.", PASSAGES).declined
    mixed = "The docs don't say how refunds work. Rotate keys every 90 days [1]."
    assert not check_reply(mixed, PASSAGES).declined


def test_three_verified_claims_stand_even_when_more_were_dropped():
    good = (
        "Rotate keys every 90 days [1]. Rotation keeps the old key working for a grace period "
        "[1]. The Business plan includes SSO [2]."
    )
    bad = " Keys expire after 30 days [1]. Old keys are deleted on Sundays [1]." * 2
    result = check_reply(good + bad, PASSAGES)
    assert result.kept == 3 and result.claims == 7 and result.enough
    assert result.text == good


def test_less_than_half_kept_is_not_enough():
    reply = (
        "Rotate keys every 90 days [1]. Keys expire after 30 days [1]. "
        "Old keys are deleted on Sundays [1]."
    )
    result = check_reply(reply, PASSAGES)
    assert result.kept == 1 and result.claims == 3 and not result.enough


def test_groundedness_before_the_check_is_eval_measure_on_the_raw_reply():
    reply = "Rotate keys every 90 days [1]. Refunds take ten business weeks to arrive [1]."
    result = check_reply(reply, PASSAGES)
    assert result.groundedness_before == 0.5 and result.summary()["dropped"] == 1


def test_exact_tokens_and_renumbering():
    toks = exact_tokens("Use key_123 on the Team plan, version v2.1, see www.example.com.")
    assert {"key_123", "Team", "v2.1", "www.example.com"} <= set(toks)
    assert renumber("a [3]. b [1][3].", [3, 1]) == "a [1]. b [2][1]."


def test_brackets_inside_quoted_text_are_not_citations():
    passages = {1: "See linkgit:gitattributes[5] and set `list[0]` to the first entry."}
    reply = "See linkgit:gitattributes[5] and set `list[0]` to the first entry [1]."
    result = check_reply(reply, passages)
    assert result.kept == 1 and result.errors == 0 and result.cited() == [1]
    assert renumber("linkgit:git-config[3] [3].", [3]) == "linkgit:git-config[3] [1]."
