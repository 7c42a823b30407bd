"""Loading and checking brand-voice training pairs (JSONL: one draft → styled answer a line).

A few hundred pairs are all the style model learns from, so one bad pair matters: an output
that adds a number teaches the model to invent numbers. `check_examples` finds such lines
before training, with their line numbers, and makes the train/eval split (near-duplicate
groups kept on one side) that the training and the evaluation must share.

Run `python -m askdesk.styling.training.examples FILE` to print the report.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from askdesk.styling.guards.fact_patterns import DEFAULT_PRODUCT_TERMS, find_facts
from askdesk.styling.guards.facts import guard
from askdesk.styling.training.near_duplicates import groups, similar_pairs, split_groups

Severity = Literal["error", "warning"]
#: A file of this name beside the examples lists the team's product terms.
PRODUCT_TERMS_FILE = "product_terms.txt"


@dataclass(frozen=True)
class Example:
    """One pair; `line` is its 1-based line in the file. `topic` and `caution` are optional
    metadata (a topic-based eval split, the voice checks for warnings)."""

    input: str
    output: str
    line: int
    topic: str = ""
    caution: bool = False


@dataclass(frozen=True)
class Issue:
    line: int
    severity: Severity
    code: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.severity}: {self.message} [{self.code}]"


class ExamplesFileError(ValueError):
    """The file is not a list of JSON pairs; `issues` names every bad line."""

    def __init__(self, path: Path, issues: list[Issue]) -> None:
        self.issues = issues
        shown = "\n".join(f"  {i}" for i in issues[:20])
        more = f"\n  … and {len(issues) - 20} more" if len(issues) > 20 else ""
        super().__init__(f"{path}: {len(issues)} bad line(s)\n{shown}{more}")


def load_examples(path: str | Path) -> list[Example]:
    """Parse a JSONL file of `{"input", "output"[, "topic"][, "caution"]}` objects.

    Blank lines are skipped (line numbers still count them); other keys are ignored. Raises
    ExamplesFileError listing every line that is not such an object. Empty strings load
    fine: `check_examples` reports them.
    """
    path = Path(path)
    examples: list[Example] = []
    issues: list[Issue] = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            issues.append(Issue(n, "error", "bad_json", f"not valid JSON: {exc.msg}"))
            continue
        problem = _shape_problem(obj)
        if problem:
            issues.append(Issue(n, "error", "bad_shape", problem))
            continue
        examples.append(
            Example(obj["input"], obj["output"], n, obj.get("topic", ""), obj.get("caution", False))
        )
    if not examples and not issues:
        issues.append(Issue(0, "error", "no_examples", "the file holds no examples"))
    if issues:
        raise ExamplesFileError(path, issues)
    return examples


def _shape_problem(obj: object) -> str | None:
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__}"
    for key in ("input", "output"):
        if key not in obj:
            return f'missing "{key}"'
        if not isinstance(obj[key], str):
            return f'"{key}" must be a string, got {type(obj[key]).__name__}'
    if not isinstance(obj.get("topic", ""), str):
        return '"topic" must be a string'
    if not isinstance(obj.get("caution", False), bool):
        return '"caution" must be true or false'
    return None


def load_topics(path: str | Path) -> frozenset[str]:
    """A topic list file: one topic a line, `#` comments."""
    return frozenset(_list_file(path))


def load_product_terms(examples_path: str | Path) -> tuple[str, ...]:
    """The team's own vocabulary for the fact guard: `product_terms.txt` beside the examples
    file (one term a line, `#` comments), or none when there is no such file. The defaults
    know no product; the bundled sample keeps Tidewire's terms this way."""
    path = Path(examples_path).with_name(PRODUCT_TERMS_FILE)
    return tuple(dict.fromkeys(_list_file(path))) if path.is_file() else ()


def _list_file(path: str | Path) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [s for ln in lines if (s := ln.split("#", 1)[0].strip())]


@dataclass(frozen=True)
class CheckReport:
    """Issues by line, the split (0-based indexes into the examples) and counts."""

    issues: tuple[Issue, ...]
    train: tuple[int, ...]
    eval: tuple[int, ...]
    groups: tuple[tuple[int, ...], ...]  # near-duplicate groups of 2+ examples
    counts: dict[str, int] = field(default_factory=dict)
    product_terms: tuple[str, ...] = ()  # the terms the facts were checked with

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def format(self) -> str:
        summary = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return "\n".join([*(str(i) for i in self.issues), summary])


def check_examples(
    examples: Sequence[Example],
    *,
    max_chars: int = 2000,
    eval_share: float = 0.15,
    seed: int = 0,
    near_duplicate: float = 0.8,
    product_terms: Iterable[str] = DEFAULT_PRODUCT_TERMS,
    held_out_topics: Collection[str] | None = None,
    split: tuple[Sequence[int], Sequence[int]] | None = None,
) -> CheckReport:
    """Check every pair and split them into train and eval.

    Errors: empty input or output, exact duplicate lines, lines over `max_chars`, outputs
    with facts their input lacks, near-duplicates on both sides of the split. Warnings:
    outputs that drop a fact, use one more often or write one differently than the input
    (placeholders need the exact span, at most as often), inputs repeated with another
    output, and outputs that leave the input unchanged.

    The split: near-duplicate groups first, then whole groups to eval by a seeded hash until
    it holds `eval_share` of the examples. With `held_out_topics`, eval is every group that
    contains one of those topics instead. A given `split` is checked, not made.
    """
    terms = tuple(product_terms)
    issues: list[Issue] = []
    for ex in examples:
        issues.extend(_line_issues(ex, max_chars, terms))
    issues.extend(_duplicate_issues(examples))

    pairs = similar_pairs([ex.input for ex in examples], near_duplicate)
    group_list = groups(len(examples), pairs)
    if split is not None:
        train, evals = sorted(split[0]), sorted(split[1])
    elif held_out_topics is not None:
        held = set(held_out_topics)
        held_groups = [g for g in group_list if any(examples[j].topic in held for j in g)]
        evals = sorted(i for g in held_groups for i in g)
        chosen = set(evals)
        train = [i for i in range(len(examples)) if i not in chosen]
    else:
        train, evals = split_groups(
            group_list, lambda i: examples[i].input, eval_share=eval_share, seed=seed
        )
    issues.extend(_leak_issues(examples, pairs, set(train), set(evals)))

    issues.sort(key=lambda i: (i.line, i.severity, i.code))
    near = tuple(tuple(g) for g in group_list if len(g) > 1)
    counts = {
        "lines": len(examples),
        "train": len(train),
        "eval": len(evals),
        "errors": sum(i.severity == "error" for i in issues),
        "warnings": sum(i.severity == "warning" for i in issues),
        "near_duplicate_groups": len(near),
        "caution": sum(ex.caution for ex in examples),
    }
    return CheckReport(tuple(issues), tuple(train), tuple(evals), near, counts, terms)


def _line_issues(ex: Example, max_chars: int, terms: tuple[str, ...]) -> list[Issue]:
    out: list[Issue] = []
    for name, text in (("input", ex.input), ("output", ex.output)):
        if not text.strip():
            out.append(Issue(ex.line, "error", f"empty_{name}", f"{name} is empty"))
        elif len(text) > max_chars:
            msg = f"{name} has {len(text)} characters (max {max_chars})"
            out.append(Issue(ex.line, "error", "too_long", msg))
    if not ex.input.strip() or not ex.output.strip():
        return out
    result = guard(ex.input, ex.output, terms)
    if result.added:
        msg = "output adds facts not in the input: " + ", ".join(map(repr, result.added))
        out.append(Issue(ex.line, "error", "added_fact", msg))
    if result.missing:
        msg = "output drops facts of the input: " + ", ".join(map(repr, result.missing))
        out.append(Issue(ex.line, "warning", "dropped_fact", msg))
    repeated = _repeated(ex.input, ex.output, terms)
    if repeated:
        msg = "fact used more often than in the input: " + ", ".join(map(repr, repeated))
        out.append(Issue(ex.line, "warning", "repeated_fact", msg))
    reworded = _reworded(ex.input, ex.output, terms)
    if reworded:
        msg = "fact written differently than in the input: " + ", ".join(reworded)
        out.append(Issue(ex.line, "warning", "reworded_fact", msg))
    if ex.input.strip() == ex.output.strip():
        out.append(Issue(ex.line, "warning", "unchanged", "output repeats the input unchanged"))
    return out


def _repeated(draft: str, rewrite: str, terms: tuple[str, ...]) -> list[str]:
    """Spans the output writes more often than the input: with placeholders, the model
    would have to repeat one, which the restore step rejects as a loop."""
    before = Counter(f.text for f in find_facts(draft, terms))
    after = Counter(f.text for f in find_facts(rewrite, terms))
    return sorted(t for t, n in after.items() if 0 < before[t] < n)


def _reworded(draft: str, rewrite: str, terms: tuple[str, ...]) -> list[str]:
    """Facts equal in value but not in spelling (`24h` → `24 hours`): a placeholder of the
    input cannot stand for them in the output."""
    spans = {f.text for f in find_facts(draft, terms)}
    by_value = {(f.group, f.value): f.text for f in find_facts(draft, terms)}
    out = []
    for f in find_facts(rewrite, terms):
        original = by_value.get((f.group, f.value))
        if f.text not in spans and original is not None:
            out.append(f"{original!r} → {f.text!r}")
    return sorted(set(out))


def _duplicate_issues(examples: Sequence[Example]) -> list[Issue]:
    out: list[Issue] = []
    first_line: dict[tuple[str, str], int] = {}
    outputs_by_input: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        key = (ex.input, ex.output)
        if key in first_line:
            msg = f"exact duplicate of line {first_line[key]}"
            out.append(Issue(ex.line, "error", "duplicate", msg))
            continue
        first_line[key] = ex.line
        outputs_by_input[ex.input].append(ex)
    for same in outputs_by_input.values():
        for ex in same[1:]:
            msg = f"same input as line {same[0].line} with another output"
            out.append(Issue(ex.line, "warning", "duplicate_input", msg))
    return out


def _leak_issues(
    examples: Sequence[Example],
    pairs: Sequence[tuple[int, int, float]],
    train: set[int],
    evals: set[int],
) -> list[Issue]:
    out: list[Issue] = []
    for a, b, score in pairs:
        if (a in train and b in evals) or (a in evals and b in train):
            for i, j in ((a, b), (b, a)):
                side = "eval" if i in evals else "train"
                msg = (
                    f"near-duplicate of line {examples[j].line} (Jaccard {score:.2f}) "
                    f"is on the other side of the split ({side} here)"
                )
                out.append(Issue(examples[i].line, "error", "split_leak", msg))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m askdesk.styling.training.examples FILE.jsonl", file=sys.stderr)
        return 2
    try:
        examples = load_examples(args[0])
    except ExamplesFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    report = check_examples(examples, product_terms=load_product_terms(args[0]))
    print(report.format())
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "CheckReport",
    "Example",
    "ExamplesFileError",
    "Issue",
    "check_examples",
    "load_examples",
    "load_product_terms",
    "load_topics",
    "main",
]
