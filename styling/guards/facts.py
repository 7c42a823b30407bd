"""Facts of a grounded draft, and the guard that a style rewrite keeps all of them.

The answer core shows a rewrite only if it says exactly what the draft said: every number,
URL, code span, citation marker and product term of the draft must survive, and nothing of
the kind may appear that the draft did not have. Checking this by construction (extract the
facts of both texts and compare) rather than by trusting the model is what makes a small
style model safe to ship: when the guard fails, the answer falls back to the plain draft.

Comparison is on normalised values (`24h` = `24 hours`, `10,000` = `10000`, bold around a fact
is ignored), as a multiset for citation markers (the rewrite must cite `[1]` as often as the
draft did) and as a set for everything else (saying "24 hours" once where the draft said it
twice loses nothing).

Known limits: numbers written as words ("two months", "one business day") are not facts,
and neither are ordinary words, so a rewrite that turns "rotate" into "revoke" passes; the
placeholders in `askdesk.styling.guards.placeholders` keep the model from touching the facts at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from askdesk.styling.guards.fact_patterns import DEFAULT_PRODUCT_TERMS, Fact, find_facts
from askdesk.styling.guards.placeholders import PlaceholderError, Protected, protect

__all__ = [
    "DEFAULT_PRODUCT_TERMS",
    "Fact",
    "Facts",
    "GuardResult",
    "PlaceholderError",
    "Protected",
    "check_rewrite",
    "extract_facts",
    "guard",
    "protect",
]

#: Kinds compared as a multiset; every other kind is compared as a set.
MULTISET_GROUPS = frozenset({"citation"})


@dataclass(frozen=True)
class Facts:
    """The facts of one text, in order and with repeats, as lists of the spans as written."""

    items: tuple[Fact, ...]

    def of(self, *kinds: str) -> list[str]:
        return [f.text for f in self.items if f.kind in kinds]

    @property
    def numbers(self) -> list[str]:
        return self.of("number")

    @property
    def percentages(self) -> list[str]:
        return self.of("percent")

    @property
    def money(self) -> list[str]:
        return self.of("money")

    @property
    def versions(self) -> list[str]:
        return self.of("version")

    @property
    def durations(self) -> list[str]:
        return self.of("duration")

    @property
    def times(self) -> list[str]:
        return self.of("time")

    @property
    def dates(self) -> list[str]:
        return self.of("date")

    @property
    def sizes(self) -> list[str]:
        return self.of("size")

    @property
    def ips(self) -> list[str]:
        return self.of("ip")

    @property
    def urls(self) -> list[str]:
        return self.of("url")

    @property
    def emails(self) -> list[str]:
        return self.of("email")

    @property
    def code_spans(self) -> list[str]:
        return self.of("code")

    @property
    def code_blocks(self) -> list[str]:
        return self.of("code_block")

    @property
    def identifiers(self) -> list[str]:
        """Code-like words outside backticks: `key_...`, `--grace`, `tidewire.yaml`, `2xx`."""
        return self.of("identifier")

    @property
    def citations(self) -> list[str]:
        return self.of("citation")

    @property
    def terms(self) -> list[str]:
        return self.of("term")

    def keys(self) -> Counter[tuple[str, str]]:
        """(comparison group, normalised value) with multiplicity: what the guard compares."""
        return Counter((f.group, f.value) for f in self.items)

    def __len__(self) -> int:
        return len(self.items)


def extract_facts(text: str, product_terms: Iterable[str] = DEFAULT_PRODUCT_TERMS) -> Facts:
    """The facts of `text`: numbers, durations, money, URLs, code, citations, terms, ..."""
    return Facts(tuple(find_facts(text, product_terms)))


@dataclass(frozen=True)
class GuardResult:
    """Whether a rewrite kept the draft's facts; `missing`/`added` hold the spans as written."""

    ok: bool
    missing: list[str]
    added: list[str]
    reason: str


def guard(
    draft: str, rewrite: str, product_terms: Iterable[str] = DEFAULT_PRODUCT_TERMS
) -> GuardResult:
    """Every fact of `draft` must be in `rewrite`, and `rewrite` may bring no new ones."""
    terms = tuple(product_terms)
    before = extract_facts(draft, terms)
    after = extract_facts(rewrite, terms)
    missing = _difference(before.items, after.keys())
    added = _difference(after.items, before.keys())
    return _result(missing, added)


def check_rewrite(
    protected: Protected,
    model_output: str,
    product_terms: Iterable[str] = DEFAULT_PRODUCT_TERMS,
) -> tuple[str | None, GuardResult]:
    """Restore a placeholder rewrite and guard it; the text is None unless the guard passed.

    A placeholder the model dropped, repeated or invented fails the guard before anything
    is restored, so the caller can fall back to the plain draft.
    """
    problems = protected.problems(model_output)
    if not problems.ok:
        missing = [protected.tokens[t] for t in problems.missing]
        added = [*problems.unknown, *problems.duplicated]
        return None, GuardResult(False, missing, added, f"placeholders: {problems}")
    restored = protected.restore(model_output)
    result = guard(protected.original, restored, product_terms)
    return (restored if result.ok else None), result


def _difference(items: Sequence[Fact], other: Counter[tuple[str, str]]) -> list[str]:
    """Spans of `items` whose value `other` lacks (or has fewer times, for citations)."""
    left = Counter(other)
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    for fact in items:
        key = (fact.group, fact.value)
        if fact.group in MULTISET_GROUPS:
            if left[key] > 0:
                left[key] -= 1
            else:
                out.append(fact.text)
        elif key not in other and key not in seen:
            seen.add(key)
            out.append(fact.text)
    return out


def _result(missing: list[str], added: list[str]) -> GuardResult:
    parts = []
    if missing:
        parts.append("missing " + ", ".join(_short(s) for s in missing))
    if added:
        parts.append("added " + ", ".join(_short(s) for s in added))
    return GuardResult(not parts, missing, added, "; ".join(parts) or "all facts kept")


def _short(span: str, limit: int = 40) -> str:
    one_line = " ".join(span.split())
    return repr(one_line if len(one_line) <= limit else one_line[: limit - 1] + "…")
