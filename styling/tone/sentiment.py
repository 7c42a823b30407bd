"""Sentiment of answers and rewrites (VADER), for the "did the voice change the mood?" check.

A brand voice may be friendlier than the draft, but it must not make a warning sound light.
VADER is a lexicon scorer: instant, no model, validated against human ratings of tweets and
reviews (bench/tone_scorer.py reproduces that on its own data). It reads technical warnings
poorly ("cannot be undone" is neutral to it), so treat its flags as hints for a human.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from askdesk.styling.tone.voice import sentences

_analyzer: SentimentIntensityAnalyzer | None = None
_lock = threading.Lock()


def _vader() -> SentimentIntensityAnalyzer:
    """Loaded once, lazily: reading the lexicon costs ~0.1 s, and most commands never need it."""
    global _analyzer
    if _analyzer is None:
        with _lock:
            if _analyzer is None:
                _analyzer = SentimentIntensityAnalyzer()
    return _analyzer


def sentiment(text: str) -> float:
    """VADER's compound score of the whole text, in [-1, 1] (its validated use)."""
    return float(_vader().polarity_scores(text)["compound"])


def content_sentiment(text: str) -> float:
    """Mean VADER compound over the text's sentences, with Markdown bold removed.

    The whole-text compound saturates with length: a rewrite that splits one sentence into
    three short ones, or adds a greeting, moves it by +0.6 on the bundled examples although
    the content kept its mood. The per-sentence mean moves by +0.14 there (sd 0.12), and
    0.0 for faithful cautionary rewrites, so a shift of 0.3 stands out.
    """
    parts = sentences(text)
    if not parts:
        return 0.0
    scores = [sentiment(p.replace("**", "")) for p in parts]
    return sum(scores) / len(scores)


def sentiment_shifts(
    drafts: Sequence[str], rewrites: Sequence[str], threshold: float = 0.3
) -> list[int]:
    """Indexes of rewrites whose sentiment moved more than `threshold` away from the draft's.

    Both directions count: a cautious warning turned cheerful, or a neutral answer turned
    gloomy. Uses `content_sentiment`, so the voice's standing friendliness is not a flag.
    """
    if len(drafts) != len(rewrites):
        raise ValueError(f"{len(drafts)} drafts but {len(rewrites)} rewrites")
    return [
        i
        for i, (d, r) in enumerate(zip(drafts, rewrites, strict=True))
        if abs(content_sentiment(r) - content_sentiment(d)) > threshold
    ]


__all__ = ["content_sentiment", "sentiment", "sentiment_shifts"]
