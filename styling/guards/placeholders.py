"""Facts by construction: hide every fact behind a placeholder before the model sees a draft.

The CPU trial (shared/MODELS.md) showed a 135M model keeps most facts but sometimes drops or
garbles one. If the model only ever sees `<F3>` instead of `tw keys rotate key_... --grace
24h`, it cannot misspell the command; all it must do is copy each placeholder once. The
restore step then puts the original spans back, and reports placeholders that the model
dropped, repeated or made up, so the answer can fall back to the plain draft.

Placeholder format `<F1>`, `<F2>`, ...:

- plain ASCII, a handful of common byte-level BPE tokens (`<`, `F`, digits, `>`) that a
  small model copies reliably; exotic brackets such as `⟦F1⟧` are multi-byte, rare tokens;
- self-delimiting: `<F1>` is not a prefix of `<F12>`;
- never confused with the citation markers `[1]` the answer keeps (a citation is itself a
  fact and gets its own placeholder), nor with Markdown (`**`, `[text](url)`, lists);
- short: a fenced code block of 60 tokens becomes one 4-token placeholder, and shorter
  sequences are the speed lever left on this CPU.

Identical spans share one placeholder. A fenced code block becomes one placeholder on its
own line; restore puts it back on its own line even if the model ran it into a sentence.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from askdesk.styling.guards.fact_patterns import DEFAULT_PRODUCT_TERMS, find_facts

PLACEHOLDER = re.compile(r"<F(\d+)>")
#: What a model might make of a placeholder: `< F3 >`, `<f3>`, `<F3`, `F3>`.
_NEAR_PLACEHOLDER = re.compile(r"<\s*[Ff]\s*\d+\s*>?|(?<![\w<])[Ff]\d+>")


def token(n: int) -> str:
    return f"<F{n}>"


@dataclass(frozen=True)
class PlaceholderProblems:
    """What is wrong with the placeholders of a model output (empty lists: nothing)."""

    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unknown or self.duplicated)

    def __str__(self) -> str:
        parts = [
            f"{label} {', '.join(items)}"
            for label, items in (
                ("missing", self.missing),
                ("unknown", self.unknown),
                ("duplicated", self.duplicated),
            )
            if items
        ]
        return "; ".join(parts) or "ok"


class PlaceholderError(ValueError):
    """A model output whose placeholders do not match the draft's."""

    def __init__(self, problems: PlaceholderProblems) -> None:
        super().__init__(str(problems))
        self.problems = problems


@dataclass(frozen=True)
class Protected:
    """A draft with its facts replaced by placeholders, and the way back."""

    original: str
    text: str
    tokens: Mapping[str, str]  # "<F1>" -> the original span
    kinds: Mapping[str, str]  # "<F1>" -> fact kind ("code_block", "url", ...)
    counts: Mapping[str, int]  # "<F1>" -> how often it occurs in `text`
    product_terms: tuple[str, ...] = DEFAULT_PRODUCT_TERMS

    def problems(self, model_output: str) -> PlaceholderProblems:
        """Placeholders missing from, repeated in or unknown to `model_output`."""
        seen = Counter(m.group() for m in PLACEHOLDER.finditer(model_output))
        missing = [t for t in self.tokens if seen[t] == 0]
        duplicated = [t for t, n in seen.items() if t in self.tokens and n > self.counts[t]]
        unknown = [t for t in seen if t not in self.tokens]
        stripped = PLACEHOLDER.sub(" ", model_output)
        unknown += [m.group() for m in _NEAR_PLACEHOLDER.finditer(stripped)]
        return PlaceholderProblems(missing, unknown, duplicated)

    def restore(self, model_output: str) -> str:
        """The model output with the original spans back; raises PlaceholderError if the
        placeholders are not exactly the draft's (each at least once, none more often than in
        the draft, none unknown)."""
        problems = self.problems(model_output)
        if not problems.ok:
            raise PlaceholderError(problems)
        out: list[str] = []
        pos = 0
        for m in PLACEHOLDER.finditer(model_output):
            before, span = model_output[pos : m.start()], self.tokens[m.group()]
            pos = m.end()
            if self.kinds[m.group()] == "code_block":
                # a fenced block only renders on lines of its own
                if before and not before.endswith("\n"):
                    before = before.rstrip(" \t") + "\n\n"
                rest = model_output[pos:]
                if rest and not rest.startswith("\n"):
                    span += "\n\n"
                    pos += len(rest) - len(rest.lstrip(" \t"))
            out.append(before + span)
        out.append(model_output[pos:])
        return "".join(out)

    def apply(self, other: str) -> str:
        """Replace the facts of `other` (e.g. a training target) that are written exactly as
        in the draft with the draft's placeholders; other facts are left as they are."""
        by_span = {span: tok for tok, span in self.tokens.items()}
        out, pos = [], 0
        for fact in find_facts(other, self.product_terms):
            if fact.text in by_span:
                out.append(other[pos : fact.start] + by_span[fact.text])
                pos = fact.end
        out.append(other[pos:])
        return "".join(out)


def protect(text: str, product_terms: Iterable[str] = DEFAULT_PRODUCT_TERMS) -> Protected:
    """Replace every fact span of `text` with a placeholder; identical spans share one.

    Raises ValueError if the text itself contains something that looks like a placeholder
    outside its facts (restoring would be ambiguous): keep the plain draft then.
    """
    terms = tuple(product_terms)
    facts = find_facts(text, terms)
    prose = list(text)
    for fact in facts:
        if fact.kind in ("code", "code_block"):  # inside code, `<F1>` is just code
            prose[fact.start : fact.end] = " " * (fact.end - fact.start)
    if PLACEHOLDER.search("".join(prose)):
        raise ValueError("the text already contains placeholder-like tokens such as <F1>")
    tokens: dict[str, str] = {}
    kinds: dict[str, str] = {}
    by_span: dict[tuple[str, str], str] = {}
    counts: Counter[str] = Counter()
    out, pos = [], 0
    for fact in facts:
        key = (fact.kind, fact.text)
        if key not in by_span:
            by_span[key] = token(len(by_span) + 1)
            tokens[by_span[key]] = fact.text
            kinds[by_span[key]] = fact.kind
        counts[by_span[key]] += 1
        out.append(text[pos : fact.start] + by_span[key])
        pos = fact.end
    out.append(text[pos:])
    protected = "".join(out)
    if len(PLACEHOLDER.findall(protected)) != len(facts) or _NEAR_PLACEHOLDER.search(
        PLACEHOLDER.sub(" ", protected)
    ):
        raise ValueError("the text already contains placeholder-like tokens such as <F1>")
    return Protected(text, protected, tokens, kinds, dict(counts), terms)
