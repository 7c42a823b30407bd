"""The website source against a real documentation site served on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.search import Searcher
from askdesk.retrieval.web import CrawlLimits, WebError, WebSource
from askdesk.testing.docsite import DocSite, sqlite_site


@pytest.fixture
def site():
    s = sqlite_site().start()
    yield s
    s.stop()


def _source(site: DocSite, tmp_path: Path, **limits) -> WebSource:
    limits.setdefault("timeout_s", 2.0)
    return WebSource(
        site.base + "/docs/index.html",
        tmp_path / "state",
        name="sqlite",
        limits=CrawlLimits(**limits),
    )


def test_a_site_syncs_with_304s_changes_deletions_and_failures(site, tmp_path, embedder):
    base = site.base + "/docs/"
    pages = ["autoinc.html", "datatype3.html", "lang_vacuum.html", "wal.html"]
    site.sitemap("/docs/sitemap.xml", [base + p for p in [*pages, "invoice-guide.pdf"]])
    site.robots = f"User-agent: *\nDisallow: /docs/private/\nSitemap: {base}sitemap.xml\n"
    index = ChunkIndex(tmp_path / "lancedb")
    ing = Ingester(index, embedder)
    source = _source(site, tmp_path)

    first = ing.run(source)
    assert first.status == "ok", first.error
    assert sorted(first.docs_added) == sorted(
        ["sqlite/invoice-guide.pdf", *(f"sqlite/{p}" for p in pages)]
    )
    assert first.notes["discovery"] == "sitemap" and first.chunks_embedded > 0
    searcher = Searcher(index, embedder)
    hit = searcher.search("what does the AUTOINCREMENT keyword do", k=1).hits[0]
    assert hit.doc_id == "sqlite/autoinc.html" and hit.url == base + "autoinc.html"
    first_bytes = site.bytes_sent

    # nothing changed: every page answers 304, nothing is read or embedded
    site.reset_counts()
    again = ing.run(source)
    assert again.notes["not_modified"] == 5 and again.notes["fetched"] == 0
    assert again.docs_unchanged == 5 and again.chunks_embedded == 0
    assert site.count(200) == 0  # robots.txt and the sitemap answer 304 too
    assert site.bytes_sent < first_bytes / 20

    # a changed page, a deleted page, a page that fails, a page that times out
    body, ctype = site.pages["/docs/lang_vacuum.html"]
    site.pages["/docs/lang_vacuum.html"] = (body.replace(b"VACUUM", b"VACUUM (rebuild)", 1), ctype)
    del site.pages["/docs/autoinc.html"]
    site.status["/docs/datatype3.html"] = 500
    site.slow["/docs/wal.html"] = 4.0
    third = ing.run(source)
    assert third.status == "partial"  # two pages could not be seen: kept, and said so
    assert third.error.startswith("2 page(s) unreachable (HTTP 500, timed out)")
    assert third.docs_changed == ["sqlite/lang_vacuum.html"]
    assert third.docs_removed == ["sqlite/autoinc.html"]
    reasons = {s["path"]: s["reason"] for s in third.skipped}
    assert reasons["sqlite/datatype3.html"] == "HTTP 500; the indexed version is kept"
    assert reasons["sqlite/wal.html"] == "timed out; the indexed version is kept"
    states = index.doc_states()
    assert "sqlite/datatype3.html" in states and "sqlite/wal.html" in states
    assert "sqlite/autoinc.html" not in states
    gone = searcher.search("what does the AUTOINCREMENT keyword do", k=5).hits
    assert all(h.doc_id != "sqlite/autoinc.html" for h in gone)


def test_links_are_followed_within_the_prefix_politely(site, tmp_path, embedder):
    base = site.base + "/docs/"
    site.robots = "User-agent: *\nDisallow: /docs/private/\n"
    site.html("/docs/private/secret.html", "Secret", "<p>never fetched</p>")
    site.redirects["/docs/moved.html"] = base + "wal.html"
    site.redirects["/docs/away.html"] = site.base + "/elsewhere/page.html"
    site.redirects["/docs/loop-a.html"] = base + "loop-b.html"
    site.redirects["/docs/loop-b.html"] = base + "loop-a.html"
    body, ctype = site.pages["/docs/index.html"]
    extra = b"".join(
        f'<a href="{p}">x</a>'.encode()
        for p in [
            "private/secret.html",
            "moved.html",
            "away.html",
            "loop-a.html",
            "logo.png",
            "../outside.html",
            "https://example.org/docs/",
        ]
    )
    site.pages["/docs/index.html"] = (body.replace(b"</ul>", extra + b"</ul>"), ctype)
    index = ChunkIndex(tmp_path / "lancedb")
    report = Ingester(index, embedder).run(_source(site, tmp_path, concurrency=2, delay_s=0.01))
    assert report.status == "ok" and report.notes["discovery"] == "links"
    docs = set(index.doc_states())
    assert {"sqlite/index.html", "sqlite/wal.html", "sqlite/invoice-guide.pdf"} <= docs
    assert "sqlite/moved.html" in docs  # redirected inside the prefix: kept, final URL linked
    reasons = {s["path"]: s["reason"] for s in report.skipped}
    assert reasons["sqlite/away.html"].startswith("redirects outside the site")
    assert reasons["sqlite/loop-a.html"] == "redirect loop"
    assert reasons["sqlite/logo.png"] == "not a document type (image/png)"
    paths = [p for p, _ in site.requests]
    assert "/docs/private/secret.html" not in paths and "/outside.html" not in paths
    assert report.notes["robots_blocked"] == 1
    assert all(p.startswith(("/docs/", "/robots.txt", "/sitemap.xml")) for p in paths)


def test_bad_sites_fail_with_one_line_and_limits_hold(site, tmp_path, embedder):
    closed = DocSite()
    dead = closed.base
    closed.server.server_close()  # a port nobody listens on
    with pytest.raises(WebError) as err:
        WebSource(dead + "/docs/", tmp_path / "a", limits=CrawlLimits(timeout_s=2)).list_items()
    assert "\n" not in str(err.value) and "cannot fetch" in str(err.value)

    with pytest.raises(WebError) as err:
        WebSource(site.base + "/docs/logo.png", tmp_path / "b").list_items()
    assert str(err.value).endswith("not a document type (image/png)")

    huge = [f"{site.base}/docs/p{i}.html" for i in range(100_000)]
    site.sitemap("/docs/sitemap.xml", huge)
    for i in range(3):
        site.html(f"/docs/p{i}.html", f"Page {i}", f"<p>Page number {i} of the big site.</p>")
    source = WebSource(
        site.base + "/docs/", tmp_path / "c", limits=CrawlLimits(max_pages=5, timeout_s=2)
    )
    site.reset_counts()
    listing = source.list_items()
    assert site.count() <= 5 + 3  # robots.txt, the sitemap, at most 5 pages
    assert listing.notes["sitemap_urls"] == 100_000
    assert listing.notes["limit"] == "page limit (5) reached"
    assert len(listing.items) == 3


def _index_site(site: DocSite, pages: list[str]) -> None:
    """robots.txt → a sitemap index → one child sitemap listing `pages`."""
    base = site.base + "/docs/"
    site.sitemap("/docs/sitemap-pages.xml", [base + p for p in pages])
    index = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}sitemap-pages.xml</loc></sitemap></sitemapindex>"
    )
    site.pages["/docs/sitemap-index.xml"] = (index.encode(), "application/xml")
    site.robots = f"User-agent: *\nSitemap: {base}sitemap-index.xml\n"


def test_an_unchanged_site_resyncs_with_only_304s_for_robots_sitemaps_and_pages(
    site, tmp_path, embedder
):
    pages = ["autoinc.html", "wal.html", "lang_vacuum.html"]
    _index_site(site, pages)
    ing = Ingester(ChunkIndex(tmp_path / "lancedb"), embedder)
    source = _source(site, tmp_path)
    assert ing.run(source).status == "ok"

    site.reset_counts()
    again = ing.run(source)
    assert again.status == "ok" and again.chunks_embedded == 0
    seen = sorted(site.requests)
    expected = ["/docs/sitemap-index.xml", "/docs/sitemap-pages.xml", "/robots.txt"]
    assert seen == sorted([(p, 304) for p in [*expected, *(f"/docs/{n}" for n in pages)]])
    assert site.bytes_sent == 0
    assert again.notes["sitemaps_not_modified"] == 2 and again.notes["not_modified"] == 3

    # a saved copy that cannot be used (here: its robots lines mangled) → fetched whole
    state_file = tmp_path / "state" / "web.json"
    state = json.loads(state_file.read_text())
    state["meta"][site.base + "/robots.txt"]["lines"] = "not a list"
    state_file.write_text(json.dumps(state))
    site.reset_counts()
    assert ing.run(source).status == "ok"
    assert ("/robots.txt", 200) in site.requests and site.count(200) == 1
    state_file.write_text("{broken json")
    site.reset_counts()
    assert ing.run(source).status == "ok"
    assert site.count(304) == 0 and site.count(200) == 3 + len(pages)


def test_a_changed_sitemap_is_read_again_and_its_new_page_indexed(site, tmp_path, embedder):
    _index_site(site, ["autoinc.html", "wal.html"])
    index = ChunkIndex(tmp_path / "lancedb")
    ing = Ingester(index, embedder)
    source = _source(site, tmp_path)
    assert ing.run(source).status == "ok"
    assert "sqlite/lang_vacuum.html" not in index.doc_states()

    _index_site(site, ["autoinc.html", "wal.html", "lang_vacuum.html"])  # child's ETag changes
    site.reset_counts()
    report = ing.run(source)
    assert report.status == "ok" and report.docs_added == ["sqlite/lang_vacuum.html"]
    assert ("/docs/sitemap-pages.xml", 200) in site.requests
    assert ("/docs/sitemap-index.xml", 304) in site.requests
    assert "sqlite/lang_vacuum.html" in index.doc_states()
