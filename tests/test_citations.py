"""askdesk.core.citations: one marker syntax, one numbering, one way to show a source."""

from __future__ import annotations

from askdesk.core.citations import (
    Numbering,
    cite,
    cited_numbers,
    closest_pages,
    doc_url,
    marker,
    source_for,
    strip_citations,
)
from askdesk.core.compose import ExtractiveComposer
from askdesk.core.types import Question, Source
from askdesk.retrieval.search import SearchHit


def hit(doc: str, text: str = "Keys rotate.", ordinal: int = 0, sim: float = 0.71234) -> SearchHit:
    return SearchHit(
        chunk_id=f"{doc}#{ordinal}",
        doc_id=doc,
        title=doc.split("/")[-1].title(),
        heading="Rotating",
        text=text,
        ordinal=ordinal,
        similarity=sim,
    )


def test_markers_are_written_found_and_stripped_one_way():
    assert marker(3) == "[3]" and cite("Rotate it.", 2) == "Rotate it. [2]"
    assert cited_numbers("A [1]. B [2][1]. Not [x] nor [1234].") == [1, 2, 1]
    assert strip_citations("A [1]. B [12].").split() == ["A", ".", "B", "."]


def test_a_source_shows_the_document_and_links_it_through_the_template():
    h = hit("security/api-keys.md", "To rotate   a key,\nopen Settings. " + "x " * 200)
    s = source_for(2, h, "https://docs.example.com/{path}")
    assert (s.n, s.path, s.title, s.heading, s.score) == (
        2,
        "security/api-keys.md",
        "Api-Keys.Md",
        "Rotating",
        0.7123,
    )
    assert s.url == "https://docs.example.com/security/api-keys.md"
    assert s.snippet.startswith("To rotate a key, open Settings.") and len(s.snippet) == 240
    assert source_for(1, h).url is None


def test_a_template_with_other_braces_still_links():
    """`str.format` raised KeyError on `?ref={ref}`; only {path} is replaced now."""
    assert doc_url("faq.md", "https://x.example/{path}?ref={ref}") == (
        "https://x.example/faq.md?ref={ref}"
    )


def test_numbering_gives_a_document_one_number_in_first_cited_order():
    n = Numbering("https://d.example/{path}")
    a, b, a2 = hit("a.md"), hit("b.md"), hit("a.md", ordinal=3)
    assert [n.number(a), n.number(b), n.number(a2)] == [1, 2, 1]
    assert [(s.n, s.path) for s in n.sources] == [(1, "a.md"), (2, "b.md")]
    assert n.sources[1].url == "https://d.example/b.md"


def test_closest_pages_are_the_first_distinct_documents():
    hits = [hit("a.md"), hit("a.md", ordinal=1), hit("b.md"), hit("c.md"), hit("d.md")]
    pages = closest_pages(hits)
    assert [(s.n, s.path) for s in pages] == [(1, "a.md"), (2, "b.md"), (3, "c.md")]
    assert closest_pages([]) == []


def test_the_extractive_composer_shows_its_sources_through_the_module():
    template = "https://docs.example.com/{path}"
    hits = [
        hit("keys.md", "To rotate a key, open Settings and click Rotate. It takes a second."),
        hit("billing.md", "Plans are billed monthly.", sim=0.3),
    ]
    c = ExtractiveComposer(url_template=template).compose(Question("how do I rotate a key"), hits)
    assert c.composer == "extractive" and c.text.endswith("[1]")
    assert c.sources == [source_for(1, hits[0], template)]
    assert isinstance(c.sources[0], Source)


def test_a_quote_from_a_merged_sibling_section_cites_that_section():
    """Chunking merges a tiny section ("Listing keys") with its next sibling, whose heading
    line stays in the chunk text; a quote taken from under that line names the sibling
    ("Rotating a key"), not the chunk's own heading (issue 19: it said "Listing keys")."""
    text = (
        "```bash\ntw keys list\n```\n\n"
        "The list shows each key's name and scopes.\n\n"
        "## Rotating a key\n\n"
        "Rotation creates a new key with the same name and schedules the old key for "
        "revocation after a grace period, so your systems keep working while you switch."
    )
    h = SearchHit(
        chunk_id="security/api-keys.md#2",
        doc_id="security/api-keys.md",
        title="API keys",
        heading="API keys > Listing keys",
        text=text,
        ordinal=2,
        similarity=0.6,
    )
    c = ExtractiveComposer().compose(
        Question("What happens to the old key after rotation and its grace period?"), [h]
    )
    assert "grace period" in c.text and "tw keys list" not in c.text
    assert [s.heading for s in c.sources] == ["API keys > Rotating a key"]
    assert c.sources[0].path == "security/api-keys.md"
