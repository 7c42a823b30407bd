"""The extractive composer on constructed hits: what it quotes, in what shape, citing what."""

from __future__ import annotations

from dataclasses import replace

from askdesk.core.compose import ExtractiveComposer
from askdesk.core.text_units import split_sentences, split_units, stem, terms
from askdesk.core.types import Question
from askdesk.retrieval.search import SearchHit


def hit(doc: str, text: str, sim: float = 0.7, heading: str = "") -> SearchHit:
    return SearchHit(
        chunk_id=doc,
        doc_id=doc,
        title=doc.title(),
        heading=heading,
        text=text,
        ordinal=0,
        similarity=sim,
    )


def compose(question: str, *hits: SearchHit) -> tuple[str, list]:
    c = ExtractiveComposer().compose(Question(question), list(hits))
    return c.text, c.sources


def test_sentence_splitter_respects_abbreviations_and_versions():
    text = "Use a key, e.g. the production one. Version 3.4.0 is current. Done!"
    assert split_sentences(text) == [
        "Use a key, e.g. the production one.",
        "Version 3.4.0 is current.",
        "Done!",
    ]


def test_terms_fold_simple_inflections():
    assert stem("rotating") == stem("rotated") == stem("rotate")
    assert "the" not in terms("How do I rotate the keys?") and "key" in terms("keys")


def test_units_keep_code_lists_headings_and_table_rows_apart():
    text = (
        "Install it:\n\n```bash\nbrew install tw\n```\n\n- step one\n- step two\n\n"
        "### Windows\n\n| Plan | Price\nTeam | $49\n"
    )
    kinds = [u.kind for u in split_units(text)]
    assert kinds == ["sentence", "code", "item", "item", "heading", "row", "row"]


def test_quotes_the_best_window_with_its_intro_and_steps():
    text = (
        "Keys can be rotated at any time. To rotate a key:\n\n- Open Settings.\n"
        "- Click Rotate.\n\nBilling is monthly. Invoices are emailed."
    )
    answer, sources = compose("how do I rotate a key", hit("keys.md", text))
    assert answer.startswith("Keys can be rotated at any time. To rotate a key:")
    assert "- Open Settings.\n- Click Rotate. [1]" in answer
    assert "Invoices" not in answer
    assert [s.path for s in sources] == ["keys.md"]


def test_code_block_is_quoted_whole_with_the_sentence_that_explains_it():
    text = (
        "## Linux\n\n```bash\ncurl -fsSL https://get.example/install.sh | sh\n```\n\n"
        "The script installs the binary to /usr/local/bin/tw."
    )
    answer, _ = compose("where does the install script put the binary", hit("cli.md", text))
    assert "```bash\ncurl -fsSL https://get.example/install.sh | sh\n```" in answer
    assert answer.rstrip().endswith("/usr/local/bin/tw. [1]")


def test_table_rows_are_read_against_the_header():
    text = "Prices:\n\n| Free | Team\nMonthly price | $0 | $49\nMembers | 3 | 10\n"
    answer, _ = compose("how many members does the team plan include", hit("plans.md", text))
    assert "- Members: Free 3 · Team 10 [1]" in answer


def test_a_second_source_is_cited_only_for_what_the_first_missed():
    first = hit("keys.md", "Rotate a key in Settings under API keys. The old key keeps working.")
    second = hit(
        "audit.md",
        "The audit log records every key rotation with the actor and time. "
        "What does the audit log show?",
        sim=0.65,
    )
    answer, sources = compose("rotate a key and see it in the audit log", first, second)
    assert [s.n for s in sources] == [1, 2] and "[2]" in answer
    assert "What does the audit log show?" not in answer


def test_never_quotes_text_that_is_not_in_a_hit():
    text = "Webhooks are retried 8 times. The last attempt is after 12 hours."
    answer, _ = compose("how often are webhooks retried", hit("retries.md", text))
    for sentence in split_sentences(answer.replace(" [1]", "")):
        assert sentence in text


def test_a_window_never_starts_with_the_previous_answers_command():
    """Issue 19: a sentence right after a code block is quoted with it only when both belong to
    one answer; across a blank line the command ends another FAQ answer."""
    text = (
        "To print a number in octal, format it with printf.\n```\n"
        '    printf "0%o %d", $number, $number;\n```\n\n'
        "Remember that int() merely truncates toward 0. For rounding to a certain number of "
        "digits, sprintf() or printf() is usually the easiest route."
    )
    answer, _ = compose("does int() truncate toward 0 when rounding", hit("numbers.md", text))
    assert answer.startswith("Remember that int() merely truncates"), answer
    assert 'printf "0%o' not in answer


def test_an_answer_runs_on_across_a_chunk_that_ends_in_a_command():
    """Issue 19: chunking carries no overlap after a code block, so the next chunk's first
    sentence may be the same answer's text under its command (perlfaq's profiling answer was
    quoted up to `perl -d:NYTProf` and stopped); it is quoted on, up to the next blank line."""
    first = (
        "The Devel::NYTProf profiler does both statement and subroutine profiling of "
        "your program. Invoke it with the -d switch:\n```\n    perl -d:NYTProf some_perl.pl\n```"
    )
    second = (
        "It creates a database of the information that you can turn into reports with "
        "nytprofhtml.\n\nDeleting a key removes its value as well; call delete on the key."
    )
    a = hit("tools.md", first)
    b = replace(hit("tools.md", second), chunk_id="tools.md#1", ordinal=1, neighbour=True)
    answer, _ = compose("How do I profile statement and subroutine timing?", a, b)
    assert "perl -d:NYTProf" in answer
    assert "It creates a database" in answer, answer
    assert "Deleting a key" not in answer
