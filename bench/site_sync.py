"""Website source: an unchanged 300-page site resynced, and crawl speed against embedding.

A loopback HTTP server (askdesk/testing/docsite.py: ETags, 304s) serves 300 pages built from the
SQLite documentation slice in tests/data/sqlite-doc (each page a distinct selection of its
paragraphs, with a sitemap). Steps, in one run:
1. first sync (crawl + parse + embed + write): time, bytes the server sent, chunks embedded;
2. the same sync again with nothing changed: time and bytes (goal: ≤ 0.05× the first time,
   only validators transferred);
3. crawl only (a fresh state, so every page is a 200, links parsed): pages per second,
   against raw embedding of the same pages' chunks (pages per second the embedder sustains).

    PYTHONPATH=. python bench/site_sync.py [--json]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from _common import THREADS, embedder, emit, log, parser

from askdesk.retrieval.chunking import chunk_document
from askdesk.retrieval.embedding import Embedder
from askdesk.retrieval.index import ChunkIndex
from askdesk.retrieval.ingest import Ingester
from askdesk.retrieval.loaders import parse
from askdesk.retrieval.web import CrawlLimits, WebSource
from askdesk.testing.docsite import DATA, DocSite

PAGES = 300
GOAL = 0.05
PARAGRAPHS = 2  # per page: ~1.3 chunks a page keeps the first sync short on 2 cores


def paragraphs() -> list[str]:
    """The prose paragraphs of the SQLite slice, as text."""
    out: list[str] = []
    for f in sorted(DATA.glob("*.html")):
        doc = parse(f.read_bytes(), "html", f.name)
        for section in doc.sections:
            out += [p.strip() for p in section.text.split("\n\n") if len(p.split()) >= 12]
    return out


def build_site(n: int) -> DocSite:
    site = DocSite()
    paras = paragraphs()
    urls = []
    for i in range(n):
        picked = [paras[(i * 7 + k * 13) % len(paras)] for k in range(PARAGRAPHS)]
        body = "".join(
            f"<h2>Part {k + 1} of topic {i}</h2><p>{p}</p>" for k, p in enumerate(picked)
        )
        site.html(f"/docs/page-{i:03d}.html", f"SQLite topic {i}", body)
        urls.append(f"{site.base}/docs/page-{i:03d}.html")
    site.sitemap("/docs/sitemap.xml", urls)
    site.robots = f"User-agent: *\nSitemap: {site.base}/docs/sitemap.xml\n"
    return site


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    site = build_site(PAGES).start()

    emb = embedder(Embedder)
    figures: dict[str, Any] = {"pages": PAGES, "threads": THREADS}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            limits = CrawlLimits(concurrency=4)
            source = WebSource(
                f"{site.base}/docs/", Path(tmp) / "state", name="site", limits=limits
            )
            index = ChunkIndex(Path(tmp) / "lancedb")
            ing = Ingester(index, emb)
            log("first sync")
            site.reset_counts()
            t = time.perf_counter()
            first = ing.run(source)
            t_first = time.perf_counter() - t
            b_first = site.bytes_sent
            log("unchanged resync")
            site.reset_counts()
            t = time.perf_counter()
            again = ing.run(source)
            t_again = time.perf_counter() - t
            b_again = site.bytes_sent
            figures["first_sync"] = {
                "seconds": round(t_first, 2),
                "bytes_sent": b_first,
                "docs_added": len(first.docs_added),
                "chunks_embedded": first.chunks_embedded,
            }
            figures["unchanged_resync"] = {
                "seconds": round(t_again, 2),
                "bytes_sent": b_again,
                "not_modified": again.notes.get("not_modified"),
                "fetched": again.notes.get("fetched"),
                "chunks_embedded": again.chunks_embedded,
                "time_ratio": round(t_again / t_first, 4),
                "bytes_ratio": round(b_again / max(b_first, 1), 4),
                "goal_time_ratio": GOAL,
            }

            log("crawl only (fresh state)")
            crawl = WebSource(f"{site.base}/docs/", Path(tmp) / "fresh", limits=limits)
            t = time.perf_counter()
            listing = crawl.list_items()
            t_crawl = time.perf_counter() - t
            texts = []
            for item in listing.items:
                doc = parse(crawl.read(item, 20_000_000), item.fmt, item.doc_id)
                texts += [c.embedding_text for c in chunk_document(doc)]
            log(f"raw embedding of {len(texts)} chunks")
            t = time.perf_counter()
            emb.encode(texts)
            t_embed = time.perf_counter() - t
            crawl_pps = len(listing.items) / t_crawl
            embed_pps = len(listing.items) / t_embed
            figures["throughput"] = {
                "crawl_pages_per_s": round(crawl_pps, 1),
                "embed_pages_per_s": round(embed_pps, 1),
                "embed_chunks_per_s": round(len(texts) / t_embed, 1),
                "crawl_to_embed_ratio": round(crawl_pps / embed_pps, 1),
            }
    finally:
        site.stop()

    def text() -> str:
        f, u, th = figures["first_sync"], figures["unchanged_resync"], figures["throughput"]
        return (
            f"first sync {f['seconds']} s, {f['bytes_sent']} bytes, "
            f"{f['chunks_embedded']} chunks embedded\n"
            f"unchanged resync {u['seconds']} s ({u['time_ratio']}x), {u['bytes_sent']} bytes "
            f"({u['bytes_ratio']}x), {u['not_modified']} x 304, {u['chunks_embedded']} embedded\n"
            f"crawl {th['crawl_pages_per_s']} pages/s vs embedding {th['embed_pages_per_s']} "
            f"pages/s ({th['crawl_to_embed_ratio']}x)"
        )

    emit(figures, args.json, text)


if __name__ == "__main__":
    main()
