"""Sanity checks for the bundled Tidewire sample knowledge base.

These tests deliberately import no askdesk code: they only check that the
files under askdesk/sample/ are present and well formed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parent.parent / "askdesk" / "sample"
DOCS = SAMPLE / "docs"
GOLDEN = SAMPLE / "golden.jsonl"
PDF = DOCS / "billing" / "invoice-guide.pdf"
FORMATS = {".md", ".rst", ".txt", ".html", ".pdf"}


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*") if p.is_file() and p.suffix in FORMATS)


def _golden() -> list[dict]:
    lines = [ln for ln in GOLDEN.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return [json.loads(ln) for ln in lines]


def test_page_count_in_range():
    pages = _pages()
    assert 25 <= len(pages) <= 45, f"{len(pages)} pages"


def test_all_formats_represented():
    suffixes = {p.suffix for p in _pages()}
    assert suffixes == FORMATS


def test_no_stray_files_in_docs():
    stray = [p for p in DOCS.rglob("*") if p.is_file() and p.suffix not in FORMATS]
    assert not stray, stray


def test_text_pages_are_non_trivial_utf8():
    for page in _pages():
        if page.suffix == ".pdf":
            continue
        text = page.read_text(encoding="utf-8")
        assert len(text.split()) >= 150, page


def test_faq_has_enough_questions():
    faq = (DOCS / "faq.md").read_text(encoding="utf-8")
    questions = [ln for ln in faq.splitlines() if ln.startswith("### ")]
    assert 15 <= len(questions) <= 25


def test_api_key_rotation_is_documented():
    text = (DOCS / "security" / "api-keys.md").read_text(encoding="utf-8")
    assert "## Rotating a key" in text
    assert "tw keys rotate" in text


def test_golden_lines_parse():
    raw = [ln for ln in GOLDEN.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert 30 <= len(raw) <= 50
    for i, line in enumerate(raw, 1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - failure path
            pytest.fail(f"golden line {i} is not JSON: {exc}")
        assert isinstance(obj, dict), i


def test_golden_entries_are_well_formed():
    questions = set()
    for entry in _golden():
        q = entry.get("question")
        assert isinstance(q, str) and q.strip(), entry
        assert q not in questions, f"duplicate question: {q}"
        questions.add(q)
        if entry.get("answerable") is False:  # the docs do not answer it: nothing to cite
            assert "sources" not in entry and "answer" not in entry, entry
            continue
        assert "answerable" not in entry, entry  # only the unanswerable ones are marked
        sources = entry.get("sources")
        assert isinstance(sources, list) and 1 <= len(sources) <= 2, entry
        assert isinstance(entry.get("answer"), str) and entry["answer"].strip(), entry


def test_golden_sources_exist():
    for entry in _golden():
        for src in entry.get("sources", []):
            assert not src.startswith("/") and ".." not in Path(src).parts, src
            assert (DOCS / src).is_file(), f"missing source {src} for {entry['question']!r}"


def test_golden_has_unanswerable_questions():
    assert sum(1 for e in _golden() if e.get("answerable") is False) >= 8


def test_golden_covers_every_format():
    covered = {Path(s).suffix for e in _golden() for s in e.get("sources", [])}
    assert covered >= FORMATS


def test_pdf_has_extractable_text():
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(str(PDF))
    assert len(reader.pages) >= 1
    first = reader.pages[0].extract_text()
    assert "Tidewire Invoice and Payment Guide" in first
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "TW-YYYY-NNNNNN" in text
    assert "reverse-charge" in text


def test_pdf_generator_is_committed():
    assert (SAMPLE / "make_pdf.py").is_file()
