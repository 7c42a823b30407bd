"""Citation markers where the examples put them, in a rewrite whose facts are placeholders.

The placeholder constraint makes the model write each citation once, not in the right
place; these checks run on the protected body before the facts are restored.
"""

from __future__ import annotations

import re
from typing import Any

from askdesk.styling.guards.placeholders import PLACEHOLDER


def attach_lone_citations(protected: Any, body: str) -> str:
    """A line holding only citation markers joins the line above it ("…instead.\n\n[1]"
    becomes "…instead. [1]"), where the examples put them."""
    cites = {ph for ph, kind in protected.kinds.items() if kind == "citation"}
    lines: list[str] = []
    for line in body.split("\n"):
        marks = PLACEHOLDER.findall(line)
        only = line.strip() and not PLACEHOLDER.sub("", line).strip()
        if only and all(f"<F{n}>" in cites for n in marks):
            while lines and not lines[-1].strip():
                lines.pop()
            if lines:
                lines[-1] = f"{lines[-1].rstrip()} {line.strip()}"
                continue
        lines.append(line)
    return "\n".join(lines)


def misplaced_citations(protected: Any, body: str) -> list[str]:
    """Citation markers the model moved from the end of a line into running text.

    The constraint makes the model write each placeholder once, not in the right place, and
    a 135M model sometimes puts a citation's placeholder where a product name's should be
    ("[1] disables an endpoint"): every fact is there, so the fact guard passes. A marker
    that ends its line in the draft must end its line in the rewrite (the examples' answers
    always end a line with their markers), and none may start a line or sentence."""
    out = []
    for ph, kind in protected.kinds.items():
        if kind != "citation":
            continue
        line_final = re.search(re.escape(ph) + r"[ \t]*(?:<F\d+>[ \t]*)*$", protected.text, re.M)
        for m in re.finditer(re.escape(ph), body):
            before = body[: m.start()].rstrip(" \t")
            after = body[m.end() :].split("\n", 1)[0]
            starts = not before or before.endswith("\n")
            tail = re.sub(r"<F\d+>|[\s.,;:!?)]", "", after)
            if starts or (line_final and tail):
                out.append(protected.tokens[ph])
    return out
