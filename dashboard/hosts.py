"""Which Host, Origin and Referer values belong to the dashboard: pure parsing, no Flask.

Kept apart from the request hook (askdesk.dashboard.guard) so the settings can validate
`dashboard_allowed_hosts` with the same parser without importing a web framework.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("0.0.0.0", "::", "")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
#: Sec-Fetch-Site values of a request the dashboard's own page (or the user typing) made.
SAME_SITE_FETCH = ("same-origin", "none")
DEFAULT_PORTS = {"http": 80, "https": 443}


def split_host(value: str, default_port: int | None = None) -> tuple[str, int | None] | None:
    """`name:port`, `[v6]:port` or a bare name as (lowercase name, port); None if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:]
    elif value.count(":") == 1:
        name, _, port_text = value.partition(":")
    elif ":" in value:  # a bare IPv6 address: no port
        name, port_text = value, ""
    else:
        name, port_text = value, ""
    name = name.rstrip(".")
    if not name:
        return None
    if not port_text:
        return name, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return name, int(port_text)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_loopback(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostPolicy:
    """Which Host headers a server bound to (bind_name, bind_port) answers.

    - bound to loopback: localhost, 127.0.0.1 and [::1] (and the bound address) on the bound
      port;
    - bound to a wildcard (0.0.0.0, ::): any IP address on the bound port (an address cannot
      be rebound; a name can) and localhost;
    - bound to one address or name: that one, on the bound port;
    - plus every ``allowed`` entry: ``name`` (any port), ``name:port``, or ``*`` (no check,
      e.g. behind a reverse proxy that checks the Host itself).
    """

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.any_host = False
        self.names: set[str] = set()
        self.pairs: set[tuple[str, int]] = set()
        for entry in allowed:
            entry = entry.strip()
            if entry == "*":
                self.any_host = True
                continue
            parsed = split_host(entry)
            if parsed is None:
                raise ValueError(f"dashboard_allowed_hosts: not a host or host:port: {entry!r}")
            name, port = parsed
            if port is None:
                self.names.add(name)
            else:
                self.pairs.add((name, port))

    def allows(self, host: str, bind_name: str, bind_port: int) -> bool:
        parsed = split_host(host, default_port=80)
        if parsed is None:
            return False
        name, port = parsed
        if self.any_host or name in self.names or (name, port) in self.pairs:
            return True
        if port != bind_port:
            return False
        bind = bind_name.strip("[]").lower()
        if name == bind:
            return True
        if _is_loopback(bind):
            return name in LOOPBACK_NAMES
        if bind in WILDCARDS:
            return name == "localhost" or _is_ip(name)
        return False


def _origin_of(url: str) -> str | None:
    """An Origin or Referer as the `host[:port]` a Host header would carry (default port
    dropped), or None when it names no http(s) origin (e.g. ``null``)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None or port == DEFAULT_PORTS[parts.scheme]:
        return name.lower()
    return f"{name.lower()}:{port}"


def _same_host(a: str, b: str) -> bool:
    left, right = split_host(a, default_port=80), split_host(b, default_port=80)
    return left is not None and left == right


def cross_site(method: str, headers: Mapping[str, Any], host: str) -> str | None:
    """Why a state-changing request came from another site, or None if it did not say so.

    Origin first; without it Sec-Fetch-Site; without that the Referer. A request with none of
    them is not from a browser page (curl, a script) and is left to the Host check and auth.
    """
    if method.upper() in SAFE_METHODS:
        return None
    origin = headers.get("Origin")
    if origin is not None:
        seen = _origin_of(origin)
        return None if seen is not None and _same_host(seen, host) else "origin"
    fetch_site = headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return None if fetch_site.strip().lower() in SAME_SITE_FETCH else "sec-fetch-site"
    referer = headers.get("Referer")
    if referer is not None:
        seen = _origin_of(referer)
        return None if seen is not None and _same_host(seen, host) else "referer"
    return None
