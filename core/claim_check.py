"""Checks a generated answer sentence by sentence against the passages it cites.

askdesk's promise is that an answer never states what no cited source says. The extractive
composer keeps it by quoting; a language model's reply has to earn it. Each unit of the reply
(a sentence, a list item, a table row, a code block) is kept only when:

- every passage it cites exists (`[7]` when 4 were given is an error, never a guess);
- every number, identifier, URL, code span and mid-sentence proper name in it occurs in one of
  the passages it cites (an invented "45 days" or "Enterprise plan" fails here even when the
  rest of the sentence is copied);
- more than half of its content words occur in those passages: the same per-sentence test as
  the eval's groundedness measure, so "supported" means one thing everywhere.

A unit without a citation is unsupported, unless it is pure connective text ("Here is how:",
"Yes."): nothing in it could be checked, so nothing in it could be false. List items, rows and
code under a cited intro line ("...: [2]") share its citation. Unsupported units are dropped.

What is left is used only when it still answers (`CheckResult.enough`): at least one cited claim
kept, and either at least `MIN_KEPT_SHARE` of the reply's claims or `MIN_KEPT_CLAIMS` of them.
A short reply that was mostly unsupported is not trusted for the rest either (its one surviving
sentence rarely answers), and the caller answers extractively; a long reply with several
verified sentences left still does (bench/llm_overhead.py: long reference answers run past the
passage cut, and their sentences beyond it are dropped, rightly, while the rest stands).

A reply that says the docs do not cover the question (and keeps no claim) is a decline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from askdesk.core.grounding import groundedness
from askdesk.core.text_units import Unit, split_units, terms

MIN_KEPT_SHARE = 0.5
"""The checked reply stands when at least this share of its claims survived..."""
MIN_KEPT_CLAIMS = 3
"""...or at least this many (a long reply with this much verified is still an answer)."""

# a citation marker stands apart: "linkgit:git-config[1]" or "list[0]" in quoted text is not one
_CITE = re.compile(r"(?<![\w:/])\[(\d+(?:\s*,\s*\d+)*)\]")
_MARK = re.compile(r"(?<![\w:/])\[(\d+)\]")
_CITE_AFTER_END = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)(?=\s|$)")
_URL = re.compile(r"https?://[^\s)\]>\"']+|www\.[^\s)\]>\"']+")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,:/]\d+)*(?:%|\b)")
_IDENT = re.compile(
    r"(?<![\w/])(?:[A-Za-z]+[_.\-/][\w.\-/]*\w|--?[a-z][\w-]+|[A-Za-z]*\d[A-Za-z][\w-]*|"
    r"[A-Za-z]+\d(?:[\w.-]*\w)?|[A-Z]{2,}[a-z]*)"
)
_NAME = re.compile(r"(?<=[a-z,;)] )([A-Z][a-z]+(?:[A-Z][a-z]+)*)\b")
_DECLINE = re.compile(
    r"\bnot (?:in|covered (?:in|by)|mentioned in|described in|part of) the "
    r"(?:docs|documentation|passages|provided passages)\b"
    r"|\b(?:docs|documentation|passages) (?:do(?:es)? not|don't|doesn't) "
    r"(?:say|mention|cover|contain|describe|answer)"
    r"|\bno information (?:about|on)\b"
    r"|\bI (?:could ?n[o']t|can ?n[o']t|cannot|was unable to) find\b",
    re.I,
)
_CONNECTIVE_MAX_TERMS = 3  # an intro line ending in ":" with at most this many content words


@dataclass
class Checked:
    """One unit of the reply and what the check found."""

    unit: Unit
    cites: tuple[int, ...]
    kept: bool
    reason: str | None = None  # why it was dropped: "no citation", "cites [7] of 4", ...
    claim: bool = True  # False for connective text (kept, but not counted as a claim)


@dataclass
class CheckResult:
    text: str  # the kept units, rendered; citations as the reply numbered them
    units: list[Checked] = field(default_factory=list)
    declined: bool = False  # the model said the docs do not answer, and kept no claim
    groundedness_before: float | None = None  # eval's measure on the raw reply

    @property
    def claims(self) -> int:
        return sum(1 for c in self.units if c.claim)

    @property
    def kept(self) -> int:
        return sum(1 for c in self.units if c.claim and c.kept)

    @property
    def dropped(self) -> list[Checked]:
        return [c for c in self.units if not c.kept]

    @property
    def errors(self) -> int:
        """Citations of passages that do not exist."""
        return sum(1 for c in self.units if c.reason and c.reason.startswith("cites ["))

    @property
    def enough(self) -> bool:
        """At least one cited claim kept, and MIN_KEPT_SHARE of the claims or MIN_KEPT_CLAIMS."""
        share = self.kept >= MIN_KEPT_SHARE * self.claims
        return self.kept >= 1 and (share or self.kept >= MIN_KEPT_CLAIMS)

    def cited(self) -> list[int]:
        """Passage numbers the kept text cites, in order of first citation."""
        seen: list[int] = []
        for c in self.units:
            if c.kept:
                seen.extend(n for n in c.cites if n not in seen)
        return seen

    def summary(self) -> dict[str, Any]:
        """What the engine records and eval reports (no text: it may quote the asker)."""
        reasons: dict[str, int] = {}
        for c in self.dropped:
            key = (c.reason or "unsupported").split(":")[0]
            key = "bad citation" if key.startswith("cites [") else key
            reasons[key] = reasons.get(key, 0) + 1
        return {
            "claims": self.claims,
            "kept": self.kept,
            "dropped": len(self.dropped),
            "bad_citations": self.errors,
            "drop_reasons": reasons,
            "groundedness_before": self.groundedness_before,
            "declined": self.declined,
        }


def normalize_citations(text: str) -> str:
    """ "…end.[1]" and "…end. [1][2]" become "…end [1][2]." (the marker belongs to the
    sentence before it), and "[1, 2]" becomes "[1][2]"."""
    text = _CITE.sub(lambda m: "".join(f"[{n.strip()}]" for n in m.group(1).split(",")), text)
    return _CITE_AFTER_END.sub(lambda m: f" {m.group(2).strip()}{m.group(1)}", text)


def check_reply(reply: str, passages: Mapping[int, str]) -> CheckResult:
    """Check every unit of `reply` against the passages it cites (numbered as in the prompt)."""
    reply = normalize_citations(reply.strip())
    units = [u for u in split_units(reply) if u.text.strip()]
    folded = {n: _fold(t) for n, t in passages.items()}
    memo = _Memo(passages, folded)
    checked: list[Checked] = []
    intro: tuple[int, ...] = ()  # the citation a list/table/code under a cited intro shares
    for u in units:
        cites = tuple(dict.fromkeys(int(n) for n in _MARK.findall(u.text)))
        if u.kind == "sentence" or u.kind == "heading":
            intro = cites if u.text.rstrip(" .[]0123456789").endswith(":") else ()
        elif not cites:
            cites = intro
        checked.append(_check(u, cites, memo))
    result = CheckResult("", checked)
    result.groundedness_before = groundedness(reply, dict(passages))
    said_no = bool(_DECLINE.search(reply)) or not units
    result.declined = said_no and result.kept == 0
    result.text = render([c.unit for c in checked if c.kept])
    return result


class _Memo:
    """What the check derives from one set of cited passages (their folded text, their stemmed
    vocabulary), computed once per set, not once per unit: the check's cost grows with the
    reply's length, not with its length times the passages' (bench/llm_fallback.py)."""

    def __init__(self, passages: Mapping[int, str], folded: Mapping[int, str]) -> None:
        self.passages = passages
        self.folded = folded
        self._sources: dict[tuple[int, ...], str] = {}
        self._vocab: dict[tuple[int, ...], dict[tuple[int, ...], set[str]]] = {}

    def source(self, cites: tuple[int, ...]) -> str:
        if cites not in self._sources:
            self._sources[cites] = " ".join(self.folded[n] for n in cites)
        return self._sources[cites]

    def share(self, text: str, cites: tuple[int, ...]) -> float | None:
        cache = self._vocab.setdefault(cites, {})
        return groundedness(text, {n: self.passages[n] for n in cites}, cache)


def _check(u: Unit, cites: tuple[int, ...], memo: _Memo) -> Checked:
    passages = memo.passages
    bare = _CITE.sub(" ", u.text)
    if u.kind == "heading" or _connective(bare):
        return Checked(u, cites, kept=True, claim=False)
    missing = [n for n in cites if n not in passages]
    if missing:
        return Checked(u, cites, False, f"cites [{missing[0]}] of {len(passages)}")
    if not cites:
        return Checked(u, cites, False, "no citation")
    source = memo.source(cites)
    for token in exact_tokens(bare):
        if not _occurs(_fold(token), source):
            return Checked(u, cites, False, f"not in the cited passages: {token[:40]}")
    if u.kind != "code":
        # eval's measure reads any "[5]" as a citation: the quoted ones left must not count
        quoted = re.sub(r"\[(\d+)\]", r"(\1)", bare)
        share = memo.share(quoted, cites)
        if share is not None and share < 1.0:
            return Checked(u, cites, False, "too little overlap with the cited passages")
    return Checked(u, cites, True)


def exact_tokens(text: str) -> list[str]:
    """What must be copied, not paraphrased: URLs, code spans, numbers, identifiers and
    proper names in the middle of a sentence. Order-preserving, without repeats."""
    found: list[str] = []
    rest = text
    for pattern in (_URL, _CODE_SPAN):
        for m in pattern.finditer(rest):
            found.append(m.group(1) if pattern is _CODE_SPAN else m.group(0).rstrip(".,;:"))
        rest = pattern.sub(" ", rest)
    if text.lstrip().startswith("```"):
        body = "\n".join(text.strip().splitlines()[1:-1])
        found.extend(line.strip() for line in body.splitlines() if line.strip())
        return list(dict.fromkeys(found))
    found += [m.group(0).rstrip(".") for m in _NUMBER.finditer(rest)]
    found += [m.group(0).rstrip(".-/") for m in _IDENT.finditer(rest)]
    found += [m.group(1) for m in _NAME.finditer(rest) if terms(m.group(1))]
    return list(dict.fromkeys(t for t in found if t))


def _occurs(token: str, source: str) -> bool:
    """`token` in `source` as a whole token: "9" is not in "90 days", nor "45" in "1945"."""
    lead = r"(?<!\w)" if token[:1].isalnum() else ""
    tail = r"(?!\w)" if token[-1:].isalnum() else ""
    return re.search(lead + re.escape(token) + tail, source) is not None


def _connective(text: str) -> bool:
    """Pure connective text: nothing checkable in it ("Yes.", "Here is how:")."""
    if exact_tokens(text):
        return False
    words = terms(text)
    return not words or (text.rstrip().endswith(":") and len(words) <= _CONNECTIVE_MAX_TERMS)


def _fold(text: str) -> str:
    """Lowercase, one space for any whitespace, thousands separators and Markdown emphasis
    dropped: "1,000" in the reply matches "1000" in a passage, `**Pro**` matches "Pro"."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.lower())
    text = text.replace("**", "").replace("`", "")
    return " ".join(text.split())


def render(units: list[Unit]) -> str:
    """The kept units in order: sentences of one paragraph on one line, list items and rows
    on their own lines, anything else a paragraph of its own."""
    out: list[str] = []
    prev: Unit | None = None
    for u in units:
        text = u.text if u.kind != "heading" else f"**{u.text}**"
        if prev is None:
            out.append(text)
        elif u.kind == "sentence" and prev.kind == "sentence" and prev.para == u.para:
            out.append(" " + text)
        elif u.kind in ("item", "row") and prev.kind in ("item", "row", "sentence"):
            out.append("\n" + text)
        else:
            out.append("\n\n" + text)
        prev = u
    return "".join(out).strip()


def renumber(text: str, order: list[int]) -> str:
    """Citations renumbered 1..m in `order` (the passages the kept text cites)."""
    new = {old: i for i, old in enumerate(order, 1)}
    return _MARK.sub(lambda m: f"[{new.get(int(m.group(1)), m.group(1))}]", text)
