"""Loaders: real files in tmp_path, one per format, plus every refusal a user can see."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pytest

from askdesk.retrieval.documents import LoadError
from askdesk.retrieval.loaders import SUPPORTED_SUFFIXES, load_document


def put(root: Path, rel: str, content: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def load(root: Path, rel: str, content: str | bytes, **kw: int):
    return load_document(put(root, rel, content), root, **kw)


def by_path(doc) -> dict[tuple[str, ...], str]:
    return {s.heading_path: s.text for s in doc.sections}


def make_pdf(pages: list[list[str]], title: str | None = None, header: str = "") -> bytes:
    """A real PDF: one multi_cell per paragraph, optional running header and page footer."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    if title:
        pdf.set_title(title)
    pdf.set_font("helvetica", size=11)
    for number, paragraphs in enumerate(pages, 1):
        pdf.add_page()
        if header:
            pdf.cell(0, 8, header, new_x="LMARGIN", new_y="NEXT")
        for text in paragraphs:
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        pdf.set_y(-20)
        pdf.cell(0, 8, f"Page {number} of {len(pages)}")
    return bytes(pdf.output())


MARKDOWN = """\
---
layout: guide
tags: [a, b]
---
# Router Guide

Welcome to the [router](https://example.com/router) guide. Use `askdesk reset` to start.

## Setup

Plug it in:

- power cable
- network cable
  - the *blue* one

1. Open the app.
2. Tap **Add device**.

```bash
sudo askdesk reset --hard

# a comment, not a heading
echo done
```

### Advanced

    indented = "code"
    kept = True

| Port | Use |
|------|-----|
| 80   | web |

## Troubleshooting

If the light is red, restart.
"""


def test_markdown_title_headings_lists_and_code(tmp_path: Path) -> None:
    doc = load(tmp_path, "guides/router.md", MARKDOWN)
    assert doc.doc_id == "guides/router.md"
    assert doc.format == "markdown"
    assert doc.title == "Router Guide"
    sections = by_path(doc)
    assert list(sections) == [(), ("Setup",), ("Setup", "Advanced"), ("Troubleshooting",)]
    intro = sections[()]
    assert intro == "Welcome to the router guide. Use `askdesk reset` to start."
    setup = sections[("Setup",)]
    assert "- power cable\n- network cable\n  - the blue one" in setup
    assert "1. Open the app.\n2. Tap Add device." in setup
    assert (
        "```bash\nsudo askdesk reset --hard\n\n# a comment, not a heading\necho done\n```" in setup
    )
    advanced = sections[("Setup", "Advanced")]
    assert '```\nindented = "code"\nkept = True\n```' in advanced
    assert "Port | Use\n80 | web" in advanced
    assert "layout" not in " ".join(sections.values())


def test_markdown_front_matter_title_wins_and_keeps_a_different_h1(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.md", '---\ntitle: "Official Name"\n---\n# Heading One\n\nBody.\n')
    assert doc.title == "Official Name"
    assert by_path(doc) == {("Heading One",): "Body."}


def test_markdown_several_h1s_stay_in_heading_paths(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.md", "# Part A\n\nText A.\n\n# Part B\n\n## Sub\n\nText B.\n")
    assert doc.title == "Part A"
    assert by_path(doc) == {("Part A",): "Text A.", ("Part B", "Sub"): "Text B."}


def test_title_falls_back_to_prettified_stem(tmp_path: Path) -> None:
    doc = load(tmp_path, "getting_started-guide.md", "Just a paragraph.\n")
    assert doc.title == "Getting started guide"
    assert doc.sections[0].heading_path == ()


def test_uppercase_suffix_is_supported(tmp_path: Path) -> None:
    assert load(tmp_path, "README.MD", "# Hi\n\nThere.\n").format == "markdown"


RST = """\
==============
Billing Manual
==============

Intro with :ref:`the plans page <plans>` and ``inline`` code and `a link <https://x.y>`_.

.. contents::

Invoices
========

.. note:: Invoices are emailed monthly.

.. code-block:: python

   def total(items):
       return sum(items)

Run this::

    askdesk invoices --month 2024-05

.. toctree::
   :maxdepth: 2

   hidden-entry

- first item
- second item

  - nested item

.. include:: /etc/hostname

Refunds
-------

Refunds take :doc:`five days <refunds>`.
"""


def test_rst_title_sections_code_and_quiet_errors(tmp_path: Path, capfd) -> None:
    doc = load(tmp_path, "billing.rst", RST)
    assert doc.format == "rst"
    assert doc.title == "Billing Manual"
    sections = by_path(doc)
    assert list(sections) == [(), ("Invoices",), ("Invoices", "Refunds")]
    assert sections[()] == "Intro with the plans page and `inline` code and a link."
    invoices = sections[("Invoices",)]
    assert "Note: Invoices are emailed monthly." in invoices
    assert "```python\ndef total(items):\n    return sum(items)\n```" in invoices
    assert "Run this:\n\n```\naskdesk invoices --month 2024-05\n```" in invoices
    assert "- first item\n- second item\n  - nested item" in invoices
    assert "toctree" not in invoices and "hidden-entry" not in invoices
    assert "include" not in invoices  # the directive is disabled and leaves no trace
    assert "Contents" not in " ".join(sections.values())
    assert sections[("Invoices", "Refunds")] == "Refunds take five days."
    assert capfd.readouterr().err == ""


HTML = """\
<!doctype html>
<html><head><title>Install | Acme Docs</title><style>p{}</style></head>
<body class="has-sidebar">
  <header class="site"><a href="/">Acme</a><nav><a href="/pricing">Pricing</a></nav></header>
  <div id="cookie-banner">We use cookies to improve things.</div>
  <div class="layout">
    <aside class="sidebar"><h3>On this page</h3><ul><li>Sidebar link</li></ul></aside>
    <main>
      <nav class="breadcrumbs">Docs / Install</nav>
      <article>
        <header><h1>Install</h1></header>
        <p>Download the <a href="/dl">installer</a> and   run it.</p>
        <h2>Linux</h2>
        <div class="highlight-bash"><pre><span class="k">sudo</span> apt install acme
  acme --version

acme doctor</pre></div>
        <ul><li>Works on <code>x86_64</code></li><li>Works on arm64<ul><li>Pi 4</li></ul></li></ul>
        <h3>Errors</h3>
        <p>If it fails, retry.</p>
        <form><label>Was this helpful?</label><button>Yes</button></form>
        <script>track("install")</script>
      </article>
    </main>
  </div>
  <footer>Copyright Acme. Imprint.</footer>
</body></html>
"""


def test_html_main_text_without_navigation(tmp_path: Path) -> None:
    doc = load(tmp_path, "docs/install.html", HTML)
    assert doc.format == "html"
    assert doc.title == "Install"
    sections = by_path(doc)
    assert list(sections) == [(), ("Linux",), ("Linux", "Errors")]
    assert sections[()] == "Download the installer and run it."
    linux = sections[("Linux",)]
    assert "```bash\nsudo apt install acme\n  acme --version\n\nacme doctor\n```" in linux
    assert "- Works on x86_64\n- Works on arm64\n  - Pi 4" in linux
    everything = " ".join(sections.values())
    for chrome in ("Pricing", "cookies", "Sidebar", "Docs / Install", "Copyright", "helpful"):
        assert chrome not in everything
    assert "track(" not in everything


def test_html_title_from_title_tag_without_h1(tmp_path: Path) -> None:
    doc = load(tmp_path, "a.htm", "<html><head><title>FAQ</title></head><body><p>Hi.</p></body>")
    assert doc.title == "FAQ"
    assert by_path(doc) == {(): "Hi."}


TEXT = """\
Router Handbook
===============

This introduction was wrapped by hand at a fairly normal width so its
lines are joined back into one paragraph for reading and embedding.

INSTALLATION

Plug the router in and run:
    sudo router-setup --wizard
    sudo router-check

Then check:
- the power light
- the network light, which
  may blink for a minute
2. second step

Configuration
-------------

Set things up.
"""


def test_plain_text_title_headings_and_code(tmp_path: Path) -> None:
    doc = load(tmp_path, "handbook.txt", TEXT)
    assert doc.format == "text"
    assert doc.title == "Router Handbook"
    sections = by_path(doc)
    assert list(sections) == [(), ("INSTALLATION",), ("INSTALLATION", "Configuration")]
    assert sections[()] == (
        "This introduction was wrapped by hand at a fairly normal width so its "
        "lines are joined back into one paragraph for reading and embedding."
    )
    install = sections[("INSTALLATION",)]
    assert "Plug the router in and run:\n\n```\nsudo router-setup --wizard\n" in install
    assert "- the network light, which may blink for a minute\n2. second step" in install
    assert sections[("INSTALLATION", "Configuration")] == "Set things up."


def test_plain_text_single_line_is_body_not_just_title(tmp_path: Path) -> None:
    doc = load(tmp_path, "tip.text", "Hold the reset button for ten seconds.\n")
    assert doc.title == "Tip"
    assert doc.sections[0].text == "Hold the reset button for ten seconds."


LOREM = (
    "The router keeps its settings in flash memory. A factory reset erases them. "
    "Hold the reset button for ten seconds until the light blinks."
)


def test_pdf_pages_title_and_running_lines_removed(tmp_path: Path) -> None:
    pages = [
        [f"Chapter {n} explains part {n} of the setup. " + LOREM * 2, f"Closing note {n * 7}."]
        for n in (1, 2, 3)
    ]
    data = make_pdf(pages, title="Router Manual", header="ACME Router Manual - Confidential")
    doc = load(tmp_path, "manuals/router.pdf", data)
    assert doc.format == "pdf"
    assert doc.title == "Router Manual"
    assert [s.heading_path for s in doc.sections] == [("Page 1",), ("Page 2",), ("Page 3",)]
    first = doc.sections[0].text
    assert first.startswith("Chapter 1 explains part 1 of the setup.")
    assert "Closing note 7." in first
    assert "factory reset erases them" in first
    everything = " ".join(s.text for s in doc.sections)
    assert "Confidential" not in everything
    assert "of 3" not in everything


def test_pdf_without_metadata_title_uses_first_line(tmp_path: Path) -> None:
    doc = load(tmp_path, "guide.pdf", make_pdf([["Quick Start", LOREM]]))
    assert doc.title == "Quick Start"


def encrypted_pdf(user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf([[LOREM]]))))
    writer.encrypt(user_password, "owner-secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_encrypted_only_against_editing_still_loads(tmp_path: Path) -> None:
    doc = load(tmp_path, "locked.pdf", encrypted_pdf(""))
    assert "factory reset" in doc.sections[0].text


def scanned_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 140, style="F")  # an "image" of a page, no text
    return bytes(pdf.output())


BINARY = "binary file, not text"
BAD_ENCODING = "not valid UTF-8 text (bad encoding)"
ERROR_CASES = [
    ("empty.md", b"", "empty file"),
    ("blank.txt", b"  \n\n\t\n", "empty file"),
    ("image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), BINARY),
    ("controls.txt", bytes(range(1, 32)) * 40, BINARY),
    ("sjis.txt", "日本語のテキストです。".encode("shift_jis") * 20, BAD_ENCODING),
    ("mojibake.rst", "Титул\n\nПривет мир".encode("cp1251"), BAD_ENCODING),
    ("only-heading.md", b"# Just a title\n", "no text content"),
    ("only-nav.html", b"<html><body><nav>Home</nav><!-- x --></body></html>", "no text content"),
    ("random.pdf", os.urandom(3000), "broken PDF: not a PDF file"),
    ("scan.pdf", None, "PDF has no extractable text (scanned?)"),
    ("locked.pdf", None, "encrypted PDF"),
    ("notes.docx", b"PK\x03\x04", "unsupported file type: .docx"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "content", "message"), ERROR_CASES)
def test_refusals_are_one_line_load_errors(
    tmp_path: Path, capfd, name: str, content: bytes | None, message: str
) -> None:
    if name == "scan.pdf":
        content = scanned_pdf()
    elif name == "locked.pdf":
        content = encrypted_pdf("user-secret")
    assert content is not None
    with pytest.raises(LoadError) as err:
        load(tmp_path, name, content)
    assert str(err.value) == message
    assert capfd.readouterr().err == ""


def test_truncated_pdf_is_broken(tmp_path: Path, capfd) -> None:
    data = make_pdf([[LOREM], [LOREM]])
    with pytest.raises(LoadError, match=r"^broken PDF: \S"):
        load(tmp_path, "cut.pdf", data[: len(data) // 2])
    with pytest.raises(LoadError, match=r"^broken PDF: \S"):
        load(tmp_path, "header-only.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog")
    assert capfd.readouterr().err == ""
    assert logging.getLogger("pypdf").level == logging.NOTSET  # quieting was undone


def test_too_large_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match=r"^too large \(0\.0\d+ MB > 0\.001 MB limit\)$"):
        load(tmp_path, "big.md", "# Big\n\n" + "word " * 3000, max_bytes=1000)
    with pytest.raises(LoadError, match=r"^too large \(21 MB > 20 MB limit\)$"):
        load(tmp_path, "huge.txt", b"a" * 21_000_000)


def test_cp1252_is_accepted_when_it_reads_as_western_text(tmp_path: Path) -> None:
    text = (
        "Caf\u00e9 menu\n\nOur caf\u00e9 serves \u201cgood\u201d coffee \u2013 every day, all year."
    )
    doc = load(tmp_path, "menu.txt", text.encode("cp1252"))
    assert doc.title == "Caf\u00e9 menu"
    assert (
        doc.sections[0].text
        == "Our caf\u00e9 serves \u201cgood\u201d coffee \u2013 every day, all year."
    )


def test_utf8_bom_and_utf16_bom_are_read(tmp_path: Path) -> None:
    assert load(tmp_path, "a.md", b"\xef\xbb\xbf# A\n\nBody.\n").title == "A"
    assert load(tmp_path, "b.txt", "Title\n\nBody text.".encode("utf-16")).title == "Title"


def test_unexpected_parser_failure_becomes_load_error(tmp_path: Path, monkeypatch) -> None:
    import askdesk.retrieval.loaders as loaders

    def explode(data: bytes):
        raise KeyError("internal detail")

    monkeypatch.setitem(loaders._PARSERS, "markdown", explode)
    with pytest.raises(LoadError, match=r"^could not parse markdown: 'internal detail'$"):
        load(tmp_path, "a.md", "# A\n\nB\n")


def test_unreadable_path_is_a_load_error(tmp_path: Path) -> None:
    (tmp_path / "folder.md").mkdir()
    with pytest.raises(LoadError, match=r"^cannot read file"):
        load_document(tmp_path / "folder.md", tmp_path)


def test_supported_suffixes() -> None:
    assert {".md", ".markdown", ".rst", ".txt", ".text", ".html", ".htm", ".pdf"} == set(
        SUPPORTED_SUFFIXES
    )


def test_inline_code_keeps_its_backticks_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\nRun `tw keys list` now.\n")
    (tmp_path / "b.rst").write_text("B\n=\n\nRun ``tw keys list`` now.\n")
    (tmp_path / "c.html").write_text(
        "<html><body><main><h1>C</h1><p>Run <code>tw keys list</code> now.</p>"
        "<pre><code>tw keys rotate</code></pre></main></body></html>"
    )
    for name in ("a.md", "b.rst", "c.html"):
        doc = load_document(tmp_path / name, tmp_path)
        text = "\n".join(s.text for s in doc.sections)
        assert "Run `tw keys list` now." in text, (name, text)
    html = "\n".join(s.text for s in load_document(tmp_path / "c.html", tmp_path).sections)
    assert "```\ntw keys rotate\n```" in html


def test_a_fence_right_under_its_sentence_stays_in_that_block(tmp_path: Path) -> None:
    """Issue 19: blank lines are what separate answers; a fence written with none around it
    belongs to the sentence above and the line below, one inside a list item never merges."""
    text = (
        "Use reverse in scalar context.\n```\nmy $r = reverse $s;\n```\nIt returns a string.\n\n"
        "Next answer, after a blank line.\n\n"
        "- an item\n\n  ```\n  code in the item\n  ```\n\n"
        "## Later\n```\nunder a heading\n```\n"
    )
    (first, later) = load(tmp_path, "faq.md", text).sections
    assert first.text == (
        "Use reverse in scalar context.\n```\nmy $r = reverse $s;\n```\nIt returns a string."
        "\n\nNext answer, after a blank line.\n\n- an item\n\n```\ncode in the item\n```"
    )
    assert later.text == "```\nunder a heading\n```"
