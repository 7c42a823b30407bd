"""reStructuredText via docutils' doctree.

docutils is configured to be silent and inert: no stderr reports, no halting on errors,
no `include`/`raw` (a document must not pull in other files on the server), no local
docutils.conf. Sphinx-only roles and directives are unknown to plain docutils; their roles
degrade to readable text and their directives are dropped rather than failing the file.
"""

from __future__ import annotations

import io
import re
from typing import Any

from docutils import nodes
from docutils.core import publish_doctree

from askdesk.retrieval.loaders._outline import Outline, clean_inline, code_span, fence, one_line

_ROLE = re.compile(r"^:[\w.:+-]+:`(.*)`$", re.S)
_EXPLICIT_TARGET = re.compile(r"^(.*?)\s*<[^<>]*>$", re.S)
_ADMONITIONS = {
    "attention", "caution", "danger", "error", "hint", "important", "note", "tip", "warning",
}  # fmt: skip


def _settings() -> dict[str, Any]:
    return {
        "report_level": 5,
        "halt_level": 5,
        "exit_status_level": 5,
        "warning_stream": io.StringIO(),
        "traceback": False,
        "file_insertion_enabled": False,
        "raw_enabled": False,
        "doctitle_xform": False,
        "sectsubtitle_xform": False,
        "syntax_highlight": "none",
        "input_encoding": "unicode",
        "_disable_config": True,
    }


def _problematic_text(raw: str) -> str:
    """`:ref:`Install <install>`` → `Install`; `:doc:`guide`` → `guide`."""
    match = _ROLE.match(raw)
    if not match:
        return raw.strip("|`")
    inner = match.group(1)
    target = _EXPLICIT_TARGET.match(inner)
    return (target.group(1) if target and target.group(1) else inner).lstrip("~!")


class _Walker:
    def __init__(self, outline: Outline) -> None:
        self.nodes = nodes
        self.out = outline

    def inline(self, node: nodes.Node) -> str:
        n = self.nodes
        parts: list[str] = []
        for child in node.children:
            if isinstance(child, n.Text):
                parts.append(str(child))
            elif isinstance(child, n.problematic):
                parts.append(_problematic_text(child.astext()))
            elif isinstance(child, n.system_message | n.footnote_reference | n.target):
                continue
            elif isinstance(child, n.literal):
                parts.append(code_span(child.astext()))
            elif isinstance(child, n.Element):
                parts.append(self.inline(child))
        return clean_inline("".join(parts).replace("\n", " "))

    def walk(self, node: nodes.Node, depth: int) -> None:
        for child in node.children:
            self.visit(child, depth)

    def visit(self, node: nodes.Node, depth: int) -> None:
        n = self.nodes
        skipped = (
            n.system_message, n.comment, n.substitution_definition, n.target, n.raw,
            n.pending, n.image, n.transition, n.docinfo, n.attribution, n.label,
        )  # fmt: skip
        if isinstance(node, skipped):
            return
        if isinstance(node, n.section):
            title = node.next_node(n.title)
            self.out.heading(depth + 1, self.inline(title) if title else "")
            self.walk(node, depth + 1)
        elif isinstance(node, n.title):
            if not isinstance(node.parent, n.section):
                self.out.block(self.inline(node))
        elif isinstance(node, n.literal_block | n.doctest_block):
            classes = node.get("classes", [])
            lang = classes[1] if len(classes) > 1 and classes[0] == "code" else ""
            self.out.block(fence(node.astext(), lang))
        elif isinstance(node, n.bullet_list | n.enumerated_list):
            self.list(node, 0)
            self.out.flush_lines()
        elif isinstance(node, n.definition_list | n.field_list | n.option_list):
            for item in node.children:
                self.term_item(item)
            self.out.flush_lines()
        elif isinstance(node, n.table):
            self.table(node)
        elif isinstance(node, n.topic) and "contents" in node.get("classes", []):
            return  # a generated table of contents: navigation, not content
        elif isinstance(node, n.Admonition) and node.tagname in _ADMONITIONS:
            self.admonition(node, node.tagname.capitalize(), depth)
        elif isinstance(node, n.line_block):
            lines = [self.inline(line) for line in node.findall(n.line)]
            self.out.block("\n".join(line for line in lines if line))
        elif isinstance(node, n.TextElement):
            self.out.block(self.inline(node))
        elif isinstance(node, n.Element):
            self.walk(node, depth)

    def admonition(self, node: nodes.Element, label: str, depth: int) -> None:
        n = self.nodes
        children = list(node.children)
        if children and isinstance(children[0], n.paragraph):
            self.out.block(f"{label}: {self.inline(children[0])}")
            children = children[1:]
        else:
            self.out.block(f"{label}:")
        for child in children:
            self.visit(child, depth)

    def list(self, node: nodes.Element, level: int) -> None:
        n = self.nodes
        ordered = isinstance(node, n.enumerated_list)
        start = int(node.get("start", 1))
        indent = "  " * level
        for number, item in enumerate(node.children, start):
            marker = f"{number}." if ordered else "-"
            for child in item.children:
                if isinstance(child, n.bullet_list | n.enumerated_list):
                    self.list(child, level + 1)
                elif isinstance(child, n.literal_block | n.doctest_block):
                    self.visit(child, 0)
                elif isinstance(child, n.Element) and child.astext().strip():
                    text = one_line(
                        self.inline(child) if isinstance(child, n.TextElement) else child.astext()
                    )
                    self.out.line(f"{indent}{marker} {text}")
                    marker = " "

    def term_item(self, item: nodes.Node) -> None:
        n = self.nodes
        if not isinstance(item, n.Element) or not item.children:
            return
        head = item.children[0]
        term = self.inline(head) if isinstance(head, n.TextElement) else head.astext()
        body = " ".join(one_line(c.astext()) for c in item.children[1:] if isinstance(c, n.Element))
        self.out.line(f"- {one_line(term)}: {body}" if body else f"- {one_line(term)}")

    def table(self, node: nodes.Element) -> None:
        n = self.nodes
        rows = [
            " | ".join(one_line(entry.astext()) for entry in row.children)
            for row in node.findall(n.row)
        ]
        self.out.block("\n".join(rows))


def parse_rst(text: str) -> Outline:
    """Sections nest in the doctree, so nesting depth is the heading level."""
    doctree = publish_doctree(text, settings_overrides=_settings())
    outline = Outline()
    _Walker(outline).walk(doctree, 0)
    return outline
