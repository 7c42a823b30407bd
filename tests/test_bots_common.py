"""Platform-neutral chat helpers: message splitting, reactions, channel config."""

from __future__ import annotations

from askdesk.bots.common import ChannelConfig, ChannelDirectory, reaction_value, split_text


def test_short_text_is_one_piece():
    assert split_text("hello", 100) == ["hello"]


def test_long_text_splits_at_paragraphs_within_the_limit():
    text = "\n\n".join(f"Paragraph {i} " + "word " * 40 for i in range(20))
    pieces = split_text(text, 500)
    assert len(pieces) > 1 and all(len(p) <= 500 for p in pieces)
    assert " ".join(" ".join(p.split()) for p in pieces) == " ".join(text.split())


def test_a_split_code_block_is_closed_and_reopened():
    code = "```bash\n" + "\n".join(f"echo line {i}" for i in range(200)) + "\n```"
    pieces = split_text("Run this:\n\n" + code, 600)
    assert len(pieces) > 2 and all(len(p) <= 600 for p in pieces)
    assert all(p.count("```") % 2 == 0 for p in pieces)
    assert pieces[1].startswith("```bash\n")


def test_a_single_huge_word_is_still_split():
    assert all(len(p) <= 100 for p in split_text("x" * 1000, 100))


def test_reaction_values_include_skin_tones():
    assert reaction_value("+1") == reaction_value("+1::skin-tone-3") == 1
    assert reaction_value("👍🏽") == 1 and reaction_value("-1") == -1 == reaction_value("👎")
    assert reaction_value("eyes") is None


def test_unknown_channels_get_the_defaults():
    d = ChannelDirectory(
        ChannelConfig(escalate_to=("S1",)), {"C1": ChannelConfig(paths=("api/",), respond_to="all")}
    )
    assert d.get("C1").paths == ("api/",) and d.get("C9").escalate_to == ("S1",)
    assert d.get(None).respond_to == "mentions"


def test_a_long_language_tag_never_breaks_the_limit():
    code = "```" + "x" * 40 + "\n" + "\n".join(f"line {i}" for i in range(400)) + "\n```"
    pieces = split_text(code, 2000)
    assert all(len(p) <= 2000 for p in pieces) and all(p.count("```") % 2 == 0 for p in pieces)
