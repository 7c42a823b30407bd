"""Chunking: sizes, section boundaries, code fences, overlap and stable ids on real documents."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest

from askdesk.retrieval.chunking import chunk_document
from askdesk.retrieval.documents import Chunk, LoadedDocument, Section
from askdesk.retrieval.loaders import load_document

VOCAB = [
    *("router", "reset", "button", "cable", "light", "power", "network", "signal"),
    *("firmware", "admin", "login", "page", "setting", "value", "update", "backup"),
    *("restore", "account", "invoice", "plan", "member", "key", "token"),
]

SMALL_CODE = "```python\n" + "\n".join(f"value_{i} = compute({i})  # step {i}" for i in range(12))
SMALL_CODE += "\n\nprint('done')\n```"
BIG_CODE = "```\n" + "\n".join(f"line {i} alpha beta gamma delta" for i in range(70)) + "\n```"
HUGE_CODE = "```sh\n" + "\n".join(f"echo {i} one two three four" for i in range(160)) + "\n```"


def sentence(rnd: random.Random, tag: str) -> str:
    words = [rnd.choice(VOCAB) for _ in range(rnd.randint(6, 16))]
    words.insert(rnd.randrange(len(words)), tag)  # every sentence names its section
    return " ".join(words).capitalize() + "."


def paragraph(rnd: random.Random, tag: str, sentences: tuple[int, int] = (2, 7)) -> str:
    return " ".join(sentence(rnd, tag) for _ in range(rnd.randint(*sentences)))


def long_markdown(seed: int = 7, edit: str = "") -> str:
    """About 4,000 words in six sections, with lists, code of three sizes and a long paragraph."""
    rnd = random.Random(seed)
    parts = ["# Long Manual", paragraph(rnd, "sec0") + " " + paragraph(rnd, "sec0")]
    for k in range(1, 6):
        tag = f"sec{k}"
        parts.append(f"## Section {k}")
        blocks = [paragraph(rnd, tag) for _ in range(rnd.randint(6, 10))]
        if k == 1:
            blocks.insert(2, "\n".join(f"- {sentence(rnd, tag)}" for _ in range(6)))
        if k == 2:
            blocks.insert(3, SMALL_CODE)
            blocks.append(BIG_CODE)
            blocks.append(paragraph(rnd, tag))
        if k == 3:
            blocks.insert(1, HUGE_CODE)
        if k == 4:
            blocks.insert(0, " ".join(sentence(rnd, tag) for _ in range(60)))
        if k == 5 and edit:
            blocks[1] = edit
        parts.extend(blocks)
    return "\n\n".join(parts) + "\n"


def chunks_for(tmp_path: Path, text: str, name: str = "manual.md") -> list[Chunk]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return chunk_document(load_document(path, tmp_path))


def words(text: str) -> int:
    return len(text.split())


def is_code_only(text: str) -> bool:
    return text.startswith("```") and text.rstrip().endswith("```") and "\n\n" not in text.strip()


def fences_balanced(text: str) -> bool:
    open_mark = ""
    for line in text.split("\n"):
        mark = re.match(r"^(`{3,})", line)
        if not mark:
            continue
        if not open_mark:
            open_mark = mark.group(1)
        elif line.strip() == open_mark:
            open_mark = ""
    return not open_mark


@pytest.fixture
def manual(tmp_path: Path) -> list[Chunk]:
    return chunks_for(tmp_path, long_markdown())


def test_chunk_sizes_stay_within_bounds(manual: list[Chunk]) -> None:
    prose = [c for c in manual if not is_code_only(c.text)]
    assert len(manual) >= 15
    for c in prose:
        assert words(c.text) <= 350, (c.ordinal, words(c.text))
        after_code = c.ordinal and is_code_only(manual[c.ordinal - 1].text)
        if not after_code:  # text left after a code-only chunk has nothing to merge into
            assert words(c.text) >= 60, (c.ordinal, words(c.text))
    middle = sorted(words(c.text) for c in prose)[len(prose) // 2]
    assert 150 <= middle <= 350
    for c in manual:
        if is_code_only(c.text):
            assert words(c.text) <= 700


def test_chunks_never_cross_a_heading(manual: list[Chunk]) -> None:
    for c in manual:
        tags = set(re.findall(r"\bsec\d\b", c.text))
        expected = {"sec0"} if not c.heading_path else {f"sec{c.heading_path[0][-1]}"}
        if not is_code_only(c.text):
            assert tags == expected, (c.heading_path, tags)
    assert [c.heading_path for c in manual] == sorted(
        (c.heading_path for c in manual), key=lambda p: p[0] if p else ""
    )


def test_code_fences_are_balanced_and_kept_whole(manual: list[Chunk]) -> None:
    for c in manual:
        assert fences_balanced(c.text), c.text
    texts = [c.text for c in manual]
    assert sum(SMALL_CODE in t for t in texts) == 1  # small block inside a prose chunk
    assert BIG_CODE in texts  # > max_words but <= 2x max: its own chunk, whole
    huge = [t for t in texts if t.startswith("```sh\n")]
    assert len(huge) >= 2 and all(t.endswith("\n```") for t in huge)
    huge_lines = [line for t in huge for line in t.split("\n")[1:-1]]
    assert huge_lines == HUGE_CODE.split("\n")[1:-1]  # split at lines, nothing lost


def test_long_paragraph_splits_at_sentence_boundaries(manual: list[Chunk]) -> None:
    section4 = [c for c in manual if c.heading_path == ("Section 4",)]
    assert len(section4) >= 3
    for c in section4:
        assert c.text.rstrip().endswith(".")
        assert c.text[0].isupper()


def test_overlap_carries_the_end_of_the_previous_chunk(manual: list[Chunk]) -> None:
    checked = 0
    for prev, cur in itertools.pairwise(manual):
        if prev.heading_path != cur.heading_path or is_code_only(cur.text):
            continue
        if prev.text.endswith("```"):
            assert not cur.text.startswith(prev.text.split("\n")[-2])  # never overlap code
            continue
        longest = min(len(prev.text), len(cur.text), 600)
        overlap = next(
            (cur.text[:n] for n in range(longest, 0, -1) if prev.text.endswith(cur.text[:n])), ""
        )
        assert 5 <= words(overlap) <= 60, (prev.text[-200:], cur.text[:200])
        assert overlap[0].isupper() or overlap.startswith("- ")  # starts at a sentence
        checked += 1
    assert checked >= 5


def test_ordinals_and_unique_ids(manual: list[Chunk]) -> None:
    assert [c.ordinal for c in manual] == list(range(len(manual)))
    assert len({c.chunk_id for c in manual}) == len(manual)
    assert all(c.title == "Long Manual" and c.doc_id == "manual.md" for c in manual)


def test_ids_are_stable_and_survive_edits_elsewhere(tmp_path: Path) -> None:
    first = chunks_for(tmp_path, long_markdown())
    again = chunks_for(tmp_path, long_markdown())
    assert first == again
    edited = chunks_for(tmp_path, long_markdown(edit="A brand new paragraph. " * 5))

    def ids(chunks: list[Chunk], section: str) -> list[str]:
        return [c.chunk_id for c in chunks if c.heading_path[:1] == (section,)]

    for k in range(1, 5):
        assert ids(first, f"Section {k}") == ids(edited, f"Section {k}")
    assert ids(first, "Section 5") != ids(edited, "Section 5")
    assert [c.ordinal for c in edited] == list(range(len(edited)))


def doc(*sections: tuple[tuple[str, ...], str]) -> LoadedDocument:
    return LoadedDocument("d.md", "Doc", "markdown", tuple(Section(p, t) for p, t in sections))


def test_identical_content_gets_distinct_ids() -> None:
    text = "Click Save to keep your changes. " * 12
    chunks = chunk_document(doc((("FAQ", "Save"), text), (("FAQ", "Save"), text)))
    assert chunks[0].content_hash == chunks[1].content_hash
    assert chunks[0].chunk_id != chunks[1].chunk_id


def test_tiny_section_merges_with_next_sibling_under_its_heading() -> None:
    rnd = random.Random(3)
    chunks = chunk_document(
        doc(
            (("Install", "Linux"), "Use the package."),
            (("Install", "Windows"), paragraph(rnd, "win", (4, 5))),
            (("Usage",), paragraph(rnd, "use", (8, 9))),
        )
    )
    assert [c.heading_path for c in chunks] == [("Install", "Linux"), ("Usage",)]
    assert chunks[0].text.startswith("Use the package.\n\n### Windows\n\n")


def test_tiny_trailing_piece_joins_the_previous_chunk() -> None:
    ten = "Hold the reset button until the status light blinks green. "
    body = "\n\n".join([(ten * 15).strip(), (ten * 13).strip(), "Finally, reboot."])
    chunks = chunk_document(doc((("Steps",), body)))
    assert len(chunks) == 1  # 150 + 130 words is past target; the 2-word tail is not alone
    assert chunks[0].text.endswith("\n\nFinally, reboot.")


def test_empty_document_sections_yield_no_chunks_and_bad_limits_are_rejected() -> None:
    assert chunk_document(doc(((), "   "))) == []
    with pytest.raises(ValueError):
        chunk_document(doc(((), "x")), target_words=400, max_words=350)


FAQ_WITH_CODE = """# Strings

Use `reverse()` in scalar context, as documented in perlfunc reverse.
```
    my $reversed = reverse $string;
```

You can do it yourself:
```
    1 while $string =~ s/\\t+/' ' x (length($&) * 8 - length($`) % 8)/e;
```
Or you can just use the Text::Tabs module (part of the standard Perl distribution).
"""


def test_code_written_under_its_sentence_stays_in_the_answers_block(tmp_path: Path) -> None:
    """Issue 19: an FAQ answer with commands (no blank line around its fences) must stay one
    blank-line block in the chunk text, or the composer cannot tell where the answer ends
    (it quoted the previous answer's command before the next answer's first sentence)."""
    from askdesk.retrieval.text_units import split_units

    (text,) = [c.text for c in chunks_for(tmp_path, FAQ_WITH_CODE, "strings.md")]
    assert "perlfunc reverse.\n```" in text and "```\nOr you can just use" in text, text
    assert "```\n\nYou can do it yourself:" in text  # the blank line between answers stays
    units = split_units(text)
    blocks = {u.block for u in units if "reverse" in u.text}
    assert len(blocks) == 1, [(u.block, u.text[:30]) for u in units]
    tabs = {u.block for u in units if "yourself" in u.text or "Text::Tabs" in u.text}
    assert len(tabs) == 1 and not tabs & blocks
