"""API keys for the HTTP API: configured by settings, compared by hash, never logged.

A key is configured as `name=secret` (the secret in the environment, e.g.
`ASKDESK_HTTP_API_KEYS='docs=…,support=…'`) or as `name=sha256:<hex>` (only the digest in the
config file; `askdesk serve --hash-key SECRET` prints it). Requests send
`Authorization: Bearer <secret>`; the secret is hashed and compared with every configured
digest in constant time, so neither timing nor logs reveal a key. The key's *name* owns the
conversations and answers made with it (another key gets 404 for them).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
MIN_SECRET_CHARS = 16


class KeyConfigError(ValueError):
    """A configured key that cannot be used (bad name, short secret, bad digest)."""


@dataclass(frozen=True)
class ApiKey:
    name: str
    digest: bytes  # sha256 of the secret

    @property
    def channel(self) -> str:
        """The channel stored with this key's interactions: conversations are per key."""
        return f"key:{self.name}"


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


def parse_keys(entries: Iterable[str]) -> list[ApiKey]:
    """`name=secret` or `name=sha256:<64 hex>` entries → keys. Raises KeyConfigError with
    one line naming the entry's key name (never its secret)."""
    keys: list[ApiKey] = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        name, sep, value = entry.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not NAME.match(name):
            raise KeyConfigError(
                "an HTTP API key must be written name=secret (name: letters, digits, _ or -)"
            )
        if any(k.name == name for k in keys):
            raise KeyConfigError(f"HTTP API key {name!r} is configured twice")
        if value.startswith("sha256:"):
            try:
                raw = bytes.fromhex(value[7:])
            except ValueError:
                raw = b""
            if len(raw) != 32:
                raise KeyConfigError(f"HTTP API key {name!r}: sha256: needs 64 hex digits")
            keys.append(ApiKey(name, raw))
        else:
            if len(value) < MIN_SECRET_CHARS:
                raise KeyConfigError(
                    f"HTTP API key {name!r} is shorter than {MIN_SECRET_CHARS} characters"
                )
            keys.append(ApiKey(name, digest(value)))
    return keys


class KeyRing:
    """The configured keys; `find` answers which one a presented secret is."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self.keys = tuple(keys)

    def find(self, secret: str | None) -> ApiKey | None:
        if not secret:
            return None
        presented = digest(secret)
        found = None
        for key in self.keys:  # every digest compared: the time says nothing about which
            if hmac.compare_digest(presented, key.digest):
                found = key
        return found


def bearer(header: str | None) -> str | None:
    """The secret of an `Authorization: Bearer <secret>` header, else None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
