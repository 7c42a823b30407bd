"""Answer-level evaluation sets built from real FAQ pairs (../shared/eval), as its README says.

An FAQ's answers are grouped by section (the file when there is none) and each group becomes
Markdown pages of at most `PAGE_ANSWERS` answers, titled with the section's name, with no
question text anywhere: a composer must find the part of the right page that answers, and a
retriever the right page, from the question alone. The reference answer is the FAQ answer.

Out-of-scope sets come in two kinds:
- `held_out`: a third of the construction FAQ's sections (chosen by a stable hash of the name)
  is left out of the knowledge base; their questions are near the docs' topic but unanswerable;
- `foreign`: the git and SQLite FAQ questions asked against the construction pages.

Only the dev FAQs live here (construction, sqlite3, git from ../shared/eval; the Perl FAQ and
the Z shell FAQ extracted from Debian's perl-doc and zsh-doc by bench/debian_faqs.py into
bench/data); the Python, Django and Debian FAQs are reserved for acceptance checks and are never
read by the benchmarks.

Every dev set has its own out-of-scope split (`scope_sets`): a stable third of its sections held
out of the knowledge base, plus the questions of a foreign FAQ (`FOREIGN`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path


def _eval_dir() -> Path:
    """ASKDESK_EVAL_DIR, else the workspace's shared/eval beside the repository."""
    given = os.environ.get("ASKDESK_EVAL_DIR")
    beside = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"
    return Path(given) if given else beside if beside.is_dir() else Path("/work/shared/eval")


EVAL = _eval_dir()
DEV_FAQS = ("construction_faq_en", "sqlite3_faq", "git_faq", "perlfaq", "zsh_faq")
FOREIGN_MAX = 60  # foreign questions asked per set: enough for a share, cheap to search
LOCAL = Path(__file__).resolve().parent / "data"  # the sets built by bench/debian_faqs.py
# the questions asked of a set's KB that another FAQ answers: never answerable there
FOREIGN = {
    "construction_faq_en": ("sqlite3_faq", "git_faq"),
    "perlfaq": ("zsh_faq",),
    "zsh_faq": ("perlfaq",),
}
PAGE_ANSWERS = 8  # a group of more answers is split evenly: pages hold ~7 answers on average
_TITLE_OK = re.compile(r"^[A-Za-z][\w ,&'/()-]{1,60}$")
_TITLE_OK_LOCAL = re.compile(r"^[A-Za-z][\w ,&'/()?.:-]{1,70}$")  # extracted by us: no artefacts


@dataclass(frozen=True)
class FaqItem:
    id: str
    question: str
    answer: str
    doc_id: str  # the page that holds the answer


@dataclass
class FaqSet:
    """Pages (doc_id → Markdown) and the questions whose answers they hold."""

    name: str
    pages: dict[str, str] = field(default_factory=dict)
    items: list[FaqItem] = field(default_factory=list)

    def write(self, folder: Path) -> Path:
        """Write the pages as Markdown files (unchanged files are not rewritten)."""
        folder.mkdir(parents=True, exist_ok=True)
        wanted = set()
        for doc_id, text in self.pages.items():
            path = folder / doc_id
            wanted.add(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
        for stale in folder.rglob("*.md"):
            if stale not in wanted:
                stale.unlink()
        return folder


def load_pairs(name: str) -> list[dict[str, str]]:
    local = LOCAL / f"{name}.jsonl"
    path = local if local.is_file() else EVAL / f"{name}.jsonl"
    if not path.is_file():
        raise SystemExit(f"error: FAQ set not found: {path} (set ASKDESK_EVAL_DIR; see README)")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "page"


def _title(section: str | None, file: str, ok: re.Pattern[str] = _TITLE_OK) -> str:
    """The section's name; a stray extraction artefact (a command line) falls back to the file."""
    if section and ok.match(section.strip()):
        return section.strip().replace("-", " ").capitalize()
    return Path(file).stem.replace("-", " ").replace("_", " ").capitalize()


def _groups(pairs: list[dict[str, str]], local: bool = False) -> dict[str, list[dict[str, str]]]:
    ok = _TITLE_OK_LOCAL if local else _TITLE_OK
    groups: dict[str, list[dict[str, str]]] = {}
    for p in pairs:
        groups.setdefault(_title(p.get("section"), p["file"], ok), []).append(p)
    return groups


def _page_text(title: str, answers: list[str]) -> str:
    body = "\n\n".join(re.sub(r"\n\s*\n+", "\n", a.strip()) for a in answers)
    return f"# {title}\n\n{body}\n"


def build(name: str, *, exclude: set[str] | None = None, prefix: str = "") -> FaqSet:
    """The answer-level set of one FAQ file; `exclude` drops whole sections (by title)."""
    out = FaqSet(name)
    for title, pairs in _groups(load_pairs(name), (LOCAL / f"{name}.jsonl").is_file()).items():
        if exclude and title in exclude:
            continue
        n_pages = math.ceil(len(pairs) / PAGE_ANSWERS)
        size = math.ceil(len(pairs) / n_pages)
        for p_no in range(n_pages):
            part = pairs[p_no * size : (p_no + 1) * size]
            if not part:
                continue
            suffix = f"-{p_no + 1}" if n_pages > 1 else ""
            doc_id = f"{prefix}{_slug(title)}{suffix}.md"
            out.pages[doc_id] = _page_text(title, [p["answer"] for p in part])
            out.items += [FaqItem(p["id"], p["question"], p["answer"], doc_id) for p in part]
    return out


def held_out_sections(name: str = "construction_faq_en", share: float = 1 / 3) -> set[str]:
    """A stable third of the sections, chosen by hash, never by looking at the questions."""
    titles = sorted(_groups(load_pairs(name)))
    return {t for t in titles if _unit_hash(t) < share}


def _unit_hash(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def scope_sets(name: str = "construction_faq_en") -> tuple[FaqSet, list[FaqItem], list[FaqItem]]:
    """(in-scope knowledge base with its questions, held-out near-topic questions,
    foreign questions from another FAQ) for the answerability benchmark."""
    whole = build(name)
    if (LOCAL / f"{name}.jsonl").is_file():  # few, large sections: a third of the pages
        kb = FaqSet(name, {d: t for d, t in whole.pages.items() if _unit_hash(d) >= 1 / 3})
        kb.items = [i for i in whole.items if i.doc_id in kb.pages]
    else:
        kb = build(name, exclude=held_out_sections(name))
    held = [i for i in whole.items if i.doc_id not in kb.pages]
    foreign = [i for other in FOREIGN[name] for i in build(other).items]
    step = max(1, len(foreign) // FOREIGN_MAX)  # an even spread, never chosen by content
    foreign = foreign[::step][:FOREIGN_MAX]
    return kb, held, foreign
