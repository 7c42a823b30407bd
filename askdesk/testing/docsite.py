"""A real documentation site on a loopback HTTP server, for the website source's tests and
bench: pages, sitemaps and robots.txt with ETag / Last-Modified (304 when unchanged), redirects
(inside, outside, looping), 404, 500, a slow page, a page dribbled byte by byte, basic auth,
a PDF and an image. Everything is mutable while it runs (`site.pages`, `site.status`), and
every request is counted, with the Authorization header it carried.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from askdesk.testing.loopback import LoopbackHTTP

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "sqlite-doc"  # in a checkout
PDF = Path(__file__).resolve().parents[1] / "sample" / "docs" / "billing"
PDF = PDF / "invoice-guide.pdf"


class DocSite(LoopbackHTTP):
    """Serves `pages` (path → (body, content type)) on 127.0.0.1; start()/stop()."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[bytes, str]] = {}
        self.status: dict[str, int] = {}  # path → forced status (404, 500...)
        self.redirects: dict[str, str] = {}  # path → Location
        self.slow: dict[str, float] = {}  # path → seconds to wait before answering
        self.dribble: dict[str, float] = {}  # path → seconds between the body's bytes
        self.auth: tuple[str, str] | None = None  # basic auth every request must carry
        self.authorization: list[tuple[str, str | None]] = []  # path → Authorization sent
        self.requests: list[tuple[str, int]] = []
        self.bytes_sent = 0
        self.robots: str | None = None
        self.lock = threading.Lock()
        super().__init__()

    def count(self, code: int | None = None) -> int:
        with self.lock:
            return sum(1 for _, c in self.requests if code is None or c == code)

    def reset_counts(self) -> None:
        with self.lock:
            self.requests.clear()
            self.bytes_sent = 0

    def html(self, path: str, title: str, body: str) -> None:
        page = (
            f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
        )
        self.pages[path] = (page.encode(), "text/html; charset=utf-8")

    def sitemap(self, path: str, urls: list[str]) -> None:
        locs = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
        )
        self.pages[path] = (xml.encode(), "application/xml")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)
                with site.lock:
                    site.requests.append((self.path, code))
                    site.bytes_sent += len(body)

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                given = self.headers.get("Authorization")
                with site.lock:
                    site.authorization.append((self.path, given))
                if site.auth is not None:
                    pair = f"{site.auth[0]}:{site.auth[1]}".encode()
                    if given != "Basic " + base64.b64encode(pair).decode():
                        self._send(401, b"login", {"WWW-Authenticate": 'Basic realm="docs"'})
                        return
                if path in site.slow:
                    time.sleep(site.slow[path])
                if path == "/robots.txt" and site.robots is not None:
                    self._page(site.robots.encode(), "text/plain")
                    return
                if path in site.redirects:
                    self._send(301, b"", {"Location": site.redirects[path]})
                    return
                if path in site.status:
                    code = site.status[path]
                    self._send(code, f"error {code}".encode(), {"Content-Type": "text/plain"})
                    return
                if path not in site.pages:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})
                    return
                self._page(*site.pages[path])

            def _page(self, body: bytes, ctype: str) -> None:
                """200 with ETag / Last-Modified, or 304 when If-None-Match matches."""
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                modified = formatdate(1_700_000_000, usegmt=True)
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", {"ETag": etag})
                    return
                headers = {"Content-Type": ctype, "ETag": etag, "Last-Modified": modified}
                path = self.path.split("?", 1)[0]
                if path in site.dribble:
                    self._dribble(body, headers, site.dribble[path])
                    return
                self._send(200, body, headers)

            def _dribble(self, body: bytes, headers: dict[str, str], gap: float) -> None:
                """One byte at a time, `gap` seconds apart: never idle long enough for a
                per-read timeout to fire."""
                self.send_response(200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with site.lock:
                    site.requests.append((self.path, 200))
                try:
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(gap)
                except OSError:  # the client gave up
                    return

        return Handler


def sqlite_site(prefix: str = "/docs/") -> DocSite:
    """The SQLite slice under `prefix`, with a PDF, an image and an index page linking all."""
    site = DocSite()
    names = []
    for f in sorted(DATA.glob("*.html")):
        site.pages[prefix + f.name] = (f.read_bytes(), "text/html; charset=utf-8")
        names.append(f.name)
    site.pages[prefix + "invoice-guide.pdf"] = (PDF.read_bytes(), "application/pdf")
    site.pages[prefix + "logo.png"] = (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")
    links = "".join(f'<li><a href="{n}">{n}</a></li>' for n in [*names, "invoice-guide.pdf"])
    site.html(prefix + "index.html", "SQLite docs", f"<p>The documentation.</p><ul>{links}</ul>")
    return site
