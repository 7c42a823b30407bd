"""The tone score: how close a text is to the team's voice, from 0 (plain draft) to 1 (brand).

Trained on the team's own examples (brand outputs vs plain inputs), because no packaged
classifier knows a team's voice. Features: the sentence embedding (passed in as `embed`, so
this layer never imports the retrieval code) plus cheap layout and greeting/sign-off features
(`askdesk.styling.tone.features`). A logistic regression separates the two voices; Platt scaling
fitted on out-of-fold scores turns its margin into a calibrated probability, so 0.5 means
undecided and a dashboard can average scores over answers.

Saved as JSON (coefficients, feature scaling, vocabulary, calibration, data hash), not a
pickle: a model folder copied from elsewhere can't run code, and it survives library upgrades.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from askdesk.styling.tone.features import LAYOUT_FEATURES, style_matrix
from askdesk.styling.tone.sentiment import content_sentiment, sentiment, sentiment_shifts

Embed = Callable[[list[str]], np.ndarray]

FORMAT_VERSION = 1
FILE_NAME = "tone_scorer.json"


class ToneScorerError(ValueError):
    """Training data or a saved scorer can't be used; the message says why."""


@runtime_checkable
class TextToneScorer(Protocol):
    """A tone scorer as the answer core uses it (the shape of askdesk.core.ports.Tone): one text in,
    how close it is to the team's voice out, in [0, 1]; `version` is recorded per answer.

    The interface of the tone-scorer extension point (entry-point group
    `askdesk.tone_scorers`): a factory registered there returns one of these. The built-in
    is `BoundToneScorer` (the team-trained scorer with the index's embedder)."""

    @property
    def version(self) -> str: ...

    def score(self, text: str) -> float: ...


def data_hash(brand_texts: Sequence[str], plain_texts: Sequence[str]) -> str:
    """sha256 of the labelled training texts, to tell which examples a scorer learnt from."""
    h = hashlib.sha256()
    for label, texts in (("brand", brand_texts), ("plain", plain_texts)):
        for t in texts:
            h.update(f"{label}\x1f{t}\x1e".encode())
    return h.hexdigest()


@dataclass
class ToneScorer:
    """A fitted scorer; build with `askdesk.styling.tone.fitting.fit_tone_scorer` or `load`, use
    with `score` (or `bind` for the core)."""

    coef: np.ndarray
    intercept: float
    mean: np.ndarray
    scale: np.ndarray
    vocabulary: list[str]
    platt_a: float
    platt_b: float
    embed_dim: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """Short id of the scorer: its data hash and settings; scores of two versions differ."""
        return str(self.meta.get("version", "unknown"))

    # -- scoring -----------------------------------------------------------------------------
    def margins(self, texts: Sequence[str], embed: Embed) -> np.ndarray:
        """The classifier's raw margin (positive = brand voice), before calibration."""
        if not texts:
            return np.zeros(0)
        raw = _features(list(texts), embed, self.vocabulary)
        dim = raw.shape[1] - len(LAYOUT_FEATURES) - len(self.vocabulary)
        if dim != self.embed_dim:
            raise ToneScorerError(
                f"embeddings have {dim} dimensions, the scorer was trained on {self.embed_dim} "
                f"(embedder {self.meta.get('embedder') or 'unknown'})"
            )
        return ((raw - self.mean) / self.scale) @ self.coef + self.intercept

    def score(self, texts: Sequence[str], embed: Embed) -> list[float]:
        """Calibrated probability that each text is in the brand voice."""
        m = self.margins(texts, embed)
        return [float(p) for p in _sigmoid(self.platt_a * m + self.platt_b)]

    def bind(self, embed: Embed) -> BoundToneScorer:
        """One-text scoring with a fixed embedder: the shape the answer core's hook wants."""
        return BoundToneScorer(self, embed)

    # -- persistence -------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write `tone_scorer.json` into `folder` (created if needed); returns the file."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        payload = {
            "meta": self.meta,
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "vocabulary": self.vocabulary,
            "platt": [self.platt_a, self.platt_b],
            "embed_dim": self.embed_dim,
        }
        path = folder / FILE_NAME
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, folder: str | Path) -> ToneScorer:
        path = Path(folder) / FILE_NAME
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            fmt = d["meta"].get("format")
            if fmt != FORMAT_VERSION:
                raise ToneScorerError(f"{path}: format {fmt}, this askdesk reads {FORMAT_VERSION}")
            return cls(
                coef=np.asarray(d["coef"], dtype=np.float64),
                intercept=float(d["intercept"]),
                mean=np.asarray(d["mean"], dtype=np.float64),
                scale=np.asarray(d["scale"], dtype=np.float64),
                vocabulary=list(d["vocabulary"]),
                platt_a=float(d["platt"][0]),
                platt_b=float(d["platt"][1]),
                embed_dim=int(d["embed_dim"]),
                meta=dict(d["meta"]),
            )
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            if isinstance(exc, ToneScorerError):
                raise
            raise ToneScorerError(f"cannot read tone scorer {path}: {exc}") from exc


@dataclass
class BoundToneScorer:
    """A ToneScorer with its embedder: `score(text) -> float` (askdesk.core.ports.Tone)."""

    scorer: ToneScorer
    embed: Embed

    @property
    def version(self) -> str:
        return self.scorer.version

    def score(self, text: str) -> float:
        return self.scorer.score([text], self.embed)[0]


def _features(texts: list[str], embed: Embed, vocabulary: Sequence[str]) -> np.ndarray:
    vectors = np.asarray(embed(texts), dtype=np.float64).reshape(len(texts), -1)
    return np.hstack([vectors, style_matrix(texts, vocabulary)])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def auroc(pos_scores: Sequence[float], neg_scores: Sequence[float]) -> float:
    """Area under the ROC curve: the chance a random brand text outscores a random plain one.

    Ties count one half (Mann-Whitney U), so identical scores give 0.5.
    """
    pos = np.asarray(pos_scores, dtype=np.float64)
    neg = np.asarray(neg_scores, dtype=np.float64)
    if not len(pos) or not len(neg):
        raise ValueError("auroc needs at least one score of each class")
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def spread_by_group(
    scores: Sequence[float], groups: Sequence[Hashable]
) -> dict[Hashable, dict[str, float]]:
    """mean/min/max/count of the scores per group (topic, source folder), for the bias check.

    A voice that holds on billing answers but not on webhooks shows up as one low mean.
    """
    if len(scores) != len(groups):
        raise ValueError(f"{len(scores)} scores but {len(groups)} groups")
    by: dict[Hashable, list[float]] = defaultdict(list)
    for s, g in zip(scores, groups, strict=True):
        by[g].append(float(s))
    return {
        g: {"mean": float(np.mean(v)), "min": min(v), "max": max(v), "count": len(v)}
        for g, v in sorted(by.items(), key=lambda kv: str(kv[0]))
    }


__all__ = [
    "FILE_NAME",
    "BoundToneScorer",
    "Embed",
    "TextToneScorer",
    "ToneScorer",
    "ToneScorerError",
    "auroc",
    "content_sentiment",
    "data_hash",
    "sentiment",
    "sentiment_shifts",
    "spread_by_group",
]
