"""Long sentences cut where the voice's examples cut them.

The examples keep sentences short (the sample voice: at most 16 words in 98% of them) and
turn a long draft sentence into two at its joints: "…stored, so slow consumers…" becomes
"…stored. So slow consumers…", "at least once: in rare cases…" becomes "at least once. In
rare cases…". A 135M model copies long draft sentences about a third of the time, so the
rewriter finishes the job: a sentence over the frame's limit is cut at the joint nearest its
middle, recursively, as long as both halves keep at least `MIN_PART_WORDS` words.

Runs on the model output before placeholders are restored (a fact is one word there and can
never be cut), and the fact guard runs after it like after the model.
"""

from __future__ import annotations

import re

from askdesk.styling.generation.units import LIST_ITEM, SENTENCE_END

MIN_PART_WORDS = 5
#: Joint -> how the second half starts. The comma forms keep their connective, capitalised.
_JOINTS = re.compile(
    r"(; |: (?=[a-z])|, (?=(?:so|then|and|but|or|because) (?!that |which |who |where |if ))| — )"
)


def split_long(text: str, max_words: int) -> str:
    """`text` with every sentence over `max_words` words cut at its joints."""
    return "\n".join(_line(line, max_words) for line in text.split("\n"))


def _line(line: str, max_words: int) -> str:
    if line.lstrip().startswith(("#", "|", "<F")) and len(line.split()) <= 1:
        return line
    marker = LIST_ITEM.match(line)
    head = marker.group(0) if marker else ""
    body = line[len(head) :]
    sentences = SENTENCE_END.split(body)
    return head + " ".join(_cut(s, max_words) for s in sentences)


def _cut(sentence: str, max_words: int) -> str:
    words = len(sentence.split())
    if words <= max_words:
        return sentence
    best: tuple[int, int, int] | None = None  # (distance from middle, start, end)
    for m in _JOINTS.finditer(sentence):
        left, right = sentence[: m.start()], sentence[m.end() :]
        if len(left.split()) < MIN_PART_WORDS or len(right.split()) < MIN_PART_WORDS:
            continue
        if left.count("**") % 2 or left.count("`") % 2 or left.count("(") > left.count(")"):
            continue  # inside bold, code or brackets
        dist = abs(len(left.split()) - words / 2)
        if best is None or dist < best[0]:
            best = (int(dist), m.start(), m.end())
    if best is None:
        return sentence
    _, start, end = best
    left = sentence[:start].rstrip(",;:— ")
    right = sentence[end:]
    if not left.endswith((".", "!", "?")):
        left += "."
    right = right[:1].upper() + right[1:]
    return f"{_cut(left, max_words)} {_cut(right, max_words)}"
