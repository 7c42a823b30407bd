"""A website as a source: crawl within the start URL's prefix, politely and incrementally.

Like the peers' web connectors (Onyx, DocsGPT), the pages come from the site's sitemap
(robots.txt `Sitemap:` lines, else `sitemap.xml`; sitemap indexes followed) when it has
one, else from following links from the start page. Only URLs under the start URL's prefix
are fetched, robots.txt is obeyed, and every request carries the validators of the last
sync (If-None-Match / If-Modified-Since): an unchanged page costs one 304 and is not read
or embedded again. Redirects are followed by hand so each hop stays inside the prefix.

What a sync does with each answer: 200 → indexed (HTML, PDF, Markdown, text; other types
skipped); 404/410 → the page is gone, its chunks are removed; 5xx, timeouts, refused
connections → the page is kept as indexed and reported. A sync that hits the page or byte
limit keeps the pages it did not reach. The validators live in DATA_DIR/sources/<name>/,
and robots.txt and every sitemap are asked for the same way: their validators and parsed
content (robots lines, sitemap locs) are kept beside the pages', so an unchanged site costs
only 304s; a saved copy that cannot be read is ignored and the file fetched whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import requests

from retrieval.documents import LoadError
from retrieval.loaders import format_for_type
from retrieval.sources import PIPELINE_VERSION, Item, Listing, prefixed

log = logging.getLogger(__name__)

USER_AGENT = "askdesk-docs-sync/1.0 (+https://github.com/askdesk; indexes docs for a help bot)"
MAX_REDIRECTS = 5
MAX_SITEMAPS = 50
MAX_SITEMAP_BYTES = 50_000_000  # the sitemaps.org limit per file (uncompressed)
_STATE = "web.json"
_GONE = (404, 410)


class WebError(Exception):
    """The site cannot be crawled at all (unreachable, start page missing); one line."""


@dataclass(frozen=True)
class CrawlLimits:
    max_pages: int = 2000
    max_bytes: int = 200_000_000
    max_page_bytes: int = 20_000_000
    delay_s: float = 0.0
    concurrency: int = 4
    timeout_s: float = 15.0


@dataclass
class _Page:
    url: str
    status: str  # "ok", "same", "gone", "error", "skip"
    final_url: str = ""
    fmt: str | None = None
    body: bytes = b""
    validator: str = ""
    etag: str | None = None
    modified: str | None = None
    links: list[str] = field(default_factory=list)
    reason: str = ""
    bytes_in: int = 0


def _canonical(url: str) -> str:
    """Fragment dropped, scheme and host lower-cased: one page, one URL."""
    url = urldefrag(url)[0]
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}"


def _prefix(start: str) -> str:
    """The start URL's folder: https://x/docs/intro.html → https://x/docs/."""
    url = _canonical(start)
    parts = urlsplit(url)
    path = parts.path if parts.path.endswith("/") else parts.path.rsplit("/", 1)[0] + "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _sitemap_ok(saved: dict[str, Any]) -> bool:
    """A saved sitemap is usable when its tag and locs are what _sitemap_urls wrote."""
    locs = saved.get("locs")
    return (
        isinstance(saved.get("tag"), str)
        and isinstance(locs, list)
        and all(isinstance(loc, str) for loc in locs)
    )


class WebSource:
    kind = "web"

    def __init__(
        self,
        start_url: str,
        workdir: Path,
        *,
        name: str = "",
        limits: CrawlLimits | None = None,
        token: str | None = None,
    ) -> None:
        self.start = _canonical(start_url)
        self.prefix = _prefix(start_url)
        self.workdir = Path(workdir)
        self.name = name
        self.limits = limits or CrawlLimits()
        self.location = self.start
        self._token = token
        self._local = threading.local()
        self._pages: dict[str, _Page] = {}
        self._new_state: dict[str, dict[str, Any]] | None = None
        self._old_meta: dict[str, dict[str, Any]] = {}
        self._new_meta: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._bytes = 0

    # -- HTTP --------------------------------------------------------------------------------
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            session.trust_env = False  # no proxies from the environment: exactly this site
            self._local.session = session
        return session

    def _headers(self, url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self._token and url.startswith(self.prefix):
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _get(
        self, url: str, headers: dict[str, str] | None = None, max_bytes: int | None = None
    ) -> tuple[requests.Response, str, bytes]:
        """GET following redirects by hand (each hop must stay inside the prefix); returns
        the last response, the final URL and its body (at most max_bytes, else LoadError)."""
        seen = {url}
        limit = max_bytes or self.limits.max_page_bytes
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._session().get(
                url,
                headers=self._headers(url, headers),
                allow_redirects=False,
                timeout=(min(5.0, self.limits.timeout_s), self.limits.timeout_s),
                stream=True,
            )
            if resp.is_redirect:
                target = _canonical(urljoin(url, resp.headers.get("Location", "")))
                resp.close()
                if target in seen:
                    raise LoadError("redirect loop")
                if not target.startswith(self.prefix):
                    raise LoadError(f"redirects outside the site ({target[:120]})")
                seen.add(target)
                url = target
                continue
            body = b""
            if resp.status_code == 200:
                chunks = []
                size = 0
                for block in resp.iter_content(1 << 16):
                    size += len(block)
                    if size > limit:
                        resp.close()
                        raise LoadError(f"too large (over {limit / 1e6:.1f} MB)")
                    chunks.append(block)
                body = b"".join(chunks)
            resp.close()
            return resp, url, body
        raise LoadError(f"more than {MAX_REDIRECTS} redirects")

    def _pause(self, delay: float) -> None:
        if delay > 0:
            time.sleep(delay)

    # -- state -------------------------------------------------------------------------------
    def _state(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads((self.workdir / _STATE).read_text())
            return data.get("pages", {}) if data.get("prefix") == self.prefix else {}
        except (OSError, ValueError, AttributeError):
            return {}

    def _meta_state(self) -> dict[str, dict[str, Any]]:
        """robots.txt and sitemaps of the last sync: URL → validators and parsed content."""
        try:
            data = json.loads((self.workdir / _STATE).read_text())
            meta = data.get("meta", {}) if data.get("prefix") == self.prefix else {}
            return meta if isinstance(meta, dict) else {}
        except (OSError, ValueError, AttributeError):
            return {}

    def finish(self) -> None:
        """Keep the validators of this sync for the next one (after its chunks were written)."""
        if self._new_state is None:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        tmp = self.workdir / (_STATE + ".tmp")
        state = {"prefix": self.prefix, "pages": self._new_state, "meta": self._new_meta}
        tmp.write_text(json.dumps(state))
        tmp.replace(self.workdir / _STATE)

    def _conditional(
        self, url: str, max_bytes: int, content_ok: Any
    ) -> tuple[int, bytes | None, dict[str, Any] | None]:
        """GET robots.txt or a sitemap with the last sync's validators. Returns the status,
        the body (None when the saved copy is reused on 304) and the saved entry to reuse.
        A saved entry whose content fails `content_ok` is ignored: the file is fetched whole."""
        saved = self._old_meta.get(url)
        if not isinstance(saved, dict) or not content_ok(saved):
            saved = None
        headers: dict[str, str] = {}
        if saved and isinstance(saved.get("etag"), str):
            headers["If-None-Match"] = saved["etag"]
        if saved and isinstance(saved.get("modified"), str):
            headers["If-Modified-Since"] = saved["modified"]
        resp, _, body = self._get(url, headers or None, max_bytes=max_bytes)
        if resp.status_code == 304 and saved:
            self._new_meta[url] = saved
            return 304, None, saved
        if resp.status_code == 304:  # a 304 we did not ask for: fetch it whole
            resp, _, body = self._get(url, max_bytes=max_bytes)
        entry = {"etag": resp.headers.get("ETag"), "modified": resp.headers.get("Last-Modified")}
        return resp.status_code, body, entry

    # -- discovery ---------------------------------------------------------------------------
    def _robots(self) -> tuple[RobotFileParser | None, list[str], float]:
        parts = urlsplit(self.prefix)
        url = f"{parts.scheme}://{parts.netloc}/robots.txt"
        def lines_ok(saved: dict[str, Any]) -> bool:
            lines = saved.get("lines")
            return isinstance(lines, list) and all(isinstance(ln, str) for ln in lines)

        try:
            code, body, entry = self._conditional(url, 1_000_000, lines_ok)
        except (requests.RequestException, LoadError):
            return None, [], 0.0
        if code == 304 and entry is not None:
            lines = list(entry["lines"])
        elif code == 200 and body is not None and entry is not None:
            lines = body.decode("utf-8", "replace").splitlines()
            self._new_meta[url] = {**entry, "lines": lines}
        else:
            return None, [], 0.0
        parser = RobotFileParser()
        parser.parse(lines)
        sitemaps = [
            ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("sitemap:")
        ]
        delay = parser.crawl_delay(USER_AGENT) or 0.0
        return parser, sitemaps, min(float(delay), 10.0)

    def _sitemap_urls(self, candidates: list[str], notes: dict[str, Any]) -> list[str]:
        """Page URLs inside the prefix from the sitemaps (indexes followed), in order."""
        found: list[str] = []
        seen_maps: set[str] = set()
        queue = list(candidates)
        total = 0
        while queue and len(seen_maps) < MAX_SITEMAPS:
            url = _canonical(urljoin(self.prefix, queue.pop(0)))
            if url in seen_maps:
                continue
            seen_maps.add(url)
            try:
                code, body, entry = self._conditional(url, MAX_SITEMAP_BYTES, _sitemap_ok)
            except (requests.RequestException, LoadError):
                continue
            if code == 304 and entry is not None:
                tag, locs = entry["tag"], list(entry["locs"])
                notes["sitemaps_not_modified"] = notes.get("sitemaps_not_modified", 0) + 1
            elif code == 200 and body is not None and entry is not None:
                if not body.lstrip().startswith(b"<"):
                    continue
                try:
                    root = ET.fromstring(body)
                except ET.ParseError:
                    notes.setdefault("warnings", []).append(f"sitemap {url} is not valid XML")
                    continue
                tag = root.tag.rsplit("}", 1)[-1]
                locs = [
                    el.text.strip() for el in root.iter() if el.tag.endswith("loc") and el.text
                ]
                self._new_meta[url] = {**entry, "tag": tag, "locs": locs}
            else:
                continue
            if tag == "sitemapindex":
                queue.extend(locs)
                continue
            for loc in locs:
                page = _canonical(urljoin(url, loc))
                if page.startswith(self.prefix):
                    total += 1
                    if len(found) < self.limits.max_pages:
                        found.append(page)
        if total:
            notes["sitemap_urls"] = total
        return list(dict.fromkeys(found))

    # -- fetching ----------------------------------------------------------------------------
    def _fetch(self, url: str, old: dict[str, Any] | None, delay: float) -> _Page:
        headers: dict[str, str] = {}
        if old:
            if old.get("etag"):
                headers["If-None-Match"] = old["etag"]
            if old.get("modified"):
                headers["If-Modified-Since"] = old["modified"]
        try:
            resp, final, body = self._get(url, headers)
        except requests.Timeout:
            return _Page(url, "error", reason="timed out")
        except requests.RequestException as exc:
            return _Page(url, "error", reason=f"cannot connect: {type(exc).__name__}")
        except LoadError as exc:
            return _Page(url, "skip", reason=str(exc))
        finally:
            self._pause(delay)
        code = resp.status_code
        if code == 304 and old:
            return _Page(
                url,
                "same",
                final_url=old.get("final", url),
                fmt=old.get("fmt"),
                validator=old.get("validator", ""),
                etag=old.get("etag"),
                modified=old.get("modified"),
                links=list(old.get("links", [])),
            )
        if code in _GONE:
            return _Page(url, "gone", reason=f"HTTP {code}")
        if code != 200:
            return _Page(url, "error", reason=f"HTTP {code}")
        fmt = format_for_type(resp.headers.get("Content-Type"), urlsplit(final).path)
        with self._lock:
            self._bytes += len(body)
        if fmt is None:
            media = (resp.headers.get("Content-Type") or "no type").split(";")[0]
            return _Page(url, "skip", reason=f"not a document type ({media})", bytes_in=len(body))
        page = _Page(
            url,
            "ok",
            final_url=final,
            fmt=fmt,
            body=body,
            validator=f"{PIPELINE_VERSION}:{hashlib.sha256(body).hexdigest()[:32]}",
            etag=resp.headers.get("ETag"),
            modified=resp.headers.get("Last-Modified"),
            bytes_in=len(body),
        )
        if fmt == "html":
            page.links = self._links(body, final)
        return page

    def _links(self, body: bytes, base: str) -> list[str]:
        import lxml.html

        try:
            doc = lxml.html.fromstring(body)
        except (ValueError, lxml.etree.ParserError):
            return []
        base_el = doc.find(".//base[@href]")
        if base_el is not None:
            base = urljoin(base, base_el.get("href"))
        out = []
        for el in doc.iterfind(".//a[@href]"):
            href = (el.get("href") or "").strip()
            if not href or href.startswith(("mailto:", "javascript:", "#")):
                continue
            url = _canonical(urljoin(base, href))
            if url.startswith(self.prefix):
                out.append(url)
        return list(dict.fromkeys(out))

    # -- the source port ---------------------------------------------------------------------
    def doc_id(self, url: str) -> str:
        rel = url[len(self.prefix) :] if url.startswith(self.prefix) else url
        if not rel or rel.endswith("/"):
            rel += "index"
        return prefixed(self.name, rel)

    def list_items(self) -> Listing:
        old_state = self._state()
        self._old_meta = self._meta_state()
        self._new_meta = {}
        self._bytes = 0
        notes: dict[str, Any] = {}
        robots, sitemaps, crawl_delay = self._robots()
        delay = max(self.limits.delay_s, crawl_delay)
        allowed = (lambda u: robots.can_fetch(USER_AGENT, u)) if robots else (lambda u: True)
        if not allowed(self.start):
            raise WebError(f"robots.txt does not allow fetching {self.start}")

        listed = self._sitemap_urls(sitemaps or [self.prefix + "sitemap.xml"], notes)
        if not listed and not sitemaps and self.prefix != _prefix(self._origin() + "/"):
            listed = self._sitemap_urls([self._origin() + "/sitemap.xml"], notes)
        follow = not listed
        notes["discovery"] = "sitemap" if listed else "links"
        frontier = listed if listed else [self.start]
        seen: set[str] = set(frontier)
        pages: dict[str, _Page] = {}
        limit_hit = ""
        blocked = 0
        with ThreadPoolExecutor(self.limits.concurrency, thread_name_prefix="crawl") as pool:
            while frontier and not limit_hit:
                room = self.limits.max_pages - len(pages)
                wave, rest = frontier[:room], frontier[room:]
                todo = []
                for u in wave:
                    if allowed(u):
                        todo.append(u)
                    else:
                        blocked += 1
                for page in pool.map(lambda u: self._fetch(u, old_state.get(u), delay), todo):
                    pages[page.url] = page
                frontier = rest
                if follow:
                    for page in pages.values():
                        for link in page.links:
                            if link not in seen:
                                seen.add(link)
                                frontier.append(link)
                if len(pages) >= self.limits.max_pages and frontier:
                    limit_hit = f"page limit ({self.limits.max_pages}) reached"
                elif self._bytes > self.limits.max_bytes and frontier:
                    limit_hit = f"byte limit ({self.limits.max_bytes / 1e6:g} MB) reached"
                follow = follow and not limit_hit
                if not follow:
                    frontier = frontier if not limit_hit else []
        if int(notes.get("sitemap_urls", 0)) > len(listed):
            limit_hit = f"page limit ({self.limits.max_pages}) reached"
        start = pages.get(self.start)
        if not listed and start is not None and start.status in ("error", "gone"):
            raise WebError(f"cannot fetch {self.start}: {start.reason}")
        if not listed and start is not None and start.status == "skip" and len(pages) == 1:
            raise WebError(f"{self.start}: {start.reason}")
        return self._listing(pages, old_state, notes, limit_hit, blocked)

    def _origin(self) -> str:
        parts = urlsplit(self.prefix)
        return f"{parts.scheme}://{parts.netloc}"

    def _listing(
        self,
        pages: dict[str, _Page],
        old_state: dict[str, dict[str, Any]],
        notes: dict[str, Any],
        limit_hit: str,
        blocked: int,
    ) -> Listing:
        items: list[Item] = []
        skipped: list[dict[str, str]] = []
        keep: list[str] = []
        new_state: dict[str, dict[str, Any]] = {}
        counts: dict[str, int] = {}
        by_doc: set[str] = set()
        for url, page in sorted(pages.items()):
            counts[page.status] = counts.get(page.status, 0) + 1
            doc = self.doc_id(url)
            if page.status in ("ok", "same") and page.fmt:
                if doc in by_doc:
                    continue
                by_doc.add(doc)
                items.append(Item(doc, page.fmt, page.validator, page.final_url or url, url))
                new_state[url] = {
                    "etag": page.etag,
                    "modified": page.modified,
                    "validator": page.validator,
                    "fmt": page.fmt,
                    "final": page.final_url or url,
                    "links": page.links,
                }
            elif page.status == "error":
                keep.append(doc)
                if url in old_state:
                    new_state[url] = old_state[url]
                skipped.append(
                    {"path": doc, "reason": f"{page.reason}; the indexed version is kept"}
                )
            elif page.status == "skip":
                skipped.append({"path": doc, "reason": page.reason})
        if limit_hit:
            notes["limit"] = limit_hit
            for url, entry in old_state.items():  # not reached this time: not gone either
                if url not in pages:
                    keep.append(self.doc_id(url))
                    new_state[url] = entry
        notes.update(
            {
                "fetched": counts.get("ok", 0) + counts.get("skip", 0),
                "not_modified": counts.get("same", 0),
                "gone": counts.get("gone", 0),
                "errors": counts.get("error", 0),
                "bytes": self._bytes,
            }
        )
        if blocked:
            notes["robots_blocked"] = blocked
        self._pages = {p.url: p for p in pages.values() if p.status == "ok"}
        self._new_state = new_state
        return Listing(sorted(items, key=lambda i: i.doc_id), 0, skipped, keep, notes=notes)

    def read(self, item: Item, max_bytes: int) -> bytes:
        page = self._pages.pop(item.key, None)
        if page is not None:
            data = page.body
        else:  # answered 304 but the index lost it: fetch it whole
            try:
                resp, _, data = self._get(item.key, max_bytes=max_bytes)
            except requests.RequestException as exc:
                raise LoadError(f"cannot fetch: {type(exc).__name__}") from exc
            if resp.status_code != 200:
                raise LoadError(f"HTTP {resp.status_code}")
        if len(data) > max_bytes:
            raise LoadError(f"too large ({len(data) / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB)")
        return data

