"""URLs as the crawler compares them: one spelling per page, and credentials kept apart.

A prefix check on raw strings can be walked around (`/docs/../secret.html` starts with
`/docs/`, and the HTTP client removes the dot segments before sending), so every URL is
normalised first (RFC 3986 section 6: scheme and host lower-cased, default port dropped,
percent-encoded unreserved characters decoded, dot segments removed). `user:password@` in a
URL is never part of the normalised form: `split_credentials` takes it out, exactly as
typed (not lower-cased), to be kept in memory only.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urldefrag, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def _decode_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char.isascii() and (char.isalnum() or char in "-._~") else match.group(0)


def remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4: `/a/b/../c/./d` → `/a/c/d`; never climbs above the root."""
    out: list[str] = []
    segments = path.split("/")
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if seg == ".":
            if last:
                out.append("")
            continue
        if seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
            continue
        out.append(seg)
    joined = "/".join(out)
    return joined if joined.startswith("/") else "/" + joined


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """The URL without `user:password@`, and the user and password exactly as given
    (percent-decoded, case kept); (url, None, None) when there are none."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, hostport = parts.netloc.rsplit("@", 1)
    user, sep, password = userinfo.partition(":")
    bare = parts._replace(netloc=hostport).geturl()
    return bare, unquote(user) or None, unquote(password) if sep else None


def redact(url: str) -> str:
    """A URL as it may be shown or stored: user and password removed."""
    return re.sub(r"(?<=://)[^/@?#]*@", "", url)


def host_port(url: str) -> tuple[str, int]:
    """The host (lower-case, IPv6 without brackets) and the port, default filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme, 0)


def normalize(url: str) -> str:
    """One spelling per page: fragment and credentials dropped, scheme and host lower-cased,
    the default port dropped, unreserved %-escapes decoded, dot segments removed. A URL that
    is not absolute http(s) is returned as it is (the caller refuses it)."""
    url = urldefrag(url.strip())[0]
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return url
    host, port = host_port(url)
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _ESCAPE.sub(_decode_unreserved, parts.path or "/")
    path = remove_dot_segments(path)
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{netloc}{path}{query}"


def origin(url: str) -> str:
    """scheme://host[:port] of a normalised URL."""
    parts = urlsplit(normalize(url))
    return f"{parts.scheme}://{parts.netloc}"
