"""The right section cited (issue 19, part 4): the heading a source shows is the section of the
block actually quoted, in every front end: CLI, Slack, Discord and the stored record the
dashboard lists. On the packaged Tidewire docs, "Listing keys" is too small to be a chunk of
its own and is merged with "Rotating a key"; a quote about rotation was cited as "Listing keys"."""

from __future__ import annotations

import re
from pathlib import Path

from rich.console import Console

from askdesk.bots.discord.render import sources_embed
from askdesk.bots.slack.blocks import answer_messages
from askdesk.cli import render as cli_render
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.engine import AnswerEngine
from askdesk.core.types import Question

SAMPLE = Path(__file__).resolve().parent.parent / "askdesk" / "sample" / "docs"


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[*_`]|\[\d+\]", "", text).split())


def _section_of(doc: Path, quote: str) -> str:
    """The last heading above the quote's first sentence in the Markdown source."""
    quote = re.sub(r"^\*\*[^*]+\*\*\s*", "", quote.strip())  # the quoted sub-heading
    first = _plain(re.split(r"(?<=[.!?])\s", _plain(quote), maxsplit=1)[0])[:50]
    heading = ""
    for line in doc.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^#{1,6}\s+(.+)$", line)
        if m:
            heading = m.group(1).strip()
        elif first in _plain(line):
            return heading
    raise AssertionError(f"quote not found in {doc}: {first!r}")


def test_a_quote_about_rotation_cites_rotating_a_key_everywhere(sample_searcher, monkeypatch):
    engine = AnswerEngine(sample_searcher, ExtractiveComposer())
    answer = engine.answer(Question("How often do you recommend rotating our API keys?"))
    assert not answer.unanswered, answer.text
    first = answer.sources[0]
    quoted = answer.text.split("[1]")[0]
    section = _section_of(SAMPLE / first.path, quoted)
    assert first.path == "security/api-keys.md", answer.text
    assert first.heading.split(" > ")[-1] == section == "Rotating a key", first.heading
    # every front end shows that heading, none the merged neighbour's
    slack = str(answer_messages(answer))
    discord = sources_embed(answer).description
    console = Console(record=True, width=200)
    monkeypatch.setattr(cli_render, "console", console)
    cli_render.print_answer(answer)
    for shown in (slack, discord, console.export_text()):
        assert "Rotating a key" in shown and "Listing keys" not in shown
