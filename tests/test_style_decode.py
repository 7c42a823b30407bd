"""The rewriter's decoding loop against transformers' own greedy `generate`, on a tiny
random Llama: guesses, the cached prompt prefix and opener choices change the number of
model passes, never the text."""

from __future__ import annotations

from pathlib import Path

import pytest

from askdesk.styling.generation.decode import Lookup, PrefixCache, continuation_scores, decode
from tests.test_style_model import build_tiny_base

PROMPTS = [
    "Keys expire after 90 days. Rotate them in Settings.",
    "Webhooks are retried with backoff for up to three days.",
    "Owners can delete a workspace under Settings.",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    folder = build_tiny_base(Path(tmp_path_factory.mktemp("decode")) / "base")
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    # the saved random init gives near-constant logits (one token over and over); wider
    # weights make every next token depend on the context, so a wrong cache shows
    torch.manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0.0, 0.5)
    return model, AutoTokenizer.from_pretrained(folder)


def _prompt(tok, text: str) -> list[int]:
    return tok.apply_chat_template(
        [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
    )


def _ids(tok, text: str) -> list[int]:
    return tok(text, add_special_tokens=False)["input_ids"]


def _greedy(model, ids: list[int], n: int) -> list[int]:
    import torch

    with torch.inference_mode():
        x = torch.tensor([ids])  # an explicit mask: pad is <|im_end|>, which the prompt holds
        out = model.generate(
            x,
            attention_mask=torch.ones_like(x),
            max_new_tokens=n,
            do_sample=False,
            eos_token_id=None,
        )
    return out[0, len(ids) :].tolist()


@pytest.mark.parametrize("text", PROMPTS)
def test_decoding_with_guesses_and_a_cached_prefix_is_greedy_decoding(tiny, text):
    model, tok = tiny
    ids = _ids(tok, _prompt(tok, text))
    want = _greedy(model, ids, 40)
    prefix = PrefixCache(ids[:6]).build(model)
    # guesses from the prompt and from the expected text itself: most of them are right
    got = decode(
        model,
        ids,
        prefix=prefix,
        end_ids=[],
        max_new_tokens=40,
        lookup=Lookup([ids, want], width=8),
    )
    assert got.ids == want and got.stopped == "max_tokens"
    assert len(set(want)) > 10  # not one token repeated
    # each pass adds the token it scored, plus the guesses it confirmed (the last pass's own
    # token is not taken when the limit falls among its guesses)
    assert got.passes + got.guessed in (40, 41) and got.guessed >= 25
    plain = decode(model, ids, prefix=None, end_ids=[], max_new_tokens=40)
    assert plain.ids == want and plain.passes == 40 and plain.guessed == 0
    wrong = decode(  # guesses that are always wrong cost passes, never tokens
        model,
        ids,
        prefix=prefix,
        end_ids=[],
        max_new_tokens=40,
        lookup=Lookup([[t + 1 for t in want]], width=8),
    )
    assert wrong.ids == want


def test_a_prefix_that_does_not_match_the_prompt_is_not_used(tiny):
    model, tok = tiny
    ids = _ids(tok, _prompt(tok, PROMPTS[0]))
    other = PrefixCache(_ids(tok, "something else entirely")).build(model)
    assert decode(model, ids, prefix=other, end_ids=[], max_new_tokens=12).ids == _greedy(
        model, ids, 12
    )


def test_stops_processor_and_end_ids(tiny):
    model, tok = tiny
    ids = _ids(tok, _prompt(tok, PROMPTS[1]))
    want = _greedy(model, ids, 20)
    stopped = decode(
        model,
        ids,
        prefix=None,
        end_ids=[],
        max_new_tokens=20,
        stops=[lambda out: "five" if len(out) == 5 else None],
    )
    assert stopped.ids == want[:5] and stopped.stopped == "five"
    ended = decode(model, ids, prefix=None, end_ids=[want[3]], max_new_tokens=20)
    assert ended.ids == want[: want.index(want[3])] and ended.stopped == "end"
    banned = want[0]

    def ban(out, row):
        row = row.clone()
        row[banned] = float("-inf")
        return row

    assert (
        decode(model, ids, prefix=None, end_ids=[], max_new_tokens=3, processor=ban).ids[0]
        != banned
    )


def test_choices_start_the_answer_with_the_likeliest_opener_plus_its_offset(tiny):
    import torch

    model, tok = tiny
    ids = _ids(tok, _prompt(tok, PROMPTS[2]))
    openers = [_ids(tok, "Hey there! 👋"), _ids(tok, "Hey there.")]
    with torch.inference_mode():
        res = model(torch.tensor([ids]), use_cache=True)
        cache = res.past_key_values
        scores = continuation_scores(model, cache, res.logits[0, -1], openers)
        # the same log-probabilities as scoring each whole sequence from scratch
        for opener, score in zip(openers, scores, strict=True):
            full = model(torch.tensor([ids + opener])).logits[0].log_softmax(-1)
            want = sum(float(full[len(ids) - 1 + i, t]) for i, t in enumerate(opener))
            assert abs(score - want) < 1e-3
    best = max(range(2), key=scores.__getitem__)
    got = decode(model, ids, prefix=None, end_ids=[], max_new_tokens=4, choices=openers)
    assert got.extra["choice"] == best and got.ids[: len(openers[best])] == openers[best]
    other = 1 - best
    push = [0.0, 0.0]
    push[other] = abs(scores[0] - scores[1]) + 1.0
    flipped = decode(
        model, ids, prefix=None, end_ids=[], max_new_tokens=4, choices=openers, offsets=push
    )
    assert flipped.extra["choice"] == other and flipped.ids[: len(openers[other])] == openers[other]
    # what follows the opener is greedy decoding after it
    rest = _greedy(model, ids + openers[other], 4)
    assert flipped.ids[len(openers[other]) :] == rest[: len(flipped.ids) - len(openers[other])]
