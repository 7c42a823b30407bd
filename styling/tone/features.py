"""Cheap style features for the tone scorer, next to the sentence embedding.

A sentence embedding captures what a text is about more than how it is laid out; a brand
voice is mostly layout and rhythm (short sentences, bullet steps, bold values, a greeting and a
sign-off). These features add that, without hard-coding any team's voice: the layout numbers
are generic, and the words worth watching in the first and last line are *learned* from the
training texts (`frame_vocabulary`), so another team's opener and sign-off work the same way.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from askdesk.styling.tone.voice import CHEERFUL, sentences

_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|[^\w\s]", re.UNICODE)
_SECOND_PERSON = frozenset({"you", "your", "you're", "you'll", "you've", "you'd", "yours"})

#: Names of the layout features, in column order (saved with the scorer for reference).
LAYOUT_FEATURES: tuple[str, ...] = (
    "mean_sentence_words",
    "max_sentence_words",
    "list_line_share",
    "paragraphs_per_sentence",
    "bold_per_sentence",
    "emoji_per_sentence",
    "exclamations_per_sentence",
    "questions_per_sentence",
    "contraction_share",
    "second_person_share",
    "log_words",
)


def layout_features(text: str) -> list[float]:
    """Rhythm and layout of one text, as the numbers in LAYOUT_FEATURES."""
    sents = sentences(text)
    n_sent = max(len(sents), 1)
    lengths = [len(s.split()) for s in sents] or [0]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    words = [w.lower() for w in re.findall(r"[^\W\d_]+(?:['’][^\W\d_]+)?", text)]
    n_words = max(len(words), 1)
    return [
        float(np.mean(lengths)),
        float(max(lengths)),
        sum(bool(_LIST_ITEM.match(ln)) for ln in lines) / max(len(lines), 1),
        len(paragraphs) / n_sent,
        text.count("**") / 2 / n_sent,
        len(CHEERFUL.findall(text)) / n_sent,
        text.count("!") / n_sent,
        text.count("?") / n_sent,
        sum(("'" in w or "’" in w) for w in words) / n_words,
        sum(w.replace("’", "'") in _SECOND_PERSON for w in words) / n_words,
        float(np.log1p(len(words))),
    ]


def edge_lines(text: str) -> tuple[str, str]:
    """The first and the last non-empty line: where greetings and sign-offs live."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return (lines[0], lines[-1]) if lines else ("", "")


def _tokens(line: str) -> set[str]:
    return {t.lower() for t in _TOKEN.findall(line)}


def frame_vocabulary(texts: Iterable[str], *, min_count: int = 3, max_size: int = 40) -> list[str]:
    """Tokens seen often in first or last lines of the training texts, as "first:x"/"last:x".

    Learned, not listed: whatever opener and sign-off the team uses shows up here. Capped so
    a few hundred examples can't turn it into a bag of topic words.
    """
    counts: Counter[str] = Counter()
    for text in texts:
        first, last = edge_lines(text)
        counts.update(f"first:{t}" for t in _tokens(first))
        counts.update(f"last:{t}" for t in _tokens(last))
    common = [(k, n) for k, n in counts.items() if n >= min_count]
    common.sort(key=lambda kn: (-kn[1], kn[0]))
    return sorted(k for k, _ in common[:max_size])


def frame_features(text: str, vocabulary: Sequence[str]) -> list[float]:
    """1.0 for each vocabulary token present in the text's first/last line, else 0.0."""
    first, last = edge_lines(text)
    present = {f"first:{t}" for t in _tokens(first)} | {f"last:{t}" for t in _tokens(last)}
    return [1.0 if v in present else 0.0 for v in vocabulary]


def style_matrix(texts: Sequence[str], vocabulary: Sequence[str]) -> np.ndarray:
    """Layout + frame features for many texts: one row each."""
    rows = [layout_features(t) + frame_features(t, vocabulary) for t in texts]
    width = len(LAYOUT_FEATURES) + len(vocabulary)
    return np.asarray(rows, dtype=np.float64).reshape(len(texts), width)


__all__ = [
    "LAYOUT_FEATURES",
    "edge_lines",
    "frame_features",
    "frame_vocabulary",
    "layout_features",
    "style_matrix",
]
