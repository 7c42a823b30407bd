"""Where the facts are in a draft: one ordered list of spans, found by regular expressions.

A style rewrite may change every word of a draft except its facts, so the guard and the
placeholders need to know exactly which characters are facts. Patterns run from the most
specific to the most general, and each match is masked before the next pattern runs: the
`24` in `tw keys rotate --grace 24h`, the `2` in `[2]` and the digits of a URL are part of
one fact each and are never counted a second time as numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: No product's vocabulary by default: the patterns below find what every team's answers
#: share (numbers, units, durations, versions, money, code, URLs, identifiers, citations).
#: A team's own names (product, plans, roles, headers) are its `product_terms`, matched
#: case-sensitively with an optional plural "s": kept in `product_terms.txt` beside its
#: examples (askdesk.styling.training.examples.load_product_terms) and stored with each version.
DEFAULT_PRODUCT_TERMS: tuple[str, ...] = ()

#: Every kind of fact `find_facts` reports.
KINDS: tuple[str, ...] = (
    "code_block",
    "code",
    "url",
    "email",
    "identifier",
    "citation",
    "date",
    "ip",
    "time",
    "version",
    "money",
    "percent",
    "size",
    "duration",
    "number",
    "term",
)

#: Kinds compared as one: a value written as `code`, as a code block or bare is the same fact.
COMPARE_GROUP: dict[str, str] = {"code_block": "code", "identifier": "code"}

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_RANGE = rf"{_NUM}(?:\s?[–-]\s?{_NUM})?"
_UNITS = {
    "ms": "ms",
    "millisecond": "ms",
    "milliseconds": "ms",
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
    "m": "min",
    "min": "min",
    "mins": "min",
    "minute": "min",
    "minutes": "min",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "d": "d",
    "day": "d",
    "days": "d",
    "week": "w",
    "weeks": "w",
    "month": "mo",
    "months": "mo",
    "year": "y",
    "years": "y",
}
_UNIT = r"(?:business\s)?(?:" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")(?![A-Za-z])"
_TLDS = r"(?:example|com|org|net|io|dev|co|ai)"

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S)
_LIST_MARKER = re.compile(r"^[ \t]*\d{1,3}[.)](?=[ \t])", re.M)
#: Bold markers are layout: `**Answer quickly.**` must not read as the wildcard `quickly.**`.
_BOLD = re.compile(r"(?<!\*)\*\*(?=[^\s*])[^\n]*?(?<=[^\s*])\*\*(?!\*)")

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("code", re.compile(r"(?<!`)(`{1,2})(?!`)([^`\n]+?)(?<!`)\1(?!`)")),
    (
        "url",
        re.compile(
            r"(?:\b(?:https?|wss?|s3|ftp)://[^\s<>()\[\]\"'`*]+"
            r"|\burn:[\w.-]+(?::[\w.-]+)+"
            rf"|(?<![\w@./-])(?:[a-z0-9-]+\.)+{_TLDS}(?![\w-])(?:/[\w./%-]*)?)"
        ),
    ),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    (
        "identifier",
        re.compile(
            # file names, API paths, CLI flags, snake_case/prefix IDs, dotted event types,
            # camelCase names and scopes
            r"(?<![\w.-])[\w-]+\.(?:ya?ml|toml|json|jsonl|csv|zip|pdf|md|rst|txt|sh|exe|rss|fish)\b"
            r"|(?<![\w/~.])[~.]?/[\w.{}*-]*[A-Za-z][\w.{}*-]*(?:/[\w.{}*-]+)*/?"
            r"|(?<![\w-])--?[a-zA-Z][\w-]*"
            r"|(?<![\w.-])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]*)+(?:\.{3}|(?:\.[a-z_*][\w*]*)+)?"
            r"|(?<![\w.@/-])[a-z][a-z0-9_]+(?:\.(?:[a-z_][a-z0-9_]*|\*{1,2}))+(?![\w-])"
            r"|(?<![\w-])[a-z]+[A-Z][A-Za-z0-9]*"
            r"|(?<![\w:/-])[a-z][a-z_]*:[a-z_*][\w*]*(?![\w:])"  # scopes: events:write
        ),
    ),
    ("citation", re.compile(r"\[\d{1,3}\]")),
    ("date", re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])")),
    ("ip", re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?(?![\w/]|\.\d)")),
    ("time", re.compile(r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])")),
    ("version", re.compile(r"(?<![\w.])v?\d+(?:\.\d+){2,}(?![\w]|\.\d)|(?<![\w.])\d+\.x\b")),
    ("money", re.compile(rf"[$€£]\s?{_NUM}(?![\d])")),
    ("percent", re.compile(rf"(?<![\w.]){_RANGE}\s?%")),
    ("size", re.compile(rf"(?<![\w.]){_NUM}\s?(?:KB|MB|GB|TB|kB|bytes?)(?![A-Za-z])")),
    (
        "duration",
        re.compile(rf"(?<![\w.$]){_RANGE}[\s-]?{_UNIT}(?:\s?{_NUM}\s?{_UNIT})*"),
    ),
    ("number", re.compile(rf"(?<![\w.$/]){_NUM}(?:st|nd|rd|th)(?![A-Za-z])")),  # ordinals
    (
        # words that mix letters and digits: SHA256, 2xx, Sev1, x509, TW-2025-004217
        "identifier",
        re.compile(
            r"(?<![\w.,-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9][\w-]*[A-Za-z0-9](?![\w-])"
        ),
    ),
    (
        "number",
        re.compile(
            r"(?<![\w./])\d+/\d+(?![\w/])"
            rf"|(?<![\w.$])[-−]?{_RANGE}(?![\w%]|\.\d)"
        ),
    ),
)


@dataclass(frozen=True)
class Fact:
    """One fact as it is written (`text`, at `start`:`end`) and as it is compared (`value`)."""

    kind: str
    text: str
    value: str
    start: int
    end: int

    @property
    def group(self) -> str:
        """The comparison group: code spans, code blocks and bare identifiers share one."""
        return COMPARE_GROUP.get(self.kind, self.kind)


def term_pattern(product_terms: Iterable[str]) -> re.Pattern[str] | None:
    """Longest term first, so `Acme-Signature` wins over `Acme`."""
    terms = sorted({t for t in product_terms if t.strip()}, key=len, reverse=True)
    if not terms:
        return None
    alternation = "|".join(re.escape(t) for t in terms)
    return re.compile(rf"(?<![\w-])(?:{alternation})s?(?![\w-])")


def find_facts(text: str, product_terms: Iterable[str] = DEFAULT_PRODUCT_TERMS) -> list[Fact]:
    """Every fact span of `text`, in order of position, never overlapping."""
    terms = tuple(product_terms)
    canonical = {t: t for t in terms}
    facts: list[Fact] = []
    # characters already taken by a fact become NUL, so later (more general) patterns
    # cannot match inside them; list markers become spaces (layout, not facts)
    masked = list(text)
    for m in _LIST_MARKER.finditer(text):
        masked[m.start() : m.end()] = " " * (m.end() - m.start())
    patterns: list[tuple[str, re.Pattern[str]]] = [("code_block", _FENCE), *_PATTERNS]
    term_re = term_pattern(terms)
    if term_re is not None:
        patterns.append(("term", term_re))
    for kind, pattern in patterns:
        if kind == "url":  # after code: `**` in code is code, elsewhere it may be bold
            snapshot = "".join(masked)
            for m in _BOLD.finditer(snapshot):
                for a in (m.start(), m.end() - 2):
                    masked[a : a + 2] = "  "
        snapshot = "".join(masked)
        for m in pattern.finditer(snapshot):
            start, end = m.start(), _trim(kind, snapshot, m.start(), m.end())
            if end <= start or "\0" in snapshot[start:end]:
                continue
            raw = text[start:end]
            facts.append(Fact(kind, raw, _normalise(kind, raw, canonical), start, end))
            masked[start:end] = "\0" * (end - start)
    facts.sort(key=lambda f: f.start)
    return facts


def _trim(kind: str, text: str, start: int, end: int) -> int:
    """URLs and e-mail addresses never end with sentence punctuation."""
    if kind in ("url", "email"):
        while end > start and text[end - 1] in ".,;:!?)":
            end -= 1
    return end


def _normalise(kind: str, raw: str, canonical: dict[str, str]) -> str:
    if kind == "code_block":
        lines = raw.strip("\n").split("\n")
        closed = len(lines) > 1 and lines[-1].strip()[:3] in ("```", "~~~")
        body = lines[1:-1] if closed else lines[1:]
        return "\n".join(line.rstrip() for line in body).strip("\n")
    if kind == "code":
        return raw.strip("`").strip()
    if kind == "url":
        return raw.rstrip("/")
    if kind == "email":
        return raw.lower()
    if kind == "term":
        return canonical.get(raw) or canonical.get(raw[:-1], raw)
    if kind == "duration":
        return _duration_value(raw)
    if kind in ("number", "money", "percent", "size"):
        return re.sub(r"(?<=\d),(?=\d{3})", "", raw).replace("−", "-").replace(" ", "")
    return raw


def _duration_value(raw: str) -> str:
    """`24h`, `24 hours` and `24-hour` are one fact: `24 h`."""
    parts = []
    for m in re.finditer(rf"({_RANGE})[\s-]?((?:business\s)?)([A-Za-z]+)", raw):
        number = re.sub(r"(?<=\d),(?=\d{3})", "", m.group(1)).replace(" ", "")
        parts.append(f"{number} {m.group(2)}{_UNITS.get(m.group(3), m.group(3))}")
    return " ".join(parts) or raw
