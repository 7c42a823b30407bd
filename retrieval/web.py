"""A website as a source: crawl within the start URL's prefix, politely and incrementally.

Like the peers' web connectors (Onyx, DocsGPT), the pages come from the site's sitemap
(robots.txt `Sitemap:` lines, else `sitemap.xml`; sitemap indexes followed) when it has
one, else from following links from the start page. Only URLs under the start URL's prefix
are fetched, robots.txt is obeyed, and every request carries the validators of the last
sync (If-None-Match / If-Modified-Since): an unchanged page costs one 304 and is not read
or embedded again. Redirects are followed by hand so each hop stays inside the prefix.

What a sync does with each answer: 200 → indexed (HTML, PDF, Markdown, text; other types
skipped); 404/410 → the page is gone, its chunks are removed; 5xx, timeouts, refused
connections → the page is kept as indexed and reported. A sync never deletes what it could
not see: when a page, a sitemap or the sync itself fails or runs out of time, every page it
did not reach is kept and the listing says why (`Listing.partial`, a "partial" run); the
last-known links of a failed page are still followed. A sync that hits the page or byte
limit keeps the pages it did not reach too. robots.txt that answers 5xx (or cannot be
reached) disallows everything for that sync (RFC 9309 2.3.1.4); a 4xx allows everything.

The crawler stays where it was sent: every URL is normalised (askdesk.retrieval.urls) before the
prefix check; pages must be under the prefix, robots.txt and sitemaps on the same origin
(a sitemap under the prefix or at the site's root); connections obey the source's address
policy (askdesk.retrieval.netguard: no private, loopback, link-local or metadata address unless
the source itself is on one); a token, or the `user:password@` of the start URL (taken out
of the URL and kept in memory only), is sent to the configured origin and nowhere else.
Each request has a wall-clock deadline, and so has the whole sync.

The validators live in DATA_DIR/sources/<name>/, and robots.txt and every sitemap are asked
for the same way: their validators and parsed content (robots lines, sitemap locs) are kept
beside the pages', so an unchanged site costs only 304s; a saved copy that cannot be read is
ignored and the file fetched whole.
"""

from __future__ import annotations

import base64
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
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import lxml.html
import requests

from askdesk.retrieval.crawl_limits import CrawlLimits
from askdesk.retrieval.documents import PIPELINE_VERSION, LoadError
from askdesk.retrieval.loaders import format_for_type
from askdesk.retrieval.netguard import AddressPolicy, deadline, guarded_session, refusal_of
from askdesk.retrieval.sources import Item, Listing, Source, prefixed
from askdesk.retrieval.urls import host_port, normalize, origin, split_credentials

log = logging.getLogger(__name__)

__all__ = ["CrawlLimits", "PageTimeout", "Refused", "WebError", "WebSource"]

USER_AGENT = "askdesk-docs-sync/1.0 (+https://github.com/askdesk; indexes docs for a help bot)"
MAX_REDIRECTS = 5
MAX_SITEMAPS = 50
MAX_SITEMAP_BYTES = 50_000_000  # the sitemaps.org limit per file (uncompressed)
_STATE = "web.json"
_GONE = (404, 410)


class WebError(Exception):
    """The site cannot be crawled at all (unreachable, start page missing); one line."""


class PageTimeout(LoadError):
    """A request ran past its wall-clock deadline (the page's or the sync's)."""


class Refused(LoadError):
    """A URL or address the crawler must not go to."""


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
    """One page, one URL (askdesk.retrieval.urls.normalize)."""
    return normalize(url)


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


class WebSource(Source):
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
        bare, user, password = split_credentials(start_url.strip())
        self.start = _canonical(bare)
        self.prefix = _prefix(bare)
        self.origin = origin(self.start)
        self.workdir = Path(workdir)
        self.name = name
        self.limits = limits or CrawlLimits()
        self.location = self.start
        self._token = token
        # user:password@ of the configured URL: in memory only, sent to this origin only
        self._basic = (user or "", password or "") if user or password else None
        self._policy: AddressPolicy | None = None
        self._sync_ends = float("inf")
        self._partial: list[str] = []
        self._local = threading.local()
        self._pages: dict[str, _Page] = {}
        self._new_state: dict[str, dict[str, Any]] | None = None
        self._old_meta: dict[str, dict[str, Any]] = {}
        self._new_meta: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._bytes = 0

    # -- HTTP --------------------------------------------------------------------------------
    def policy(self) -> AddressPolicy:
        """Where this source may connect: decided once per sync from the configured host's
        own addresses (askdesk.retrieval.netguard)."""
        if self._policy is None:
            host, port = host_port(self.start)
            try:
                self._policy = AddressPolicy.for_host(host, port)
            except OSError as exc:
                raise WebError(f"cannot resolve {host}: {exc.strerror or exc}") from None
        return self._policy

    def _session(self) -> requests.Session:
        policy = self.policy()
        held = getattr(self._local, "held", None)
        if held is None or held[0] is not policy:
            held = (policy, guarded_session(policy, USER_AGENT))
            self._local.held = held
        return held[1]

    def _headers(self, url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if origin(url) != self.origin:  # credentials go to the configured origin only
            return headers
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        elif self._basic:
            pair = f"{self._basic[0]}:{self._basic[1]}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return headers

    def in_prefix(self, url: str) -> bool:
        """Whether a normalised URL is a page of this source."""
        return url.startswith(self.prefix)

    def sitemap_allowed(self, url: str) -> bool:
        """Sitemaps on this origin, under the prefix or at the site's root (/sitemap.xml)."""
        if self.in_prefix(url):
            return True
        if origin(url) != self.origin:
            return False
        path = urlsplit(url).path
        return path.count("/") == 1 and not urlsplit(url).query

    def _page_deadline(self) -> float:
        return max(0.0, min(self.limits.page_deadline_s, self._sync_ends - time.monotonic()))

    def _get(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
        inside: Any = None,
    ) -> tuple[requests.Response, str, bytes]:
        """GET following redirects by hand (each hop must stay `inside`, by default the
        prefix), within the page deadline; returns the last response, the final URL and
        its body (at most max_bytes, else LoadError; PageTimeout past the deadline)."""
        inside = inside or self.in_prefix
        seconds = self._page_deadline()
        if seconds <= 0:
            raise PageTimeout(f"sync deadline ({self.limits.sync_deadline_s:g} s) reached")
        with deadline(seconds) as limit:
            try:
                return self._get_within(url, headers, max_bytes, inside, limit)
            except (requests.RequestException, OSError) as exc:
                if limit.expired:
                    raise PageTimeout(f"took longer than {seconds:.0f} s") from None
                why = refusal_of(exc)
                if why is not None:
                    raise Refused(why) from None
                raise

    def _get_within(
        self, url: str, headers: dict[str, str] | None, max_bytes: int | None, inside: Any, limit
    ) -> tuple[requests.Response, str, bytes]:
        seen = {url}
        cap = max_bytes or self.limits.max_page_bytes
        for _ in range(MAX_REDIRECTS + 1):
            if not inside(url):
                raise Refused(f"outside the site ({url[:120]})")
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
                if not inside(target):
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
                    if size > cap:
                        resp.close()
                        raise LoadError(f"too large (over {cap / 1e6:.1f} MB)")
                    chunks.append(block)
                body = b"".join(chunks)
            resp.close()
            if limit.expired:  # a body cut short by the deadline is not the page
                raise PageTimeout(f"took longer than {limit.seconds:.0f} s")
            return resp, url, body
        raise LoadError(f"more than {MAX_REDIRECTS} redirects")

    def _pause(self, delay: float) -> None:
        if delay > 0:
            time.sleep(delay)

    # -- state -------------------------------------------------------------------------------
    def _state(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads((self.workdir / _STATE).read_text())
            pages = data.get("pages", {}) if data.get("prefix") == self.prefix else {}
        except (OSError, ValueError, AttributeError):
            return {}
        if not isinstance(pages, dict):
            return {}
        # a page an older crawler let in (`docs/../x`) is not kept: it is not this source's
        return {
            url: entry
            for url, entry in pages.items()
            if isinstance(entry, dict) and _canonical(url) == url and self.in_prefix(url)
        }

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
        self, url: str, max_bytes: int, content_ok: Any, inside: Any
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
        resp, _, body = self._get(url, headers or None, max_bytes=max_bytes, inside=inside)
        if resp.status_code == 304 and saved:
            self._new_meta[url] = saved
            return 304, None, saved
        if resp.status_code == 304:  # a 304 we did not ask for: fetch it whole
            resp, _, body = self._get(url, max_bytes=max_bytes, inside=inside)
        entry = {"etag": resp.headers.get("ETag"), "modified": resp.headers.get("Last-Modified")}
        return resp.status_code, body, entry

    # -- discovery ---------------------------------------------------------------------------
    def _robots(self, notes: dict[str, Any]) -> tuple[RobotFileParser | None, list[str], float]:
        """robots.txt: its rules, the sitemaps it names (those this source may read) and
        its crawl delay. Unreachable or 5xx → WebError (RFC 9309: assume complete
        disallow, so nothing is fetched and nothing removed); 4xx → no rules."""
        url = f"{self.origin}/robots.txt"

        def lines_ok(saved: dict[str, Any]) -> bool:
            lines = saved.get("lines")
            return isinstance(lines, list) and all(isinstance(ln, str) for ln in lines)

        def same_origin(u: str) -> bool:
            return origin(u) == self.origin

        kept = "nothing is crawled this time (RFC 9309) and the indexed pages are kept"
        try:
            code, body, entry = self._conditional(url, 1_000_000, lines_ok, same_origin)
        except PageTimeout as exc:
            raise WebError(f"cannot fetch {url} ({exc}): {kept}") from None
        except requests.Timeout:
            raise WebError(f"cannot fetch {url} (timed out): {kept}") from None
        except requests.RequestException as exc:  # the site is not there at all
            raise WebError(
                f"cannot fetch {self.start}: cannot connect: {type(exc).__name__}"
            ) from None
        except Refused as exc:
            raise WebError(f"cannot fetch {url} ({exc}): {kept}") from None
        except LoadError:  # too many redirects, too large, moved off the site: no rules
            return None, [], 0.0
        if code >= 500:
            raise WebError(f"{url} answered HTTP {code}: {kept}")
        if code == 304 and entry is not None:
            lines = list(entry["lines"])
        elif code == 200 and body is not None and entry is not None:
            lines = body.decode("utf-8", "replace").splitlines()
            self._new_meta[url] = {**entry, "lines": lines}
        else:  # 4xx: "unavailable", every page may be fetched
            return None, [], 0.0
        parser = RobotFileParser()
        parser.parse(lines)
        sitemaps = []
        for ln in lines:
            if not ln.lower().startswith("sitemap:"):
                continue
            named = _canonical(urljoin(url, ln.split(":", 1)[1].strip()))
            if self.sitemap_allowed(named):
                sitemaps.append(named)
            else:
                notes.setdefault("refused", []).append(f"robots.txt sitemap {named[:120]}")
        delay = parser.crawl_delay(USER_AGENT) or 0.0
        return parser, sitemaps, min(float(delay), 10.0)

    def _sitemap_urls(
        self, candidates: list[str], notes: dict[str, Any], *, named: bool = True
    ) -> list[str]:
        """Page URLs inside the prefix from the sitemaps (indexes followed), in order.

        Sitemaps are read only on this origin (`sitemap_allowed`); one named by robots.txt
        or an index that cannot be read whole (5xx, timeout, not XML, too large) makes the
        listing partial, and its locs of the last sync are used instead when kept. A
        sitemap guessed at the usual place that answers 4xx or HTML is just not there."""
        found: list[str] = []
        seen_maps: set[str] = set()
        queue = [(c, named) for c in candidates]
        total = 0
        while queue and len(seen_maps) < MAX_SITEMAPS:
            raw, was_named = queue.pop(0)
            url = _canonical(urljoin(self.prefix, raw))
            if url in seen_maps:
                continue
            if not self.sitemap_allowed(url):
                notes.setdefault("refused", []).append(f"sitemap {url[:120]}")
                continue
            seen_maps.add(url)
            got = self._one_sitemap(url, was_named, notes)
            if got is None:
                continue
            tag, locs = got
            if tag == "sitemapindex":
                queue.extend((loc, True) for loc in locs)
                continue
            for loc in locs:
                page = _canonical(urljoin(url, loc))
                if self.in_prefix(page):
                    total += 1
                    if len(found) < self.limits.max_pages:
                        found.append(page)
        if total:
            notes["sitemap_urls"] = total
        return list(dict.fromkeys(found))

    def _one_sitemap(
        self, url: str, named: bool, notes: dict[str, Any]
    ) -> tuple[str, list[str]] | None:
        """(tag, locs) of one sitemap, or None when it is not there (or unreadable, which
        `_unseen` records when no copy of the last sync can stand in)."""
        problem = ""
        try:
            code, body, entry = self._conditional(
                url, MAX_SITEMAP_BYTES, _sitemap_ok, self.sitemap_allowed
            )
        except requests.Timeout:
            code, body, entry, problem = 0, None, None, "timed out"
        except requests.RequestException as exc:
            code, body, entry, problem = 0, None, None, f"cannot connect: {type(exc).__name__}"
        except LoadError as exc:
            code, body, entry, problem = 0, None, None, str(exc)
        if code == 304 and entry is not None:
            notes["sitemaps_not_modified"] = notes.get("sitemaps_not_modified", 0) + 1
            return entry["tag"], list(entry["locs"])
        if code == 200 and body is not None and entry is not None:
            if not body.lstrip().startswith(b"<"):  # a text sitemap: one URL a line
                text = body.decode("utf-8", "replace").splitlines()
                locs = [ln.strip() for ln in text if ln.strip().startswith(("http://", "https://"))]
                if locs:
                    self._new_meta[url] = {**entry, "tag": "urlset", "locs": locs}
                    return "urlset", locs
                problem = "not a sitemap" if named else ""
            else:
                try:
                    root = ET.fromstring(body)
                except ET.ParseError:
                    notes.setdefault("warnings", []).append(f"sitemap {url} is not valid XML")
                    problem = "not valid XML"
                else:
                    tag = root.tag.rsplit("}", 1)[-1]
                    locs = [
                        el.text.strip() for el in root.iter() if el.tag.endswith("loc") and el.text
                    ]
                    self._new_meta[url] = {**entry, "tag": tag, "locs": locs}
                    return tag, locs
        elif code in _GONE or (400 <= code < 500 and not named):
            return None
        elif code:
            problem = f"HTTP {code}"
        if not problem:
            return None
        saved = self._old_meta.get(url)
        self._unseen(f"sitemap {url} unreadable ({problem})")
        if isinstance(saved, dict) and _sitemap_ok(saved):  # the last sync's copy stands in
            self._new_meta[url] = saved
            notes.setdefault("warnings", []).append(f"sitemap {url}: the last sync's copy used")
            return saved["tag"], list(saved["locs"])
        return None

    def _unseen(self, why: str) -> None:
        """Something that may list pages could not be read: the sync is partial, and every
        page it did not reach is kept."""
        with self._lock:
            if why not in self._partial:
                self._partial.append(why)

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
            return self._failed(url, old, "timed out")
        except requests.RequestException as exc:
            return self._failed(url, old, f"cannot connect: {type(exc).__name__}")
        except PageTimeout as exc:
            return self._failed(url, old, str(exc))
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
            return self._failed(url, old, f"HTTP {code}")
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

    def _failed(self, url: str, old: dict[str, Any] | None, reason: str) -> _Page:
        """A page that could not be read this time: kept as indexed, and its links of the
        last sync still followed, so pages reachable only through it are not dropped."""
        links = old.get("links") if old else None
        links = links if isinstance(links, list) else []
        known = [_canonical(u) for u in links if isinstance(u, str)]
        return _Page(url, "error", reason=reason, links=[u for u in known if self.in_prefix(u)])

    def _links(self, body: bytes, base: str) -> list[str]:
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
            if self.in_prefix(url):
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
        self._partial = []
        self._policy = None  # the configured host is resolved again for each sync
        self._sync_ends = time.monotonic() + self.limits.sync_deadline_s
        self.policy()
        notes: dict[str, Any] = {}
        robots, sitemaps, crawl_delay = self._robots(notes)
        delay = max(self.limits.delay_s, crawl_delay)
        allowed = (lambda u: robots.can_fetch(USER_AGENT, u)) if robots else (lambda u: True)
        if not allowed(self.start):
            raise WebError(f"robots.txt does not allow fetching {self.start}")

        guessed = not sitemaps
        listed = self._sitemap_urls(
            sitemaps or [self.prefix + "sitemap.xml"], notes, named=not guessed
        )
        if not listed and guessed and self.prefix != _prefix(self.origin + "/"):
            listed = self._sitemap_urls([self.origin + "/sitemap.xml"], notes, named=False)
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
                if time.monotonic() >= self._sync_ends and (frontier or follow):
                    limit_hit = f"sync deadline ({self.limits.sync_deadline_s:g} s) reached"
                    self._unseen(limit_hit)
                elif len(pages) >= self.limits.max_pages and frontier:
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
        failed = [p for p in pages.values() if p.status == "error"]
        if failed:
            reasons = sorted({p.reason for p in failed})
            self._unseen(f"{len(failed)} page(s) unreachable ({', '.join(reasons)[:160]})")
        if limit_hit:
            notes["limit"] = limit_hit
        if limit_hit or self._partial:
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
        if self._partial:
            notes["partial"] = list(self._partial)
        self._pages = {p.url: p for p in pages.values() if p.status == "ok"}
        self._new_state = new_state
        listing = Listing(sorted(items, key=lambda i: i.doc_id), 0, skipped, keep, notes=notes)
        listing.partial = list(self._partial)
        return listing

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
