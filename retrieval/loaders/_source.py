"""Reading a file's bytes and turning them into text, with the refusals users can act on.

Encoding policy: BOM-marked UTF-8/16/32 first, then UTF-8, then (HTML only) the charset the
page declares, then cp1252 — but only if the result looks like Western text (few non-ASCII
characters, all of them Latin-1 letters or typographic punctuation). Legacy Windows exports
with curly quotes are common in support folders; anything else decoded as cp1252 would be
mojibake in answers, so it is refused as a bad encoding instead.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from askdesk.retrieval.documents import LoadError

MB = 1_000_000  # decimal, as file managers and the ingest report show sizes
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CP1252_EXTRAS = frozenset("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ")
_MAX_NON_ASCII = 0.15
_MAX_CONTROL = 0.01
_ALLOWED_CONTROLS = frozenset("\t\n\r\f\v\x1b")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)


def _mb(n: int) -> str:
    value = n / MB
    return f"{value:.1f}".removesuffix(".0") if value >= 0.1 else f"{value:.2g}"


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """Check the size before reading so a huge file costs a stat, not a read."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(f"too large ({_mb(size)} MB > {_mb(max_bytes)} MB limit)")
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:  # grew between stat and read
        raise LoadError(f"too large ({_mb(len(data))} MB > {_mb(max_bytes)} MB limit)")
    if not data:
        raise LoadError("empty file")
    return data


def _looks_western(text: str) -> bool:
    non_ascii = [c for c in text if ord(c) > 0x7F]
    if len(non_ascii) > _MAX_NON_ASCII * len(text):
        return False
    return all("\u00a0" <= c <= "\u00ff" or c in _CP1252_EXTRAS for c in non_ascii)


def _declared_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    if not match:
        return None
    try:
        return codecs.lookup(match.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None


def _decode(data: bytes, html: bool) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                raise LoadError("not valid UTF-8 text (bad encoding)") from None
    if b"\x00" in data[:8192]:
        raise LoadError("binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _declared_charset(data) if html else None
    if declared and declared != "utf-8":
        try:
            return data.decode(declared)
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    if text and _looks_western(text):
        return text
    raise LoadError("not valid UTF-8 text (bad encoding)")


def decode_text(data: bytes, html: bool = False) -> str:
    """Bytes → text with normalised newlines, or a LoadError saying why not."""
    text = _decode(data, html)
    controls = sum(
        1 for c in text[:65536] if c not in _ALLOWED_CONTROLS and unicodedata.category(c) == "Cc"
    )
    if controls > _MAX_CONTROL * min(len(text), 65536):
        raise LoadError("binary file, not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise LoadError("empty file")
    return text
