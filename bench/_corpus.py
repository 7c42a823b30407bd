"""Benchmark corpora: the Debian sqlite3-doc and git-doc manuals, plus the packaged sample docs.

The knowledge bases come from `bench/_data/kb` (fetched there with `apt-get download` +
`dpkg-deb -x` when missing, as /work/shared/eval/README.md describes), else from /work/kb.
Each corpus is copied into its own folder under `bench/_data/corpora/` with only the pages we
index (sqlite3-doc: the .html pages; git-doc: the asciidoc .txt pages, not the .html
duplicates), so the ingester sees exactly that set. Copies keep file bytes (and hashes), so
rebuilding a corpus folder never makes the incremental ingester re-embed anything.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DATA = BENCH / "_data"
KB_LOCAL = DATA / "kb"
KB_SHARED = Path("/work/kb")
EVAL = Path("/work/shared/eval")
SAMPLE_DOCS = REPO / "askdesk" / "sample" / "docs"
SAMPLE_GOLDEN = REPO / "askdesk" / "sample" / "golden.jsonl"


@dataclass(frozen=True)
class KB:
    name: str  # "sqlite3" or "git"
    package: str  # Debian package
    faq_page: str  # page that holds the FAQ, relative to the doc folder
    suffix: str  # the pages we index
    faq_set: Path  # the golden FAQ pairs


KBS = {
    "sqlite3": KB("sqlite3", "sqlite3-doc", "faq.html", ".html", EVAL / "sqlite3_faq.jsonl"),
    "git": KB("git", "git-doc", "gitfaq.txt", ".txt", EVAL / "git_faq.jsonl"),
}


def _find_doc_dir(root: Path, kb: KB) -> Path | None:
    """The folder holding the FAQ page: sqlite3-doc installs into usr/share/doc/sqlite3/."""
    base = root / kb.name / "usr" / "share" / "doc"
    if not base.is_dir():
        return None
    for sub in sorted(base.iterdir()):
        if (sub / kb.faq_page).is_file():
            return sub
    return None


def _fetch(kb: KB) -> None:
    KB_LOCAL.mkdir(parents=True, exist_ok=True)
    print(f"[corpus] fetching {kb.package} into {KB_LOCAL}", file=sys.stderr, flush=True)
    # apt's output goes to stderr so a `--json` run keeps stdout clean
    subprocess.run(["apt-get", "download", kb.package], cwd=KB_LOCAL, check=True, stdout=sys.stderr)
    debs = sorted(KB_LOCAL.glob(f"{kb.package}_*.deb"))
    if not debs:
        raise RuntimeError(f"apt-get download produced no {kb.package} .deb")
    subprocess.run(
        ["dpkg-deb", "-x", str(debs[-1]), str(KB_LOCAL / kb.name)], check=True, stdout=sys.stderr
    )


def doc_dir(name: str) -> Path:
    """The extracted doc folder of one knowledge base, fetching it if no copy exists."""
    kb = KBS[name]
    for root in (KB_LOCAL, KB_SHARED):
        found = _find_doc_dir(root, kb)
        if found:
            return found
    _fetch(kb)
    found = _find_doc_dir(KB_LOCAL, kb)
    if not found:
        raise RuntimeError(f"{kb.package} extracted but {kb.faq_page} not found")
    return found


def _sync(files: dict[str, Path], dest: Path) -> None:
    """Make dest hold exactly `files` (relative path → source), copying only what differs."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel, src in files.items():
        target = dest / rel
        if target.is_file() and filecmp.cmp(src, target, shallow=False):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    for path in sorted(dest.rglob("*"), reverse=True):
        rel = path.relative_to(dest).as_posix()
        if path.is_file() and rel not in files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def _pages(name: str) -> dict[str, Path]:
    kb = KBS[name]
    root = doc_dir(name)
    pages = {
        p.relative_to(root).as_posix(): p
        for p in sorted(root.rglob(f"*{kb.suffix}"))
        if p.is_file() and not p.name.startswith(".")
    }
    if kb.faq_page not in pages:
        raise RuntimeError(f"{kb.faq_page} is missing from the {name} pages under {root}")
    return pages


def kb_corpus(name: str) -> Path:
    """bench/_data/corpora/<name>: the pages of one knowledge base, FAQ page included."""
    dest = DATA / "corpora" / name
    _sync(_pages(name), dest)
    return dest


def mixed_corpus(dest: Path | None = None) -> Path:
    """git-doc .txt pages plus the 33 sample docs (under sample/): ≥ 300 documents."""
    dest = dest or DATA / "corpora" / "mixed"
    files = {f"git/{rel}": p for rel, p in _pages("git").items()}
    files.update(
        {
            f"sample/{p.relative_to(SAMPLE_DOCS).as_posix()}": p
            for p in sorted(SAMPLE_DOCS.rglob("*"))
            if p.is_file()
        }
    )
    _sync(files, dest)
    return dest


def sample_corpus() -> Path:
    dest = DATA / "corpora" / "sample"
    _sync(
        {p.relative_to(SAMPLE_DOCS).as_posix(): p for p in SAMPLE_DOCS.rglob("*") if p.is_file()},
        dest,
    )
    return dest


if __name__ == "__main__":
    for n in KBS:
        folder = kb_corpus(n)
        count = sum(1 for p in folder.rglob("*") if p.is_file())
        print(f"{n}: {count} pages in {folder} (from {doc_dir(n)})")
    m = mixed_corpus()
    print(f"mixed: {sum(1 for p in m.rglob('*') if p.is_file())} documents in {m}")
