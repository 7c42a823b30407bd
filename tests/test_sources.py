"""The source port: items, bytes, URLs stored with chunks, and several sources in one index."""

from __future__ import annotations

from pathlib import Path

from askdesk.core.citations import source_for
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.loaders import LoadError, format_for_type, parse
from askdesk.retrieval.search import Searcher
from askdesk.retrieval.sources import FolderSource
from tests.conftest import write


def test_parse_takes_bytes_and_a_format():
    doc = parse(b"# Keys\n\nRotate them yearly.\n", "markdown", "site/keys.md")
    assert doc.doc_id == "site/keys.md" and doc.title == "Keys"
    untitled = parse(b"Rotate them yearly.\n", "text", "site/how-to_rotate.txt")
    assert untitled.title == "How to rotate"
    for data, fmt, reason in [
        (b"", "markdown", "empty file"),
        (b"x", "docx", "unsupported format: docx"),
        (b"<html><body><nav>menu</nav></body></html>", "html", "no text content"),
    ]:
        try:
            parse(data, fmt, "d")
        except LoadError as exc:
            assert str(exc) == reason
        else:
            raise AssertionError(f"{fmt} parsed")


def test_media_types_pick_the_loader():
    assert format_for_type("text/html; charset=utf-8", "a") == "html"
    assert format_for_type("application/pdf", "x") == "pdf"
    assert format_for_type("text/plain", "guide.md") == "markdown"
    assert format_for_type("text/plain", "notes") == "text"
    assert format_for_type("image/png", "logo.png") is None
    assert format_for_type(None, "page.rst") == "rst"


def test_named_sources_share_one_index_and_answers_link_to_their_urls(
    tmp_path: Path, tiny_docs: Path, embedder
):
    other = tmp_path / "wiki"
    write(other, "oncall.md", "# On-call\n\nThe on-call engineer answers pages in 15 minutes.\n")
    index = ChunkIndex(tmp_path / "lancedb")
    ing = Ingester(index, embedder)
    handbook = FolderSource(tiny_docs, "handbook", "https://docs.example.com/{path}")
    wiki = FolderSource(other, "wiki")
    reports = ing.run_many([handbook, wiki])
    assert [r.source for r in reports] == ["handbook", "wiki"]
    assert sorted(reports[0].docs_added) == [
        "handbook/billing/plans.md",
        "handbook/guides/retries.txt",
        "handbook/keys.md",
    ]
    assert reports[1].docs_added == ["wiki/oncall.md"]

    searcher = Searcher(index, embedder)
    hit = searcher.search("how do I rotate an API key", k=3).hits[0]
    assert hit.doc_id == "handbook/keys.md"
    assert hit.url == "https://docs.example.com/keys.md"
    # the item's own URL wins over the folder-wide template
    template = "https://old.example.com/{path}"
    assert source_for(1, hit, template).url == "https://docs.example.com/keys.md"
    wiki_hit = searcher.search("on-call pages", k=1, path_prefixes=["wiki/"]).hits[0]
    assert wiki_hit.doc_id == "wiki/oncall.md" and wiki_hit.url is None
    assert source_for(1, wiki_hit, template).url == "https://old.example.com/wiki/oncall.md"

    # syncing one source leaves the other's documents alone
    (tiny_docs / "keys.md").unlink()
    again = ing.run(handbook)
    assert again.docs_removed == ["handbook/keys.md"]
    assert "wiki/oncall.md" in index.doc_states()

    # a source no longer configured loses its documents at the next full sync
    reports = ing.run_many([handbook], drop_unowned=True)
    assert reports[-1].source == "(removed)" and reports[-1].docs_removed == ["wiki/oncall.md"]
    assert all(d.startswith("handbook/") for d in index.doc_states())


def test_an_index_made_before_urls_is_searched_and_upgraded(
    tmp_path: Path, tiny_docs: Path, embedder
):
    index = ChunkIndex(tmp_path / "lancedb")
    Ingester(index, embedder).run(tiny_docs)
    index.table.drop_columns(["url"])  # the table as older versions wrote it
    fresh = ChunkIndex(tmp_path / "lancedb")
    hits = Searcher(fresh, embedder).search("rotate an API key", k=2).hits
    assert hits and hits[0].url is None
    write(tiny_docs, "new.md", "# New\n\nA brand new page about invoices.\n")
    report = Ingester(fresh, embedder).run(tiny_docs)
    assert report.docs_added == ["new.md"] and report.docs_unchanged == 3
    assert "url" in fresh.table.schema.names
