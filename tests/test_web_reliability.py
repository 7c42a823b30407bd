"""The website source under partial outages and hostile sites (issue 20, rows D1–D6, D12),
against real documentation sites on loopback. Each test reproduces a probe that lost data,
steered the crawler or leaked a secret on the old crawler."""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from pathlib import Path

import pytest
import urllib3.util.connection

from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.web import CrawlLimits, WebSource
from askdesk.testing.docsite import DocSite

TOPICS = {
    "index.html": ("Help centre", ["guide.html", "faq.html", "billing.html"]),
    "guide.html": ("Guide", ["install.html", "upgrade.html"]),
    "faq.html": ("FAQ", []),
    "billing.html": ("Billing", []),
    "install.html": ("Installing", []),
    "upgrade.html": ("Upgrading", []),
}
SENTENCES = {
    "index.html": "Start here for every question about the product.",
    "guide.html": "The guide walks through installing and upgrading the server.",
    "faq.html": "Frequently asked: passwords are reset from the login page.",
    "billing.html": "Invoices are sent on the first day of each month.",
    "install.html": "Install the server with the package manager and start the service.",
    "upgrade.html": "Upgrade by stopping the service and installing the new package.",
}


def small_site(links: bool = True) -> DocSite:
    """Six short pages under /docs/: index → guide (a section) → install, upgrade."""
    site = DocSite()
    for name, (title, children) in TOPICS.items():
        anchors = "".join(f'<a href="{c}">{c}</a> ' for c in children) if links else ""
        site.html(f"/docs/{name}", title, f"<p>{SENTENCES[name]}</p><p>{anchors}</p>")
    return site


@pytest.fixture
def site():
    s = small_site().start()
    yield s
    s.stop()


def _source(site: DocSite, tmp_path: Path, start: str = "/docs/index.html", **limits):
    limits.setdefault("timeout_s", 5.0)
    return WebSource(
        site.base + start, tmp_path / "state", name="site", limits=CrawlLimits(**limits)
    )


ALL_DOCS = {f"site/{n}" for n in TOPICS}


# -- Part 1: a sync never deletes what it could not see ---------------------------------------


def test_d1_a_section_that_fails_keeps_the_pages_below_it(site, tmp_path, embedder):
    index = ChunkIndex(tmp_path / "lancedb")
    ing = Ingester(index, embedder)
    source = _source(site, tmp_path)
    assert ing.run(source).status == "ok"
    assert set(index.doc_states()) == ALL_DOCS

    site.status["/docs/guide.html"] = 503  # the section page is down for one sync
    site.reset_counts()
    report = ing.run(source)
    assert report.status == "partial" and report.docs_removed == []
    assert report.error.startswith("1 page(s) unreachable (HTTP 503)")
    assert set(index.doc_states()) == ALL_DOCS
    # the section's links of the last sync are still followed: its pages are refreshed
    assert ("/docs/install.html", 304) in site.requests

    # without those links (a state written before they were kept), nothing below is dropped
    state_file = tmp_path / "state" / "web.json"
    state = json.loads(state_file.read_text())
    state["pages"][site.base + "/docs/guide.html"] = {}
    state_file.write_text(json.dumps(state))
    report = ing.run(source)
    assert report.status == "partial" and report.docs_removed == []
    assert set(index.doc_states()) == ALL_DOCS

    # the section is back and one page is really gone: only that one is removed
    del site.status["/docs/guide.html"]
    del site.pages["/docs/upgrade.html"]
    report = ing.run(source)
    assert report.status == "ok", report.error
    assert report.docs_removed == ["site/upgrade.html"]


def test_d2_an_unreachable_sitemap_deletes_nothing(tmp_path, embedder):
    site = small_site(links=False).start()  # pages reachable only through the sitemap
    try:
        base = site.base + "/docs/"
        pages = ["guide.html", "faq.html", "billing.html", "install.html", "upgrade.html"]
        site.sitemap("/docs/sitemap.xml", [base + p for p in pages])
        site.robots = f"User-agent: *\nSitemap: {base}sitemap.xml\n"
        index = ChunkIndex(tmp_path / "lancedb")
        ing = Ingester(index, embedder)
        source = _source(site, tmp_path)
        first = ing.run(source)
        assert first.status == "ok" and len(first.docs_added) == 5
        docs = set(index.doc_states())

        site.status["/docs/sitemap.xml"] = 503
        report = ing.run(source)  # the last sync's copy of the sitemap stands in
        assert report.status == "partial" and report.docs_removed == []
        assert "sitemap " + base + "sitemap.xml unreadable (HTTP 503)" in report.error
        assert set(index.doc_states()) == docs

        # no copy kept either: the crawl falls back to links, and still removes nothing
        state_file = tmp_path / "state" / "web.json"
        state = json.loads(state_file.read_text())
        state["meta"] = {}
        state_file.write_text(json.dumps(state))
        report = ing.run(source)
        assert report.status == "partial" and report.docs_removed == []
        assert docs <= set(index.doc_states())
    finally:
        site.stop()


def test_d12_robots_txt_that_answers_5xx_disallows_the_whole_sync(site, tmp_path, embedder):
    site.robots = "User-agent: *\nDisallow: /docs/billing.html\n"
    index = ChunkIndex(tmp_path / "lancedb")
    ing = Ingester(index, embedder)
    source = _source(site, tmp_path)
    assert ing.run(source).status == "ok"
    assert "site/billing.html" not in index.doc_states()
    docs = set(index.doc_states())

    site.robots = None
    site.status["/robots.txt"] = 503
    site.reset_counts()
    report = ing.run_many([source])[0]
    assert report.status == "failed"
    assert report.error == (
        f"{site.base}/robots.txt answered HTTP 503: nothing is crawled this time "
        "(RFC 9309) and the indexed pages are kept"
    )
    assert [p for p, _ in site.requests] == ["/robots.txt"]  # not one page fetched
    assert set(index.doc_states()) == docs

    site.status["/robots.txt"] = 404  # 4xx: no rules at all, every page may be fetched
    report = ing.run(source)
    assert report.status == "ok" and "site/billing.html" in index.doc_states()


# -- Part 2: the crawler stays where it was sent ----------------------------------------------


@pytest.fixture
def connects(monkeypatch):
    """Every address a connection is attempted to, recorded before the attempt."""
    seen: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def spy(address, *args, **kwargs):
        seen.append((str(address[0]), int(address[1])))
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", spy)
    return seen


def test_d3_sitemaps_and_links_cannot_send_the_crawler_elsewhere(site, tmp_path, connects):
    other = DocSite().start()  # another origin (same loopback host, another port)
    try:
        base = site.base + "/docs/"
        other.html("/internal/secret.html", "Internal", "<p>internal only</p>")
        other.sitemap("/internal/sitemap.xml", [other.base + "/internal/secret.html"])
        child = (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/'
            f'sitemap/0.9"><sitemap><loc>{other.base}/internal/sitemap.xml</loc></sitemap>'
            f"<sitemap><loc>{base}pages.xml</loc></sitemap></sitemapindex>"
        )
        site.pages["/docs/sitemap-index.xml"] = (child.encode(), "application/xml")
        targets = [
            base + "faq.html",
            other.base + "/docs/faq.html",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/docs/a.html",
        ]
        site.sitemap("/docs/pages.xml", targets)
        site.robots = (
            f"User-agent: *\nSitemap: {other.base}/internal/sitemap.xml\n"
            f"Sitemap: http://169.254.169.254/latest/sitemap.xml\n"
            f"Sitemap: {base}sitemap-index.xml\n"
        )
        listing = _source(site, tmp_path).list_items()
        assert [i.doc_id for i in listing.items] == ["site/faq.html"]
        assert other.requests == []
        port = site.server.server_address[1]
        assert connects and set(connects) == {("127.0.0.1", port)}
        refused = listing.notes["refused"]
        assert f"robots.txt sitemap {other.base}/internal/sitemap.xml" in refused
        assert "robots.txt sitemap http://169.254.169.254/latest/sitemap.xml" in refused
        assert f"sitemap {other.base}/internal/sitemap.xml" in refused

        # links and redirects of a page to metadata or private addresses: never connected
        site.robots = None
        site.redirects["/docs/meta.html"] = "http://169.254.169.254/latest/meta-data/"
        site.html(
            "/docs/index.html",
            "Help",
            '<a href="http://169.254.169.254/latest/">m</a><a href="http://10.0.0.1/docs/">p</a>'
            f'<a href="{other.base}/docs/faq.html">o</a><a href="meta.html">r</a>',
        )
        connects.clear()
        listing = WebSource(base + "index.html", tmp_path / "s2").list_items()
        reasons = {s["path"]: s["reason"] for s in listing.skipped}
        assert reasons["meta.html"].startswith("redirects outside the site (http://169.254")
        assert set(connects) == {("127.0.0.1", port)} and other.requests == []
    finally:
        other.stop()


def test_address_policy_refuses_internal_addresses_unless_the_source_is_on_one():
    from askdesk.retrieval.netguard import AddressPolicy, category

    ip = ipaddress.ip_address
    kinds = {
        "8.8.8.8": "public",
        "10.0.0.1": "private",
        "192.168.1.5": "private",
        "100.64.0.1": "private",
        "fc00::1": "private",
        "127.0.0.2": "loopback",
        "::1": "loopback",
        "::ffff:127.0.0.1": "loopback",
        "169.254.1.1": "link-local",
        "169.254.169.254": "metadata",
        "fd00:ec2::254": "metadata",
        "0.0.0.0": "reserved",
    }
    assert {a: category(ip(a)) for a in kinds} == kinds
    public = AddressPolicy.for_addresses([ip("93.184.216.34")])
    for addr in ("10.0.0.1", "127.0.0.1", "169.254.169.254", "169.254.1.1", "::1", "0.0.0.0"):
        assert public.refusal(ip(addr)) is not None, addr
    assert public.refusal(ip("1.1.1.1")) is None
    office = AddressPolicy.for_addresses([ip("10.1.2.3")])  # a wiki on the office network
    assert office.refusal(ip("10.9.9.9")) is None
    assert office.refusal(ip("127.0.0.1")) and office.refusal(ip("169.254.169.254"))
    local = AddressPolicy.for_addresses([ip("127.0.0.1")])
    assert local.refusal(ip("127.0.0.2")) is None
    assert local.refusal(ip("169.254.169.254")) == (
        "address 169.254.169.254 is metadata and the source is not"
    )


def test_the_connected_address_is_checked_before_connecting(site, connects, monkeypatch):
    from askdesk.retrieval.netguard import AddressPolicy, guarded_session, refusal_of

    # a public source's policy: the loopback site is refused before any connection
    session = guarded_session(AddressPolicy.for_addresses([ipaddress.ip_address("1.1.1.1")]), "t")
    with pytest.raises(Exception) as err:
        session.get(site.base + "/docs/index.html", timeout=5)
    assert refusal_of(err.value) == "refused: address 127.0.0.1 is loopback and the source is not"
    assert connects == [] and site.requests == []

    # DNS rebinding: the source's host resolved to loopback when the sync started, and to
    # 10.0.0.1 when the page is fetched: refused, and 10.0.0.1 is never connected to
    port = site.server.server_address[1]
    source = WebSource(f"http://localhost:{port}/docs/index.html", Path("/nonexistent"))
    assert source.policy().allowed >= {"loopback"}
    real = socket.getaddrinfo

    def rebound(host, *args, **kwargs):
        if host == "localhost":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebound)
    with pytest.raises(Exception) as err:
        source._get(f"http://localhost:{port}/docs/index.html")
    assert "address 10.0.0.1 is private and the source is not" in str(err.value)
    assert connects == []


def test_d4_dot_segments_cannot_leave_the_prefix_and_the_token_stays_home(tmp_path):
    site = small_site().start()
    other = DocSite().start()
    try:
        site.html("/secret.html", "Secret", "<p>outside the docs</p>")
        port = site.server.server_address[1]
        site.html(
            "/docs/index.html",
            "Help",
            f'<a href="{site.base}/docs/../secret.html">a</a>'
            '<a href="%2e%2e/secret.html">b</a><a href="./sub/../../secret.html">c</a>'
            f'<a href="http://LOCALHOST:{port}/docs/faq.html">d</a>'
            f'<a href="{other.base}/docs/faq.html">e</a><a href="faq.html">f</a>',
        )
        source = WebSource(
            site.base + "/docs/index.html", tmp_path / "s", name="site", token="tok-SECRET"
        )
        listing = source.list_items()
        assert sorted(i.doc_id for i in listing.items) == ["site/faq.html", "site/index.html"]
        paths = [p for p, _ in site.requests]
        assert "/secret.html" not in paths and all(".." not in p for p in paths)
        assert other.requests == []
        sent = {p for p, auth in site.authorization if auth == "Bearer tok-SECRET"}
        assert sent == set(paths)  # the token went to this origin, and nowhere else
        assert source._headers(other.base + "/docs/faq.html") == {}
        assert source._headers(f"http://localhost:{port}/docs/faq.html") == {}
    finally:
        site.stop()
        other.stop()


def test_urls_are_normalised_before_any_prefix_check():
    from askdesk.retrieval.urls import normalize

    assert normalize("HTTP://Example.COM:80/docs/a/../b/./c.html#x") == (
        "http://example.com/docs/b/c.html"
    )
    assert normalize("https://example.com:443/docs/%2E%2E/x") == "https://example.com/x"
    assert normalize("http://u:PaSs@example.com:8080/docs/") == "http://example.com:8080/docs/"
    assert normalize("http://example.com/docs/../../../../etc") == "http://example.com/etc"


def test_d5_a_dribbling_page_and_a_slow_site_are_cut_off_in_time(site, tmp_path, embedder):
    index = ChunkIndex(tmp_path / "lancedb")
    ing = Ingester(index, embedder)
    source = _source(site, tmp_path, page_deadline_s=2.0, sync_deadline_s=60)
    assert ing.run(source).status == "ok"

    site.dribble["/docs/faq.html"] = 0.5  # one byte every 0.5 s: ~100 s for the page
    body, ctype = site.pages["/docs/faq.html"]
    site.pages["/docs/faq.html"] = (body.replace(b"login page", b"login page now"), ctype)
    t0 = time.monotonic()
    report = ing.run(source)
    took = time.monotonic() - t0
    assert took < 15, took
    reasons = {s["path"]: s["reason"] for s in report.skipped}
    assert reasons["site/faq.html"] == "took longer than 2 s; the indexed version is kept"
    assert report.status == "partial" and report.docs_removed == []
    assert set(index.doc_states()) == ALL_DOCS

    # the whole sync has a deadline too: pages not reached in time are kept, not removed
    del site.dribble["/docs/faq.html"]
    for name in TOPICS:
        site.slow[f"/docs/{name}"] = 1.5
    slow = _source(site, tmp_path, sync_deadline_s=2.0, concurrency=1)
    t0 = time.monotonic()
    report = ing.run(slow)
    assert time.monotonic() - t0 < 15
    assert report.status == "partial" and report.docs_removed == []
    assert "sync deadline (2 s) reached" in report.error
    assert set(index.doc_states()) == ALL_DOCS


# -- Part 3: a password in the start URL ------------------------------------------------------


def test_d6_a_password_in_the_url_is_kept_in_memory_exactly_as_typed(tmp_path, embedder):
    site = small_site().start()
    secret = "PaSsWoRd-MiXeD-42"
    site.auth = ("Docs.User", secret)
    try:
        index = ChunkIndex(tmp_path / "lancedb")
        source = WebSource(
            f"http://Docs.User:{secret}@127.0.0.1:{site.server.server_address[1]}/docs/index.html",
            tmp_path / "state",
            name="site",
        )
        assert secret not in source.location and "Docs.User" not in source.location
        report = Ingester(index, embedder).run(source)
        assert report.status == "ok" and set(report.docs_added) == ALL_DOCS
        assert secret not in json.dumps(report.as_dict())
        assert secret not in (tmp_path / "state" / "web.json").read_text()
        urls = index.table.to_arrow().column("url").to_pylist()
        assert urls and all(u.startswith(site.base + "/docs/") for u in urls)
    finally:
        site.stop()


def test_a_partial_run_is_shown_by_index_status_sources_and_the_freshness_tab(env, site):
    from typer.testing import CliRunner

    from askdesk.cli import app as cli
    from askdesk.cli.dashboard_cmd import build_services
    from askdesk.dashboard.panels.freshness import render
    from askdesk.settings import Settings
    from askdesk.wiring import App

    def run(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    (env / "askdesk.toml").write_text(
        f'[[sources]]\nname = "site"\nurl = "{site.base}/docs/index.html"\n'
    )
    first = run("index")
    assert first.exit_code == 0 and first.output.startswith("site: 6 added"), first.output
    site.status["/docs/guide.html"] = 503
    second = run("index")
    assert second.exit_code == 1, second.output
    assert second.output.strip() == (
        "site: 0 added, 0 changed, 0 removed, 5 unchanged (0 chunks embedded), 1 skipped, "
        "partial: 1 page(s) unreachable (HTTP 503), so documents not seen are kept"
    )
    status = json.loads(run("status", "--json").output)
    assert status["last_run"]["status"] == "partial"
    assert status["last_run"]["error"].startswith("1 page(s) unreachable (HTTP 503)")
    assert "partial" in run("status").output
    row = json.loads(run("sources", "--json").output)[0]
    assert row["last_status"] == "partial" and row["documents"] == 6
    assert "(HTTP 503)" in row["error"]
    info = build_services(App(Settings()), None).freshness()
    shown = str(render(info, can_sync=False))
    assert "(partial)" in shown and "1 page(s) unreachable (HTTP 503)" in shown


def test_a_plain_text_sitemap_is_read_and_a_named_sitemap_that_is_not_one_is_partial(
    site, tmp_path
):
    base = site.base + "/docs/"
    site.pages["/docs/urls.txt"] = (f"{base}faq.html\n{base}billing.html\n".encode(), "text/plain")
    site.robots = f"User-agent: *\nSitemap: {base}urls.txt\n"
    listing = _source(site, tmp_path).list_items()
    assert [i.doc_id for i in listing.items] == ["site/billing.html", "site/faq.html"]
    assert listing.partial == []

    site.pages["/docs/urls.txt"] = (b"<<< maintenance >>>", "text/html")
    listing = _source(site, tmp_path / "fresh").list_items()
    assert listing.partial == [f"sitemap {base}urls.txt unreadable (not valid XML)"]
