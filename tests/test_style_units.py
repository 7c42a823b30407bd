"""The pieces of a rewrite that need no model: units, the voice's frame, sentence cuts,
opener calibration and the sentence-length nudge."""

from __future__ import annotations

from pathlib import Path

import pytest

from askdesk.styling.generation.frame import Frame, stem
from askdesk.styling.generation.opener import choose, fit_offsets
from askdesk.styling.generation.sentence_length import SentenceLengthBias
from askdesk.styling.generation.split_sentences import split_long
from askdesk.styling.generation.units import Block, blocks, join, sentence_split, units
from askdesk.styling.training.examples import check_examples, load_examples, load_topics

SAMPLE = Path(__file__).resolve().parents[1] / "askdesk" / "sample" / "style" / "examples.jsonl"


@pytest.fixture(scope="module")
def frame() -> Frame:
    ex = load_examples(SAMPLE)
    rep = check_examples(ex, held_out_topics=load_topics(SAMPLE.with_name("held_out_topics.txt")))
    return Frame.learn([ex[i].output for i in rep.train])


def test_blocks_tell_prose_from_code_lists_tables_and_lead_ins():
    draft = (
        "Rotate the key. After that:\n\n- update deploys\n  (all of them)\n- revoke it\n\n"
        "```bash\ntw keys rotate\n\nmore\n```\n| a | b |\n|---|---|\n| 1 | 2 |\n\nDone. [1]"
    )
    assert [(b.kind, b.text) for b in units(draft)] == [
        ("prose", "Rotate the key."),
        ("lead", "After that:"),
        ("list", "- update deploys\n  (all of them)\n- revoke it"),
        ("code", "```bash\ntw keys rotate\n\nmore\n```"),
        ("table", "| a | b |\n|---|---|\n| 1 | 2 |"),
        ("prose", "Done. [1]"),
    ]
    assert [b.kind for b in blocks("One.\n\nTwo.")] == ["prose", "prose"]


def test_units_join_short_paragraphs_and_cut_long_ones_between_sentences():
    assert units("One two.\n\nThree four.") == [Block("One two.\n\nThree four.", "prose")]
    long = " ".join(f"Sentence number {i} has five words." for i in range(30))  # 180 words
    pieces = units(long, max_words=90)
    assert len(pieces) == 2 and all(len(p.text.split()) <= 90 for p in pieces)
    assert " ".join(p.text for p in pieces) == long
    assert join(["a", "", "b\n"]) == "a\n\nb"


def test_sentences_keep_their_citation_markers():
    assert sentence_split("Keys expire. [1] Rotate them. [2][3]\n\nDone.") == [
        "Keys expire. [1]",
        "Rotate them. [2][3]",
        "Done.",
    ]


def test_the_frame_is_read_off_the_examples(frame):
    assert frame.openers == ("Hey there! 👋", "Hey there.")
    assert frame.sign_offs[0] == "Happy building! 🌊"
    assert "We're here if you need us." in frame.sign_offs
    assert frame.pairs["Hey there."] == ("We're here if you need us.",)
    assert frame.pairs_with("Hey there! 👋", "Happy relaying! 🌊")
    assert not frame.pairs_with("Hey there.", "Happy relaying! 🌊")  # a warning stays serious
    assert frame.sign_off_for("Hey there.") == "We're here if you need us."
    assert 12 <= frame.max_sentence_words <= 18
    again = Frame.from_json(frame.to_json())
    assert again == frame


def test_frame_strip_and_made_up_words(frame):
    out = "Hey there! 👋\n\nWebhooks retry.\n\nHappy relaying! 🌊"
    assert frame.parts(out) == ("Hey there! 👋", "Webhooks retry.", "Happy relaying! 🌊")
    assert frame.parts("Just text.") == (None, "Just text.", None)
    draft = "Tidewire disables an endpoint after repeated failures."
    assert frame.novel_words("Wirespaces fail and services deploy.", draft) == ["Wirespaces"]
    # rewording with the examples' words, contractions and inflections is fine
    assert frame.novel_words("They'll disable endpoints that keep failing.", draft) == []
    assert stem("events") == stem("event") and stem("they'll") == stem("they")


def test_long_sentences_are_cut_at_joints_not_inside_facts_or_bold():
    text = (
        "Tidewire answers the sender as soon as the event is safely stored, so slow "
        "consumers never cause the sender to time out."
    )
    assert split_long(text, 16) == (
        "Tidewire answers the sender as soon as the event is safely stored. "
        "So slow consumers never cause the sender to time out."
    )
    assert split_long("Short one; fine.", 16) == "Short one; fine."
    no_joint = "A " * 20 + "end."
    assert split_long(no_joint, 16) == no_joint
    bold = "**Keep this whole; it is one bold span that runs on and on** and then ends here now."
    assert split_long(bold, 10) == bold
    listed = "- DNS changes can take up to 48 hours to show; Tidewire checks again every hour."
    assert split_long(listed, 12) == (
        "- DNS changes can take up to 48 hours to show. Tidewire checks again every hour."
    )


def test_opener_offsets_balance_a_rare_opener():
    # opener 1 (a warning) is always less likely, but more so for ordinary drafts
    scores = [[-0.1, -3.0]] * 20 + [[-0.3, -1.2]] * 3
    labels = [0] * 20 + [1] * 3
    assert [choose(s, [0.0, 0.0]) for s in scores[-3:]] == [0, 0, 0]  # greedy: never a warning
    offsets = fit_offsets(scores, labels)
    assert [choose(s, offsets) for s in scores] == labels
    assert fit_offsets([[0.0]], [0]) == [0.0]


class _Tok:
    """Enough of a tokenizer for the nudge: ids are characters."""

    def convert_tokens_to_ids(self, t: str) -> int:
        return ord(t)

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        return "".join(chr(i) for i in ids)


def test_the_sentence_nudge_only_where_a_sentence_may_end():
    import torch

    bias = SentenceLengthBias(_Tok(), max_words=8)  # nudges from the 5th word
    count = bias.words_in_sentence
    assert count("One. Two three four five six") == 5
    assert count("One two three four five six the") is None  # "the." cannot end it
    assert count("One two three four five they've") is None
    assert count("One two three **four five six") is None  # inside bold
    assert count("One two three, four five six,") is None
    scores = torch.zeros(200)
    scores[ord("x")] = 5.0
    scores[ord(".")] = 4.0  # among the top candidates
    text = [ord(c) for c in "One two three four five six seven"]
    nudged = bias.apply(text, scores)
    assert nudged.argmax() == ord(".")
    short = [ord(c) for c in "One two three"]
    assert bias.apply(short, scores).argmax() == ord("x")
    scores[ord(".")] = -10.0  # the model sees no end here: nothing changes
    for i in range(100, 110):
        scores[i] = 4.5
    assert bias.apply(text, scores).argmax() == ord("x")
