"""Whole answers and bad input (issue 19, parts 3 and "Bad input"), on a real index.

Real LanceDB index in tmp_path, the packaged MiniLM, the real engine and composer. The pages
are constructed: an answer that runs over three paragraphs (the quote must carry all three and
stop where the next section begins), an FAQ page whose answers are blank-line blocks (the
quote starts at the answer's start, not at its best-matching sentence, and ends before the
next answer), and the pages a real docs folder holds by accident: one very long line, a table
without a header, a code-only page, a list of 200 items. Each gets a readable window of at
most the budget, or a clear decline; never an exception.
"""

from __future__ import annotations

import pytest

from askdesk.core.compose import LIST_STRETCH, ExtractiveComposer
from askdesk.core.engine import NOT_FOUND, AnswerEngine, split_hedge
from askdesk.core.types import Question
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import Searcher
from tests.conftest import write

MOVING = """# Workspaces

## Moving a workspace to another region

Moving a workspace to another region is done by the support team, because the stored
deliveries and their logs must be copied between data centres while the workspace is paused.

Before the move, export your endpoint list and pause every scheduled job: jobs that run during
the copy fail and are not retried. The pause lasts between one and three hours depending on
how many deliveries you keep.

After the move, your endpoints get new hostnames in the target region. Update the DNS records
and the allow lists of your firewalls, then resume the scheduled jobs from the dashboard.

## Renaming a workspace

Any owner can rename a workspace from Settings. The new name shows up at once for all members.
"""

FAQ = """# Deliveries

Delivery logs are kept for thirty days on the Free plan and for a year on the Team plan.
Older logs are deleted every night and cannot be restored by support.

A delivery that keeps failing is retried five times with growing pauses between the attempts.
The first retry comes after a minute, the last one after twelve hours.
After the fifth failure the delivery is marked dead and an email goes to the workspace owners.
A dead delivery can be replayed by hand from the Deliveries page for up to seven days.

Signing secrets are shown once when an endpoint is created.
A lost secret cannot be recovered, but a new one can be generated from the endpoint's page.
"""

# an FAQ answer written as Perl's: its commands right under their sentences (no blank lines),
# a blank line between answers, the best-matching sentence well into the answer
HASHES = """# Hashes

To count the keys of a hash, call keys in scalar context and read the number it returns.
```
    my $count = keys %hash;
```

(contributed by a maintainer) A hash has no order of its own that you could change in place.
Its keys come out in an order that looks random and changes between two runs of one program,
so the order you want is imposed when you read the hash: take the keys, sort them with the
comparison you need, then walk the sorted list and read each value through its key.
```
    my @keys = sort { $a cmp $b } keys %hash;
```
To sort by value, compare the values in the sort block and still return the keys.
```
    my @by_value = sort { $hash{$a} <=> $hash{$b} } keys %hash;
```

Deleting a key removes its value as well; call delete on the key rather than undef.
"""

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("kb")
    write(root, "workspaces.md", MOVING)
    write(root, "deliveries.md", FAQ)
    write(root, "hashes.md", HASHES)
    # one line of ~3000 words, no punctuation and no newline at all
    write(root, "one-line.md", " ".join(WORDS[i % 12] + str(i) for i in range(3000)))
    write(
        root,
        "no-header.md",
        "\n".join(f"| host{i} | 10.0.0.{i} | rack {i % 4} |" for i in range(60)),
    )
    write(
        root,
        "code-only.md",
        "```\n" + "\n".join(f"tw deploy --step {i}" for i in range(120)) + "\n```\n",
    )
    write(
        root,
        "list.md",
        "# Error codes\n\n" + "\n".join(f"- E{i:03d}: probe {i} timed out" for i in range(200)),
    )
    index = ChunkIndex(tmp_path_factory.mktemp("idx") / "lancedb")
    Ingester(index, embedder).run(root)
    return AnswerEngine(Searcher(index, embedder), ExtractiveComposer())


def ask(engine: AnswerEngine, text: str):
    return engine.answer(Question(text, platform="eval"))


def test_an_answer_over_three_paragraphs_is_quoted_whole_and_stops_at_the_next_section(engine):
    ans = ask(engine, "How do I move my workspace to a different region?")
    assert not ans.unanswered, ans.decision
    for part in ("support team", "pause every scheduled job", "Update the DNS records"):
        assert part in ans.text, ans.text
    assert "rename" not in ans.text.lower()
    assert ans.sources[0].heading.endswith("Moving a workspace to another region")


def test_an_faq_answer_is_quoted_from_its_start_to_its_end_not_into_the_next(engine):
    # the best sentence ("After the fifth failure…") stands mid-answer
    ans = ask(engine, "What happens when a webhook delivery fails for the fifth time?")
    assert not ans.unanswered, ans.decision
    assert ans.text.startswith("A delivery that keeps failing is retried five times"), ans.text
    assert "replayed by hand" in ans.text
    assert "Signing secrets" not in ans.text and "Delivery logs are kept" not in ans.text


def test_an_answer_with_its_commands_is_quoted_from_its_start_not_the_last_answers_command(
    engine,
):
    """Issue 19 (the Perl FAQ trailed the plain paragraph rule): the answer's blank-line block
    holds its commands, the quote starts at the answer's first line even when the best part is
    60 words in, and never with the command that ends the answer before it."""
    ans = ask(engine, "How do I sort a hash by its values?")
    assert not ans.unanswered, ans.decision
    assert ans.text.startswith("(contributed by a maintainer)"), ans.text
    assert "sort { $hash{$a} <=> $hash{$b} }" in ans.text
    assert "my $count" not in ans.text and "Deleting a key" not in ans.text


def _readable(ans, budget: int = 110) -> None:
    """A clear decline, or a window no longer than the budget allows (lists run whole)."""
    if ans.unanswered:
        assert ans.text.startswith(NOT_FOUND)
        return
    assert ans.text.strip() and ans.sources
    _, quote = split_hedge(ans.text)  # a hedged answer's lead line is not part of the quote
    assert quote.strip(), ans.text
    assert len(quote.split()) <= budget * LIST_STRETCH + 10, ans.text


@pytest.mark.parametrize(
    "question",
    [
        "What is charlie14 followed by?",  # the page that is one long line
        "Which rack is host7 in?",  # a table without a header row
        "How do I deploy step 7?",  # a code-only page
        "What does error E137 mean?",  # a list of 200 items
        "deliveries",  # one word
        "E137",  # only an identifier
        "TW_API_KEY",
        "???",
    ],
)
def test_bad_pages_and_bare_questions_get_a_readable_window_or_a_clear_decline(engine, question):
    _readable(ask(engine, question))


def test_an_identifier_in_a_long_list_quotes_its_item(engine):
    ans = ask(engine, "What does error E137 mean?")
    assert not ans.unanswered, ans.decision
    assert "E137: probe 137 timed out" in ans.text
    assert len(ans.text.split()) <= 110 * LIST_STRETCH + 10
